// The Swagger UI page tccd serves (GET /docs), opened in a real headless Chromium (Debian's
// `chromium`): the page, the pinned swagger-ui-dist bundle and tccd's /openapi.json must come
// together into a rendered list of the VC API's operations. Skipped (77) when chromium is absent.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <regex>

#include "daemon/daemon_test_util.h"
#include "http_client.h"
#include "openapi_check.h"
#include "tcc/common/file.h"

namespace tcc::testing {
namespace {

std::string Chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return {};
}

// The DOM of `url` after Chromium ran its scripts for up to 30 s of virtual time (the page's
// timers run as fast as the machine allows, so a busy machine only makes the run slower, not
// shorter). --no-sandbox: CI runs it as root.
std::string RenderedDom(const std::string& url, const std::string& profile) {
  std::filesystem::create_directories(profile);
  const std::string command = "timeout 180 " + Chromium() +
                              " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage"
                              " --no-first-run --user-data-dir=" +
                              profile + " --virtual-time-budget=30000 --dump-dom '" + url + "' 2>" +
                              profile + "/chromium.log";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string dom;
  char buffer[16384];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) dom.append(buffer, got);
  const int status = ::pclose(pipe);
  const bool exited_cleanly = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  REQUIRE_MESSAGE(exited_cleanly, "chromium failed with status " << status);
  return dom;
}

TEST_CASE("vc-api: the Swagger UI page renders every operation of the document in Chromium" *
          doctest::skip(Chromium().empty()) * doctest::description("chromium is not installed")) {
  TempDir dir;
  const did::KeyPair key = did::KeyPair::Generate();
  REQUIRE(key.WriteFile(dir.Sub("tcc.key")).ok());
  REQUIRE(WriteFileAtomic(dir.Sub("tccd.json"),
                          "{\"vc_api\": {\"listen\": \"0\", \"swagger_ui_dir\": \"" +
                              std::string(TCC_SWAGGER_UI_BUILD_DIR) + "\"}}")
              .ok());
  TccdProcess tccd;
  tccd.Start({"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"), "--chain",
              "local:" + dir.Sub("ledger"), "--listen", "tcp://127.0.0.1:*", "--control",
              "tcp://127.0.0.1:*", "--config", dir.Sub("tccd.json")});
  REQUIRE_FALSE(tccd.vc_api().empty());

  const std::string dom = RenderedDom("http://" + tccd.vc_api() + "/docs", dir.Sub("profile"));
  // Rendered, not just served: the operations are elements Swagger UI built from the document.
  CHECK_MESSAGE(dom.find("class=\"swagger-ui\"") != std::string::npos, dom.substr(0, 2000));
  CHECK(dom.find("Failed to load API definition") == std::string::npos);
  CHECK(dom.find("TCC VC API") != std::string::npos);
  const Json& paths = *VcApiDocument().document().Find("paths");
  REQUIRE(paths.as_object().size() >= 8);
  for (const auto& [path, item] : paths.as_object()) {
    CHECK_MESSAGE(dom.find("data-path=\"" + path + "\"") != std::string::npos,
                  path << " is not rendered");
  }
  // Every script and stylesheet comes from tccd itself (no CDN).
  const std::regex reference(R"#((?:src|href)="([^"]*)")#");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), reference);
       it != std::sregex_iterator(); ++it) {
    const std::string target = (*it)[1];
    if (target.ends_with(".js") || target.ends_with(".css"))
      CHECK_MESSAGE(target.starts_with("/docs/"), target);
  }
}

}  // namespace
}  // namespace tcc::testing
