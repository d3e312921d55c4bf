// tcc._chain: the part of the tcc Python package that opens a chain by URI (tcc::chain_factory:
// the embedded LevelDB ledger, the EVM adapter over libcurl). It is an extension of its own so
// that tcc._native, which every party loads, links neither: tcc/__init__.py imports it only when
// Session.fetch_evidence is given a chain, and checks there what tcc::client::PartySession's
// FetchEvidence(seq, chain) checks: the bundle's root is anchored under its batch id.
//
// Errors cross as (code name, message) tuples, which tcc/__init__.py raises as TccError
// subclasses; no C++ exception leaves this module. Chain calls run with the GIL released. An
// Adapter is used by one thread at a time (the session that asked).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/evidence.h"
#include "tcc/chain/factory.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace py = pybind11;

namespace {

using ErrorTuple = std::optional<std::pair<std::string, std::string>>;

ErrorTuple ToTuple(const tcc::Error& error) {
  return std::make_pair(std::string(tcc::ErrorCodeName(error.code())), error.message());
}

class Adapter {
 public:
  explicit Adapter(std::unique_ptr<tcc::chain::ChainAdapter> adapter)
      : adapter_(std::move(adapter)) {}

  // The bundle as JSON text (schemas/evidence-bundle.schema.json); nullopt when its root is
  // anchored on this chain under its batch id.
  ErrorTuple Verify(const std::string& bundle_json) {
    tcc::Status checked = [&]() -> tcc::Status {
      py::gil_scoped_release release;
      TCC_ASSIGN_OR_RETURN(tcc::Json json, tcc::Json::Parse(bundle_json));
      TCC_ASSIGN_OR_RETURN(tcc::chain::EvidenceBundle bundle,
                           tcc::chain::EvidenceBundleFromJson(json));
      auto anchored = tcc::chain::VerifyEvidenceBundleOnChain(bundle, *adapter_);
      if (!anchored.ok()) return std::move(anchored).error().WithContext("evidence on chain");
      return tcc::OkStatus();
    }();
    if (!checked.ok()) return ToTuple(checked.error());
    return std::nullopt;
  }

 private:
  std::unique_ptr<tcc::chain::ChainAdapter> adapter_;
};

}  // namespace

PYBIND11_MODULE(_chain, module) {
  module.doc() = "Opens a chain by URI to check evidence on it. Use it through the `tcc` package.";

  py::class_<Adapter>(module, "Adapter").def("verify", &Adapter::Verify, py::arg("bundle_json"));

  module.def(
      "open",
      [](const std::string& uri) -> py::tuple {
        auto opened = [&] {
          py::gil_scoped_release release;
          // For reading only: a mistyped local: path must not become a new, empty ledger.
          return tcc::chain::OpenChainAdapter(uri, {.create_if_missing = false});
        }();
        if (!opened.ok()) return py::make_tuple(py::none(), py::cast(ToTuple(opened.error())));
        return py::make_tuple(py::cast(std::make_unique<Adapter>(std::move(opened).value())),
                              py::none());
      },
      py::arg("uri"),
      "(Adapter, None), or (None, (code, message)) when the URI does not name a chain that opens.");
}
