// The VC API's operational surface against a real tccd: its OpenAPI document (served, equal to the
// one in the source tree, and describing every answer these tests receive), the Swagger UI page and
// its assets from the pinned swagger-ui-dist, GET /healthz, CORS for configured origins only, and
// the 400 that explains the {"verifiableCredential": ...} wrapper to a client that forgot it.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

#include "daemon/daemon_test_util.h"
#include "http_client.h"
#include "openapi_check.h"
#include "tcc/common/file.h"
#include "tcc/vc/credential.h"

namespace tcc::testing {
namespace {

const bool kAnswersChecked = (CheckEveryAnswer(), true);

// A tccd serving the VC API, configured by `vc_api` (members of the config file's "vc_api").
class Tccd {
 public:
  explicit Tccd(const std::string& vc_api = "\"listen\": \"0\"") {
    REQUIRE(key.WriteFile(dir.Sub("tcc.key")).ok());
    REQUIRE(WriteFileAtomic(dir.Sub("tccd.json"), "{\"vc_api\": {" + vc_api + "}}").ok());
    process.Start(Arguments());
    REQUIRE_FALSE(process.vc_api().empty());
  }

  std::vector<std::string> Arguments() const {
    return {"--data-dir",        dir.Sub("data"),     "--key",
            dir.Sub("tcc.key"),  "--chain",           "local:" + dir.Sub("ledger"),
            "--listen",          "tcp://127.0.0.1:*", "--control",
            "tcp://127.0.0.1:*", "--config",          dir.Sub("tccd.json")};
  }

