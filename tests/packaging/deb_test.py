#!/usr/bin/python3
"""The Debian package, end to end, as root on this machine: dpkg-buildpackage
builds it from a copy of the source tree; lintian finds no error and no
warning; the package is hardened, stripped and Debian-shaped (conffile,
DEP-5 copyright, changelog, man pages that man reads without a warning);
apt installs it, the installed programs run, the enable link appears, an
edit to the conffile survives a reinstall and an upgrade and a remove, and a
purge leaves nothing behind. A second round under an emulated running
systemd (a private mount namespace where /run/systemd/system exists, with
systemctl and deb-systemd-invoke replaced by recorders) checks that the
maintainer scripts start the service on install, restart it on upgrade and
stop it on remove.

The package is purged at the end, on failure too. The test refuses to run
(exit 77, ctest's SKIP) where ringtrack is already installed, so that it
never touches an operator's installation.

Usage: deb_test.py --source-dir DIR --version X.Y.Z [--deb PACKAGE.deb]
(--deb checks a package already built instead of building one.)
"""
import argparse
import glob
import gzip
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd  # noqa: E402

PACKAGE = "ringtrack"
UNIT = "ringtrackd.service"
CONFFILE = "/etc/ringtrack/ringtrackd.toml"
WANTS_LINK = "/etc/systemd/system/multi-user.target.wants/" + UNIT
PROGRAMS = ("ringtrackd", "ringtrack-cli", "ringtrack-load")
MAN_PAGES = ("man8/ringtrackd.8.gz", "man1/ringtrack-cli.1.gz", "man1/ringtrack-load.1.gz")
MAN_SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "SIGNALS",
                "EXIT STATUS", "SEE ALSO")
# Where an installed ringtrack can leave anything: compared before and after.
WATCHED = ("/etc/ringtrack", "/etc/systemd/system", "/lib/systemd/system",
           "/usr/lib/systemd/system", "/var/lib/systemd/deb-systemd-helper-enabled",
           "/var/lib/systemd/deb-systemd-helper-masked", "/usr/bin", "/usr/share/doc",
           "/usr/share/man", "/usr/share/ringtrack", "/usr/share/lintian/overrides",
           "/var/lib/ringtrack", "/var/lib/dpkg/info")
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(cmd, **kw)


def children_cpu():
    """CPU seconds (user + system) of the finished child processes."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def dpkg_status():
    """'install ok installed', 'deinstall ok config-files', ... or '' when
    dpkg has no record of the package."""
    p = run(["dpkg-query", "-W", "-f=${Status}", PACKAGE])
    return p.stdout.strip() if p.returncode == 0 else ""


def footprint():
    """Every path (and symlink target) of ringtrack's under WATCHED."""
    found = set()
    for root in WATCHED:
        for d, dirs, files in os.walk(root):
            for name in dirs + files:
                path = os.path.join(d, name)
                if "ringtrack" in path:
                    target = os.readlink(path) if os.path.islink(path) else ""
                    found.add(path + (" -> " + target if target else ""))
    return found


def copy_source(src, dst):
    """The tracked and untracked-but-not-ignored files (never a build
    directory), or the whole tree less build*/ outside a git checkout."""
    p = run(["git", "-C", src, "ls-files", "-co", "--exclude-standard", "-z"])
    if p.returncode == 0:
        for rel in filter(None, p.stdout.split("\0")):
            if os.path.isfile(os.path.join(src, rel)):
                os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
                shutil.copy2(os.path.join(src, rel), os.path.join(dst, rel))
    else:
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("build*", ".git"))


def build(src, out, version):
    tree = os.path.join(out, "src")
    copy_source(src, tree)
    start, cpu = time.monotonic(), children_cpu()
    p = run(["dpkg-buildpackage", "-b", "-us", "-uc", "-j%d" % os.cpu_count()],
            cwd=tree, timeout=1500)
    log = p.stdout + p.stderr
    check(p.returncode == 0, "dpkg-buildpackage -b succeeds\n" + log[-4000:])
    print("package build: %.0f s wall, %.0f s CPU" % (time.monotonic() - start,
                                                       children_cpu() - cpu), flush=True)
    changelog = open(os.path.join(tree, "debian/changelog")).readline()
    m = re.match(r"ringtrack \((\S+)-(\d+)\)", changelog)
    check(m is not None and m.group(1) == version,
          "debian/changelog's upstream version is CMake's %s: %s" % (version, changelog))
    debs = glob.glob(os.path.join(out, "%s_%s-*_*.deb" % (PACKAGE, version)))
    check(len(debs) == 1, "one package named ringtrack_%s-N_<arch>.deb: %s" %
          (version, os.listdir(out)))
    check("-ffile-prefix-map=" in log and "-D_FORTIFY_SOURCE=2" in log and
          "-Wl,-z,now" in log, "the build uses dpkg-buildflags' hardening flags")
    os.chmod(debs[0], 0o644)
    return debs[0], tree


