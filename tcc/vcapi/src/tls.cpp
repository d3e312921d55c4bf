#include "tls.h"

#include <civetweb.h>
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <mutex>
#include <string_view>

#include "tcc/common/file.h"
#include "tcc/common/secure_memory.h"

namespace tcc::vcapi {
namespace {

#ifndef TCC_CIVETWEB_OPENSSL3_PATHS
#define TCC_CIVETWEB_OPENSSL3_PATHS ""
#endif

std::string OpenSslErrors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

#ifndef TCC_CIVETWEB_LIBCRYPTO_PATHS
#define TCC_CIVETWEB_LIBCRYPTO_PATHS ""
#endif

// Loads the first of `paths` (':'-separated) that loads; empty when one did, else why none did.
std::string LoadFirst(std::string_view name, std::string_view paths) {
  std::string tried;
  while (!paths.empty()) {
    const std::size_t colon = std::min(paths.find(':'), paths.size());
    const std::string path(paths.substr(0, colon));
    paths.remove_prefix(std::min(colon + 1, paths.size()));
    if (::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) != nullptr) return {};
    const char* error = ::dlerror();
    tried += (tried.empty() ? "" : "; ") + (error != nullptr ? std::string(error) : path);
  }
  return "vc-api TLS: cannot load " + std::string(name) +
         ", which civetweb needs to use OpenSSL 3 (" + tried + ")";
}

// Loads the libraries once per process; they stay loaded (civetweb keeps using them): civetweb
// opens both names, "libcrypto.so" and "libssl.so".
Status LoadCompatibilityLibrary() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    failure = LoadFirst("libtcc_civetweb_libcrypto.so", TCC_CIVETWEB_LIBCRYPTO_PATHS);
    if (failure.empty())
      failure = LoadFirst("libtcc_civetweb_openssl3.so", TCC_CIVETWEB_OPENSSL3_PATHS);
  });
  if (!failure.empty()) return Error(ErrorCode::kUnavailable, failure);
  return OkStatus();
}

}  // namespace

Status EnableCivetwebTls() {
  TCC_RETURN_IF_ERROR(LoadCompatibilityLibrary());
  if ((mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS) == 0) {
    mg_exit_library();
    return Error(ErrorCode::kUnavailable,
                 "vc-api TLS: civetweb cannot initialise OpenSSL (its libssl.so lookup failed)");
  }
  return OkStatus();
}

Status CheckTlsFiles(const std::string& certificate_file, const std::string& key_file) {
  if (certificate_file.empty() != key_file.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "vc_api TLS needs both tls_certificate_file and tls_key_file");
  }
  if (certificate_file.empty()) return OkStatus();
  auto certificate = ReadFile(certificate_file, {.max_bytes = 1u << 20});
  if (!certificate.ok()) {
    return Error(ErrorCode::kInvalidArgument,
                 "vc_api.tls_certificate_file: " + certificate.error().message());
  }
  auto key = ReadFile(key_file, {.max_bytes = 1u << 20, .require_private = true});
  if (!key.ok())
    return Error(ErrorCode::kInvalidArgument, "vc_api.tls_key_file: " + key.error().message());
  SecureWipe(key->data(), key->size());
  return OkStatus();
}

Status LoadTlsFiles(void* ssl_ctx, const std::string& certificate_file,
                    const std::string& key_file) {
  auto* context = static_cast<SSL_CTX*>(ssl_ctx);
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1) {
    return Error(ErrorCode::kInvalidArgument, "vc-api TLS: " + OpenSslErrors());
  }
  if (SSL_CTX_use_certificate_chain_file(context, certificate_file.c_str()) != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "vc_api.tls_certificate_file " + certificate_file + ": " + OpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(context, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "vc_api.tls_key_file " + key_file + ": " + OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "vc_api.tls_key_file " + key_file +
                     " is not the key of the certificate: " + OpenSslErrors());
  }
  return OkStatus();
}

}  // namespace tcc::vcapi
