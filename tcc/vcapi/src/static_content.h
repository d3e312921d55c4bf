// StaticContent: the VC API's self-description as HTTP resources: GET /openapi.json (compiled in)
// and the Swagger UI page GET /docs with its assets below /docs/, read once at start from the
// swagger-ui-dist files installed with tccd (share/tcc/swagger-ui, or vc_api.swagger_ui_dir).
//
// Only a fixed list of file names is served, all held in memory, so no request path ever reaches
// the file system. Immutable after Load; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "tcc/common/result.h"

namespace tcc::vcapi {

struct StaticResource {
  std::string content_type;
  std::string body;
};

class StaticContent {
 public:
  // `swagger_ui_dir` empty: the installed default, and /docs is 404 (saying why) when it is absent.
  // Given explicitly, a missing or incomplete directory is kInvalidArgument.
  static Result<StaticContent> Load(const std::string& swagger_ui_dir);

  // The resource at `path` (/openapi.json, /docs, /docs/<asset>), or nullptr.
  const StaticResource* Find(std::string_view path) const;
  // Why /docs is not served; empty when it is.
  const std::string& docs_missing() const { return docs_missing_; }

 private:
  std::map<std::string, StaticResource, std::less<>> resources_;
  std::string docs_missing_;
};

}  // namespace tcc::vcapi