  TempDir dir;
  did::KeyPair key = did::KeyPair::Generate();
  TccdProcess process;
};

std::string SwaggerUiDir() { return TCC_SWAGGER_UI_BUILD_DIR; }

TEST_CASE(
    "vc-api: GET /openapi.json serves the document of the source tree, and it describes every "
    "endpoint") {
  Tccd tccd;
  HttpClient http(tccd.process.vc_api());
  const HttpResponse served = http.Get("/openapi.json");
  REQUIRE(served.status == 200);
  CHECK(served.content_type == "application/json");
  REQUIRE(VcApiDocument().document().is_object());
  CHECK(served.json() == VcApiDocument().document());
  CHECK(*served.json().Find("openapi") == Json("3.1.0"));
  // Every path the server routes is in the document with the method it accepts.
  const Json& paths = *VcApiDocument().document().Find("paths");
  for (const auto& [path, method] :
       std::vector<std::pair<std::string, std::string>>{{"/credentials/verify", "post"},
                                                        {"/credentials/issue", "post"},
                                                        {"/evidence/{tscHash}", "get"},
                                                        {"/identity", "get"},
                                                        {"/healthz", "get"},
                                                        {"/openapi.json", "get"},
                                                        {"/docs", "get"},
                                                        {"/docs/{asset}", "get"}}) {
    const Json* item = paths.Find(path);
    REQUIRE_MESSAGE(item != nullptr, path);
    CHECK_MESSAGE(item->Find(method) != nullptr, path);
  }
  // The checker itself: a body the document does not allow is caught.
  const Json error_schema = Json::Parse(R"({"$ref": "#/components/schemas/Error"})").value();
  CHECK(VcApiDocument()
            .Validate(Json::Parse(R"({"error": {"code": "not_found", "message": "x"}})").value(),
                      error_schema, "")
            .empty());
  CHECK_FALSE(VcApiDocument()
                  .Validate(Json::Parse(R"({"error": {"code": "nope", "message": "x"}})").value(),
                            error_schema, "")
                  .empty());
  CHECK_FALSE(VcApiDocument()
                  .Validate(Json::Parse(R"({"error": {"code": "internal"}, "extra": 1})").value(),
                            error_schema, "")
                  .empty());
  CHECK_FALSE(VcApiDocument().Check("GET", "/identity", 200, "application/json", "{}").empty());
  CHECK_FALSE(VcApiDocument().Check("GET", "/identity", 418, "application/json", "{}").empty());
  CHECK_FALSE(VcApiDocument().Check("GET", "/nowhere", 200, "application/json", "{}").empty());
  // Answers of every kind go through the checker (CheckEveryAnswer).
  const std::size_t before = CheckedAnswers();
  CHECK(http.Get("/identity").status == 200);
  CHECK(http.Get("/credentials/verify").status == 405);
  CHECK(http.Get("/nowhere").status == 404);
  CHECK(http.Post("/credentials/issue", "{\"credential\": {}}").status == 403);
  CHECK(CheckedAnswers() == before + 4);
}

TEST_CASE(
    "vc-api: a bare credential posted to /credentials/verify gets a 400 that explains the "
    "wrapper") {
  Tccd tccd;
  HttpClient http(tccd.process.vc_api());
  const did::KeyPair issuer = did::KeyPair::Generate();
  Json credential = Json::Object();
  credential.Set("@context", JsonArray{Json(vc::kCredentialsV2Context)});
  credential.Set("type", JsonArray{Json("VerifiableCredential")});
  credential.Set("credentialSubject", Json(JsonObject{{"id", Json("did:example:subject")}}));
  const Json signed_credential = vc::IssueCredential(credential, issuer).value();
  const HttpResponse bare = http.Post("/credentials/verify", signed_credential.Serialize());
  CHECK(bare.status == 400);
  const std::string message = bare.json().Find("error")->Find("message")->as_string();
  CHECK_MESSAGE(message.find("bare credential") != std::string::npos, message);
  CHECK_MESSAGE(message.find("{\"verifiableCredential\": <the credential>") != std::string::npos,
                message);
  // Wrapped, the same credential verifies.
  Json wrapped = Json::Object();
  wrapped.Set("verifiableCredential", signed_credential);
  CHECK(http.Post("/credentials/verify", wrapped.Serialize()).status == 200);
  // Other wrong shapes keep their own message.
  const HttpResponse unknown = http.Post("/credentials/verify", "{\"credential\": {}}");
  CHECK(unknown.status == 400);
  CHECK(unknown.body.find("unknown member \\\"credential\\\"") != std::string::npos);
}

TEST_CASE("vc-api: GET /healthz answers without auth: ready, with the store and chain checks") {
  Tccd tccd;
  HttpClient http(tccd.process.vc_api());
  const HttpResponse health = http.Get("/healthz");
  REQUIRE_MESSAGE(health.status == 200, health.body);
  const Json body = health.json();
  CHECK(*body.Find("status") == Json("ready"));
  CHECK(body.Find("reasons")->as_array().empty());
  CHECK(*body.Find("checks")->Find("store")->Find("ok") == Json(true));
  const Json& chain = *body.Find("checks")->Find("chain");
  CHECK(*chain.Find("ok") == Json(true));
  CHECK(*chain.Find("adapter") == Json("local"));
  CHECK(http.Post("/healthz", "{}").status == 405);
}

TEST_CASE("vc-api: GET /docs serves the Swagger UI page and the pinned swagger-ui-dist assets") {
  Tccd tccd("\"listen\": \"0\", \"swagger_ui_dir\": \"" + SwaggerUiDir() + "\"");
  HttpClient http(tccd.process.vc_api());
  const HttpResponse page = http.Get("/docs");
  REQUIRE(page.status == 200);
  CHECK(page.content_type == "text/html; charset=utf-8");
  CHECK(page.body.find("/docs/swagger-ui-bundle.js") != std::string::npos);
  CHECK(page.body.find("url: \"/openapi.json\"") != std::string::npos);
  CHECK(page.body.find("http") == std::string::npos);  // nothing from elsewhere: no CDN
  CHECK(http.Get("/docs/").status == 404);
  const HttpResponse bundle = http.Get("/docs/swagger-ui-bundle.js");
  REQUIRE(bundle.status == 200);
  CHECK(bundle.content_type == "text/javascript; charset=utf-8");
  CHECK(bundle.body == ReadFile(SwaggerUiDir() + "/swagger-ui-bundle.js").value());
  CHECK(http.Get("/docs/swagger-ui.css").content_type == "text/css; charset=utf-8");
  CHECK(http.Get("/docs/favicon-32x32.png").content_type == "image/png");
  // Only the listed files, never a path into the file system.
  CHECK(http.Get("/docs/index.html").status == 404);
  CHECK(http.Get("/docs/../tccd.json").status == 404);
  CHECK(http.Get("/docs/LICENSE").status == 404);
}

TEST_CASE("vc-api: a swagger_ui_dir without the assets, or an origin that is not one, stops tccd") {
  {
    TempDir dir;
    const did::KeyPair key = did::KeyPair::Generate();
    REQUIRE(key.WriteFile(dir.Sub("tcc.key")).ok());
    REQUIRE(WriteFileAtomic(dir.Sub("tccd.json"),
                            "{\"vc_api\": {\"listen\": \"0\", \"swagger_ui_dir\": \"" +
                                dir.Sub("nothing") + "\"}}")
                .ok());
    TccdProcess tccd;
    CHECK(tccd.RunToExit({"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"), "--listen",
                          "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--config",
                          dir.Sub("tccd.json")}) != 0);
    CHECK(tccd.LogContains("swagger-ui.css"));
  }
  for (const std::string origin :
       {"*", "https://app.example/", "app.example", "ftp://app.example"}) {
    TempDir dir;
    const did::KeyPair key = did::KeyPair::Generate();
    REQUIRE(key.WriteFile(dir.Sub("tcc.key")).ok());
    REQUIRE(
        WriteFileAtomic(dir.Sub("tccd.json"),
                        "{\"vc_api\": {\"listen\": \"0\", \"cors_origins\": [\"" + origin + "\"]}}")
            .ok());
    TccdProcess tccd;
    CHECK(tccd.RunToExit({"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"), "--listen",
                          "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--config",
                          dir.Sub("tccd.json")}) != 0);
    CHECK_MESSAGE(tccd.LogContains("is not an origin"), origin);
  }
}

HttpResponse Preflight(HttpClient& http, const std::string& path, const std::string& origin,
                       const std::string& method) {
  return http.Send("OPTIONS", path, nullptr,
                   {"Origin: " + origin, "Access-Control-Request-Method: " + method,
                    "Access-Control-Request-Headers: content-type"});
}

TEST_CASE("vc-api: CORS is off by default") {
  Tccd tccd;
  HttpClient http(tccd.process.vc_api());
  const HttpResponse preflight =
      Preflight(http, "/credentials/verify", "https://app.example", "POST");
  CHECK(preflight.status == 403);
  CHECK_FALSE(preflight.Header("Access-Control-Allow-Origin"));
  CHECK(preflight.body.find("vc_api.cors_origins") != std::string::npos);
  const HttpResponse identity =
      http.Send("GET", "/identity", nullptr, {"Origin: https://app.example"});
  CHECK(identity.status == 200);
  CHECK_FALSE(identity.Header("Access-Control-Allow-Origin"));
}

TEST_CASE("vc-api: CORS answers the configured origins only") {
  Tccd tccd(
      "\"listen\": \"0\", \"cors_origins\": [\"https://app.example\", \"http://localhost:3000\"]");
  HttpClient http(tccd.process.vc_api());
  const HttpResponse preflight =
      Preflight(http, "/credentials/verify", "https://app.example", "POST");
  CHECK(preflight.status == 204);
  CHECK(preflight.body.empty());
  CHECK(preflight.Header("Access-Control-Allow-Origin") ==
        std::optional<std::string>("https://app.example"));
  CHECK(preflight.Header("Access-Control-Allow-Methods") == std::optional<std::string>("POST"));
  CHECK(preflight.Header("Access-Control-Allow-Headers").value_or("").find("Content-Type") !=
        std::string::npos);
  CHECK(preflight.Header("Vary") == std::optional<std::string>("Origin"));
  CHECK(Preflight(http, "/evidence/" + std::string(64, 'a'), "http://localhost:3000", "GET")
            .Header("Access-Control-Allow-Methods") == std::optional<std::string>("GET"));
  // Another origin, or a near miss, gets no CORS headers.
  for (const std::string other :
       {"https://evil.example", "https://app.example:443", "http://app.example"}) {
    const HttpResponse refused = Preflight(http, "/credentials/verify", other, "POST");
    CHECK(refused.status == 403);
    CHECK_FALSE(refused.Header("Access-Control-Allow-Origin"));
    CHECK_FALSE(http.Send("GET", "/identity", nullptr, {"Origin: " + other})
                    .Header("Access-Control-Allow-Origin"));
  }
  // The actual requests of a listed origin carry the header, refusals included.
  const HttpResponse identity =
      http.Send("GET", "/identity", nullptr, {"Origin: https://app.example"});
  CHECK(identity.status == 200);
  CHECK(identity.Header("Access-Control-Allow-Origin") ==
        std::optional<std::string>("https://app.example"));
  const HttpResponse refused = http.Post("/credentials/verify", "{\"verifiableCredential\": {}}",
                                         {"Origin: http://localhost:3000"});
  CHECK(refused.status == 422);
  CHECK(refused.Header("Access-Control-Allow-Origin") ==
        std::optional<std::string>("http://localhost:3000"));
  // Without Origin (not a browser), nothing changes.
  CHECK_FALSE(http.Get("/identity").Header("Access-Control-Allow-Origin"));
}

// A self-signed certificate for 127.0.0.1 and its key (mode 0600), made with the openssl tool.
void MakeCertificate(const std::string& certificate, const std::string& key,
                     const std::string& name = "127.0.0.1") {
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" +
      name + " -addext subjectAltName=IP:" + name + " -keyout " + key + " -out " + certificate +
      " 2>/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  REQUIRE(::chmod(key.c_str(), 0600) == 0);
}

// What `openssl s_client` says when it connects to `address` with `options`.
std::string OpenSslClient(const std::string& address, const std::string& options) {
  const std::string command =
      "timeout 30 openssl s_client -connect " + address + " " + options + " </dev/null 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string text;
  char buffer[4096];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, got);
  ::pclose(pipe);
  return text;
}