def check_lintian(deb):
    p = run(["lintian", "--display-info", "--fail-on", "error,warning", deb])
    print(p.stdout + p.stderr, flush=True)
    bad = [l for l in p.stdout.splitlines() if re.match(r"[EW]: ", l)]
    check(p.returncode == 0 and not bad,
          "lintian: no errors, no warnings\n" + "\n".join(bad) + p.stderr)
    hardening = [l for l in p.stdout.splitlines() if "hardening-" in l]
    check(not hardening, "lintian's hardening checks pass, bindnow too\n" + "\n".join(hardening))


def check_contents(deb, root):
    listing = run(["dpkg-deb", "-c", deb]).stdout
    for path in (["./usr/bin/" + p for p in PROGRAMS] +
                 ["./lib/systemd/system/" + UNIT, "." + CONFFILE,
                  "./usr/share/ringtrack/prometheus/ringtrack-rules.yml",
                  "./usr/share/ringtrack/grafana/ringtrack.json",
                  "./usr/share/doc/ringtrack/README.md",
                  "./usr/share/doc/ringtrack/copyright",
                  "./usr/share/doc/ringtrack/changelog.Debian.gz"] +
                 ["./usr/share/man/" + m for m in MAN_PAGES]):
        check(" " + path + "\n" in listing, "the package holds " + path)
    check("/usr/lib/systemd/system" not in listing,
          "the unit is where bookworm's systemd looks (/lib/systemd/system)")
    control = tempfile.mkdtemp(prefix="ringtrack_ctl_")
    try:
        run(["dpkg-deb", "-e", deb, control], check=True)
        conffiles = open(os.path.join(control, "conffiles")).read().split()
        check(conffiles == [CONFFILE], "ringtrackd.toml is a conffile: %s" % conffiles)
        for script in ("postinst", "prerm", "postrm"):
            check(os.path.exists(os.path.join(control, script)),
                  "the package has a %s script" % script)
    finally:
        shutil.rmtree(control)
    info = run(["dpkg-deb", "-f", deb, "Maintainer", "Description", "Depends"]).stdout
    check("@localhost" not in info and re.search(r"Maintainer: .+ <\S+@\S+>", info),
          "a real maintainer field\n" + info)
    check(len(re.findall(r"^ \S", info, re.M)) >= 5, "an extended description\n" + info)
    check(re.search(r"Depends:.*libc6", info) is not None,
          "shared-library dependencies were computed\n" + info)
    copyright = open(os.path.join(root, "usr/share/doc/ringtrack/copyright")).read()
    check(copyright.startswith(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"),
        "copyright is machine-readable (DEP-5)")
    for prog in PROGRAMS:
        path = os.path.join(root, "usr/bin", prog)
        sections = run(["readelf", "-S", "-W", path]).stdout
        check(".symtab" not in sections and ".debug_info" not in sections,
              prog + " is stripped")
        dyn = run(["readelf", "-d", "-l", "-W", path]).stdout
        check("BIND_NOW" in dyn and "GNU_RELRO" in dyn and "DYN (Position-Independent" in dyn,
              prog + " is PIE with full RELRO (bindnow)")


def check_man_pages(root, tree):
    for page in MAN_PAGES:
        path = os.path.join(root, "usr/share/man", page)
        with gzip.open(path, "rt") as f:
            roff = f.read()
        name = os.path.basename(page)[:-len(".x.gz")]
        for section in MAN_SECTIONS:
            check('\n.SH %s\n' % section in roff or '\n.SH "%s"\n' % section in roff,
                  "%s has a %s section" % (page, section))
        check(re.search(r'^\.TH \S+ \d "\d{4}-\d\d-\d\d"', roff, re.M) is not None,
              page + " is dated")
        check(tree not in roff and "Flags from" not in roff and "obj-" not in roff,
              page + " holds no build path")
        helptext = run([os.path.join(root, "usr/bin", name), "--help"])
        flags = re.findall(r"^    --(\w+) \(", helptext.stdout + helptext.stderr, re.M)
        missing = [f for f in flags if ".B \\-\\-" + f + "\n" not in roff]
        check(flags and not missing, page + " lists every flag of --help: missing %s" % missing)
        p = run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path],
                env=dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80"))
        check(p.returncode == 0 and not p.stderr.strip(),
              page + ": man --warnings is silent\n" + p.stderr)


