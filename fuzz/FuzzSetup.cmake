# Included from the root CMakeLists.txt when TCC_FUZZ=ON, before any module is added: every
# library is compiled with libFuzzer's coverage instrumentation (and, unless the caller chose
# otherwise, AddressSanitizer and UndefinedBehaviorSanitizer), so the fuzzers in fuzz/ see the
# branches of the code they drive. libFuzzer ships with clang only.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "TCC_FUZZ=ON needs clang (libFuzzer); configure with "
                      "-DCMAKE_CXX_COMPILER=clang++ (scripts/fuzz.sh does)")
endif()
if(NOT TCC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
add_compile_options(-fsanitize=fuzzer-no-link)
