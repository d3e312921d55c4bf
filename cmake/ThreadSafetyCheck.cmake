# tcc_thread_safety (clang only, not built by default): runs clang's thread-safety analysis
# (-Wthread-safety -Werror=thread-safety, tcc/common/thread_safety.h) over every source of the
# modules that hold locks, with -fsyntax-only: the analysis is part of semantic checking, so no
# code is generated and the whole pass costs about a tenth of compiling them. CI runs it in the
# clang build of scripts/fuzz.sh, which otherwise compiles only what the fuzzers link.
# Included from the root CMakeLists.txt after every module is defined.
set(tcc_thread_safety_modules storage did controller vcapi client wire chain chain_factory chain_ledger chain_evm)
add_custom_target(tcc_thread_safety)
foreach(module IN LISTS tcc_thread_safety_modules)
  set(target tcc_${module})
  if(NOT TARGET ${target})
    continue()
  endif()
  get_target_property(sources ${target} SOURCES)
  get_target_property(source_dir ${target} SOURCE_DIR)
  set(checked)
  foreach(source IN LISTS sources)
    if(NOT source MATCHES "\\.cpp$")
      continue()
    endif()
    cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY ${source_dir} OUTPUT_VARIABLE path)
    get_source_file_property(definitions ${path} DIRECTORY ${source_dir} COMPILE_DEFINITIONS)
    if(definitions)
      set_source_files_properties(${path} PROPERTIES COMPILE_DEFINITIONS "${definitions}")
    endif()
    list(APPEND checked ${path})
  endforeach()
  add_library(${target}_thread_safety OBJECT EXCLUDE_FROM_ALL ${checked})
  # The module's own flags, evaluated where it is defined (its dependencies' imported targets are
  # visible only there).
  target_include_directories(${target}_thread_safety PRIVATE
    $<TARGET_PROPERTY:${target},INCLUDE_DIRECTORIES>)
  target_compile_definitions(${target}_thread_safety PRIVATE
    $<TARGET_PROPERTY:${target},COMPILE_DEFINITIONS>)
  tcc_set_warnings(${target}_thread_safety)
  target_compile_options(${target}_thread_safety PRIVATE -fsyntax-only)
  add_dependencies(tcc_thread_safety ${target}_thread_safety)
endforeach()
