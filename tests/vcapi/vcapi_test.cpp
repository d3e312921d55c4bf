// The VC-API endpoint against a real tccd process: real HTTP requests (libcurl, keep-alive) to
// `tccd --vc-api`, real settlements over the channel to produce TSCs, a real embedded ledger for
// anchors, and tccd's Prometheus endpoint for the rejection counters.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "daemon/daemon_test_util.h"
#include "http_client.h"
#include "openapi_check.h"
#include "tcc/chain/evidence.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/data_integrity.h"
#include "tcc/vcapi/tsc_evidence.h"

namespace tcc::testing {
namespace {

constexpr char kToken[] = "vc-api-test-token-0123456789abcdef";
constexpr char kRegisteredDid[] = "did:example:registered-issuer";

// Every answer these tests receive must be one the OpenAPI document describes.
const bool kAnswersChecked = (CheckEveryAnswer(), true);

Json VerifyRequest(const Json& credential, Json options = Json()) {
  Json request = Json::Object();
  request.Set("verifiableCredential", credential);
  if (!options.is_null()) request.Set("options", std::move(options));
  return request;
}

Json EvidenceOption() {
  Json options = Json::Object();
  options.Set("checks", JsonArray{Json("evidence")});
  return options;
}

std::string ErrorMessage(const HttpResponse& response) {
  const Json body = response.json();
  const Json* error = body.Find("error");
  if (error == nullptr) return {};
  auto message = error->GetString("message");
  return message.ok() ? std::string(*message) : std::string();
}

// A credential signed here, with whatever members the case needs.
Json SignedCredential(const did::KeyPair& key, const std::vector<std::pair<std::string, Json>>& members = {}) {
  Json credential = Json::Object();
  credential.Set("@context", JsonArray{Json(vc::kCredentialsV2Context)});
  credential.Set("type", JsonArray{Json("VerifiableCredential")});
  Json subject = Json::Object();
  subject.Set("id", "did:example:subject");
  subject.Set("gpuHours", 3);
  credential.Set("credentialSubject", std::move(subject));
  for (const auto& [name, value] : members) credential.Set(name, value);
  return Unwrap(vc::IssueCredential(std::move(credential), key), "sign");
}

// A credential by a did:key issuer with `count` valid proofs, each over a prefix of its @context
// (as the spec allows): what makes a verifier sign over another document than the one it holds.
// About 330 bytes a proof, so 2,300 fit in a request of a megabyte.
Json LargeProofSet(const did::KeyPair& key, std::size_t count) {
  Json credential = Json::Object();
  credential.Set("@context",
                 JsonArray{Json(vc::kCredentialsV2Context), Json("https://example.org/x/v1")});
  credential.Set("type", JsonArray{Json("VerifiableCredential")});
  credential.Set("issuer", DidOf(key));
  credential.Set("credentialSubject", Json(JsonObject{{"id", Json("did:example:subject")}}));
  Json prefixed = credential;
  prefixed.Set("@context", JsonArray{Json(vc::kCredentialsV2Context)});
  const Json proof = Unwrap(
      vc::CreateProof(prefixed, key,
                      {.verification_method = did::DidKeyVerificationMethod(key.public_key())}),
      "proof");
  credential.Set("proof", Json(JsonArray(count, proof)));
  return credential;
}

// A TCP connection to `address` ("HOST:PORT") from `source`, an address of 127.0.0.0/8: Linux
// answers on all of them, so one machine can play several clients to per-address limits.
int ConnectFrom(const std::string& source, const std::string& address) {
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port =
      htons(static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  ::inet_pton(AF_INET, address.substr(0, address.rfind(':')).c_str(), &remote.sin_addr);
  REQUIRE(::connect(sock, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0);
  return sock;
}

// A client that sends `head`, then one byte of `trickle` every `interval`, never finishing, until
// the server answers or closes. `seconds` is how long the server took to end it (-1: it did not
// within `give_up`); `answer` what it said.
struct SlowClientEnd {
  double seconds = -1;
  std::string answer;
};
SlowClientEnd RunSlowClient(const std::string& source, const std::string& address,
                            const std::string& head, char trickle,
                            std::chrono::milliseconds interval, std::chrono::seconds give_up) {
  const int sock = ConnectFrom(source, address);
  const auto start = std::chrono::steady_clock::now();
  SlowClientEnd end;
  bool open =
      ::send(sock, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size());
  while (open && std::chrono::steady_clock::now() - start < give_up) {
    pollfd readable{sock, POLLIN, 0};
    if (::poll(&readable, 1, static_cast<int>(interval.count())) > 0) {
      char buffer[4096];
      const ssize_t got = ::recv(sock, buffer, sizeof buffer, 0);
      if (got > 0) {
        end.answer.append(buffer, static_cast<std::size_t>(got));
        continue;  // read on until the server closes
      }
      open = false;  // closed (or reset) by the server
    } else {
      open = ::send(sock, &trickle, 1, MSG_NOSIGNAL) == 1;
    }
  }
  if (!open) {
    end.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  ::close(sock);
  return end;
}

class VcApiFixture {
 public:
  VcApiFixture() {
    REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
    REQUIRE(issuer_key.WriteFile(dir.Sub("issuer.key")).ok());
    REQUIRE(WriteFileAtomic(dir.Sub("token"), std::string(kToken) + "\n", {.mode = 0600}).ok());
    // N = 2: every second TSC gets an evidence leaf, so anchors come quickly and odd TSCs are
    // committed through the next one.
    trade.Record(dir.Sub("ledger"), 2);
    RegisterIssuerDid(dir.Sub("ledger"));
    // clang-format off
    tccd.Start({"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"), "--chain", "local:" + dir.Sub("ledger"),
                "--listen", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--anchor-interval", "50",
                "--metrics", "127.0.0.1:0", "--vc-api", "127.0.0.1:0", "--vc-api-token-file", dir.Sub("token"),
                "--vc-api-issuer-key", dir.Sub("issuer.key")});
    // clang-format on
    REQUIRE_FALSE(tccd.vc_api().empty());
    http = std::make_unique<HttpClient>(tccd.vc_api());
  }

  // A DID that is not a did:key: tccd resolves it through the chain adapter.
  void RegisterIssuerDid(const std::string& ledger_path) {
    did::DidDocument document;
    document.id = kRegisteredDid;
    const std::string method = document.id + "#key-1";
    document.verification_methods.push_back(
        {method, "Multikey", document.id, did::Ed25519Multibase(registered_key.public_key())});
    document.assertion_method.push_back(method);
    document.authentication.push_back(method);
    auto ledger = Unwrap(chain::LocalLedger::Open({.path = ledger_path}), "open ledger");
    const std::string text = document.ToJson().Serialize();
    REQUIRE(ledger->RegisterDid(kRegisteredDid, AsBytes(text)).ok());
  }

  HttpResponse Verify(const Json& credential, Json options = Json()) {
    return http->Post("/credentials/verify", VerifyRequest(credential, std::move(options)).Serialize());
  }

  // Checks a refusal of a credential: 422, verified false, a message naming the problem.
  void ExpectUnverified(const Json& credential, const std::string& fragment) {
    const HttpResponse response = Verify(credential);
    CHECK_MESSAGE(response.status == 422, response.body);
    CHECK(response.content_type == "application/json");
    const Json body = response.json();
    REQUIRE(body.is_object());
    CHECK(*body.Find("verified") == Json(false));
    CHECK_MESSAGE(ErrorMessage(response).find(fragment) != std::string::npos, response.body);
  }

  double Metric(const std::string& series) {
    HttpClient metrics(tccd.metrics());
    const HttpResponse response = metrics.Get("/metrics");
    REQUIRE(response.status == 200);
    const std::size_t at = response.body.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::stod(response.body.substr(at + series.size() + 2));
  }

  TempDir dir;
  Trade trade;
  did::KeyPair registered_key = did::KeyPair::Generate();
  // Signs what the endpoint issues; not the TCC key.
  did::KeyPair issuer_key = did::KeyPair::Generate();
  TccdProcess tccd;
  std::unique_ptr<HttpClient> http;
};

TEST_CASE_FIXTURE(VcApiFixture, "vc-api: GET /identity is the TCC's DID document") {
  const HttpResponse response = http->Get("/identity");
  REQUIRE(response.status == 200);
  CHECK(response.content_type == "application/json");
  const Json document = response.json();
  CHECK(*document.Find("id") == Json(tccd.did()));
  auto parsed = did::DidDocument::FromJson(document);
  REQUIRE(parsed.ok());
  CHECK(parsed->Ed25519KeyFor(did::DidKeyVerificationMethod(trade.tcc->public_key()), did::Relationship::kAssertionMethod)
            .ok());
}

TEST_CASE_FIXTURE(VcApiFixture, "vc-api: the conformance vectors verify, over one kept-alive connection") {
  // 07 and the W3C vector are signed correctly but name a URL issuer that does not control the key;
  // the VC-API requires issuer = controller of the verification method, so they are refused below.
  for (const char* name : {"01-minimal", "02-claim-1kb", "03-claim-2kb", "04-claim-4kb", "05-unicode-escapes",
                           "06-numbers"}) {
    CAPTURE(name);
    const Json credential = ReadVectorJson(std::string("eddsa-jcs-2022/") + name + "/signed.json");
    const HttpResponse response = Verify(credential);
    REQUIRE_MESSAGE(response.status == 200, response.error << " " << response.body);
    const Json body = response.json();
    CHECK(*body.Find("verified") == Json(true));
    CHECK(*body.Find("issuer") == *credential.Find("issuer"));
    if (std::string(name) != "01-minimal") CHECK(http->reused_connection());
  }
}

TEST_CASE_FIXTURE(VcApiFixture, "vc-api: credentials that must not verify get 422 and say why") {
  const Json good = ReadVectorJson("eddsa-jcs-2022/02-claim-1kb/signed.json");
  REQUIRE(Verify(good).status == 200);

  {  // "tampered claim"
    Json tampered = good;
    tampered.Find("credentialSubject")->Set("tampered", true);
    ExpectUnverified(tampered, "signature");
  }
  {  // "wrong proof type"
    Json wrong = good;
    wrong.Find("proof")->Set("type", "Ed25519Signature2020");
    ExpectUnverified(wrong, "not DataIntegrityProof");
  }
  {  // "wrong cryptosuite"
    Json wrong = good;
    wrong.Find("proof")->Set("cryptosuite", "eddsa-rdfc-2022");
    ExpectUnverified(wrong, "eddsa-rdfc-2022");
  }
  {  // "missing proof"
    Json unsigned_credential = good;
    unsigned_credential.Erase("proof");
    ExpectUnverified(unsigned_credential, "proof");
  }
  {  // "proofValue without the multibase z"
    Json wrong = good;
    Json* proof = wrong.Find("proof");
    proof->Set("proofValue", proof->GetString("proofValue")->substr(1));
    ExpectUnverified(wrong, "start with 'z'");
  }
  {  // "issuer that does not control the signing key"
    // Signed correctly, by a key of another DID than the issuer.
    const did::KeyPair signer = did::KeyPair::Generate();
    Json credential = SignedCredential(signer);
    credential.Erase("proof");
    const Json identities = ReadVectorJson("identities.json");
    credential.Set("issuer", *identities.Find("holder")->Find("did"));
    REQUIRE(vc::AddProof(credential, signer, {.verification_method = did::DidKeyVerificationMethod(signer.public_key())}).ok());
    ExpectUnverified(credential, "does not belong to the issuer");
    // The specification's examples name a URL issuer for a did:key method: refused for the same reason.
    ExpectUnverified(ReadVectorJson("eddsa-jcs-2022/07-w3c-spec-alumni/signed.json"), "does not belong to the issuer");
    ExpectUnverified(ReadVectorJson("w3c-vc-di-eddsa/eddsa-jcs-2022/signedJCS.json"), "does not belong to the issuer");
  }
  {  // "validity dates"
    const did::KeyPair key = did::KeyPair::Generate();
    ExpectUnverified(SignedCredential(key, {{"validUntil", Json("2020-01-01T00:00:00Z")}}), "expired");
    ExpectUnverified(SignedCredential(key, {{"validFrom", Json("2099-01-01T00:00:00Z")}}), "not valid yet");
    Json malformed = SignedCredential(key);
    malformed.Set("validFrom", "2025-13-01T00:00:00Z");
    ExpectUnverified(malformed, "validFrom");
    // The same key's credential with sane dates verifies: the refusals above are about the dates.
    CHECK(Verify(SignedCredential(key, {{"validFrom", Json("2020-01-01T00:00:00Z")}})).status == 200);
  }
  {  // "not a credential"
    ExpectUnverified(Json("a string"), "JSON object"); }
}

TEST_CASE_FIXTURE(VcApiFixture, "vc-api: issuers registered on the chain, and TICs checked against their TIT") {
  // Signed with the key the chain's DID document lists for the issuer.
  Json credential = SignedCredential(registered_key);
  credential.Erase("proof");
  credential.Set("issuer", kRegisteredDid);
  REQUIRE(vc::AddProof(credential, registered_key, {.verification_method = std::string(kRegisteredDid) + "#key-1"}).ok());
  const HttpResponse registered = Verify(credential);
  CHECK_MESSAGE(registered.status == 200, registered.body);
  // The same with an issuer the chain does not know.
  Json unknown = credential;
  unknown.Erase("proof");
  unknown.Set("issuer", "did:example:unregistered");
  REQUIRE(vc::AddProof(unknown, registered_key, {.verification_method = "did:example:unregistered#key-1"}).ok());
  CHECK(Verify(unknown).status == 422);

  Json claim = ReadExampleJson("claims/gpu-hour.tic-claim.json");
  claim.Set("provider", DidOf(*trade.provider));
  claim.Set("consumer", DidOf(*trade.consumer));
  const Json tic = Unwrap(vc::IssueTic(Unwrap(vc::ApplyForTic(*trade.tit, claim), "apply"), *trade.tit, *trade.provider),
                          "issue TIC");
  const HttpResponse verified = Verify(tic);
  REQUIRE_MESSAGE(verified.status == 200, verified.body);
  CHECK(*verified.json().Find("type") == Json(vc::kTicType));
  CHECK(verified.json().Find("checks")->Serialize().find("template") != std::string::npos);
  Json unpublished = tic;
  unpublished.Find("credentialSchema")->Set("version", 99);
  ExpectUnverified(unpublished, "version 99");
  // A TIC signed by someone other than the claim's provider.
  Json wrong_signer = tic;
  wrong_signer.Erase("proof");
  wrong_signer.Set("issuer", DidOf(*trade.consumer));
  REQUIRE(vc::AddProof(wrong_signer, *trade.consumer, {.verification_method = did::DidKeyVerificationMethod(trade.consumer->public_key())}).ok());
  ExpectUnverified(wrong_signer, "provider");
}

TEST_CASE_FIXTURE(VcApiFixture, "vc-api: malformed and oversized requests get 400/413 JSON errors and are counted") {
  const double before = Metric("tcc_vc_api_rejected_total{reason=\"parse_error\"}");
  const HttpResponse not_json = http->Post("/credentials/verify", "{\"verifiableCredential\": ");
  CHECK(not_json.status == 400);
  CHECK(not_json.content_type == "application/json");
  CHECK(ErrorMessage(not_json).find("not JSON") != std::string::npos);
  CHECK(http->Post("/credentials/verify", "\xff\xfe").status == 400);
  CHECK(Metric("tcc_vc_api_rejected_total{reason=\"parse_error\"}") == before + 2);

  CHECK(http->Post("/credentials/verify", "").status == 400);
  CHECK(http->Post("/credentials/verify", "[1, 2]").status == 400);
  const HttpResponse no_credential = http->Post("/credentials/verify", "{\"credential\": {}}");
  CHECK(no_credential.status == 400);
  CHECK(ErrorMessage(no_credential).find("unknown member \"credential\"") != std::string::npos);
  Json unknown_check = VerifyRequest(Json::Object());
  unknown_check.Set("options", Json(JsonObject{{"checks", JsonArray{Json("telepathy")}}}));
  CHECK(http->Post("/credentials/verify", unknown_check.Serialize()).status == 400);

  const std::string big(2u << 20, ' ');
  const HttpResponse oversized = http->Post("/credentials/verify", big);
  CHECK(oversized.status == 413);
  CHECK(ErrorMessage(oversized).find("larger than the limit") != std::string::npos);
  // A body must announce its length: that is what lets the limit refuse it before it is read.
  const HttpResponse chunked = http->Post("/credentials/verify", big, {}, /*chunked=*/true);
  CHECK(chunked.status == 411);
  CHECK(ErrorMessage(chunked).find("Content-Length") != std::string::npos);
  const HttpResponse small_chunked =
      http->Post("/credentials/verify", "{\"verifiableCredential\": {}}", {}, true);
  CHECK(small_chunked.status == 411);

  // Headers beyond civetweb's request size limit: civetweb refuses them, still in JSON.
  const HttpResponse huge_header = http->Send("GET", "/identity", nullptr, {"X-Padding: " + std::string(40000, 'a')});
  CHECK(huge_header.status == 400);
  CHECK(huge_header.json().is_object());

  CHECK(http->Get("/credentials/verify").status == 405);
  const HttpResponse unknown = http->Get("/nowhere");
  CHECK(unknown.status == 404);
  CHECK(unknown.json().is_object());
  CHECK(Metric("tcc_vc_api_rejected_total{reason=\"resource_exhausted\"}") == 1);
  CHECK(Metric("tcc_vc_api_rejected_total{reason=\"invalid_argument\"}") >= 7);

  // Nothing of that disturbed the endpoint.
  CHECK(Verify(ReadVectorJson("eddsa-jcs-2022/01-minimal/signed.json")).status == 200);
  CHECK(Metric("tcc_vc_api_requests_total{endpoint=\"verify\"}") >= 10);
}

TEST_CASE_FIXTURE(VcApiFixture, "vc-api: issuing needs the bearer token; issued credentials verify") {
  Json request = Json::Object();
  Json credential = Json::Object();
  credential.Set("@context", JsonArray{Json(vc::kCredentialsV2Context)});
  credential.Set("type", JsonArray{Json("VerifiableCredential")});
  credential.Set("credentialSubject", Json(JsonObject{{"id", Json("did:example:auditor")}}));
  request.Set("credential", credential);
  const std::string body = request.Serialize();

  const double unauthorized_before = Metric("tcc_vc_api_rejected_total{reason=\"permission_denied\"}");
  const HttpResponse missing = http->Post("/credentials/issue", body);
  CHECK(missing.status == 401);
  CHECK(ErrorMessage(missing).find("Bearer") != std::string::npos);
  const HttpResponse wrong = http->Post("/credentials/issue", body, {"Authorization: Bearer not-the-token-at-all"});
  CHECK(wrong.status == 401);
  const HttpResponse prefix = http->Post("/credentials/issue", body, {"Authorization: Bearer " + std::string(kToken).substr(0, 20)});
  CHECK(prefix.status == 401);
  CHECK(Metric("tcc_vc_api_rejected_total{reason=\"permission_denied\"}") == unauthorized_before + 3);

  const std::string authorization = "Authorization: Bearer " + std::string(kToken);
  const HttpResponse issued = http->Post("/credentials/issue", body, {authorization});
  REQUIRE_MESSAGE(issued.status == 201, issued.body);
  const Json signed_credential = *issued.json().Find("verifiableCredential");
  CHECK(*signed_credential.Find("issuer") == Json(DidOf(issuer_key)));
  CHECK(*signed_credential.Find("issuer") != Json(tccd.did()));
  const HttpResponse verified = Verify(signed_credential);
  CHECK_MESSAGE(verified.status == 200, verified.body);

  Json no_subject = request;
  no_subject.Find("credential")->Erase("credentialSubject");
  const HttpResponse invalid = http->Post("/credentials/issue", no_subject.Serialize(), {authorization});
  CHECK(invalid.status == 400);
  CHECK(ErrorMessage(invalid).find("credentialSubject") != std::string::npos);
  Json foreign_issuer = request;
  foreign_issuer.Find("credential")->Set("issuer", "did:key:z6MkiaMbhXHNA4eJVCCj8dbzKzTgYDKf6crKgHVHid1F1WCT");
  CHECK(http->Post("/credentials/issue", foreign_issuer.Serialize(), {authorization}).status == 400);
  CHECK(http->Post("/credentials/issue", "not json", {authorization}).status == 400);
}

TEST_CASE_FIXTURE(VcApiFixture, "vc-api: issuing refuses TSCs and TICs, whatever they claim") {
  // A settled TSC, re-submitted for signing with another amount: a second "TSC" for the same seq.
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  JoinWhenOpen(*provider, trade.channel_id);
  JoinWhenOpen(*consumer, trade.channel_id);
  const Json tsc = SettleOnce(trade, *provider, *consumer, 1, trade.channel_id).tsc;
  const std::string authorization = "Authorization: Bearer " + std::string(kToken);
  auto issue = [&](Json credential) {
    Json request = Json::Object();
    request.Set("credential", std::move(credential));
    return http->Post("/credentials/issue", request.Serialize(), {authorization});
  };
  const double refused_before = Metric("tcc_vc_api_rejected_total{reason=\"invalid_argument\"}");

  Json second = tsc;
  second.Erase("proof");
  second.Erase("issuer");  // the endpoint fills in its own
  second.Find("credentialSubject")->Find("fee")->Set("amount", "0.01");
  const HttpResponse minted = issue(second);
  CHECK_MESSAGE(minted.status == 400, minted.body);
  CHECK_MESSAGE(ErrorMessage(minted).find("does not issue TransactionSettlementCredentials") !=
                    std::string::npos,
                minted.body);
  // The type alone decides, as a string or in an array, whatever else the credential holds.
  Json typed = Json::Object();
  typed.Set("@context", JsonArray{Json(vc::kCredentialsV2Context)});
  typed.Set("type", JsonArray{Json("VerifiableCredential"), Json(vc::kTicType)});
  typed.Set("credentialSubject", Json(JsonObject{{"id", Json("did:example:s")}}));
  const HttpResponse tic = issue(typed);
  CHECK(tic.status == 400);
  CHECK(ErrorMessage(tic).find("TransactionInitiationCredential") != std::string::npos);
  typed.Set("type", Json(vc::kTscType));
  CHECK(issue(typed).status == 400);
  // Naming a claim template (what TICs and TSCs do) without the type is refused too.
  Json templated = typed;
  templated.Set("type", JsonArray{Json("VerifiableCredential")});
  templated.Set("credentialSchema", *tsc.Find("credentialSchema"));
  CHECK(issue(templated).status == 400);
  CHECK(Metric("tcc_vc_api_rejected_total{reason=\"invalid_argument\"}") == refused_before + 4);
  // The same credential without the template reference is issued, by the issuer key.
  templated.Erase("credentialSchema");
  const HttpResponse plain = issue(templated);
  REQUIRE_MESSAGE(plain.status == 201, plain.body);
  CHECK(*plain.json().Find("verifiableCredential")->Find("issuer") == Json(DidOf(issuer_key)));
}

TEST_CASE_FIXTURE(VcApiFixture, "vc-api: TSCs verify with the joint proof and TST; evidence is 404 until anchored") {
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  JoinWhenOpen(*provider, trade.channel_id);
  JoinWhenOpen(*consumer, trade.channel_id);
  std::vector<Json> tscs;
  std::string prev = trade.channel_id;
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    tscs.push_back(SettleOnce(trade, *provider, *consumer, seq, prev).tsc);
    prev = vc::CredentialHash(tscs.back()).value();
  }
  auto hash_of = [](const Json& tsc) { return vc::CredentialHash(tsc).value(); };

  const HttpResponse verified = Verify(tscs[0]);
  REQUIRE_MESSAGE(verified.status == 200, verified.body);
  const Json body = verified.json();
  CHECK(*body.Find("type") == Json(vc::kTscType));
  CHECK(body.Find("checks")->Serialize().find("jointProof") != std::string::npos);

  Json tampered = tscs[0];
  tampered.Find("credentialSubject")->Find("fee")->Set("amount", "0.01");
  ExpectUnverified(tampered, "signature");
  // The TCC's proof stays valid when only the parties' proof set is cut: the joint proof check catches it.
  Json one_party = tscs[0];
  Json* claim_proofs = one_party.Find("credentialSubject")->Find("proof");
  claim_proofs->as_array().pop_back();
  const HttpResponse cut = Verify(one_party);
  CHECK(cut.status == 422);

  // TSC 3 has no leaf yet (N = 2): 404 and an unverified evidence check, until TSC 4 anchors it.
  const HttpResponse early = http->Get("/evidence/" + hash_of(tscs[2]));
  CHECK(early.status == 404);
  CHECK(ErrorMessage(early).find("not anchored yet") != std::string::npos);
  const HttpResponse early_check = Verify(tscs[2], EvidenceOption());
  CHECK(early_check.status == 422);
  CHECK(http->Get("/evidence/" + std::string(64, 'a')).status == 404);
  CHECK(http->Get("/evidence/not-a-hash").status == 400);
  // Paths with bytes that are not UTF-8 still get valid JSON answers.
  const HttpResponse odd = http->Get("/evidence/%ff%fe");
  CHECK(odd.status == 400);
  CHECK(odd.json().is_object());
  CHECK(http->Get("/%c3%28").json().is_object());

  auto evidence_of = [&](const Json& tsc) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    HttpResponse response;
    while (std::chrono::steady_clock::now() < deadline) {
      response = http->Get("/evidence/" + hash_of(tsc));
      if (response.status != 404) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE_MESSAGE(response.status == 200, response.body);
    return response.json();
  };
  // TSC 1 is committed through TSC 2's leaf: the answer carries TSC 2 to link them.
  const Json first = evidence_of(tscs[0]);
  CHECK(*first.Find("seq") == Json(1));
  CHECK(*first.Find("anchoredSeq") == Json(2));
  const auto bundle = Unwrap(chain::EvidenceBundleFromJson(*first.Find("bundle")), "bundle");
  CHECK(chain::VerifyEvidenceBundle(bundle).ok());
  const JsonArray& links = first.Find("linkingCredentials")->as_array();
  REQUIRE(links.size() == 1);
  CHECK(links[0] == tscs[1]);
  const auto item = Unwrap(vcapi::TscEvidenceItem(tscs[0]), "item");
  CHECK(vcapi::CheckEvidenceCommits(item, links, bundle).ok());
  CHECK_FALSE(vcapi::CheckEvidenceCommits(Unwrap(vcapi::TscEvidenceItem(tscs[2]), "item 3"), links, bundle).ok());

  const HttpResponse checked = Verify(tscs[1], EvidenceOption());
  REQUIRE_MESSAGE(checked.status == 200, checked.body);
  CHECK(*checked.json().Find("evidence")->Find("anchoredSeq") == Json(2));

  tscs.push_back(SettleOnce(trade, *provider, *consumer, 4, prev).tsc);
  const Json third = evidence_of(tscs[2]);
  CHECK(*third.Find("anchoredSeq") == Json(4));
  const HttpResponse late_check = Verify(tscs[2], EvidenceOption());
  CHECK_MESSAGE(late_check.status == 200, late_check.body);
  // The evidence check is for TSCs only.
  CHECK(Verify(ReadVectorJson("eddsa-jcs-2022/01-minimal/signed.json"), EvidenceOption()).status == 400);
}

TEST_CASE_FIXTURE(
    VcApiFixture,
    "vc-api: a large proof set is refused at once, and clients sending them stall nobody") {
  const did::KeyPair key = did::KeyPair::Generate();
  // Within the proof limit the prefixed proofs verify: the refusal below is about the size.
  const HttpResponse few = Verify(LargeProofSet(key, vc::kDefaultMaxProofs));
  REQUIRE_MESSAGE(few.status == 200, few.body);

  const std::string large = VerifyRequest(LargeProofSet(key, 2300)).Serialize();
  REQUIRE(large.size() < (1u << 20));
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  const auto start = Clock::now();
  const HttpResponse refused = http->Post("/credentials/verify", large);
  const double took = seconds_since(start);
  CHECK_MESSAGE(refused.status == 422, refused.body.substr(0, 300));
  CHECK(ErrorMessage(refused).find("proof set of 2300 proofs; at most 8 are verified") !=
        std::string::npos);
  // Parsing a megabyte takes milliseconds; verifying 2,300 proofs took seconds.
  CHECK_MESSAGE(took < 1.0, "refused after " << took << " s");

  // Four clients keep sending such sets while another verifies an ordinary credential.
  std::atomic<bool> stop{false};
  std::atomic<int> refusals{0};
  std::vector<std::thread> senders;
  for (int i = 0; i < 4; ++i) {
    senders.emplace_back([&] {
      HttpClient client(tccd.vc_api());
      while (!stop) refusals += client.Post("/credentials/verify", large).status == 422 ? 1 : 0;
    });
  }
  const Json ordinary = ReadVectorJson("eddsa-jcs-2022/01-minimal/signed.json");
  double slowest = 0;
  // At least 20, and on until every sender had a set refused (on a busy machine the senders may
  // start late): the measure is of verifies made while large sets were being sent.
  const auto give_up = Clock::now() + std::chrono::seconds(60);
  for (int i = 0; i < 20 || (refusals < 4 && Clock::now() < give_up); ++i) {
    const auto sent = Clock::now();
    CHECK(Verify(ordinary).status == 200);
    slowest = std::max(slowest, seconds_since(sent));
  }
  stop = true;
  for (auto& sender : senders) sender.join();
  CHECK(refusals >= 4);
  CHECK_MESSAGE(slowest < 1.5, "the slowest ordinary verify took " << slowest << " s");
}

TEST_CASE(
    "vc-api: slow clients are cut off, one address holds a few connections, and verification keeps "
    "answering") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  // Only the existing request timeout is set (shorter, to keep the test short); the other limits
  // are the defaults: 64 connections, 8 per address, header timeout cut to the request timeout.
  REQUIRE(WriteFileAtomic(dir.Sub("tccd.json"),
                          "{\"vc_api\": {\"listen\": \"0\", \"request_timeout_ms\": 2000}}")
              .ok());
  TccdProcess tccd;
  tccd.Start({"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"), "--listen",
              "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0",
              "--config", dir.Sub("tccd.json")});
  const std::string address = tccd.vc_api();
  constexpr auto kTrickle =
      std::chrono::milliseconds(100);  // well inside civetweb's per-read timeout
  constexpr auto kGiveUp = std::chrono::seconds(15);
  // Headers that never end, from one address: 8 are allowed (and time out), the rest refused at
  // once.
  constexpr int kSlowHeaders = 24;
  const std::string header_head = "POST /credentials/verify HTTP/1.1\r\nHost: tcc\r\nX-Slow: ";
  // Bodies announced as a megabyte that trickle a byte at a time, from another address.
  constexpr int kSlowBodies = 8;
  const std::string body_head =
      "POST /credentials/verify HTTP/1.1\r\nHost: tcc\r\nContent-Type: application/json\r\n"
      "Content-Length: 1048576\r\n\r\n{\"verifiableCredential\": ";
  std::vector<SlowClientEnd> header_ends(kSlowHeaders), body_ends(kSlowBodies);
  std::atomic<int> running{kSlowHeaders + kSlowBodies};
  std::vector<std::thread> slow;
  for (int i = 0; i < kSlowHeaders; ++i) {
    slow.emplace_back([&, i] {
      header_ends[i] = RunSlowClient("127.0.0.3", address, header_head, 'a', kTrickle, kGiveUp);
      --running;
    });
  }
  for (int i = 0; i < kSlowBodies; ++i) {
    slow.emplace_back([&, i] {
      body_ends[i] = RunSlowClient("127.0.0.4", address, body_head, ' ', kTrickle, kGiveUp);
      --running;
    });
  }

