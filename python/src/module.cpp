// tcc._native: the pybind11 binding of the channel SDK (tcc::client::PartySession) and what a
// party needs around it (key files, templates, credential hashes). Python parties run this very
// code, so they verify, resume and check evidence exactly as C++ parties do.
//
// Conventions at the boundary:
// - JSON crosses as plain Python values (dict, list, str, int, float, bool, None), converted
//   member by member so objects keep their order; hashes cross as `bytes`, durations as seconds.
// - A failed Result becomes the tcc.TccError subclass for its code (tcc/__init__.py registers the
//   classes); no C++ exception is thrown through the SDK.
// - Blocking SDK calls run with the GIL released. The SDK calls back (event handlers, the `until`
//   predicate, the cancellation check) on the thread driving the session, without the GIL, so each
//   callback takes it. A Python exception inside a callback is not thrown through the SDK: it is
//   kept, the SDK is told to stop (its cancellation check), and it is raised once the call returns.
//   Ctrl-C works the same way (the cancellation check runs the signal handlers).
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "tcc/chain/evidence.h"
#include "tcc/client/party_session.h"
#include "tcc/common/bytes.h"
#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/wire/dispute.h"
#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"
#include "tcc/vc/template.h"
#include "tcc/vc/transaction.h"

namespace py = pybind11;

namespace {

// The Python classes tcc/__init__.py hands over at import: the error factory and the Event type.
// Kept for the interpreter's lifetime on purpose (never decref'd at exit, when order is undefined).
PyObject* g_error_factory = nullptr;
PyObject* g_event_type = nullptr;

[[noreturn]] void Raise(const tcc::Error& error) {
  if (g_error_factory == nullptr)
    throw std::runtime_error(error.ToString());  // import tcc, not tcc._native
  py::object made = py::reinterpret_borrow<py::object>(g_error_factory)(
      std::string(tcc::ErrorCodeName(error.code())), error.message());
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(made.ptr())), made.ptr());
  throw py::error_already_set();
}

void Check(const tcc::Status& status) {
  if (!status.ok()) Raise(status.error());
}

template <typename T>
T Unwrap(tcc::Result<T> result) {
  if (!result.ok()) Raise(result.error());
  return std::move(result).value();
}

// --- JSON <-> Python ---------------------------------------------------------------------------

tcc::Json ToJson(py::handle value, std::size_t depth = 0) {
  if (depth > tcc::JsonLimits{}.max_depth)
    throw py::value_error("JSON nested deeper than 64 levels");
  if (value.is_none()) return tcc::Json(nullptr);
  if (PyBool_Check(value.ptr())) return tcc::Json(value.ptr() == Py_True);
  if (PyLong_Check(value.ptr())) {
    int overflow = 0;
    const long long number = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    // JSON numbers are IEEE doubles (RFC 8785): integers beyond 2^53 - 1 would silently change.
    constexpr auto kMaxExact = static_cast<long long>(tcc::kMaxJsonInteger);
    if (overflow != 0 || number > kMaxExact || number < -kMaxExact) {
      throw py::value_error(
          "integer " + py::str(value).cast<std::string>() +
          " is beyond 2**53 - 1: a JSON number cannot hold it exactly (use a string)");
    }
    return tcc::Json(static_cast<std::int64_t>(number));
  }
  if (PyFloat_Check(value.ptr())) {
    const double number = PyFloat_AsDouble(value.ptr());
    if (!std::isfinite(number)) throw py::value_error("NaN and infinities are not JSON numbers");
    return tcc::Json(number);
  }
  if (PyUnicode_Check(value.ptr())) return tcc::Json(value.cast<std::string>());
  if (PyDict_Check(value.ptr())) {
    tcc::Json object = tcc::Json::Object();
    for (auto [key, member] : py::reinterpret_borrow<py::dict>(value)) {
      if (!PyUnicode_Check(key.ptr())) throw py::type_error("JSON object keys must be str");
      object.Set(key.cast<std::string>(), ToJson(member, depth + 1));
    }
    return object;
  }
  if (PyList_Check(value.ptr()) || PyTuple_Check(value.ptr())) {
    tcc::Json array = tcc::Json::Array();
    for (py::handle item : value) array.PushBack(ToJson(item, depth + 1));
    return array;
  }
  throw py::type_error("not a JSON value: " + py::repr(value).cast<std::string>());
}

