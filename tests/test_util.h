// Helpers shared by the test executables: vector paths and file loading.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "tcc/common/file.h"
#include "tcc/common/json.h"

namespace tcc::testing {

inline std::string VectorPath(const std::string& relative) {
  return std::string(TCC_TEST_VECTORS) + "/" + relative;
}

inline std::string ReadVector(const std::string& relative) {
  auto content = ReadFile(VectorPath(relative));
  REQUIRE_MESSAGE(content.ok(), relative);
  return content.value();
}

inline Json ReadVectorJson(const std::string& relative) {
  auto parsed = Json::Parse(ReadVector(relative));
  REQUIRE_MESSAGE(parsed.ok(), relative << ": " << (parsed.ok() ? "" : parsed.error().ToString()));
  return parsed.value();
}

// A file of schemas/examples (templates and sample claims), parsed.
inline Json ReadExampleJson(const std::string& relative) {
  auto content = ReadFile(std::string(TCC_SCHEMAS_DIR) + "/examples/" + relative);
  REQUIRE_MESSAGE(content.ok(), relative);
  auto parsed = Json::Parse(*content);
  REQUIRE_MESSAGE(parsed.ok(), relative);
  return parsed.value();
}

}  // namespace tcc::testing
