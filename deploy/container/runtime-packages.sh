#!/usr/bin/env bash
# Prints, one per line, the Debian packages that provide the shared libraries the given executables
# load, so the container's runtime stage installs exactly those (and stays right when a module
# gains a library). Exits non-zero if a library belongs to no package, e.g. one built by hand.
# Usage: runtime-packages.sh EXECUTABLE...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: runtime-packages.sh EXECUTABLE..." >&2; exit 2; }

libraries=$(for executable in "$@"; do
  ldd "$executable" || { echo "runtime-packages.sh: ldd failed on $executable" >&2; exit 1; }
done | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
[ -n "$libraries" ] || { echo "runtime-packages.sh: no shared libraries found in $*" >&2; exit 1; }

for library in $libraries; do
  real=$(readlink -f "$library")
  owner=""
  # Debian 12 merged /lib into /usr/lib, but dpkg records whichever path the package shipped.
  for candidate in "$library" "$real" "/usr$library" "/usr$real" "${library#/usr}" "${real#/usr}"; do
    if owner=$(dpkg-query -S "$candidate" 2>/dev/null); then
      break
    fi
    owner=""
  done
  [ -n "$owner" ] || { echo "runtime-packages.sh: no Debian package provides $library" >&2; exit 1; }
  # "libzmq5:amd64: /usr/lib/..." -> "libzmq5" (first line and first package if several match)
  owner=${owner%%$'\n'*}
  owner=${owner%%:*}
  echo "${owner%%,*}"
done | sort -u