TEST_CASE("vc-api: TLS with a certificate and a key from files, checked by real TLS clients") {
  TempDir certs;
  MakeCertificate(certs.Sub("cert.pem"), certs.Sub("key.pem"));
  Tccd tccd("\"listen\": \"0\", \"tls_certificate_file\": \"" + certs.Sub("cert.pem") +
            "\", \"tls_key_file\": \"" + certs.Sub("key.pem") + "\"");
  HttpClient https(tccd.process.vc_api());
  https.UseTls(certs.Sub("cert.pem"));
  const HttpResponse identity = https.Get("/identity");
  REQUIRE_MESSAGE(identity.status == 200, identity.error);
  CHECK(*identity.json().Find("id") == Json(tccd.process.did()));
  CHECK(https.Get("/healthz").status == 200);
  CHECK(https.Post("/credentials/verify", "{\"verifiableCredential\": {}}").status == 422);
  CHECK(https.reused_connection());  // keep-alive over TLS
  // Plain HTTP on the TLS port gets no answer.
  HttpClient plain(tccd.process.vc_api());
  CHECK(plain.Get("/identity").status == 0);
  // A client that does not trust the certificate refuses it; TLS 1.1 is refused by tccd.
  HttpClient untrusting(tccd.process.vc_api());
  untrusting.UseTls("/etc/ssl/certs/ca-certificates.crt");
  CHECK(untrusting.Get("/identity").status == 0);
  const std::string modern = OpenSslClient(
      tccd.process.vc_api(), "-CAfile " + certs.Sub("cert.pem") + " -verify_return_error");
  CHECK_MESSAGE(modern.find("Verification: OK") != std::string::npos, modern);
  const std::string old = OpenSslClient(tccd.process.vc_api(), "-tls1_1");
  CHECK_MESSAGE(old.find("alert protocol version") != std::string::npos, old);
  CHECK_MESSAGE(old.find("no peer certificate available") != std::string::npos, old);
  CHECK_MESSAGE(modern.find("New, TLSv1.3") != std::string::npos, modern);
}

