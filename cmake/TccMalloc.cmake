# tccd's memory allocator (TCC_MALLOC): jemalloc by default, from Debian's libjemalloc-dev.
# The daemon's loop thread builds each claim's DOM, frames each reply and event, and frees DOMs
# and TSCs the workers built: with glibc's malloc that took 7% of tccd's CPU at saturation and a
# fifth of the loop thread's, part of it consolidating fast bins before each TSC-sized allocation;
# with jemalloc under 3% (docs/perf.md, "Issue #20, ninth step"). tcc::malloc carries the choice:
# tccd links it, and so do settle_bench and store_bench, which measure tccd's path in process.
# Party programs and libraries never do: an allocator is the program's choice.
# Sanitizer and fuzz builds keep the system allocator, which their runtimes replace.
set(TCC_MALLOC "jemalloc" CACHE STRING "Memory allocator linked into tccd: jemalloc or system")
set_property(CACHE TCC_MALLOC PROPERTY STRINGS jemalloc system)
add_library(tcc_malloc INTERFACE)
add_library(tcc::malloc ALIAS tcc_malloc)
if(NOT TCC_MALLOC MATCHES "^(jemalloc|system)$")
  message(FATAL_ERROR "TCC_MALLOC must be jemalloc or system, not \"${TCC_MALLOC}\"")
elseif(TCC_MALLOC STREQUAL "jemalloc" AND (TCC_SANITIZE OR TCC_FUZZ))
  message(STATUS "TCC_MALLOC: the system allocator in this sanitizer or fuzz build")
elseif(TCC_MALLOC STREQUAL "jemalloc")
  pkg_check_modules(jemalloc IMPORTED_TARGET GLOBAL jemalloc)
  if(NOT jemalloc_FOUND)
    message(FATAL_ERROR "TCC_MALLOC=jemalloc needs libjemalloc-dev (scripts/install-deps.sh installs it); "
                        "-DTCC_MALLOC=system builds tccd with the C library's allocator instead")
  endif()
  # Kept where a linker drops libraries nothing calls (Ubuntu's --as-needed): it replaces malloc.
  target_link_libraries(tcc_malloc INTERFACE "-Wl,--push-state,--no-as-needed" PkgConfig::jemalloc
                                             "-Wl,--pop-state")
  target_compile_definitions(tcc_malloc INTERFACE TCC_MALLOC_JEMALLOC=1)
endif()
