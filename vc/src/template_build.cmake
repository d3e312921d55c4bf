# Build pieces of the template support in tcc_vc (included from vc/CMakeLists.txt):
# - RE2 (Debian: libre2-dev) for `pattern` in compiled JSON Schemas;
# - the template meta-schemas embedded from schemas/, so the library checks templates against
#   exactly the files published there (editing one re-runs CMake).
if(NOT TARGET PkgConfig::re2)
  pkg_check_modules(re2 REQUIRED IMPORTED_TARGET GLOBAL re2)
endif()
target_link_libraries(tcc_vc PRIVATE PkgConfig::re2)

set(TCC_TIT_META_SCHEMA_FILE ${PROJECT_SOURCE_DIR}/schemas/tit-template.schema.json)
set(TCC_TST_META_SCHEMA_FILE ${PROJECT_SOURCE_DIR}/schemas/tst-template.schema.json)
file(READ ${TCC_TIT_META_SCHEMA_FILE} TCC_TIT_META_SCHEMA)
file(READ ${TCC_TST_META_SCHEMA_FILE} TCC_TST_META_SCHEMA)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${TCC_TIT_META_SCHEMA_FILE} ${TCC_TST_META_SCHEMA_FILE})
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/src/template_meta_schemas.cpp.in
  ${CMAKE_CURRENT_BINARY_DIR}/template_meta_schemas.cpp @ONLY)
target_sources(tcc_vc PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/template_meta_schemas.cpp)