TEST_CASE("vc-api: TLS settings tccd refuses to start with") {
  TempDir dir;
  MakeCertificate(dir.Sub("cert.pem"), dir.Sub("key.pem"));
  MakeCertificate(dir.Sub("other-cert.pem"), dir.Sub("other-key.pem"));
  REQUIRE(
      WriteFileAtomic(dir.Sub("open-key.pem"), ReadFile(dir.Sub("key.pem")).value(), {.mode = 0644})
          .ok());
  const did::KeyPair key = did::KeyPair::Generate();
  REQUIRE(key.WriteFile(dir.Sub("tcc.key")).ok());
  struct Case {
    std::string tls;
    std::string expected;
  };
  for (const Case& bad : std::vector<Case>{
           {"\"tls_certificate_file\": \"" + dir.Sub("cert.pem") + "\"", "needs both"},
           {"\"tls_key_file\": \"" + dir.Sub("key.pem") + "\"", "needs both"},
           {"\"tls_certificate_file\": \"" + dir.Sub("cert.pem") + "\", \"tls_key_file\": \"" +
                dir.Sub("open-key.pem") + "\"",
            "open-key.pem"},
           {"\"tls_certificate_file\": \"" + dir.Sub("cert.pem") + "\", \"tls_key_file\": \"" +
                dir.Sub("other-key.pem") + "\"",
            "key values mismatch"},
           {"\"tls_certificate_file\": \"" + dir.Sub("tcc.key") + "\", \"tls_key_file\": \"" +
                dir.Sub("key.pem") + "\"",
            "tls_certificate_file"}}) {
    REQUIRE(
        WriteFileAtomic(dir.Sub("tccd.json"), "{\"vc_api\": {\"listen\": \"0\", " + bad.tls + "}}")
            .ok());
    TccdProcess tccd;
    CHECK(tccd.RunToExit({"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"), "--listen",
                          "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--config",
                          dir.Sub("tccd.json")}) != 0);
    CHECK_MESSAGE(tccd.LogContains(bad.expected), bad.expected << "\n" << tccd.Log());
  }
}

}  // namespace
}  // namespace tcc::testing
