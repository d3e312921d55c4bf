# tcc_add_module(NAME <name> [EXPORT <set>] SOURCES ... PUBLIC_DEPS ... PRIVATE_DEPS ...)
# Defines library target tcc_<name>, alias tcc::<name>, exported as tcc::<name>.
# Public headers live in <dir>/include/tcc/<module>/; sources in <dir>/src/.
# EXPORT picks the installed export set: tccTargets (default) holds what parties link, and
# tccDaemonTargets the daemon side, whose third-party packages a party's find_package(tcc) never
# needs (cmake/tccConfig.cmake.in, docs/design.md "Modules").
function(tcc_add_module)
  cmake_parse_arguments(M "" "NAME;EXPORT" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  if(NOT M_EXPORT)
    set(M_EXPORT tccTargets)
  endif()
  set(target tcc_${M_NAME})
  add_library(${target} ${M_SOURCES})
  add_library(tcc::${M_NAME} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${M_NAME} OUTPUT_NAME tcc_${M_NAME})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${target} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  tcc_set_warnings(${target})
  install(TARGETS ${target} EXPORT ${M_EXPORT}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

function(tcc_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion -Wno-missing-field-initializers)
  # Every clang build checks the locking annotations (tcc/common/thread_safety.h) and fails on a
  # breach; scripts/fuzz.sh's clang build compiles the annotated libraries for CI.
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wthread-safety -Werror=thread-safety)
  endif()
  if(TCC_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(TCC_SANITIZE)
  add_compile_options(-fsanitize=${TCC_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${TCC_SANITIZE})
endif()
