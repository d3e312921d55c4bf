// A compatibility library that lets Debian 12's civetweb 1.15 use OpenSSL 3 for TLS.
//
// Debian builds libcivetweb against the OpenSSL 1.1 API and loads libssl at run time by the name
// "libssl.so", resolving each function it uses with dlsym. OpenSSL 3 no longer exports
// SSL_get_peer_certificate (a macro for SSL_get1_peer_certificate now), so that lookup fails, the
// load fails, and civetweb goes on to call through its null function pointers on the first TLS
// connection (a crash). This library's SONAME is "libssl.so": once tccd has loaded it (by its full
// path, before civetweb initialises TLS), civetweb's dlopen("libssl.so") is answered with it, and
// dlsym on it finds every OpenSSL 3 function through its dependency on libssl.so.3 plus the one
// below. Nothing else in TCC uses it.
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate
extern "C" X509* SSL_get_peer_certificate(const SSL* ssl);
extern "C" X509* SSL_get_peer_certificate(const SSL* ssl) { return SSL_get1_peer_certificate(ssl); }
