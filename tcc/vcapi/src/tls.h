// TLS for the VC API through civetweb's OpenSSL support: the certificate (chain) and the private
// key come from two PEM files, loaded into civetweb's SSL context by its init_ssl callback, TLS 1.2
// at least. Debian 12's civetweb cannot load OpenSSL 3 by itself; EnableCivetwebTls first loads
// the compatibility library of civetweb_openssl3.cpp so that it can. Thread-safe (once per start).
#pragma once

#include <string>

#include "tcc/common/result.h"

namespace tcc::vcapi {

// Makes civetweb's TLS usable in this process: loads the compatibility library and initialises
// civetweb's OpenSSL support (a reference on civetweb's library, released with mg_exit_library).
// kUnavailable, saying why, when TLS cannot work here.
Status EnableCivetwebTls();

// Checks the files before civetweb starts: both given, the key private (mode 0600, like the token
// file). kInvalidArgument otherwise.
Status CheckTlsFiles(const std::string& certificate_file, const std::string& key_file);

// For civetweb's init_ssl callback: loads the certificate chain and the key into `ssl_ctx` (an
// SSL_CTX*) and checks that they match. kInvalidArgument with OpenSSL's reason otherwise.
Status LoadTlsFiles(void* ssl_ctx, const std::string& certificate_file,
                    const std::string& key_file);

}  // namespace tcc::vcapi
