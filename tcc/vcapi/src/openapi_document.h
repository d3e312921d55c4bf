// The VC API's OpenAPI 3.1 document (tcc/vcapi/openapi.json), compiled into the library by CMake so
// that GET /openapi.json always describes the running tccd. Immutable; thread-safe.
#pragma once

#include <string_view>

namespace tcc::vcapi {

std::string_view OpenApiDocument();

}  // namespace tcc::vcapi
