#!/usr/bin/env bash
# Starts a private Prometheus server (Debian's `prometheus` package) for tests: its own config, its
# own data directory, a free loopback port — never the system instance or its files.
#
# Usage: run_prometheus.sh CONFIG_TEMPLATE DATA_DIR TARGET
#   CONFIG_TEMPLATE  a prometheus.yml in which every @TCCD_TARGET@ becomes TARGET; set
#                    TCCD_TARGET_PLACEHOLDER to use another placeholder, e.g. 127.0.0.1:9464 to
#                    run deploy/prometheus/prometheus.yml itself against a test tccd.
#                    The other *.yml files beside the template (rule files) are copied along, so
#                    relative rule_files entries keep working.
#   DATA_DIR         created if missing; receives config/, tsdb/, prometheus.log, prometheus.pid
#   TARGET           HOST:PORT of the tccd metrics exposer
#
# Prints the server's base URL (http://127.0.0.1:PORT) on stdout once /-/ready answers, and exits
# 0, leaving the server running in the background. Stop it with: kill "$(cat DATA_DIR/prometheus.pid)".
# Exits non-zero, with the server's log on stderr, if it does not become ready.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: run_prometheus.sh CONFIG_TEMPLATE DATA_DIR TARGET" >&2
  exit 2
fi
template=$1
data_dir=$2
target=$3
placeholder=${TCCD_TARGET_PLACEHOLDER:-@TCCD_TARGET@}
timeout_seconds=${PROMETHEUS_READY_TIMEOUT:-30}

command -v prometheus >/dev/null || { echo "run_prometheus.sh: prometheus is not installed (apt-get install prometheus)" >&2; exit 1; }
command -v curl >/dev/null || { echo "run_prometheus.sh: curl is not installed" >&2; exit 1; }
[ -f "$template" ] || { echo "run_prometheus.sh: no config template $template" >&2; exit 1; }
grep -qF -- "$placeholder" "$template" || {
  echo "run_prometheus.sh: $template does not contain the placeholder $placeholder" >&2
  exit 1
}

mkdir -p "$data_dir/config" "$data_dir/tsdb"
data_dir=$(cd "$data_dir" && pwd)
template_dir=$(cd "$(dirname "$template")" && pwd)
for file in "$template_dir"/*.yml "$template_dir"/*.yaml; do
  [ -f "$file" ] && [ "$file" != "$template_dir/$(basename "$template")" ] && cp "$file" "$data_dir/config/"
done
# Literal replacement (no regex or sed metacharacters to escape in either string).
PLACEHOLDER=$placeholder TARGET=$target python3 -c '
import os, sys
text = sys.stdin.read()
sys.stdout.write(text.replace(os.environ["PLACEHOLDER"], os.environ["TARGET"]))
' <"$template" >"$data_dir/config/prometheus.yml"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The port may be taken between choosing and binding it; a few attempts make that harmless.
for attempt in 1 2 3; do
  port=$(free_port)
  url="http://127.0.0.1:$port"
  # setsid: the server outlives this script and is not hit by signals sent to the caller's group.
  setsid prometheus \
    --config.file="$data_dir/config/prometheus.yml" \
    --storage.tsdb.path="$data_dir/tsdb" \
    --web.listen-address="127.0.0.1:$port" \
    --web.enable-lifecycle \
    --log.level=info \
    >"$data_dir/prometheus.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$data_dir/prometheus.pid"
  deadline=$((SECONDS + timeout_seconds))
  while [ $SECONDS -lt $deadline ] && kill -0 "$pid" 2>/dev/null; do
    if curl -fsS -o /dev/null "$url/-/ready" 2>/dev/null; then
      echo "$url"
      exit 0
    fi
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    break  # running but never ready: a retry on another port would not help
  fi
  wait "$pid" 2>/dev/null || true
  grep -q "address already in use" "$data_dir/prometheus.log" || break
done
rm -f "$data_dir/prometheus.pid"
echo "run_prometheus.sh: Prometheus did not become ready; its log follows" >&2
cat "$data_dir/prometheus.log" >&2
exit 1
