// Internal: the VC-API (tcc/vcapi) as tccd starts it. The TCC key signs settlements only:
// anything it signed over this endpoint would carry the TCC's authority (a second "TSC" for a
// settled seq, say), so issuing needs an issuer key of its own, and the TCC key is refused in that
// role even when configured on purpose. The server reads evidence from the daemon's store
// (StoreEvidenceSource) and counts its requests in the daemon's metrics.
//
// Free function, run once at start-up. The server it returns borrows the metrics, which must
// outlive it.
#pragma once

#include <memory>
#include <string>

#include "metrics.h"
#include "tcc/chain/chain_adapter.h"
#include "tcc/common/result.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "tcc/vcapi/credential_service.h"
#include "tcc/vcapi/server.h"

namespace tcc::controller {

struct VcApiParts {
  const did::KeyPair& tcc_key;
  std::shared_ptr<did::Resolver> resolver;
  vcapi::TemplateLookup templates;
  std::shared_ptr<chain::ChainAdapter> adapter;
  std::shared_ptr<vcapi::EvidenceSource> evidence;
  DaemonMetrics& metrics;
};

// nullptr when the VC-API is not configured (options.listen empty). `issuer_key_file`: the key
// issued credentials are signed with; none: issuing is off (and a token file is refused).
Result<std::unique_ptr<vcapi::Server>> StartVcApi(const vcapi::ServerOptions& options,
                                                  const std::string& issuer_key_file,
                                                  VcApiParts parts);

}  // namespace tcc::controller