  // Meanwhile a client from a third address verifies, as long as any slow client runs.
  using Clock = std::chrono::steady_clock;
  HttpClient legitimate(address, "127.0.0.2");
  const Json credential = ReadVectorJson("eddsa-jcs-2022/02-claim-1kb/signed.json");
  const std::string request = VerifyRequest(credential).Serialize();
  int answered = 0;
  double slowest = 0;
  while (running > 0) {
    const auto sent = Clock::now();
    const HttpResponse response = legitimate.Post("/credentials/verify", request);
    slowest = std::max(slowest, std::chrono::duration<double>(Clock::now() - sent).count());
    if (response.status != 200) {
      FAIL_CHECK("a verification failed under load: " << response.status << " " << response.error
                                                      << " " << response.body);
      break;
    }
    ++answered;
  }
  for (auto& thread : slow) thread.join();
  // Verifications take milliseconds; 3 s leaves room for a loaded machine, not for waiting out a
  // slow client's timeout (which is what happened when they held all worker threads).
  CHECK_MESSAGE(slowest < 3.0,
                "the slowest of " << answered << " verifications took " << slowest << " s");
  CHECK(answered >= 10);

  // Every slow client was cut off: the headers within civetweb's timeout (twice the request
  // timeout at most, as the last wait may begin just before it), the bodies 408 at their deadline
  // (the request timeout after the headers, plus at most one wait). 8 s is twice either bound.
  int refused_at_once = 0;
  for (const SlowClientEnd& end : header_ends) {
    CHECK_MESSAGE(end.seconds >= 0,
                  "a slow-header client was not cut off within " << kGiveUp.count() << " s");
    CHECK_MESSAGE(end.seconds < 8.0,
                  "a slow-header client was cut off after " << end.seconds << " s");
    if (end.answer.starts_with("HTTP/1.1 429")) {
      ++refused_at_once;
      CHECK(end.answer.find("max_connections_per_source") != std::string::npos);
    } else {
      CHECK_MESSAGE(end.answer.starts_with("HTTP/1.1 400"), end.answer.substr(0, 300));
      CHECK(end.answer.find("header_timeout_ms") != std::string::npos);
    }
  }
  // 8 connections of 127.0.0.3 held headers open; the others were over the address's limit.
  CHECK_MESSAGE(refused_at_once >= kSlowHeaders - 2 * 8, refused_at_once << " refused at once");
  for (const SlowClientEnd& end : body_ends) {
    CHECK_MESSAGE(end.seconds >= 0,
                  "a slow-body client was not cut off within " << kGiveUp.count() << " s");
    CHECK_MESSAGE(end.seconds >= 1.5,
                  "a slow-body client was cut off after only " << end.seconds << " s");
    CHECK_MESSAGE(end.seconds < 8.0,
                  "a slow-body client was cut off after " << end.seconds << " s");
    CHECK_MESSAGE(end.answer.starts_with("HTTP/1.1 408"), end.answer.substr(0, 200));
  }
  // Each refusal counted, under its error code.
  HttpClient metrics(tccd.metrics());
  const std::string scraped = metrics.Get("/metrics").body;
  const std::string series = "\ntcc_vc_api_rejected_total{reason=\"resource_exhausted\"} ";
  const std::size_t at = scraped.find(series);
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(scraped.substr(at + series.size())) >= refused_at_once + kSlowBodies);
}

