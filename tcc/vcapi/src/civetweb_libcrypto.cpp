// The libcrypto half of civetweb_openssl3.cpp's compatibility library: civetweb also loads
// "libcrypto.so" by that name, which only Debian's libssl-dev provides (as a symlink). This
// library's SONAME is "libcrypto.so" and it depends on libcrypto.so.3, so once tccd has loaded it,
// civetweb's dlopen("libcrypto.so") is answered with it and finds OpenSSL 3's functions through it,
// on a host with only the runtime package (libssl3) too.
#include <openssl/crypto.h>

// A use of libcrypto, so that the dependency on it is kept whatever the linker's defaults.
extern "C" unsigned long TccCivetwebLibcryptoVersion() { return OpenSSL_version_num(); }
