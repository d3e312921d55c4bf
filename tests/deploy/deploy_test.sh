#!/usr/bin/env bash
# Checks deploy/: the Prometheus config and alert rules pass promtool (syntax and the rule unit
# tests in alerts_test.yml), the Grafana files parse, every tcc_* metric the dashboard and the rules
# query is one tccd exports (names taken from tcc/controller/src/metrics.cpp), a real Prometheus
# started by run_prometheus.sh loads the shipped config with all its alerts, the systemd unit passes
# `systemd-analyze verify` and its offline security score, a traced tccd makes only system calls the
# unit's SystemCallFilter allows, and the container and compose files are
# consistent (check_compose.py, `docker compose config`): no Docker engine is needed or used.
# Every tccd/tcc flag the unit, the container file and the compose files pass is one the binaries'
# --help lists.
# Usage: deploy_test.sh SOURCE_DIR TCCD TCC
set -uo pipefail

source_dir=${1:?usage: deploy_test.sh SOURCE_DIR TCCD TCC}
tccd_binary=${2:?usage: deploy_test.sh SOURCE_DIR TCCD TCC}
tcc_binary=${3:?usage: deploy_test.sh SOURCE_DIR TCCD TCC}
tccd_binary=$(realpath "$tccd_binary")
tcc_binary=$(realpath "$tcc_binary")
deploy="$source_dir/deploy"
here=$(cd "$(dirname "$0")" && pwd)
failures=0
skipped=()  # checks that could not run here: the test then exits 77 (skipped), never 0
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
  skipped+=("Prometheus loading the alerts and the tccd target (prometheus server not installed)")
  echo "SKIP: prometheus server not installed; not starting one"
fi

# --- systemd unit ------------------------------------------------------------------------------
unit="$deploy/systemd/tccd.service"
scratch=$(mktemp -d)
# ExecStart as one line (systemd joins lines ending in a backslash).
exec_start=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$unit" | sed -n 's/^ExecStart=//p')
exec_path=${exec_start%% *}
[ "$exec_path" = /usr/local/bin/tccd ] || fail "tccd.service runs $exec_path, not the installed /usr/local/bin/tccd"
for directive in 'DynamicUser=yes' 'StateDirectory=tccd' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
    'NoNewPrivileges=yes' 'CapabilityBoundingSet=' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK' \
    'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes' 'Restart=on-failure' 'KillSignal=SIGTERM'; do
  grep -qxF "$directive" "$unit" || fail "tccd.service lacks $directive"
done
grep -qE '^LimitNOFILE=[0-9]+$' "$unit" || fail "tccd.service sets no LimitNOFILE"
# tccd drains for up to 15 s (settlements) plus 30 s (final anchors): systemd must wait longer.
stop_timeout=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$unit")
[ -n "$stop_timeout" ] && [ "$stop_timeout" -ge 45 ] || fail "tccd.service's TimeoutStopSec ($stop_timeout) is below tccd's 45 s drain bound"
[[ $exec_start == *'--data-dir /var/lib/tccd'* ]] || fail "tccd.service does not keep tccd's data in its StateDirectory"
if command -v systemd-analyze >/dev/null; then
  # verify checks that the executable exists: point the copy at this build's tccd.
  sed "s|^ExecStart=$exec_path|ExecStart=$tccd_binary|" "$unit" >"$scratch/tccd.service"
  if out=$(cd "$scratch" && systemd-analyze verify ./tccd.service 2>&1) && ! grep -q 'tccd.service' <<<"$out"; then
    pass "systemd-analyze verify tccd.service"
  else
    fail "systemd-analyze verify tccd.service:"$'\n'"$out"
  fi
  # Exposure 0 (locked down) .. 10 (unprotected); the unit scores 1.4 today.
  if out=$(cd "$scratch" && systemd-analyze security --offline=true --threshold=20 --no-pager ./tccd.service 2>&1); then
    pass "systemd-analyze security: $(grep -o 'Overall exposure level.*' <<<"$out")"
  else
    fail "systemd-analyze security --offline: exposure above 2.0:"$'\n'"$(tail -n 5 <<<"$out")"
  fi
else
  fail "systemd-analyze not found (apt-get install systemd)"
fi

