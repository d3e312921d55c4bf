#!/usr/bin/env python3
"""Consistency checks of deploy/compose.yaml, deploy/compose.evm.yaml and the container file that
need no Docker engine: every file the stack mounts or builds from exists, images are pinned, and
the ports and addresses the services use agree with each other, with the Prometheus scrape config
and with the Grafana provisioning. Prints one "ok:" line per check group; exits 1 on the first
group that fails, with the reason.

Usage: check_compose.py SOURCE_DIR OUT_DIR
  OUT_DIR receives prometheus-compose/{prometheus.yml,alerts.yml}: the scrape config exactly as the
  compose Prometheus rewrites it, for `promtool check config` by the caller.
"""
import os
import re
import shlex
import sys

import yaml


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def flag_value(command, flag):
    """The value of --flag VALUE in an argument list, or None."""
    for index, argument in enumerate(command):
        if argument == flag and index + 1 < len(command):
            return command[index + 1]
        if argument.startswith(flag + "="):
            return argument.split("=", 1)[1]
    return None


def port_of(address):
    """The port of tcp://HOST:PORT, HOST:PORT or http://HOST:PORT[/...]."""
    match = re.search(r":(\d+)(/.*)?$", address)
    require(match, "no port in %r" % address)
    return int(match.group(1))


def host_of(url):
    match = re.match(r"^[a-z+]+://([^:/]+)", url)
    require(match, "no host in %r" % url)
    return match.group(1)