py::object FromJson(const tcc::Json& json) {
  switch (json.type()) {
    case tcc::Json::Type::kNull:
      return py::none();
    case tcc::Json::Type::kBool:
      return py::bool_(json.as_bool());
    case tcc::Json::Type::kNumber: {
      // As Python's json module reads the same text: integral numbers (which RFC 8785 writes
      // without a fraction) become int.
      const double number = json.as_number();
      if (std::trunc(number) == number &&
          std::fabs(number) <= static_cast<double>(tcc::kMaxJsonInteger)) {
        return py::int_(static_cast<long long>(number));
      }
      return py::float_(number);
    }
    case tcc::Json::Type::kString:
      return py::str(json.as_string());
    case tcc::Json::Type::kArray: {
      py::list list;
      for (const tcc::Json& item : json.as_array()) list.append(FromJson(item));
      return list;
    }
    case tcc::Json::Type::kObject: {
      py::dict dict;
      for (const auto& [key, member] : json.as_object()) dict[py::str(key)] = FromJson(member);
      return dict;
    }
  }
  return py::none();
}

// "" (no hash yet) is None; anything else is the hash's bytes.
py::object HexToBytes(const std::string& hex) {
  if (hex.empty()) return py::none();
  tcc::Bytes bytes = Unwrap(tcc::HexDecode(hex));
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

template <std::size_t N>
py::bytes ToBytes(const std::array<std::uint8_t, N>& bytes) {
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), N);
}