# --- tccd's system calls against the unit's filter ----------------------------------------------
# A filtered call fails with EPERM under systemd, which verify cannot foresee; trace a real tccd
# through start, a scrape, a control request and the SIGTERM drain.
if command -v strace >/dev/null && command -v systemd-analyze >/dev/null; then
  traced="$scratch/traced"
  mkdir -p "$traced"
  strace -f -qq -o "$traced/strace.log" "$tccd_binary" --data-dir "$traced/data" --listen 'tcp://127.0.0.1:*' \
    --control 'tcp://127.0.0.1:*' --metrics 127.0.0.1:0 2>"$traced/tccd.log" &
  strace_pid=$!
  ready=""
  for _ in $(seq 200); do
    ready=$(grep -m1 '"msg":"ready"' "$traced/tccd.log" 2>/dev/null || true)
    [ -n "$ready" ] && break
    kill -0 "$strace_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$ready" ]; then
    read -r control metrics < <(python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print(r["control"], r["metrics"])' "$ready")
    curl -fsS -o /dev/null "http://$metrics/metrics" || fail "traced tccd: metrics scrape failed"
    "$tcc_binary" anchor status --data-dir "$traced/data" --control "$control" >/dev/null ||
      fail "traced tccd: tcc anchor status failed"
  else
    fail "tccd under strace did not become ready:"$'\n'"$(tail -n 5 "$traced/tccd.log")"
  fi
  tccd_pid=$(ps -o pid= --ppid "$strace_pid" | tr -d ' ')
  [ -n "$tccd_pid" ] && kill -TERM "$tccd_pid"
  wait "$strace_pid"
  traced_status=$?
  [ $traced_status -eq 0 ] || fail "tccd under strace exited $traced_status (log: $(tail -n 3 "$traced/tccd.log"))"
  if out=$(python3 "$here/check_syscalls.py" "$unit" "$traced/strace.log" "$traced/data" 2>&1); then
    echo "$out"
  else
    fail "check_syscalls.py:"$'\n'"$out"
  fi
else
  fail "strace or systemd-analyze not found (apt-get install strace systemd)"
fi

# --- container and compose files ---------------------------------------------------------------
if python3 -c 'import yaml' 2>/dev/null; then
  if out=$(python3 "$here/check_compose.py" "$source_dir" "$scratch" 2>&1); then
    echo "$out"
    if out=$(promtool check config "$scratch/prometheus-compose/prometheus.yml" 2>&1); then
      pass "promtool check config on the compose Prometheus' rewritten config"
    else
      fail "promtool check config (compose):"$'\n'"$out"
    fi
  else
    fail "check_compose.py:"$'\n'"$out"
  fi
else
  fail "python3 cannot import yaml (apt-get install python3-yaml)"
fi
# The compose schema: Docker's own validator, which runs without an engine.
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose=(docker-compose)
else
  compose=()
  fail "neither 'docker compose' nor docker-compose found (apt-get install docker-compose)"
fi
if [ ${#compose[@]} -gt 0 ]; then
  if out=$("${compose[@]}" -f "$deploy/compose.yaml" config -q 2>&1); then
    pass "${compose[*]} config: compose.yaml is valid"
  else
    fail "${compose[*]} config compose.yaml:"$'\n'"$out"
  fi
  if out=$(TCC_EVM_CONTRACT=0x5FbDB2315678afecb367f032d93F642f64180aa3 TCC_EVM_KEY_FILE=/dev/null \
             "${compose[@]}" -f "$deploy/compose.yaml" -f "$deploy/compose.evm.yaml" config -q 2>&1); then
    pass "${compose[*]} config: compose.yaml + compose.evm.yaml is valid"
  else
    fail "${compose[*]} config with compose.evm.yaml:"$'\n'"$out"
  fi
fi
# The runtime stage installs what runtime-packages.sh finds; run it on this build's binaries.
if packages=$(bash "$deploy/container/runtime-packages.sh" "$tccd_binary" "$tcc_binary" 2>&1); then
  missing_packages=""
  for package in libzmq5 libsodium23 libleveldb1d libprometheus-cpp-pull1.0 libssl3; do
    grep -qx "$package" <<<"$packages" || missing_packages+=" $package"
  done
  [ -z "$missing_packages" ] || fail "runtime-packages.sh missed:$missing_packages (found: $(echo $packages))"
  [ -z "$missing_packages" ] && pass "runtime-packages.sh: $(wc -l <<<"$packages") packages for the runtime stage"
else
  fail "runtime-packages.sh on this build's binaries:"$'\n'"$packages"
fi

# --- every flag passed to tccd and tcc exists --------------------------------------------------
tccd_help=$("$tccd_binary" --help 2>&1)
dockerfile_cmd=$(sed -n 's/^CMD \[\(.*\)\]$/\1/p' "$deploy/container/Dockerfile")
compose_commands=$(python3 -c '
import sys, yaml
for path in sys.argv[1:]:
    print(" ".join(yaml.safe_load(open(path))["services"]["tccd"]["command"]))
' "$deploy/compose.yaml" "$deploy/compose.evm.yaml" 2>/dev/null)
checked_flags=0
for flag in $(grep -oE -- '--[a-z][a-z-]*' <<<"$exec_start $dockerfile_cmd $compose_commands" | sort -u); do
  checked_flags=$((checked_flags + 1))
  grep -qE -- "(^|[[:space:]])$flag([[:space:]]|$)" <<<"$tccd_help" || fail "tccd has no flag $flag (used in deploy/)"
done
healthcheck=$(sed -n 's/^ *CMD \["tcc", \(.*\)\]$/\1/p' "$deploy/container/Dockerfile" | tr -d '",')
[ -n "$healthcheck" ] || fail "the Dockerfile has no HEALTHCHECK running tcc"
subcommand=$(awk '{print $1, $2}' <<<"$healthcheck")
subcommand_help=$("$tcc_binary" $subcommand --help 2>&1)
for flag in $(grep -oE -- '--[a-z][a-z-]*' <<<"$healthcheck"); do
  checked_flags=$((checked_flags + 1))
  grep -qE -- "(^|[[:space:]])$flag([[:space:]]|$)" <<<"$subcommand_help" || fail "tcc $subcommand has no flag $flag (HEALTHCHECK)"
done
[ $checked_flags -ge 6 ] || fail "found only $checked_flags flags in deploy/; the extraction is broken"
pass "$checked_flags tccd/tcc flags in the unit, Dockerfile and compose files exist"

rm -rf "$scratch"

if [ $failures -eq 0 ] && [ ${#skipped[@]} -gt 0 ]; then
  printf 'deploy_test: SKIPPED (the rest passed): %s\n' "${skipped[@]}"
  exit 77  # ctest's SKIP_RETURN_CODE for this test
fi
if [ $failures -eq 0 ]; then
  echo "deploy_test: PASS"
  exit 0
fi
echo "deploy_test: FAIL ($failures problems)" >&2
exit 1
