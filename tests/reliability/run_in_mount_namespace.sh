#!/usr/bin/env bash
# Runs a test in a private mount namespace, so it may mount a scratch tmpfs (scratch_volume.h) and
# leaves no mount behind even when it dies. As root: `unshare --mount`; otherwise the test becomes
# root of a new user namespace first (`unshare --user --map-root-user --mount`).
set -euo pipefail
if [[ $# -eq 0 || $1 == --help ]]; then
  echo "usage: $0 TEST [ARGS...]   run TEST in a private mount namespace" >&2
  exit 2
fi
if [[ $(id -u) -eq 0 ]]; then
  exec unshare --mount --propagation private -- "$@"
fi
exec unshare --user --map-root-user --mount --propagation private -- "$@"