def check_installed_programs(work):
    for prog in PROGRAMS:
        check(os.access("/usr/bin/" + prog, os.X_OK), "/usr/bin/%s is installed" % prog)
    p = run(["/usr/bin/ringtrackd", "--config=" + CONFFILE, "--print-config"])
    check(p.returncode == 0, "the installed configuration loads\n" + p.stderr)
    d = Ringtrackd("/usr/bin", work, ["--workers=1", "--stats-interval=0"])
    try:
        c = run(["/usr/bin/ringtrack-cli", "connect", "127.0.0.1:%d" % d.port, "--timeout=5s"])
        check(c.returncode == 0 and "connection_id" in c.stdout,
              "the installed ringtrack-cli gets a connect answered by the installed "
              "ringtrackd\n" + c.stdout + c.stderr)
        load = run(["/usr/bin/ringtrack-load", "127.0.0.1:%d" % d.port, "--duration=1s",
                    "--peers=1000", "--torrents=100", "--quiet", "--json"], timeout=60)
        summary_line = load.stdout.strip().splitlines()[-1] if load.stdout.strip() else "{}"
        rate = json.loads(summary_line).get("responses_per_s", 0)
        check(load.returncode == 0 and rate > 0,
              "the installed ringtrack-load gets answers\n" + load.stdout + load.stderr)
    finally:
        d.proc.terminate()
        check(d.proc.wait(10) == 0, "the installed ringtrackd stops cleanly\n" + d.log())


def upgrade_of(deb, out):
    """The same package under a higher version (what an upgrade installs)."""
    tree = os.path.join(out, "upgrade")
    run(["dpkg-deb", "-R", deb, tree], check=True)
    control = os.path.join(tree, "DEBIAN/control")
    text = open(control).read()
    text = re.sub(r"^Version: (\S+)$", r"Version: \1+upgrade1", text, flags=re.M)
    open(control, "w").write(text)
    newer = os.path.join(out, "upgrade.deb")
    run(["dpkg-deb", "--root-owner-group", "-b", tree, newer], check=True)
    os.chmod(newer, 0o644)
    return newer


def apt(args, wrap=()):
    p = run(list(wrap) + APT + args, timeout=600)
    check(p.returncode == 0, "apt-get %s\n%s%s" % (" ".join(args), p.stdout[-3000:],
                                                    p.stderr[-3000:]))
    return p


def lifecycle_without_systemd(deb, newer, work):
    apt(["install", deb])
    check(dpkg_status() == "install ok installed", "apt installs the package")
    check(os.path.islink(WANTS_LINK) and
          os.readlink(WANTS_LINK) == "/lib/systemd/system/" + UNIT,
          "install enables the unit: " + WANTS_LINK)
    check_installed_programs(work)
    p = run(["man", "-w", "ringtrackd"])
    check(p.stdout.strip() == "/usr/share/man/man8/ringtrackd.8.gz",
          "man finds the installed ringtrackd(8): " + p.stdout + p.stderr)

    edit = "\n# edited by deb_test.py\n"
    with open(CONFFILE, "a") as f:
        f.write(edit)
    apt(["install", "--reinstall", deb])
    check(open(CONFFILE).read().endswith(edit), "an edit to the conffile survives a reinstall")
    apt(["install", newer])
    check(run(["dpkg-query", "-W", "-f=${Version}", PACKAGE]).stdout.endswith("+upgrade1"),
          "apt upgrades the package")
    check(open(CONFFILE).read().endswith(edit), "an edit to the conffile survives an upgrade")
    apt(["remove", PACKAGE])
    check(dpkg_status() == "deinstall ok config-files", "apt removes the package")
    check(not os.path.exists("/usr/bin/ringtrackd"), "remove deletes the programs")
    check(os.path.exists(CONFFILE) and open(CONFFILE).read().endswith(edit),
          "remove keeps the edited conffile")
    apt(["purge", PACKAGE])
    check(dpkg_status() in ("", "unknown ok not-installed"), "apt purges the package")
    check(not os.path.exists(CONFFILE) and not os.path.exists("/etc/ringtrack"),
          "purge deletes the conffile and /etc/ringtrack")
    check(not os.path.lexists(WANTS_LINK), "purge removes the enable link")


