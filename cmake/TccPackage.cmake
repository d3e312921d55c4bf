# Exported CMake package: find_package(tcc) gives the party's libraries (tcc::common, tcc::did,
# tcc::vc, tcc::chain, tcc::wire, tcc::client) from tccTargets, whose third-party packages are few
# (libsodium, libzmq, OpenSSL, simdjson, RE2). The daemon side (tcc::chain_ledger, tcc::chain_evm,
# tcc::chain_factory, tcc::vcapi, tcc::controller) is in tccDaemonTargets and comes with it where
# LevelDB, libcurl, libsecp256k1, Crypto++, prometheus-cpp and civetweb are installed; a program
# that needs it asks for the component: find_package(tcc COMPONENTS daemon).
include(CMakePackageConfigHelpers)
set(TCC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tcc)
install(EXPORT tccTargets NAMESPACE tcc:: DESTINATION ${TCC_CMAKE_DIR})
if(TCC_BUILD_DAEMON)
  install(EXPORT tccDaemonTargets NAMESPACE tcc:: DESTINATION ${TCC_CMAKE_DIR})
endif()
configure_package_config_file(cmake/tccConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tccConfig.cmake INSTALL_DESTINATION ${TCC_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tccConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tccConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/tccConfigVersion.cmake DESTINATION ${TCC_CMAKE_DIR})