def main():
    source_dir, out_dir = sys.argv[1], sys.argv[2]
    deploy = os.path.join(source_dir, "deploy")
    compose_file = os.path.join(deploy, "compose.yaml")
    compose = yaml.safe_load(open(compose_file))
    services = compose["services"]
    require(set(services) == {"tccd", "prometheus", "grafana", "anvil"},
            "compose.yaml services are %s, expected tccd, prometheus, grafana, anvil" % sorted(services))

    # --- every file mounted or built from exists; named volumes are declared ---
    declared_volumes = set((compose.get("volumes") or {}).keys())
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                path = os.path.normpath(os.path.join(deploy, source))
                require(os.path.exists(path), "%s mounts %s, which does not exist" % (name, path))
            elif not source.startswith("$"):
                require(source in declared_volumes, "%s uses volume %s, not declared" % (name, source))
        if "build" in service:
            context = os.path.normpath(os.path.join(deploy, service["build"]["context"]))
            dockerfile = os.path.join(context, service["build"]["dockerfile"])
            require(os.path.isfile(dockerfile), "%s builds from %s, which does not exist" % (name, dockerfile))
        else:
            image = service.get("image", "")
            tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
            require(tag and tag != "latest", "%s uses image %r without a pinned tag" % (name, image))
    print("ok: compose.yaml mounts and builds only files that exist; images are pinned")

    # --- tccd: its ports are published or exposed, and the container file agrees ---
    tccd = services["tccd"]
    tccd_command = tccd["command"]
    listen_port = port_of(flag_value(tccd_command, "--listen"))
    metrics_address = flag_value(tccd_command, "--metrics")
    require(metrics_address, "tccd in compose.yaml serves no metrics (--metrics)")
    require(metrics_address.startswith("0.0.0.0:"),
            "tccd's metrics bind %s: Prometheus in another container cannot reach loopback" % metrics_address)
    metrics_port = port_of(metrics_address)
    published = [int(str(port).split(":")[-1]) for port in tccd.get("ports", [])]
    exposed = [int(port) for port in tccd.get("expose", [])]
    require(listen_port in published, "tccd's party port %d is not published" % listen_port)
    require(metrics_port in exposed + published, "tccd's metrics port %d is neither exposed nor published" % metrics_port)
    dockerfile = open(os.path.join(deploy, "container", "Dockerfile")).read()
    expose = set()
    for line in re.findall(r"^EXPOSE\s+(.+)$", dockerfile, re.M):
        expose.update(int(port.split("/")[0]) for port in line.split())
    require({listen_port, metrics_port} <= expose,
            "the Dockerfile EXPOSEs %s, compose uses %d and %d" % (sorted(expose), listen_port, metrics_port))
    data_dir = flag_value(tccd_command, "--data-dir")
    require(re.search(r'^VOLUME\s+\[?"?%s"?\]?\s*$' % re.escape(data_dir), dockerfile, re.M),
            "the Dockerfile declares no VOLUME for tccd's data dir %s" % data_dir)
    require(any(volume.split(":")[1] == data_dir for volume in tccd["volumes"]),
            "compose keeps tccd's data dir %s in no volume" % data_dir)
    for copied in re.findall(r"^COPY\s+(?!--from)(\S+)\s", dockerfile, re.M):
        if copied != ".":
            require(os.path.exists(os.path.join(source_dir, copied)), "the Dockerfile copies %s, which does not exist" % copied)
    for script in re.findall(r"bash ((?:scripts|deploy)/\S+\.sh)", dockerfile):
        require(os.path.isfile(os.path.join(source_dir, script)), "the Dockerfile runs %s, which does not exist" % script)
    grace = str(tccd.get("stop_grace_period", "10s"))
    require(grace.endswith("s") and int(grace[:-1]) >= 45,
            "tccd's stop_grace_period %s is shorter than its drain (up to 45 s)" % grace)
    print("ok: tccd publishes %d, exposes metrics on %d; the Dockerfile EXPOSEs both and keeps %s in a VOLUME"
          % (listen_port, metrics_port, data_dir))

    # --- Prometheus scrapes tccd's metrics port with the shipped config and rules ---
    prometheus = services["prometheus"]
    script = " ".join(prometheus["command"]) if isinstance(prometheus["command"], list) else prometheus["command"]
    substitution = re.search(r"sed '?s/([^/]+)/([^/]+)/'? (\S+) > (\S+)", script)
    require(substitution, "the compose Prometheus no longer rewrites the scrape target with sed")
    pattern, replacement, config_in, config_out = substitution.groups()
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in prometheus["volumes"]}
    require(config_in in mounts, "Prometheus reads %s, which is not mounted" % config_in)
    shipped = os.path.normpath(os.path.join(deploy, mounts[config_in]))
    config_text = re.sub(pattern, replacement, open(shipped).read())
    config = yaml.safe_load(config_text)
    targets = [target for job in config["scrape_configs"] if job["job_name"] == "tccd"
               for static in job["static_configs"] for target in static["targets"]]
    require(targets == ["tccd:%d" % metrics_port],
            "the compose Prometheus scrapes %s, tccd serves metrics at tccd:%d" % (targets, metrics_port))
    for rule_file in config.get("rule_files", []):
        copied = re.search(r"cp (\S+) %s" % re.escape(os.path.join(os.path.dirname(config_out), rule_file)), script)
        require(copied and copied.group(1) in mounts,
                "the compose Prometheus does not put rule file %s beside its config" % rule_file)
    flags = shlex.split(script.split("exec", 1)[1])
    require(flag_value(flags, "--config.file") == config_out, "Prometheus does not start on the rewritten config")
    prometheus_port = port_of(flag_value(flags, "--web.listen-address"))
    os.makedirs(os.path.join(out_dir, "prometheus-compose"), exist_ok=True)
    open(os.path.join(out_dir, "prometheus-compose", "prometheus.yml"), "w").write(config_text)
    for rule_file in config.get("rule_files", []):
        with open(os.path.join(os.path.dirname(shipped), rule_file)) as source:
            open(os.path.join(out_dir, "prometheus-compose", rule_file), "w").write(source.read())
    print("ok: the compose Prometheus scrapes tccd:%d with the shipped config and rules, serves on %d"
          % (metrics_port, prometheus_port))

    # --- Grafana: datasource URL, provisioning and dashboard paths ---
    grafana = services["grafana"]
    url = grafana["environment"]["TCC_PROMETHEUS_URL"]
    require(host_of(url) == "prometheus" and port_of(url) == prometheus_port,
            "Grafana's TCC_PROMETHEUS_URL %s is not the prometheus service on %d" % (url, prometheus_port))
    datasources = open(os.path.join(deploy, "grafana", "provisioning", "datasources", "prometheus.yml")).read()
    require("${TCC_PROMETHEUS_URL}" in datasources, "the Grafana datasource does not read TCC_PROMETHEUS_URL")
    grafana_mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in grafana["volumes"]}
    provider = yaml.safe_load(open(os.path.join(deploy, "grafana", "provisioning", "dashboards", "tcc.yml")))
    dashboards_path = provider["providers"][0]["options"]["path"]
    require(dashboards_path in grafana_mounts, "Grafana loads dashboards from %s, which is not mounted" % dashboards_path)
    require(os.path.normpath(os.path.join(deploy, grafana_mounts[dashboards_path])) ==
            os.path.join(deploy, "grafana", "dashboards"), "the dashboards mount is not deploy/grafana/dashboards")
    print("ok: Grafana's datasource is the compose Prometheus; its dashboard provider path is mounted")

    # --- the EVM override: tccd on the anvil node ---
    override = yaml.safe_load(open(os.path.join(deploy, "compose.evm.yaml")))
    evm_tccd = override["services"]["tccd"]
    chain = flag_value(evm_tccd["command"], "--chain")
    require(chain and chain.startswith("evm+http://"), "compose.evm.yaml does not put tccd on an evm+http:// chain")
    anvil_port = int(flag_value(services["anvil"]["command"], "--port"))
    require(host_of(chain) == "anvil" and port_of(chain.split("?")[0]) == anvil_port,
            "compose.evm.yaml's chain %s is not the anvil service on %d" % (chain, anvil_port))
    require(str(anvil_port) in [str(port) for port in services["anvil"].get("expose", [])],
            "anvil does not expose %d" % anvil_port)
    base_flags = [argument for argument in tccd_command]
    require(evm_tccd["command"][:len(base_flags)] == base_flags,
            "compose.evm.yaml's tccd command must start with compose.yaml's (it replaces it whole)")
    print("ok: compose.evm.yaml puts tccd on anvil:%d" % anvil_port)


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        print("FAIL: %s" % failure, file=sys.stderr)
        sys.exit(1)
