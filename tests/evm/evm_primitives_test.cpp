// Keccak-256, RLP, keys and EIP-155 signing against published vectors, and the ABI encoder
// against the compiler's own selectors.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <sstream>

#include "chain/chain_test_util.h"
#include "evm_abi.h"
#include "tcc/chain/evm_adapter.h"
#include "tcc/chain/evm_primitives.h"
#include "tcc/common/file.h"

namespace tcc::chain::evm {
namespace {

Bytes Hex(std::string_view hex) {
  if (hex.starts_with("0x")) hex.remove_prefix(2);
  return HexDecode(hex).value();
}

std::string HexOf(ByteView bytes) { return HexEncode(bytes); }

TEST_CASE("Keccak-256 is Ethereum's (pre-standard padding), not SHA3-256") {
  CHECK(HexOf(Keccak256("")) == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  CHECK(HexOf(Keccak256("abc")) == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  // The ERC-20 transfer selector every EVM tool knows.
  CHECK(HexOf(Keccak256("transfer(address,uint256)")).substr(0, 8) == "a9059cbb");
}

TEST_CASE("RLP: the yellow paper's examples") {
  CHECK(HexOf(RlpString(AsBytes("dog"))) == "83646f67");
  Bytes cat_dog[] = {RlpString(AsBytes("cat")), RlpString(AsBytes("dog"))};
  CHECK(HexOf(RlpList(cat_dog)) == "c88363617483646f67");
  CHECK(HexOf(RlpString({})) == "80");
  CHECK(HexOf(RlpList({})) == "c0");
  CHECK(HexOf(RlpUint(0)) == "80");
  CHECK(HexOf(RlpUint(15)) == "0f");
  CHECK(HexOf(RlpUint(1024)) == "820400");
  std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  CHECK(HexOf(RlpString(AsBytes(lorem))).substr(0, 4) == "b838");
}

TEST_CASE("quantities and addresses parse strictly") {
  CHECK(QuantityHex(0) == "0x0");
  CHECK(QuantityHex(0x1f) == "0x1f");
  CHECK(ParseQuantity("0x1f").value() == 0x1f);
  CHECK(ParseQuantity("0xffffffffffffffff").value() == UINT64_MAX);
  CHECK(!ParseQuantity("0x10000000000000000").ok());
  CHECK(!ParseQuantity("1f").ok());
  CHECK(!ParseQuantity("0x").ok());
  CHECK(!ParseQuantity("0xzz").ok());
  CHECK(ParseAddress("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266").ok());
  CHECK(!ParseAddress("0x1234").ok());
  CHECK(!ParseAddress("0xg39Fd6e51aad88F6F4ce6aB8827279cffFb92266").ok());
}

TEST_CASE("EIP-155's example transaction signs byte for byte") {
  auto key = AccountKey::FromSecret(Hex("4646464646464646464646464646464646464646464646464646464646464646"));
  REQUIRE(key.ok());
  CHECK(AddressHex(key->address()) == "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f");
  LegacyTransaction tx{9, 20'000'000'000, 21'000, ParseAddress("0x3535353535353535353535353535353535353535").value(),
                       1'000'000'000'000'000'000, {}, 1};
  CHECK(HexOf(SigningHash(tx)) == "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
  CHECK(HexOf(key->SignTransaction(tx).value()) ==
        "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a0"
        "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb70330"
        "4b3800ccf555c9f3dc64214b297fb1966a3b6d83");
  tx.chain_id = 0;
  CHECK(key->SignTransaction(tx).error().code() == ErrorCode::kInvalidArgument);
  // anvil's first development account.
  auto anvil = AccountKey::FromSecret(Hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"));
  CHECK(AddressHex(anvil->address()) == "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
  CHECK(!AccountKey::FromSecret(Bytes(32, 0)).ok());
  CHECK(!AccountKey::FromSecret(Bytes(31, 1)).ok());
  CHECK(!AccountKey::FromSecret(Hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")).ok());
}

TEST_CASE("account key files: 0600, hex, refused when others can read them") {
  chain::testing::TempDir dir;
  AccountKey key = AccountKey::Generate();
  std::string path = dir.Sub("account.key");
  REQUIRE(key.WriteFile(path).ok());
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(AccountKey::FromFile(path).value().address() == key.address());
  CHECK(key.WriteFile(path).error().code() == ErrorCode::kAlreadyExists);
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  CHECK(AccountKey::FromFile(path).error().code() == ErrorCode::kPermissionDenied);
  std::string bad = dir.Sub("bad.key");
  REQUIRE(WriteFileAtomic(bad, "0x1234\n", {.mode = 0600}).ok());
  CHECK(AccountKey::FromFile(bad).error().code() == ErrorCode::kInvalidArgument);
  CHECK(AccountKey::FromFile(dir.Sub("missing.key")).error().code() == ErrorCode::kNotFound);
}

TEST_CASE("the registry's selectors from solc match Keccak-256 of their signatures") {
  std::istringstream lines{std::string(EvmRegistryMethodIdentifiers())};
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    std::size_t eq = line.find('=');
    REQUIRE(eq != std::string::npos);
    CHECK_MESSAGE(HexOf(Keccak256(line.substr(0, eq))).substr(0, 8) == line.substr(eq + 1), line);
    ++count;
  }
  CHECK(count >= 10);
  CHECK(EvmRegistryBuildInfo().find("london") != std::string::npos);
}

TEST_CASE("evm URIs parse, refuse what they cannot use, and print back") {
  auto options = ParseEvmUri("evm+http://127.0.0.1:8545?contract=0x5FbDB2315678afecb367f032d93F642f64180aa3"
                             "&key=/k/a.key&chain_id=31337&confirmations=2&gas_price=0&poll_ms=50");
  REQUIRE(options.ok());
  CHECK(options->rpc_url == "http://127.0.0.1:8545");
  CHECK(options->key_file == "/k/a.key");
  CHECK(options->chain_id == 31337u);
  CHECK(options->confirmations == 2);
  CHECK(options->gas_price == 0u);
  CHECK(options->poll_interval == std::chrono::milliseconds(50));
  CHECK(ParseEvmUri(EvmUri(*options)).value().rpc_url == options->rpc_url);
  CHECK(ParseEvmUri(EvmUri(*options)).value().confirmations == 2);
  CHECK(!ParseEvmUri("evm+http://h:1?key=/k").ok());                  // no contract
  CHECK(!ParseEvmUri("evm+http://h:1?contract=0x12&key=/k").ok());    // short address
  CHECK(!ParseEvmUri("evm+http://h:1?contract=0x5FbDB2315678afecb367f032d93F642f64180aa3").ok());
  auto unknown = ParseEvmUri("evm+http://h:1?contract=0x5FbDB2315678afecb367f032d93F642f64180aa3&key=/k&x=1");
  REQUIRE(!unknown.ok());
  CHECK(unknown.error().message().find("known:") != std::string::npos);
  CHECK(!ParseEvmUri("evm+http://h:1?contract=0x5FbDB2315678afecb367f032d93F642f64180aa3&key=/k&confirmations=0").ok());
  CHECK(!ParseEvmUri("evm+ftp://h:1").ok());
  CHECK(!ParseEvmUri("evm+http://?key=/k").ok());
}

TEST_CASE("ABI: calls encode as solc does, and the reader refuses malformed node data") {
  // anchor("b", 0x11.., 7): selector, head (offset 0x60, root, 7), tail (length 1, "b" padded).
  Hash256 root;
  root.fill(0x11);
  Bytes call = AbiCall("anchor(string,bytes32,uint64)").Dynamic(std::string_view("b")).Word(root).Uint(7).Finish();
  REQUIRE(call.size() == 4 + 5 * 32);
  CHECK(HexOf(ByteView(call).first(4)) == "b5581648");
  AbiReader arguments(ByteView(call).subspan(4));
  CHECK(arguments.Uint(0).value() == 0x60);
  CHECK(arguments.Text(0).value() == "b");
  CHECK(arguments.Word(1).value() == root);
  CHECK(arguments.Uint(2).value() == 7);
  // A bytes32[] and a long dynamic value round-trip.
  std::string long_text(100, 'x');
  Hash256 words[2] = {root, Keccak256("y")};
  Bytes encoded = AbiCall("f(string,bytes32[])").Dynamic(std::string_view(long_text)).WordArray(words).Arguments();
  CHECK(AbiReader(encoded).Text(0).value() == long_text);
  CHECK(AbiReader(encoded).Uint(1).value() == 64 + 32 + 128);

  // Solidity's Error(string) revert data.
  Bytes revert = AbiCall("Error(string)").Dynamic(std::string_view("conflict: no")).Finish();
  CHECK(RevertReason(revert) == "conflict: no");
  CHECK(RevertReason(Bytes{1, 2, 3}).empty());
  CHECK(RevertReason(Bytes(revert.begin(), revert.begin() + 40)).empty());

  // Offsets and lengths that point outside the data, values wider than 64 bits, short data.
  Bytes bad = encoded;
  bad[31] = 0xff;  // offset of argument 0 past the end
  CHECK(AbiReader(bad).Dynamic(0).error().code() == ErrorCode::kParse);
  bad = encoded;
  bad[64 + 31] = 0xff;  // length of argument 0 runs past the end
  bad[64 + 30] = 0xff;
  CHECK(AbiReader(bad).Dynamic(0).error().code() == ErrorCode::kParse);
  bad = encoded;
  bad[0] = 1;  // an offset of 2^248
  CHECK(!AbiReader(bad).Dynamic(0).ok());
  CHECK(!AbiReader(bad).Uint(0).ok());
  CHECK(!AbiReader(Bytes(31, 0)).Word(0).ok());
  CHECK(!AbiReader(Bytes()).Uint(0).ok());
  CHECK(!AbiReader(Bytes(64, 0)).Word(SIZE_MAX / 16).ok());
  // Every truncation of valid data is refused cleanly, never read past.
  for (std::size_t size = 0; size < encoded.size(); ++size) {
    AbiReader truncated(ByteView(encoded).first(size));
    (void)truncated.Text(0);
    (void)truncated.Dynamic(1);
  }
}

}  // namespace
}  // namespace tcc::chain::evm
