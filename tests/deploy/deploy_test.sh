#!/usr/bin/env bash
# Checks deploy/: the Prometheus config and alert rules pass promtool (syntax and the rule unit
# tests in alerts_test.yml), the Grafana files parse, every tcc_* metric the dashboard and the rules
# query is one tccd exports (names taken from tcc/controller/src/metrics.cpp), and a real Prometheus
# started by run_prometheus.sh loads the shipped config with all its alerts.
# Usage: deploy_test.sh SOURCE_DIR
set -uo pipefail

source_dir=${1:?usage: deploy_test.sh SOURCE_DIR}
deploy="$source_dir/deploy"
here=$(cd "$(dirname "$0")" && pwd)
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }

command -v promtool >/dev/null || { echo "FAIL: promtool not found (apt-get install prometheus)" >&2; exit 1; }

# --- promtool ----------------------------------------------------------------------------------
if out=$(promtool check config "$deploy/prometheus/prometheus.yml" 2>&1); then
  pass "promtool check config"
else
  fail "promtool check config:"$'\n'"$out"
fi
if out=$(promtool check rules "$deploy/prometheus/alerts.yml" 2>&1); then
  pass "promtool check rules"
else
  fail "promtool check rules:"$'\n'"$out"
fi
if out=$(cd "$here" && promtool test rules alerts_test.yml 2>&1); then
  pass "promtool test rules (alert unit tests)"
else
  fail "promtool test rules:"$'\n'"$out"
fi

# --- Grafana files -----------------------------------------------------------------------------
dashboards=("$deploy"/grafana/dashboards/*.json)
for dashboard in "${dashboards[@]}"; do
  if python3 - "$dashboard" <<'EOF'
import json, sys
dashboard = json.load(open(sys.argv[1]))
panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
assert panels, "no panels"
for panel in panels:
    assert panel.get("targets"), "panel %r has no queries" % panel.get("title")
    for target in panel["targets"]:
        assert target.get("expr"), "panel %r has an empty query" % panel.get("title")
ids = [p["id"] for p in dashboard["panels"]]
assert len(ids) == len(set(ids)), "duplicate panel ids"
EOF
  then
    pass "dashboard $(basename "$dashboard") parses and every panel has queries"
  else
    fail "dashboard $(basename "$dashboard") is not valid"
  fi
done
for provisioning in "$deploy"/grafana/provisioning/*/*.yml; do
  grep -q '^apiVersion: 1' "$provisioning" || fail "$provisioning lacks apiVersion: 1"
done
grep -q 'uid: tcc-prometheus' "$deploy/grafana/provisioning/datasources/"*.yml ||
  fail "the datasource uid the dashboard uses (tcc-prometheus) is not provisioned"

# --- every queried metric is exported ------------------------------------------------------------
exported=$(grep -oE '"tcc_[a-z0-9_]+"' "$source_dir/tcc/controller/src/metrics.cpp" | tr -d '"' | sort -u)
if [ "$(echo "$exported" | grep -c .)" -lt 10 ]; then
  fail "found too few metric names in metrics.cpp; the extraction is broken"
fi
is_exported() {
  local name=$1 base
  echo "$exported" | grep -qx "$name" && return 0
  for suffix in _bucket _sum _count; do
    if [[ $name == *"$suffix" ]]; then
      base=${name%"$suffix"}
      echo "$exported" | grep -qx "$base" && return 0
    fi
  done
  return 1
}
checked=0
for file in "${dashboards[@]}" "$deploy/prometheus/alerts.yml"; do
  for name in $(grep -oE 'tcc_[a-z0-9_]+' "$file" | sort -u); do
    checked=$((checked + 1))
    is_exported "$name" || fail "$(basename "$file") queries $name, which tccd does not export"
  done
done
[ $checked -gt 0 ] || fail "no tcc_* names found in the dashboard and rules"
pass "$checked metric references checked against $(echo "$exported" | grep -c .) exported names"

# --- a real Prometheus loads the shipped config --------------------------------------------------
if command -v prometheus >/dev/null; then
  work=$(mktemp -d)
  cleanup() {
    if [ -f "$work/prometheus.pid" ]; then
      pid=$(cat "$work/prometheus.pid")
      kill "$pid" 2>/dev/null
      # Not our child (run_prometheus.sh detached it): gone or a zombie both mean it has stopped.
      for _ in $(seq 50); do
        state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
        [ -z "$state" ] || [[ $state == Z* ]] && break
        sleep 0.1
      done
    fi
    rm -rf "$work"
  }
  trap cleanup EXIT
  # Nothing listens on the target: the scrape fails, which is fine for checking what got loaded.
  if url=$(TCCD_TARGET_PLACEHOLDER=127.0.0.1:9464 bash "$here/run_prometheus.sh" \
             "$deploy/prometheus/prometheus.yml" "$work" 127.0.0.1:1); then
    rules=$(curl -fsS "$url/api/v1/rules")
    expected=$(grep -oE '^\s*- alert: [A-Za-z]+' "$deploy/prometheus/alerts.yml" | awk '{print $3}')
    missing=0
    for alert in $expected; do
      echo "$rules" | grep -q "\"name\":\"$alert\"" || { fail "Prometheus did not load alert $alert"; missing=1; }
    done
    # Target discovery runs asynchronously after /-/ready.
    found=0
    for _ in $(seq 50); do
      if curl -fsS "$url/api/v1/targets" | grep -q '"scrapeUrl":"http://127.0.0.1:1/metrics"'; then
        found=1
        break
      fi
      sleep 0.2
    done
    [ $found -eq 1 ] || fail "the tccd target was not substituted"
    [ $missing -eq 0 ] && pass "Prometheus at $url loaded $(echo "$expected" | wc -w) alerts and the tccd target"
  else
    fail "run_prometheus.sh could not start Prometheus"
  fi
else
  echo "skip: prometheus server not installed; not starting one"
fi

if [ $failures -eq 0 ]; then
  echo "deploy_test: PASS"
  exit 0
fi
echo "deploy_test: FAIL ($failures problems)" >&2
exit 1
