#include "allocator.h"

#ifdef TCC_MALLOC_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace tcc::tccd {

std::string AllocatorName() {
#ifdef TCC_MALLOC_JEMALLOC
  const char* version = nullptr;
  std::size_t size = sizeof version;
  if (mallctl("version", &version, &size, nullptr, 0) == 0 && version != nullptr) {
    return std::string("jemalloc ") + version;
  }
  return "jemalloc";
#else
  return "system";
#endif
}

}  // namespace tcc::tccd
