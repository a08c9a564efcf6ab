#!/usr/bin/python3
"""Writes the shipped /etc/ringtrack/ringtrackd.toml: the service's own
settings (SERVICE below) uncommented, every other setting commented out at
its default. The lines come from `ringtrackd --print-config` run with the
service's settings, so the file lists exactly the keys this build has and
every value is one the daemon accepts. The unit (ringtrackd.service) passes
only --config, so what is written here is what the service runs with.

Usage: make_default_config.py RINGTRACKD OUT"""
import subprocess
import sys

# The service's settings, set here rather than on the unit's command line
# (where they would silently win over an edit of the file).
SERVICE = {
    # Prometheus metrics on loopback only: the tracker's ports face the
    # Internet, the metrics endpoint must not.
    "metrics": "127.0.0.1:9469",
    # StateDirectory=ringtrack: owned by the unit's dynamic user, so saves
    # and the key's creation work after the privilege drop.
    "state_file": "/var/lib/ringtrack/swarms.state",
    "connection_key_file": "/var/lib/ringtrack/connection.key",
    # Stay the unit's DynamicUser (the unit already starts ringtrackd
    # unprivileged, with only the ambient capabilities it needs).
    "user": "",
}

HEADER = """\
# /etc/ringtrack/ringtrackd.toml: ringtrackd settings (see ringtrackd(8)).
# Every key is a flag of the same name. The service's own settings are set;
# every other line is commented out at its default: uncomment to change it.
# systemctl reload ringtrackd re-reads this file.
"""


def main():
    binary, out = sys.argv[1:]
    args = [binary] + ["--%s=%s" % (k, v) for k, v in SERVICE.items()] + ["--print-config"]
    text = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    lines = [HEADER, "\n# The service's settings.\n"]
    rest = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key = line.split(" = ", 1)[0]
        if key in SERVICE:
            lines.append(line + "\n")
        else:
            rest.append("# " + line + "\n")
    missing = set(SERVICE) - {l.split(" = ", 1)[0] for l in lines[2:]}
    if missing:
        sys.exit("make_default_config.py: --print-config has no %s" % sorted(missing))
    lines.append("\n# Defaults.\n")
    lines += rest
    with open(out, "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
