# Third-party dependencies, all from Debian 12 packages (docs/design.md, "Dependencies and conventions";
# which module may link which: "Allowed dependencies").
find_package(PkgConfig REQUIRED)
pkg_check_modules(sodium REQUIRED IMPORTED_TARGET GLOBAL libsodium)
# ZeroMQ's C API (libzmq3-dev): the controller wraps it in RAII types that return Result.
pkg_check_modules(zmq REQUIRED IMPORTED_TARGET GLOBAL libzmq)
find_package(OpenSSL REQUIRED)
find_package(simdjson REQUIRED)
find_package(Threads REQUIRED)
