#!/usr/bin/env python3
"""Checks what a traced tccd did against the sandbox of tccd.service: its system calls against
SystemCallFilter=, the socket families it opened against RestrictAddressFamilies=, that it mapped
no memory writable and executable at once (MemoryDenyWriteExecute=yes), and that it opened files
for writing only in its data directory (ProtectSystem=strict with StateDirectory=).

systemd-analyze verify cannot know what the binary and its libraries do; under systemd a denied
call or socket family fails (EPERM, EAFNOSUPPORT), and some libraries abort on that: libzmq does
for sched_setscheduler and for getifaddrs' netlink socket. This expands the unit's filter with
`systemd-analyze syscall-filter` and compares it with an `strace -f -o` log of tccd.

Usage: check_syscalls.py UNIT STRACE_LOG DATA_DIR
Prints a summary; exits 1 naming everything the unit would refuse.
"""
import re
import subprocess
import sys


def expand(name, cache={}):
    """The system calls of a name or @group, nested groups expanded."""
    if not name.startswith("@"):
        return {name}
    if name not in cache:
        listing = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                                 text=True, check=True).stdout
        calls = set()
        for line in listing.splitlines():
            entry = line.strip()
            if not entry or entry.startswith("#") or entry == name:
                continue
            calls |= expand(entry)
        cache[name] = calls
    return cache[name]


def allowed_calls(unit_path):
    """The allow list of the unit's SystemCallFilter= lines, in order (an allow list, then denials)."""
    allowed = None
    for line in open(unit_path):
        match = re.match(r"^SystemCallFilter=(.*)$", line.strip())
        if not match:
            continue
        value = match.group(1).strip()
        deny = value.startswith("~")
        names = value.lstrip("~").split()
        calls = set().union(*(expand(name) for name in names)) if names else set()
        if allowed is None:
            if deny:
                raise SystemExit("check_syscalls.py: the first SystemCallFilter= is a deny list; not handled")
            allowed = calls
        elif deny:
            allowed -= calls
        else:
            allowed |= calls
    if allowed is None:
        raise SystemExit("check_syscalls.py: %s has no SystemCallFilter=" % unit_path)
    return allowed


def traced_calls(log_path):
    calls = set()
    for line in open(log_path, errors="replace"):
        # "PID name(args) = result" or "PID <... name resumed> ..."; signals and exits have no call.
        match = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z_][a-z0-9_]*)(?:\(| resumed>)", line)
        if match:
            calls.add(match.group(1))
    return calls


def unit_values(unit_path, key):
    values = []
    for line in open(unit_path):
        match = re.match(r"^%s=(.*)$" % key, line.strip())
        if match:
            values.extend(match.group(1).split())
    return values


def sandbox_violations(log_path, unit_path, data_dir):
    """Socket families, W+X mappings and writable opens the unit would refuse."""
    families = set(unit_values(unit_path, "RestrictAddressFamilies"))
    write_exec = unit_values(unit_path, "MemoryDenyWriteExecute") == ["yes"]
    problems = set()
    for line in open(log_path, errors="replace"):
        if " = -1 " in line:
            continue  # a call that failed anyway changed nothing
        socket = re.search(r"\bsocket\((AF_[A-Z0-9]+)", line)
        if socket and families and socket.group(1) not in families:
            problems.add("opens an %s socket, not in RestrictAddressFamilies" % socket.group(1))
        mapping = re.search(r"\b(mmap|mprotect|pkey_mprotect)\((.*)", line)
        if write_exec and mapping and "PROT_WRITE" in mapping.group(2) and "PROT_EXEC" in mapping.group(2):
            problems.add("maps memory writable and executable (%s), which MemoryDenyWriteExecute forbids" % mapping.group(1))
        opened = re.search(r'\bopen(?:at2?)?\((?:AT_FDCWD, |\d+, )?"([^"]*)", ([A-Z_|]+)', line)
        if opened and re.search(r"O_WRONLY|O_RDWR|O_CREAT", opened.group(2)):
            path = opened.group(1)
            if not (path.startswith(data_dir + "/") or path == data_dir or path in ("/dev/null",)):
                problems.add("opens %s for writing, outside its data directory" % path)
    return sorted(problems)


def main():
    unit_path, log_path, data_dir = sys.argv[1], sys.argv[2], sys.argv[3].rstrip("/")
    allowed = allowed_calls(unit_path)
    seen = traced_calls(log_path)
    if len(seen) < 20:
        print("FAIL: only %d system calls in %s; the trace is broken" % (len(seen), log_path), file=sys.stderr)
        return 1
    problems = []
    denied = sorted(seen - allowed)
    if denied:
        problems.append("makes system calls SystemCallFilter denies: %s" % ", ".join(denied))
    problems += sandbox_violations(log_path, unit_path, data_dir)
    if problems:
        for problem in problems:
            print("FAIL: tccd %s" % problem, file=sys.stderr)
        return 1
    print("ok: tccd's %d system calls, its sockets, mappings and writes all fit tccd.service's sandbox" % len(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