std::chrono::milliseconds Seconds(double seconds) {
  // Bounded so the conversion cannot overflow; no wait in the SDK needs anywhere near a year.
  if (!(seconds >= 0 && seconds <= 365.0 * 24 * 3600)) {
    throw py::value_error("a duration must be between 0 and a year, in seconds");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
}

// A channel id is the TIC's hash: accepted as its hex string or as bytes.
std::string ChannelId(py::handle channel) {
  if (PyBytes_Check(channel.ptr())) {
    const std::string raw = channel.cast<std::string>();
    return tcc::HexEncode(tcc::AsBytes(raw));
  }
  return channel.cast<std::string>();
}

// --- keys and templates ------------------------------------------------------------------------

// A reason code by its protocol name; anything else is a ValueError naming the accepted ones.
tcc::wire::Reason MakeReason(const std::string& code, std::string text) {
  std::optional<tcc::wire::ReasonCode> parsed = tcc::wire::ReasonCodeFromName(code);
  if (!parsed) {
    std::string names;
    for (tcc::wire::ReasonCode known : tcc::wire::kAllReasonCodes) {
      names += (names.empty() ? "" : ", ") + std::string(tcc::wire::ReasonCodeName(known));
    }
    throw py::value_error("unknown reason code '" + code + "' (one of: " + names + ")");
  }
  return {*parsed, std::move(text)};
}

struct Key {
  std::shared_ptr<const tcc::did::KeyPair> pair;
  std::string did() const { return tcc::did::DidKeyFromPublicKey(pair->public_key()); }
};

// --- the session -------------------------------------------------------------------------------

// What the SDK's callbacks share with the Python object: the Python handlers and the exception a
// callback (or Ctrl-C) left to raise. Touched only with the GIL held.
struct Hooks {
  py::list handlers;
  std::optional<py::error_already_set> pending;

  bool Stop() {
    if (pending) return true;
    if (PyErr_CheckSignals() != 0) {
      pending.emplace();
      return true;
    }
    return false;
  }
  // Keeps the exception a callback is leaving with, whatever its C++ type, so that none unwinds
  // through the SDK. Call from a catch block.
  void Keep() {
    try {
      throw;
    } catch (py::error_already_set& error) {
      pending = std::move(error);
    } catch (const std::exception& error) {
      PyErr_SetString(PyExc_RuntimeError, error.what());
      pending.emplace();
    } catch (...) {
      PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception in a callback");
      pending.emplace();
    }
  }
  void RaisePending() {
    if (!pending) return;
    py::error_already_set error = std::move(*pending);
    pending.reset();
    throw error;
  }
};

py::object MakeEvent(const tcc::client::SessionEvent& event) {
  static constexpr const char* kKinds[] = {"tsc",     "proposal",    "anchored",
                                           "channel", "reconnected", "rejection"};
  static_assert(std::size(kKinds) ==
                static_cast<std::size_t>(tcc::client::SessionEventKind::kRejection) + 1);
  return py::reinterpret_borrow<py::object>(g_event_type)(kKinds[static_cast<int>(event.kind)],
                                                          event.seq, HexToBytes(event.hash),
                                                          FromJson(event.body));
}

class Session {
  Session(std::unique_ptr<tcc::client::PartySession> session, std::shared_ptr<Hooks> hooks)
      : session_(std::move(session)), hooks_(std::move(hooks)) {}

  // A PartySession is driven by one thread. A handler may call back into the session on that
  // thread (the SDK allows it); another Python thread gets an error instead of a data race.
  // driver_ and depth_ are only touched with the GIL held, which orders them.
  class Driving {
   public:
    explicit Driving(Session& session) : session_(session) {
      const std::thread::id self = std::this_thread::get_id();
      if (session_.depth_ > 0 && session_.driver_ != self) {
        throw std::runtime_error(
            "this session is being driven by another thread (one thread per session)");
      }
      session_.driver_ = self;
      ++session_.depth_;
    }
    ~Driving() { --session_.depth_; }
    Driving(const Driving&) = delete;
    Driving& operator=(const Driving&) = delete;

   private:
    Session& session_;
  };

  // Runs an SDK call without the GIL; raises what a callback left pending, else the call's error,
  // else returns its value.
  template <typename Call>
  auto Blocking(Call call) {
    auto result = [&] {
      py::gil_scoped_release release;
      return call();
    }();
    hooks_->RaisePending();
    if (!result.ok()) Raise(result.error());
    if constexpr (!std::is_same_v<decltype(result), tcc::Status>) return std::move(result).value();
  }

 public:
  static std::unique_ptr<Session> Join(const std::string& endpoint, const std::string& tcc_did,
                                       py::handle channel, const Key& key,
                                       const tcc::vc::Template& tst, double timeout,
                                       double open_wait, double reconnect_for,
                                       double retry_interval, double liveness_interval,
                                       const std::string& party_did, const std::string& tsc_dir) {
    auto hooks = std::make_shared<Hooks>();
    tcc::client::PartySessionOptions options;
    options.connect.endpoint = endpoint;
    options.connect.tcc_did = tcc_did;
    options.connect.timeout = Seconds(timeout);
    options.channel_id = ChannelId(channel);
    options.key = key.pair;
    options.party_did = party_did;
    options.tst = tst;
    options.open_wait = Seconds(open_wait);
    options.reconnect_for = Seconds(reconnect_for);
    options.retry_interval = Seconds(retry_interval);
    options.liveness_interval = Seconds(liveness_interval);
    options.tsc_dir = tsc_dir;
    // A raw pointer, not a shared_ptr copy, so that the SDK never holds the last reference to
    // Python objects (it destroys its callbacks without the GIL). `hooks` outlives the session:
    // ~Session ends the session first.
    Hooks* raw = hooks.get();
    options.cancelled = [raw] {
      py::gil_scoped_acquire gil;
      return raw->Stop();
    };
    tcc::Result<std::unique_ptr<tcc::client::PartySession>> joined = [&] {
      py::gil_scoped_release release;
      return tcc::client::PartySession::Join(std::move(options));
    }();
    hooks->RaisePending();
    auto session =
        std::unique_ptr<Session>(new Session(Unwrap(std::move(joined)), std::move(hooks)));
    session->session_->Subscribe([raw](const tcc::client::SessionEvent& event) {
      py::gil_scoped_acquire gil;
      if (raw->pending || raw->handlers.empty()) return;
      try {
        py::object wrapped = MakeEvent(event);
        // A copy: a handler may subscribe another one while this loop runs.
        for (py::handle handler : py::tuple(raw->handlers)) handler(wrapped);
      } catch (...) {
        raw->Keep();
      }
    });
    return session;
  }

  ~Session() {
    // The session's callbacks point at hooks_: end the session first.
    py::gil_scoped_release release;
    session_.reset();
  }

  py::dict Head() {
    Driving driving(*this);
    const tcc::client::ChannelHead& head = session_->head();
    py::dict dict;
    dict["role"] = head.role;
    dict["provider"] = head.provider;
    dict["consumer"] = head.consumer;
    dict["seq"] = head.seq;
    dict["hash"] = HexToBytes(head.hash);
    dict["n"] = head.n;
    dict["evidence_seq"] = head.evidence_seq;
    dict["anchored_seq"] = head.anchored_seq;
    dict["anchored_root"] = HexToBytes(head.anchored_root);
    dict["anchored_batch"] =
        head.anchored_batch.empty() ? py::object(py::none()) : py::str(head.anchored_batch);
    dict["closed"] = head.closed;
    return dict;
  }

  std::string Did() { return session_->did(); }

  py::object LastTsc() {
    Driving driving(*this);
    return FromJson(session_->last_tsc());
  }

  void Subscribe(py::function handler) { hooks_->handlers.append(std::move(handler)); }

  py::object Poll(double wait) {
    Driving driving(*this);
    auto event = Blocking([&] { return session_->Poll(Seconds(wait)); });
    if (!event) return py::none();
    return MakeEvent(*event);
  }

  void Run(std::optional<py::function> until) {
    Driving driving(*this);
    Hooks* hooks = hooks_.get();
    std::function<bool()> stop;
    if (until) {
      stop = [hooks, &until] {
        py::gil_scoped_acquire gil;
        if (hooks->pending) return true;
        try {
          const int truth = PyObject_IsTrue((*until)().ptr());
          if (truth < 0) throw py::error_already_set();
          return truth == 1;
        } catch (...) {
          hooks->Keep();
          return true;
        }
      };
    }
    Blocking([&] { return session_->Run(stop); });
  }

  py::object ProposeNext(py::dict claim) {
    Driving driving(*this);
    tcc::Json json = ToJson(claim);
    return FromJson(Blocking([&] { return session_->ProposeNext(std::move(json)); }));
  }

  void AwaitTsc(std::uint64_t seq, double wait) {
    Driving driving(*this);
    Blocking([&] { return session_->AwaitTsc(seq, Seconds(wait)); });
  }

  py::object Cosign(py::dict proposal) {
    Driving driving(*this);
    tcc::Json json = ToJson(proposal);
    return FromJson(Blocking([&] { return session_->Cosign(json); }));
  }

  py::object Submit(py::dict joint_claim) {
    Driving driving(*this);
    tcc::Json json = ToJson(joint_claim);
    return FromJson(Blocking([&] { return session_->Submit(json); }));
  }

  void Resync() {
    Driving driving(*this);
    Blocking([&] { return session_->Resync(); });
  }

  py::object Reject(py::dict proposal, const std::string& code, std::string text) {
    Driving driving(*this);
    tcc::Json json = ToJson(proposal);
    tcc::wire::Reason reason = MakeReason(code, std::move(text));
    return FromJson(Blocking([&] { return session_->Reject(json, reason); }));
  }

  py::object Close(const std::string& code, std::string text) {
    Driving driving(*this);
    tcc::wire::Reason reason = MakeReason(code, std::move(text));
    return FromJson(Blocking([&] { return session_->Close(reason); }));
  }

  py::dict FetchDisputes(std::uint64_t from_seq) {
    Driving driving(*this);
    tcc::client::DisputeRecord record = Blocking([&] { return session_->FetchDisputes(from_seq); });
    py::list rejections;
    for (const tcc::Json& rejection : record.rejections) rejections.append(FromJson(rejection));
    py::dict dict;
    dict["rejections"] = rejections;
    dict["closing"] = record.closing ? FromJson(*record.closing) : py::object(py::none());
    dict["closing_evidence"] =
        record.closing_evidence
            ? FromJson(tcc::chain::EvidenceBundleToJson(*record.closing_evidence))
            : py::object(py::none());
    return dict;
  }

  // Offline checks only; the on-chain check is tcc._chain's (tcc/__init__.py joins the two), so
  // that this extension links no chain adapter.
  py::dict FetchEvidence(std::uint64_t seq) {
    Driving driving(*this);
    auto evidence = Blocking([&] { return session_->FetchEvidence(seq); });
    py::dict dict;
    dict["seq"] = evidence.seq;
    dict["anchored_seq"] = evidence.anchored_seq;
    dict["anchored_tsc"] = FromJson(evidence.anchored_tsc);
    dict["root"] = ToBytes(evidence.bundle.root);
    dict["batch_id"] = evidence.bundle.batch_id;
    dict["height"] = evidence.bundle.receipt.height;
    dict["checked_on_chain"] = evidence.checked_on_chain;
    dict["bundle"] = FromJson(tcc::chain::EvidenceBundleToJson(evidence.bundle));
    return dict;
  }

 private:
  std::unique_ptr<tcc::client::PartySession> session_;
  std::shared_ptr<Hooks> hooks_;
  std::thread::id driver_;
  int depth_ = 0;
};

}  // namespace

