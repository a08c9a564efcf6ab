#!/usr/bin/python3
"""The Debian package: `cpack -G DEB` builds ringtrack_<version>_<arch>.deb,
it holds the three programs, the systemd unit, the alert rules and the man
pages, and the ringtrackd unpacked from it starts, serves a connect on
loopback and stops cleanly.

Usage: deb_test.py --build-dir DIR --version X.Y.Z
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--version", required=True)
    a = ap.parse_args()
    out = tempfile.mkdtemp(prefix="ringtrack_deb_")
    os.chmod(out, 0o755)
    p = subprocess.run(["cpack", "-G", "DEB", "-B", out], cwd=a.build_dir,
                       capture_output=True, text=True, timeout=240)
    check(p.returncode == 0, "cpack -G DEB succeeds\n" + p.stdout[-2000:] + p.stderr[-2000:])
    debs = glob.glob(os.path.join(out, "ringtrack_%s_*.deb" % a.version))
    check(len(debs) == 1, "one package named ringtrack_%s_<arch>.deb: %s" %
          (a.version, os.listdir(out)))
    listing = subprocess.run(["dpkg-deb", "-c", debs[0]], capture_output=True,
                             text=True).stdout
    for path in ("./usr/bin/ringtrackd", "./usr/bin/ringtrack-cli",
                 "./usr/bin/ringtrack-load", "./usr/lib/systemd/system/ringtrackd.service",
                 "./usr/share/man/man8/ringtrackd.8.gz",
                 "./usr/share/man/man1/ringtrack-cli.1.gz",
                 "./usr/share/man/man1/ringtrack-load.1.gz",
                 "./usr/share/ringtrack/prometheus/ringtrack-rules.yml",
                 "./usr/share/doc/ringtrack/README.md",
                 "./etc/ringtrack/ringtrackd.toml"):
        check(path in listing, "the package holds " + path)
    info = subprocess.run(["dpkg-deb", "-I", debs[0]], capture_output=True, text=True).stdout
    check(re.search(r"Depends:.*libc6", info) is not None,
          "shared-library dependencies were computed\n" + info)
    root = os.path.join(out, "root")
    subprocess.run(["dpkg-deb", "-x", debs[0], root], check=True)
    man = subprocess.run(["zcat", os.path.join(root, "usr/share/man/man8/ringtrackd.8.gz")],
                         capture_output=True, text=True).stdout
    check(".TH RINGTRACKD 8" in man and "\\-\\-max_memory" in man,
          "the man page is made from --help")
    rt = os.path.join(root, "usr/bin/ringtrackd")
    default = open(os.path.join(root, "etc/ringtrack/ringtrackd.toml")).read()
    check("# interval = 1800" in default and "# listen = " in default,
          "the default configuration lists every setting, commented")
    d = subprocess.run([rt, "--config=" + os.path.join(root, "etc/ringtrack/ringtrackd.toml"),
                        "--print-config"], capture_output=True, text=True)
    check(d.returncode == 0, "the default configuration loads\n" + d.stderr)
    v = subprocess.run([rt, "--version"], capture_output=True, text=True)
    check(("ringtrackd " + a.version) in v.stdout + v.stderr, "--version prints the version")
    log = os.path.join(out, "rt.log")
    proc = subprocess.Popen([rt, "--listen=127.0.0.1:0", "--workers=1",
                             "--stats-interval=0"], stderr=open(log, "w"))
    try:
        port = None
        for _ in range(100):
            m = re.search(r"listen=127\.0\.0\.1:(\d+)", open(log).read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        check(port is not None, "the unpacked ringtrackd starts\n" + open(log).read())
        c = subprocess.run([os.path.join(root, "usr/bin/ringtrack-cli"), "connect",
                            "127.0.0.1:%d" % port, "--timeout=5s"],
                           capture_output=True, text=True)
        check(c.returncode == 0 and "connection_id" in c.stdout,
              "the unpacked ringtrack-cli gets a connect answered\n" + c.stdout + c.stderr)
        proc.terminate()
        check(proc.wait(10) == 0, "it stops cleanly")
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(out, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