# Recorders for the emulated systemd: each appends its argv to the log.
RECORDER = """#!/bin/sh
echo "$(basename "$0") $*" >> %s
"""
# Runs "$@" in a private mount namespace where /run/systemd/system exists,
# which is how the maintainer scripts tell that systemd is running.
EMULATED_SYSTEMD = """set -e
if [ -d /run/systemd ]; then run=/run/systemd; else run=/run; fi
mount -t tmpfs -o mode=0755 ringtrack-test "$run"
mkdir -p /run/systemd/system
exec "$@"
"""


def lifecycle_with_systemd(deb, newer, work):
    fake = os.path.join(work, "fakebin")
    os.makedirs(fake)
    log = os.path.join(work, "systemd.log")
    for name in ("systemctl", "deb-systemd-invoke"):
        with open(os.path.join(fake, name), "w") as f:
            f.write(RECORDER % log)
        os.chmod(os.path.join(fake, name), 0o755)
    # apt runs dpkg, and so the maintainer scripts, with DPkg::Path as PATH.
    path = ["-o", "DPkg::Path=%s:/usr/sbin:/usr/bin:/sbin:/bin" % fake]
    wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            EMULATED_SYSTEMD, "sh"]

    def calls_during(args):
        open(log, "w").close()
        apt(path + args, wrap=wrap)
        return open(log).read().splitlines()

    calls = calls_during(["install", deb])
    check(any(c.startswith("systemctl ") and c.endswith(" preset " + UNIT) for c in calls) and
          "deb-systemd-invoke start " + UNIT in calls and
          "systemctl --system daemon-reload" in calls,
          "with systemd running, install enables the unit (systemctl preset), reloads "
          "systemd and starts the unit: %s" % calls)
    calls = calls_during(["install", newer])
    check("deb-systemd-invoke restart " + UNIT in calls and
          not any(" stop " in c for c in calls),
          "an upgrade restarts the unit (and does not stop it first): %s" % calls)
    calls = calls_during(["remove", PACKAGE])
    check("deb-systemd-invoke stop " + UNIT in calls, "remove stops the unit: %s" % calls)
    calls = calls_during(["purge", PACKAGE])
    check(not os.path.lexists(WANTS_LINK) and dpkg_status() in ("", "unknown ok not-installed"),
          "purge under systemd cleans up too: %s" % calls)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--deb", help="check this package instead of building one")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: installs a package, needs root")
        sys.exit(77)
    if dpkg_status() or os.path.exists("/etc/ringtrack") or os.path.lexists(WANTS_LINK):
        print("SKIP: ringtrack is installed here (dpkg: '%s'); this test installs and "
              "purges it, so it leaves an existing installation alone" % dpkg_status())
        sys.exit(77)
    # A SIGTERM (a stopped CI job, kill) unwinds through the purge below too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = tempfile.mkdtemp(prefix="ringtrack_deb_")
    os.chmod(out, 0o755)  # apt's _apt user reads the .deb from here
    before = footprint()
    start = time.monotonic()
    try:
        if a.deb:
            deb, tree = os.path.join(out, os.path.basename(a.deb)), os.path.abspath(a.source_dir)
            shutil.copy(a.deb, deb)
            os.chmod(deb, 0o644)
        else:
            deb, tree = build(a.source_dir, out, a.version)
        root = os.path.join(out, "root")
        run(["dpkg-deb", "-x", deb, root], check=True)
        check_lintian(deb)
        check_contents(deb, root)
        check_man_pages(root, tree)
        newer = upgrade_of(deb, out)
        lifecycle_without_systemd(deb, newer, out)
        check(footprint() == before, "the purge left nothing behind: %s" %
              sorted(footprint() ^ before))
        lifecycle_with_systemd(deb, newer, out)
        check(footprint() == before, "nothing left behind after the second round: %s" %
              sorted(footprint() ^ before))
        print("whole test: %.0f s wall, %.0f s CPU" % (time.monotonic() - start,
                                                       children_cpu()), flush=True)
    finally:
        if dpkg_status():
            run(APT + ["purge", PACKAGE])
        shutil.rmtree(out, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
