// Which memory allocator this tccd was linked with (cmake/TccMalloc.cmake), for its start-up log
// line: an operator comparing two hosts' figures should know. Stateless; any thread.
#pragma once

#include <string>

namespace tcc::tccd {

// "jemalloc 5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c", or "system" when built without.
std::string AllocatorName();

}  // namespace tcc::tccd
