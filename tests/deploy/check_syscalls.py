#!/usr/bin/env python3
"""Checks the system calls a traced tccd made against the SystemCallFilter= of tccd.service.

systemd-analyze verify cannot know which calls the binary and its libraries make; a call the
filter denies fails with EPERM under systemd, and some libraries abort on that (libzmq does for
sched_setscheduler). This expands the unit's filter with `systemd-analyze syscall-filter` and
compares it with an `strace -f -o` log of tccd.

Usage: check_syscalls.py UNIT STRACE_LOG
Prints the calls seen; exits 1 naming any the filter would deny.
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


def main():
    unit_path, log_path = sys.argv[1], sys.argv[2]
    allowed = allowed_calls(unit_path)
    seen = traced_calls(log_path)
    if len(seen) < 20:
        print("FAIL: only %d system calls in %s; the trace is broken" % (len(seen), log_path), file=sys.stderr)
        return 1
    denied = sorted(seen - allowed)
    if denied:
        print("FAIL: tccd makes system calls tccd.service denies: %s" % ", ".join(denied), file=sys.stderr)
        return 1
    print("ok: the %d system calls tccd made are all allowed by tccd.service's SystemCallFilter" % len(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