PYBIND11_MODULE(_native, module) {
  module.doc() =
      "The TCC channel SDK (tcc::client), bound for Python. Use it through the `tcc` package.";

  module.def(
      "_register",
      [](py::object error_factory, py::object event_type) {
        g_error_factory = error_factory.release().ptr();
        g_event_type = event_type.release().ptr();
      },
      "Called once by tcc/__init__.py: the error factory (code, message) -> TccError and the Event "
      "type.");

  module.def(
      "credential_hash",
      [](py::dict credential) {
        return HexToBytes(Unwrap(tcc::vc::CredentialHash(ToJson(credential))));
      },
      py::arg("credential"),
      "SHA-256 of a credential's JCS form, as bytes. A TIC's hash is its channel id (`.hex()`), a\n"
      "TSC's hash is what the next TSC's `prev` names.");

  py::tuple reason_codes(std::size(tcc::wire::kAllReasonCodes));
  for (std::size_t i = 0; i < std::size(tcc::wire::kAllReasonCodes); ++i) {
    reason_codes[i] =
        py::str(std::string(tcc::wire::ReasonCodeName(tcc::wire::kAllReasonCodes[i])));
  }
  module.attr("REASON_CODES") = reason_codes;

  py::class_<Key>(
      module, "Key",
      "An Ed25519 party key (the secret stays in guarded C++ memory). Shared by sessions.")
      .def_static(
          "load",
          [](const std::string& path) {
            return Key{std::make_shared<const tcc::did::KeyPair>(
                Unwrap(tcc::did::KeyPair::ReadFile(path)))};
          },
          py::arg("path"), "Reads a key file (Multikey JSON, mode 0600; `tcc key new` writes one).")
      .def_static(
          "generate",
          [] {
            return Key{std::make_shared<const tcc::did::KeyPair>(tcc::did::KeyPair::Generate())};
          },
          "A fresh random key.")
      .def(
          "save",
          [](const Key& key, const std::string& path, bool overwrite) {
            Check(key.pair->WriteFile(path, overwrite));
          },
          py::arg("path"), py::arg("overwrite") = false,
          "Writes the key file with mode 0600; refuses to overwrite unless told to.")
      .def_property_readonly("did", &Key::did, "The key's did:key.")
      .def_property_readonly(
          "public_key", [](const Key& key) { return ToBytes(key.pair->public_key()); },
          "The 32-byte Ed25519 public key.")
      .def("__repr__", [](const Key& key) { return "<tcc.Key " + key.did() + ">"; });

  py::class_<tcc::vc::Template>(
      module, "Template", "A template (TIT or TST), checked against its meta-schema when loaded.")
      .def_static(
          "load",
          [](const std::string& path) {
            return Unwrap(tcc::vc::Template::Parse(Unwrap(tcc::ReadFile(path))));
          },
          py::arg("path"), "Reads and checks a template file.")
      .def_static(
          "from_dict",
          [](py::dict document) { return Unwrap(tcc::vc::Template::FromJson(ToJson(document))); },
          py::arg("document"), "Checks a template document given as a dict.")
      .def_property_readonly("id", &tcc::vc::Template::id,
                             "The template's id, e.g. \"example.gpu-hour.tst\".")
      .def_property_readonly("version", &tcc::vc::Template::version,
                             "The template's version (int).")
      .def_property_readonly(
          "kind",
          [](const tcc::vc::Template& t) {
            return std::string(tcc::vc::TemplateKindName(t.kind()));
          },
          "\"TIT\" or \"TST\".")
      .def_property_readonly("owner", &tcc::vc::Template::owner, "The provider's DID.")
      .def_property_readonly("title", &tcc::vc::Template::title,
                             "The template's title, for people.")
      .def_property_readonly(
          "document", [](const tcc::vc::Template& t) { return FromJson(t.document()); },
          "The document, as a dict.")
      .def_property_readonly(
          "content_hash", [](const tcc::vc::Template& t) { return ToBytes(t.content_hash()); },
          "SHA-256, as bytes.")
      .def("__repr__", [](const tcc::vc::Template& t) {
        return "<tcc.Template " + t.id() + " v" + std::to_string(t.version()) + ">";
      });

  py::class_<Session>(
      module, "Session",
      "A party's seat in one channel (tcc::client::PartySession). Use tcc.join() to make one.")
      .def_static("join", &Session::Join, py::arg("endpoint"), py::arg("tcc_did"),
                  py::arg("channel"), py::arg("key"), py::arg("tst"), py::arg("timeout"),
                  py::arg("open_wait"), py::arg("reconnect_for"), py::arg("retry_interval"),
                  py::arg("liveness_interval"), py::arg("party_did"), py::arg("tsc_dir"))
      .def_property_readonly("head", &Session::Head)
      .def_property_readonly("did", &Session::Did)
      .def_property_readonly("last_tsc", &Session::LastTsc)
      .def("subscribe", &Session::Subscribe, py::arg("handler"))
      .def("poll", &Session::Poll, py::arg("wait"))
      .def("run", &Session::Run, py::arg("until") = py::none())
      .def("propose_next", &Session::ProposeNext, py::arg("claim"))
      .def("await_tsc", &Session::AwaitTsc, py::arg("seq"), py::arg("wait"))
      .def("cosign", &Session::Cosign, py::arg("proposal"))
      .def("submit", &Session::Submit, py::arg("joint_claim"))
      .def("resync", &Session::Resync)
      .def("reject", &Session::Reject, py::arg("proposal"), py::arg("code"), py::arg("text"))
      .def("close", &Session::Close, py::arg("code"), py::arg("text"))
      .def("fetch_disputes", &Session::FetchDisputes, py::arg("from_seq") = 1)
      .def("fetch_evidence", &Session::FetchEvidence, py::arg("seq"));
}
