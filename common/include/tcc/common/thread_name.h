// Names the calling thread, so that ps, top, gdb and /proc/PID/task/*/comm tell tccd's threads
// apart. docs/design.md ("Threads") lists every name tccd uses; a thread started by a library and
// left unnamed inherits the name of the thread that started it.
//
// Thread safety: names only the calling thread; call it first thing in a new thread's body.
#pragma once

#include <cstddef>
#include <string_view>

namespace tcc {

// Linux keeps at most 15 bytes of a thread name: a longer one is cut to its first 15.
inline constexpr std::size_t kMaxThreadNameLength = 15;

void SetCurrentThreadName(std::string_view name);

}  // namespace tcc
