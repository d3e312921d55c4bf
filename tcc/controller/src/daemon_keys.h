// Internal: the keys tccd starts with. The TCC key (config key_file) signs TSCs and closing
// records and is the CURVE server key of both sockets; the admins' DIDs (config admin_dids, or
// else the key in data_dir/admin.key) are the only CURVE keys the control socket admits. A key
// file that is missing is created; one that cannot be read is an error, never overwritten.
//
// Free function, run once at start-up before any thread.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "tcc/common/result.h"
#include "tcc/did/key_pair.h"

namespace tcc::controller {

struct DaemonKeys {
  did::KeyPair key;                        // the TCC key
  std::string did;                         // its did:key
  std::string admin_key_file;              // the admin key created or read, if no admin_dids
  std::set<std::string> admin_curve_keys;  // hex X25519 public keys of the admins
};

// `key_file`: the TCC key; `admin_dids`: the admins, or none for the key in data_dir/admin.key.
Result<DaemonKeys> LoadDaemonKeys(const std::string& key_file,
                                  const std::vector<std::string>& admin_dids,
                                  const std::string& data_dir);

}  // namespace tcc::controller
