// PrepareChannel alone, over a real embedded ledger with a TIC the provider issued and recorded
// (the daemon tests' Trade), a real channel store for the template cache and the did:key resolver:
// the record it makes, and the TICs it refuses.
#include "channel_opening.h"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>

#include "daemon/daemon_test_util.h"

namespace tcc::controller {
namespace {

using tcc::testing::DidOf;
using tcc::testing::TempDir;
using tcc::testing::Trade;

struct Opened {
  TempDir dir;
  Trade trade;
  std::shared_ptr<chain::ChainAdapter> ledger;
  std::unique_ptr<ChannelStore> store;
  std::unique_ptr<TemplateCache> templates;
  did::DidKeyResolver resolver;

  explicit Opened(bool with_auditor = true,
                  std::optional<std::uint64_t> amend_after_s = std::nullopt) {
    trade.amend_after_s = amend_after_s;
    auto opened = chain::LocalLedger::Open({.path = dir.Sub("ledger")});
    REQUIRE(opened.ok());
    ledger = std::shared_ptr<chain::ChainAdapter>(std::move(opened).value());
    trade.Record(ledger, 7, with_auditor);
    auto channel_store = ChannelStore::Open(dir.Sub("store"));
    REQUIRE(channel_store.ok());
    store = std::move(channel_store).value();
    templates = std::make_unique<TemplateCache>(ledger, *store);
  }
  Result<PreparedChannel> Prepare(const std::string& tcc_did, const std::string& tic_id) {
    return PrepareChannel(*ledger, *templates, resolver, tcc_did, tic_id, 1234);
  }
};

TEST_CASE("a recorded TIC naming this TCC becomes a channel record with its head at the TIC") {
  Opened o;
  auto prepared = o.Prepare(o.trade.tcc_did(), o.trade.channel_id);
  REQUIRE_MESSAGE(prepared.ok(), (prepared.ok() ? "" : prepared.error().ToString()));
  const ChannelRecord& record = prepared->record;
  CHECK(record.channel_id == o.trade.channel_id);
  CHECK(record.provider == DidOf(*o.trade.provider));
  CHECK(record.consumer == DidOf(*o.trade.consumer));
  CHECK(record.auditors == std::vector<std::string>{DidOf(*o.trade.auditor)});
  CHECK(record.tst_id == o.trade.tst->id());
  CHECK(record.tst_version == o.trade.tst->version());
  CHECK(record.strategy_n == 7);
  CHECK(record.state == ChannelState::kOpen);
  CHECK(record.last_seq == 0);
  CHECK(HexEncode(record.last_hash) == o.trade.channel_id);
  CHECK(record.opened_ms == 1234);
  REQUIRE(prepared->tst != nullptr);
  CHECK(prepared->tst->content_hash() == o.trade.tst->content_hash());

  Opened without_auditor(false);
  auto plain =
      without_auditor.Prepare(without_auditor.trade.tcc_did(), without_auditor.trade.channel_id);
  REQUIRE(plain.ok());
  CHECK(plain->record.auditors.empty());
}

TEST_CASE("a TIC for another TCC, or one not on the chain, opens no channel") {
  Opened o;
  auto other = o.Prepare(DidOf(*o.trade.provider), o.trade.channel_id);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code() == ErrorCode::kPermissionDenied);
  CHECK(other.error().message().find("not this one") != std::string::npos);

  auto missing = o.Prepare(o.trade.tcc_did(), std::string(64, 'f'));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kNotFound);
}

TEST_CASE(
    "the TIC's settlement.amend_after_s goes into the channel record and survives the store") {
  Opened timed(true, 30);
  auto prepared = timed.Prepare(timed.trade.tcc_did(), timed.trade.channel_id);
  REQUIRE_MESSAGE(prepared.ok(), (prepared.ok() ? "" : prepared.error().ToString()));
  CHECK(prepared->record.amend_after_s == std::optional<std::uint64_t>(30));
  auto decoded = ChannelRecordFromJson(ChannelRecordToJson(prepared->record));
  REQUIRE(decoded.ok());
  CHECK(*decoded == prepared->record);

  // Absent: only a rejection allows an amend.
  Opened untimed;
  auto plain = untimed.Prepare(untimed.trade.tcc_did(), untimed.trade.channel_id);
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->record.amend_after_s.has_value());
  CHECK_FALSE(ChannelRecordToJson(plain->record).Find("amendAfterS"));
  // A stored record with an out-of-range timeout is refused like any corrupt record.
  Json stored = ChannelRecordToJson(prepared->record);
  stored.Set("amendAfterS", kMaxAmendAfterSeconds + 1);
  CHECK_FALSE(ChannelRecordFromJson(stored).ok());
}

}  // namespace
}  // namespace tcc::controller
