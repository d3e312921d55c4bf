// tccd's start-up checks against the real binary and real files: a data directory or key file that
// another user owns or may write is refused with a message naming the path and the fix; a data
// directory tccd cannot enter ends the start with exit code 3 and a message, never an abort. And
// the embedded Daemon's lifecycle: Stop from two threads at once, a start that fails after the
// anchor service started.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <latch>

#include "daemon_test_util.h"

namespace tcc::testing {
namespace {

// tcc::cli::kExitInputError: what tccd exits with on a refused start.
constexpr int kExitInputError = 3;
constexpr uid_t kOtherUser = 65534;  // nobody

bool RunningAsRoot() { return ::geteuid() == 0; }

// tccd with the data directory `data` (its keys there by default), the embedded ledger in `ledger`.
std::vector<std::string> Arguments(const std::string& data, const std::string& ledger,
                                   std::vector<std::string> extra = {}) {
  std::vector<std::string> arguments{
      "--data-dir",        data,        "--chain",          "local:" + ledger, "--listen",
      "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*"};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return arguments;
}

// Runs tccd and requires a clean refusal: exit code 3 (not a signal, not ready) and every fragment
// in its output.
void ExpectRefused(const std::vector<std::string>& arguments,
                   const std::vector<std::string>& fragments) {
  TccdProcess tccd;
  const std::optional<int> status = tccd.RunExpectingExit(arguments);
  const std::string log = tccd.Log();
  REQUIRE_MESSAGE(status.has_value(), "tccd started instead of refusing:\n" << log);
  CHECK_MESSAGE(*status == kExitInputError, "exit status " << *status << ":\n" << log);
  CHECK_MESSAGE(log.find("terminate called") == std::string::npos, log);
  // A JSON line for the log collector, as well as the plain message for a person.
  CHECK_MESSAGE(log.find("\"level\":\"error\",\"msg\":\"start failed\"") != std::string::npos, log);
  for (const auto& fragment : fragments)
    CHECK_MESSAGE(log.find(fragment) != std::string::npos, fragment << " not in:\n" << log);
}

void MakeDirectory(const std::string& path, mode_t mode) {
  REQUIRE(::mkdir(path.c_str(), mode) == 0);
  REQUIRE(::chmod(path.c_str(), mode) == 0);  // past the umask
}

TEST_CASE(
    "tccd refuses a data directory another user owns" * doctest::skip(!RunningAsRoot()) *
    doctest::description("skipped unless root: only root can give a directory to another user")) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  MakeDirectory(data, 0700);
  REQUIRE(::chown(data.c_str(), kOtherUser, kOtherUser) == 0);
  ExpectRefused(
      Arguments(data, dir.Sub("ledger")),
      {"data directory " + data + " is owned by uid 65534, not by uid 0 that this process runs as",
       "chown 0 " + data + ", or use another data directory"});
  // Nothing was written into it: no key that user could read or swap.
  CHECK_FALSE(std::filesystem::exists(data + "/tcc.key"));
  CHECK_FALSE(std::filesystem::exists(data + "/admin.key"));
}

TEST_CASE("tccd refuses key files another user owns" * doctest::skip(!RunningAsRoot()) *
          doctest::description("skipped unless root: only root can give a file to another user")) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  MakeDirectory(data, 0700);
  const did::KeyPair planted = did::KeyPair::Generate();

  SUBCASE("an admin.key planted in the data directory") {
    // Before the check tccd read it and admitted its holder on the control endpoint.
    const std::string file = data + "/admin.key";
    REQUIRE(planted.WriteFile(file).ok());
    REQUIRE(::chown(file.c_str(), kOtherUser, kOtherUser) == 0);
    ExpectRefused(
        Arguments(data, dir.Sub("ledger")),
        {"admin key: file " + file + " is owned by uid 65534, not by uid 0", "chown 0 " + file});
  }
  SUBCASE("the TCC key named by --key") {
    const std::string file = dir.Sub("tcc.key");
    REQUIRE(planted.WriteFile(file).ok());
    REQUIRE(::chown(file.c_str(), kOtherUser, kOtherUser) == 0);
    ExpectRefused(
        Arguments(data, dir.Sub("ledger"), {"--key", file}),
        {"TCC key: file " + file + " is owned by uid 65534, not by uid 0", "chown 0 " + file});
  }
  SUBCASE("the VC API token file") {
    const std::string file = dir.Sub("token");
    REQUIRE(WriteFileAtomic(file, "0123456789abcdef0123456789abcdef\n", {.mode = 0600}).ok());
    REQUIRE(::chown(file.c_str(), kOtherUser, kOtherUser) == 0);
    // Issuing also needs a key of its own (not the TCC's); that one is in order.
    const std::string issuer = dir.Sub("issuer.key");
    REQUIRE(did::KeyPair::Generate().WriteFile(issuer).ok());
    ExpectRefused(Arguments(data, dir.Sub("ledger"),
                            {"--vc-api", "127.0.0.1:0", "--vc-api-token-file", file, "--vc-api-issuer-key", issuer}),
                  {"file " + file + " is owned by uid 65534, not by uid 0"});
  }
}

