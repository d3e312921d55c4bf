// Daemon: the Transaction Channel Controller as a library. tccd is a thin main() around it, and a
// chain node written in C++ can embed it in-process the same way (tests/daemon does).
//
// What it runs (docs/design.md, "Flow"; its threads: "Threads of tccd"):
//  - a party socket (ZeroMQ ROUTER, CURVE with the TCC's DID key) where parties pass DID
//    challenge-response per channel and then propose, submit, sync and fetch evidence;
//  - a control socket (CURVE, admitted only for the configured admin keys) for the chain node and
//    operators: open/close channels, anchoring policy, list, health;
//  - the settlement pipeline: a worker pool verifies joint claims and issues TSCs in parallel,
//    while each channel keeps one settlement in flight so `seq`/`prev` order holds; a store writer
//    group-commits issued TSCs to LevelDB before anything is acknowledged or published;
//  - the anchor service (evidence batches through the chain adapter, adjustable N);
//  - a chain watcher that opens channels for recorded TICs naming this TCC and keeps the DID cache
//    fresh.
// State lives in `data_dir` (store/, and the embedded ledger ledger/ by default); Start recovers it.
//
// Threads: Start spawns the threads above; every public method is thread-safe. Stop (or the
// destructor) drains: in-flight settlements finish, each open channel's latest TSC is anchored,
// queued anchors are sent, threads are joined.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tcc/common/result.h"
#include "tcc/controller/anchor_options.h"
#include "tcc/vcapi/server.h"

namespace tcc::controller {

// What one peer, and all of them, can make tccd hold (docs/reliability.md lists what a client
// sees at each limit).
struct DaemonLimits {
  std::size_t max_channels = 100000;
  // Admitted party connections (at least one channel joined by DID challenge-response).
  std::size_t max_connections = 100000;
  // Connections not admitted to any channel: at most this many (a new one closes the oldest),
  // each for at most unauthenticated_timeout.
  std::size_t max_unauthenticated_connections = 1024;
  std::chrono::milliseconds unauthenticated_timeout{30000};
  // TCP connections from one source address, admitted or not.
  std::size_t max_connections_per_source = 256;
  // Challenges (auth.begin) one connection may hold; the one expiring first makes room.
  std::size_t max_challenges_per_connection = 64;
  // Requests a connection may have tccd work on at once (auth.begin, auth.prove, channel.sync,
  // evidence.get; at most 4 of the last two): more are refused until answers are read.
  std::size_t max_requests_in_flight_per_connection = 64;
  // Replies and events handed to the transport but not yet taken by the kernel (a peer that does
  // not read): per connection, and in total. A connection over its share is disconnected.
  std::uint64_t max_queued_bytes_per_connection = 8u << 20;
  std::uint64_t max_queued_bytes_total = 256u << 20;
  // A connection silent for this long is closed (its admissions end).
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};
  std::chrono::milliseconds challenge_ttl{10000};
  // Challenges (auth.begin) per second from one source address, with a burst of twice that.
  double auth_rate_per_source = 200;
  // Submissions queued behind a channel's in-flight settlement.
  std::size_t max_waiting_per_channel = 64;
};

// The store writer's group commit (docs/tccd.md): while settlements are being verified, a group
// commit waits for them, up to group_commit_width TSCs or group_commit_linger, so that one fsync
// covers more TSCs. A lone settlement is written at once, unless group_commit_idle_linger is set:
// then it waits that long for more commits (fewer fsyncs below saturation, at that much latency).
// Width 0 turns the waiting off.
struct StoreTuning {
  std::size_t group_commit_width = 64;
  std::chrono::milliseconds group_commit_linger{10};
  std::chrono::milliseconds group_commit_idle_linger{0};
};

struct DaemonConfig {
  std::string data_dir;              // required
  std::string key_file;              // default <data_dir>/tcc.key, created on first start
  std::string chain_uri;             // default local:<data_dir>/ledger
  std::string listen = "tcp://127.0.0.1:7700";
  std::string control = "tcp://127.0.0.1:7701";
  // Prometheus /metrics on ADDR:PORT (e.g. 127.0.0.1:9464; port 0 picks one); empty: not served.
  std::string metrics;
  // did:key DIDs whose keys may use the control socket. Empty: <data_dir>/admin.key is created
  // (0600) on first start and is the only admin.
  std::vector<std::string> admin_dids;
  std::size_t workers = 0;  // 0: one per core
  bool auto_open = true;    // open channels for recorded TICs the chain reports
  std::chrono::milliseconds chain_poll_wait{1000};
  AnchorPolicyOptions policy;
  AnchorServiceOptions anchoring;  // batch_id_prefix is derived from the TCC DID when left "tcc"
  DaemonLimits limits;
  StoreTuning store;
  // The VC-API HTTP endpoint (verify, issue, evidence, identity; tcc/vcapi/server.h), off while
  // vc_api.listen is empty. Issued credentials are signed with vc_api_issuer_key_file, never with
  // the TCC key (which signs settlements only): a token file without an issuer key, or an issuer
  // key that is the TCC key, stops Start with kInvalidArgument.
  vcapi::ServerOptions vc_api;
  std::string vc_api_issuer_key_file;
};

// Reads a JSON config file (see tccd --help for the members); unknown members are errors.
Result<DaemonConfig> LoadDaemonConfig(const std::string& path);
// Fills defaults that depend on other members (key file, chain URI) and checks the values.
Status FinishDaemonConfig(DaemonConfig& config);

class Daemon {
 public:
  // Opens the store and the chain, recovers channels, binds the sockets and starts the threads.
  // Refuses a data directory or key file that another user owns or may write (the message names
  // the path and the fix). A start that fails half-way stops what it started, without draining.
  static Result<std::unique_ptr<Daemon>> Start(DaemonConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::string& did() const;
  // The endpoints actually bound ("tcp://127.0.0.1:*" resolved to a port).
  const std::string& listen_endpoint() const;
  const std::string& control_endpoint() const;
  const std::string& metrics_address() const;  // empty when metrics are not served
  const std::string& vc_api_address() const;   // empty when the VC-API is not served
  const std::string& admin_key_file() const;  // empty when admins come from the config

  // Drains and stops; idempotent. Safe to call from any thread, also from several at once (the
  // others wait until the first has stopped the daemon), but not from a signal handler or from
  // the daemon's own threads.
  void Stop();
  // Blocks until Stop has completed (or the daemon stopped on a fatal error); returns why it stopped.
  Status Wait();

 private:
  class Impl;
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tcc::controller