TEST_CASE("vc-api: off by default, issuing off without a token, and a readable token file is refused") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  const std::vector<std::string> base = {"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"),
                                         "--listen", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*"};
  {
    TccdProcess tccd;
    tccd.Start(base);
    CHECK(tccd.vc_api().empty());
  }
  {
    TccdProcess tccd;
    std::vector<std::string> arguments = base;
    arguments.insert(arguments.end(), {"--vc-api", "0"});
    tccd.Start(arguments);
    REQUIRE(tccd.vc_api().starts_with("127.0.0.1:"));
    HttpClient http(tccd.vc_api());
    const HttpResponse refused = http.Post("/credentials/issue", "{\"credential\": {}}");
    CHECK(refused.status == 403);
    CHECK(ErrorMessage(refused).find("disabled") != std::string::npos);
  }
  {
    // A configured issuer key signs instead of the TCC key; /identity still names the TCC.
    const did::KeyPair issuer = did::KeyPair::Generate();
    REQUIRE(issuer.WriteFile(dir.Sub("issuer.key")).ok());
    REQUIRE(WriteFileAtomic(dir.Sub("token"), std::string(kToken), {.mode = 0600}).ok());
    TccdProcess tccd;
    std::vector<std::string> arguments = base;
    arguments.insert(arguments.end(), {"--vc-api", "0", "--vc-api-token-file", dir.Sub("token"), "--vc-api-issuer-key",
                                       dir.Sub("issuer.key")});
    tccd.Start(arguments);
    HttpClient http(tccd.vc_api());
    const std::string request =
        "{\"credential\": {\"@context\": [\"https://www.w3.org/ns/credentials/v2\"], \"type\": [\"VerifiableCredential\"], "
        "\"credentialSubject\": {\"id\": \"did:example:s\"}}}";
    const HttpResponse issued = http.Post("/credentials/issue", request, {"Authorization: Bearer " + std::string(kToken)});
    REQUIRE_MESSAGE(issued.status == 201, issued.body);
    CHECK(*issued.json().Find("verifiableCredential")->Find("issuer") == Json(DidOf(issuer)));
    CHECK(*http.Get("/identity").json().Find("id") == Json(tccd.did()));
  }
  {
    // Issuing needs its own key: a token alone does not start, nor does the TCC key as issuer key.
    REQUIRE(WriteFileAtomic(dir.Sub("token"), std::string(kToken), {.mode = 0600}).ok());
    TccdProcess no_key;
    std::vector<std::string> arguments = base;
    arguments.insert(arguments.end(), {"--vc-api", "0", "--vc-api-token-file", dir.Sub("token")});
    CHECK(no_key.RunToExit(arguments) != 0);
    CHECK(no_key.LogContains("needs an issuer key of its own"));
    TccdProcess tcc_key;
    arguments.insert(arguments.end(), {"--vc-api-issuer-key", dir.Sub("tcc.key")});
    CHECK(tcc_key.RunToExit(arguments) != 0);
    CHECK(tcc_key.LogContains("is the TCC's own key"));
    // The same key in another file is the same key.
    REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc-copy.key")).ok());
    TccdProcess copied;
    arguments.back() = dir.Sub("tcc-copy.key");
    CHECK(copied.RunToExit(arguments) != 0);
    CHECK(copied.LogContains("is the TCC's own key"));
  }
  {
    REQUIRE(WriteFileAtomic(dir.Sub("open-token"), std::string(kToken), {.mode = 0644}).ok());
    TccdProcess tccd;
    std::vector<std::string> arguments = base;
    arguments.insert(arguments.end(),
                     {"--vc-api", "0", "--vc-api-token-file", dir.Sub("open-token"),
                      "--vc-api-issuer-key", dir.Sub("issuer.key")});
    CHECK(tccd.RunToExit(arguments) != 0);
    CHECK(tccd.LogContains("open-token"));
  }
  {
    // Limits from the config file: a small body limit, one verification at a time, and a request
    // timeout that ends a client which stops sending in the middle of its body.
    REQUIRE(WriteFileAtomic(dir.Sub("tccd.json"), "{\"vc_api\": {\"listen\": \"0\", \"threads\": 1, "
                                                  "\"max_body_bytes\": 4096, \"request_timeout_ms\": 300}}")
                .ok());
    TccdProcess tccd;
    std::vector<std::string> arguments = base;
    arguments.insert(arguments.end(), {"--config", dir.Sub("tccd.json")});
    tccd.Start(arguments);
    {
      HttpClient http(tccd.vc_api());
      CHECK(http.Post("/credentials/verify", "{\"verifiableCredential\": \"" + std::string(5000, 'a') + "\"}").status == 413);
      CHECK(http.Post("/credentials/verify", "{\"verifiableCredential\": {}}").status == 422);
    }

    const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(sock >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(tccd.vc_api().substr(tccd.vc_api().rfind(':') + 1))));
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    REQUIRE(::connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    const std::string partial = "POST /credentials/verify HTTP/1.1\r\nHost: tcc\r\nContent-Length: 100\r\n\r\n{";
    REQUIRE(::send(sock, partial.data(), partial.size(), 0) == static_cast<ssize_t>(partial.size()));
    const auto sent = std::chrono::steady_clock::now();
    // The stalled request holds a connection, not the endpoint: others are served meanwhile.
    HttpClient other(tccd.vc_api());
    CHECK(other.Post("/credentials/verify", "{\"verifiableCredential\": {}}").status == 422);
    timeval wait{5, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char answer[512] = {0};
    const ssize_t got = ::recv(sock, answer, sizeof answer - 1, 0);
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    ::close(sock);
    CHECK_MESSAGE(waited < 4.0, "waited " << waited << " s");
    CHECK(waited >= 0.2);  // the server waited for the body until the timeout, not less
    CHECK(std::string(answer, got > 0 ? static_cast<std::size_t>(got) : 0)
              .starts_with("HTTP/1.1 408"));
  }
  {
    TccdProcess tccd;
    std::vector<std::string> arguments = base;
    arguments.insert(arguments.end(), {"--vc-api", "localhost:http"});
    CHECK(tccd.RunToExit(arguments) == 2);
    CHECK(tccd.LogContains("ADDR:PORT"));
  }
}

}  // namespace
}  // namespace tcc::testing
