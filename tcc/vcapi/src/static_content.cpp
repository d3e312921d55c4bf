#include "static_content.h"

#include <array>
#include <filesystem>

#include "openapi_document.h"
#include "tcc/common/file.h"

namespace tcc::vcapi {
namespace {

#ifndef TCC_SWAGGER_UI_DEFAULT_DIR
#define TCC_SWAGGER_UI_DEFAULT_DIR "/usr/local/share/tcc/swagger-ui"
#endif

struct Asset {
  std::string_view name;
  std::string_view content_type;
};

// What the page loads from swagger-ui-dist (tcc/vcapi/CMakeLists.txt installs these).
constexpr std::array<Asset, 4> kAssets = {{
    {"swagger-ui.css", "text/css; charset=utf-8"},
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
    {"favicon-16x16.png", "image/png"},
    {"favicon-32x32.png", "image/png"},
}};

// swagger-ui-dist's own index.html loads a second script that points at its demo petstore; this
// page points the bundle at the document tccd serves.
constexpr std::string_view kIndexPage = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>TCC VC API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
</script>
</body>
</html>
)";

constexpr std::size_t kMaxAssetBytes = 16u << 20;

}  // namespace

Result<StaticContent> StaticContent::Load(const std::string& swagger_ui_dir) {
  StaticContent content;
  content.resources_.emplace("/openapi.json",
                             StaticResource{"application/json", std::string(OpenApiDocument())});
  const bool explicit_dir = !swagger_ui_dir.empty();
  const std::string dir = explicit_dir ? swagger_ui_dir : std::string(TCC_SWAGGER_UI_DEFAULT_DIR);
  std::error_code error;
  if (!explicit_dir && !std::filesystem::is_directory(dir, error)) {
    content.docs_missing_ = "the Swagger UI page is not installed (" + dir +
                            " is missing; vc_api.swagger_ui_dir names another directory)";
    return content;
  }
  for (const Asset& asset : kAssets) {
    const std::string path = dir + "/" + std::string(asset.name);
    auto body = ReadFile(path, {.max_bytes = kMaxAssetBytes});
    if (!body.ok()) {
      return Error(ErrorCode::kInvalidArgument,
                   "vc_api.swagger_ui_dir: " + path + ": " + body.error().message() +
                       " (the directory holds swagger-ui-dist's files, as tccd's install puts them "
                       "in share/tcc/swagger-ui)");
    }
    content.resources_.emplace(
        "/docs/" + std::string(asset.name),
        StaticResource{std::string(asset.content_type), std::move(body).value()});
  }
  content.resources_.emplace("/docs",
                             StaticResource{"text/html; charset=utf-8", std::string(kIndexPage)});
  return content;
}

const StaticResource* StaticContent::Find(std::string_view path) const {
  auto found = resources_.find(path);
  return found != resources_.end() ? &found->second : nullptr;
}

}  // namespace tcc::vcapi