TEST_CASE("tccd refuses a data directory that group or others can write, or a parent they can") {
  TempDir dir;
  SUBCASE("the data directory itself") {
    const std::string data = dir.Sub("data");
    MakeDirectory(data, 0770);
    ExpectRefused(Arguments(data, dir.Sub("ledger")),
                  {"data directory " + data + " is writable by group or others (mode 0770)",
                   "chmod 700 " + data});
    // Refused as it was: tccd neither narrowed it nor wrote into it.
    struct stat info {};
    REQUIRE(::stat(data.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0770);
    CHECK_FALSE(std::filesystem::exists(data + "/admin.key"));
  }
  SUBCASE("a directory above it, without the sticky bit") {
    const std::string shared = dir.Sub("shared");
    MakeDirectory(shared, 0777);
    const std::string data = shared + "/data";
    ExpectRefused(Arguments(data, dir.Sub("ledger")),
                  {"directory " + shared + " above data directory " + data +
                       " is writable by group or others (mode 0777)",
                   "chmod go-w " + shared});
  }
}

TEST_CASE(
    "tccd exits with a message, not an abort, when it cannot enter its data directory or read its "
    "keys") {
  TempDir dir;
  const std::string ledger = dir.Sub("ledger");
  SUBCASE("a path component is a regular file") {
    REQUIRE(WriteFileAtomic(dir.Sub("file"), "x").ok());
    const std::string data = dir.Sub("file") + "/data";
    ExpectRefused(Arguments(data, ledger),
                  {"cannot stat data directory " + data, "Not a directory"});
  }
  SUBCASE("the data directory is a symlink loop") {
    const std::string data = dir.Sub("loop");
    REQUIRE(::symlink(data.c_str(), data.c_str()) == 0);
    ExpectRefused(Arguments(data, ledger),
                  {"data directory", data, "Too many levels of symbolic links"});
  }
  SUBCASE("a key in the data directory is a symlink loop") {
    // std::filesystem::exists threw on it: tccd died of an uncaught filesystem_error (SIGABRT).
    for (const auto& file :
         {std::pair<std::string, std::string>{"tcc.key", "TCC key"}, {"admin.key", "admin key"}}) {
      CAPTURE(file.first);
      TempDir fresh;
      const std::string data = fresh.Sub("data");
      MakeDirectory(data, 0700);
      const std::string key = data + "/" + file.first;
      REQUIRE(::symlink(key.c_str(), key.c_str()) == 0);
      ExpectRefused(Arguments(data, fresh.Sub("ledger")),
                    {file.second, key, "Too many levels of symbolic links"});
    }
  }
  SUBCASE("the key's path is longer than the system allows") {
    const std::string data = dir.Sub("data");
    const std::string key = dir.path() + "/" + std::string(300, 'k');
    ExpectRefused(Arguments(data, ledger, {"--key", key}), {"TCC key", "File name too long"});
  }
}

TEST_CASE("embedded Daemon: Stop from two threads at once stops it once") {
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    auto daemon = Unwrap(controller::Daemon::Start(LocalDaemonConfig(dir)), "start");
    std::latch both(2);
    auto stop = [&] {
      both.arrive_and_wait();
      daemon->Stop();
    };
    std::thread first(stop);
    std::thread second(stop);
    first.join();
    second.join();
    CHECK(daemon->Wait().ok());
    daemon->Stop();  // and once more, after the fact
  }
}

// A listening TCP socket on a loopback port the system picks; closed on destruction.
class BoundPort {
 public:
  BoundPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~BoundPort() { ::close(fd_); }
  BoundPort(const BoundPort&) = delete;
  BoundPort& operator=(const BoundPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_CASE(
    "embedded Daemon: a start that fails after the anchor service started tears down cleanly") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 1);  // N = 1: every TSC leaves an evidence item

  // A TSC whose evidence item is stored but not anchored: batches once an hour, then a crash.
  {
    TccdProcess tccd;
    tccd.Start(LocalTccdArguments(dir, {"--anchor-interval", "3600000"}));
    auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
    auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
    JoinWhenOpen(*provider, trade.channel_id);
    JoinWhenOpen(*consumer, trade.channel_id);
    SettleOnce(trade, *provider, *consumer, 1, trade.channel_id);
    tccd.Kill();
  }

  // The anchor service starts with that item queued; then the party endpoint cannot be bound.
  // Tearing that down used to let the anchor service drain into the destroyed loop queue (ASan:
  // heap-use-after-free).
  {
    BoundPort taken;
    controller::DaemonConfig config = LocalDaemonConfig(dir);
    config.listen = "tcp://127.0.0.1:" + std::to_string(taken.port());
    config.anchoring.interval = std::chrono::hours(1);
    auto started = controller::Daemon::Start(config);
    REQUIRE_FALSE(started.ok());
    CHECK_MESSAGE(started.error().message().find("Address already in use") != std::string::npos,
                  started.error().ToString());
  }

  // Nothing was lost: the next start anchors the item.
  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(dir, {"--anchor-interval", "50"}));
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  JoinWhenOpen(*provider, trade.channel_id);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!provider->GetEvidence(trade.channel_id, 1).ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(Unwrap(provider->GetEvidence(trade.channel_id, 1), "evidence 1").anchored_seq == 1);
  CHECK(tccd.Stop() == 0);
}

}  // namespace
}  // namespace tcc::testing
