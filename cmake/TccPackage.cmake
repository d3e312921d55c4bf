# Exported CMake package: find_package(tcc) gives tcc::common, tcc::did, tcc::vc, ...
include(CMakePackageConfigHelpers)
set(TCC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tcc)
install(EXPORT tccTargets NAMESPACE tcc:: DESTINATION ${TCC_CMAKE_DIR})
configure_package_config_file(cmake/tccConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tccConfig.cmake INSTALL_DESTINATION ${TCC_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tccConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tccConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/tccConfigVersion.cmake DESTINATION ${TCC_CMAKE_DIR})
