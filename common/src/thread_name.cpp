#include "tcc/common/thread_name.h"

#include <pthread.h>

#include <string>

namespace tcc {

void SetCurrentThreadName(std::string_view name) {
  // Naming is for people reading ps and /proc: a failure changes nothing the program relies on.
  const std::string cut(name.substr(0, kMaxThreadNameLength));
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace tcc
