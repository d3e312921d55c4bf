#include "daemon_keys.h"

#include <utility>
#include <vector>

#include "tcc/common/bytes.h"
#include "tcc/controller/log.h"
#include "tcc/did/did_key.h"

namespace tcc::controller {
namespace {

// Reads the key, or creates it if there is no file: never replaces one (a key that cannot be read
// is an error to report, not a file to overwrite).
Result<did::KeyPair> LoadOrCreateKey(const std::string& path, std::string_view what,
                                     bool& created) {
  created = false;
  auto key = did::KeyPair::ReadFile(path);
  if (key.ok()) return key;
  if (key.error().code() != ErrorCode::kNotFound)
    return std::move(key).error().WithContext(std::string(what));
  did::KeyPair generated = did::KeyPair::Generate();
  if (Status written = generated.WriteFile(path, /*overwrite=*/false); !written.ok()) {
    return std::move(written).error().WithContext("create " + std::string(what));
  }
  created = true;
  return generated;
}

}  // namespace

Result<DaemonKeys> LoadDaemonKeys(const std::string& key_file,
                                  const std::vector<std::string>& admin_dids,
                                  const std::string& data_dir) {
  bool created = false;
  TCC_ASSIGN_OR_RETURN(did::KeyPair key, LoadOrCreateKey(key_file, "TCC key", created));
  std::string did = did::DidKeyFromPublicKey(key.public_key());
  if (created) Log(LogLevel::kInfo, "created TCC key", {{"file", key_file}, {"did", did}});

  std::string admin_key_file;
  std::vector<std::string> admins = admin_dids;
  if (admins.empty()) {
    admin_key_file = data_dir + "/admin.key";
    TCC_ASSIGN_OR_RETURN(did::KeyPair admin, LoadOrCreateKey(admin_key_file, "admin key", created));
    if (created) Log(LogLevel::kInfo, "created admin key", {{"file", admin_key_file}});
    admins.push_back(did::DidKeyFromPublicKey(admin.public_key()));
  }
  std::set<std::string> admin_curve_keys;
  for (const auto& admin : admins) {
    auto public_key = did::ParseDidKey(admin);
    if (!public_key.ok()) return std::move(public_key).error().WithContext("admin DID " + admin);
    TCC_ASSIGN_OR_RETURN(did::X25519PublicKey x25519, did::X25519FromEd25519(*public_key));
    admin_curve_keys.insert(HexEncode(x25519));
  }
  return DaemonKeys{std::move(key), std::move(did), std::move(admin_key_file),
                    std::move(admin_curve_keys)};
}

}  // namespace tcc::controller
