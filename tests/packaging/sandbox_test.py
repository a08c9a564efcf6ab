#!/usr/bin/python3
"""The shipped unit's sandbox, emulated, with the real ringtrackd inside it
in every I/O mode (io_uring, recvmmsg, --xdp, --io xdp), each in a network
namespace of its own (a veth pair to a client namespace, ULA addresses).

The emulation is built from packaging/ringtrackd.service itself, so it
follows the unit as it changes, and runs the shipped ringtrackd.toml (the
unit's ExecStart passes only --config) with the mode's keys appended:
- DynamicUser=: a uid with no passwd entry (61184, the first of systemd's
  dynamic range), no supplementary groups;
- CapabilityBoundingSet= / AmbientCapabilities= / NoNewPrivileges=:
  setpriv --bounding-set --inh-caps --ambient-caps --no-new-privs;
- SystemCallFilter=: a seccomp allow list of the named syscalls and groups,
  expanded by `systemd-analyze syscall-filter` as systemd expands them;
  anything else kills the process, as it does under systemd;
- RestrictAddressFamilies=: a second seccomp filter, socket() of any other
  family fails with EAFNOSUPPORT, as systemd's does;
- MemoryDenyWriteExecute=: prctl(PR_SET_MDWE);
- ProtectSystem=strict / ProtectKernelTunables= / ProtectControlGroups=:
  every mount read-only (/proc/sys and /sys included), except
  StateDirectory= (/var/lib/ringtrack, here a directory of this test's,
  mode StateDirectoryMode=, owned by the dynamic uid);
- PrivateTmp= / ProtectHome= / PrivateDevices=: fresh /tmp and /var/tmp,
  empty read-only /home, /root and /run/user, a /dev of the basic nodes;
- UMask=, LimitNOFILE=, LimitMEMLOCK=.
RestrictNamespaces=, LockPersonality=, RestrictRealtime=,
RestrictSUIDSGID=, ProtectClock= and ProtectHostname= are not emulated
(none of them can affect what ringtrackd does). Each mode passes iff the
daemon starts under all of this, answers an announce from the client
namespace, serves /metrics where the shipped file says, runs as the dynamic
uid with no capability, no-new-privs and both seccomp filters in force, and
at SIGTERM exits 0 having saved its state and key in the state directory.
Finally `systemd-analyze security --offline=yes` rates the unit, printed,
and the test fails above 3.5.

Needs root (namespaces, mounts, XDP). Usage:
  sandbox_test.py --bin DIR --unit ringtrackd.service --config ringtrackd.toml
                  --work DIR [--sanitized]
"""
import argparse
import ctypes
import ctypes.util
import errno
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from netns import make_xdp_veth, remove_xdp_veth, sh  # noqa: E402

# The stages after the mount namespace run Debian's python3: ProtectHome=
# hides an interpreter under /root or /home.
PYTHON = "/usr/bin/python3"
DYNAMIC_UID = 61184
STATE_DIR = "/var/lib/ringtrack"
MAX_EXPOSURE = 3.5
# Families Python's socket module may not name (AF_XDP: Linux 4.18).
AF_NUMBERS = {"AF_XDP": 44}
INFO_HASH = "5a6e64626f782074657374202d20756e69742121"


# ---------------------------------------------------------------- the unit

def parse_unit(path):
    """The [Service] section as {key: [value, ...]}, one entry per line (a
    key may repeat; an empty assignment resets the list, as systemd does)."""
    out = {}
    section = None
    for raw in open(path):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Service]":
            continue
        key, value = line.split("=", 1)
        if value == "":
            out[key] = []
        else:
            out.setdefault(key, []).append(value)
    return out


def one(unit, key, default=None):
    values = unit.get(key)
    return values[-1] if values else default


def yes(unit, key):
    return one(unit, key, "no").lower() in ("yes", "true", "1", "on", "strict")


def caps_of(unit, key):
    return [c for v in unit.get(key, []) for c in v.split()]


def expand_syscalls(names, seen=None):
    """SystemCallFilter= names with every @group expanded (recursively) by
    systemd-analyze, as systemd itself expands them."""
    seen = set() if seen is None else seen
    out = set()
    for name in names:
        if not name.startswith("@"):
            out.add(name)
            continue
        if name in seen:
            continue
        seen.add(name)
        p = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", name],
                           capture_output=True, text=True, check=True)
        members = [l.strip() for l in p.stdout.splitlines()[1:]
                   if l.strip() and not l.strip().startswith("#")]
        out |= expand_syscalls(members, seen)
    return out


def sandbox_spec(unit):
    filt = []
    for v in unit.get("SystemCallFilter", []):
        if v.startswith("~"):
            sys.exit("sandbox_test.py emulates SystemCallFilter= allow lists only: " + v)
        filt += v.split()
    fams = [f for v in unit.get("RestrictAddressFamilies", []) for f in v.split()]
    return {
        "syscalls": sorted(expand_syscalls(filt)),
        "families": [AF_NUMBERS.get(f) or getattr(socket, f) for f in fams],
        "mdwe": yes(unit, "MemoryDenyWriteExecute"),
    }


# ------------------------------------------------- inside the namespaces

LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
CLONE_NEWNS = 0x00020000


def mount(src, target, fstype=None, flags=0, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if LIBC.mount(enc(src), enc(target), enc(fstype), flags, enc(data)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "mount %s on %s: %s" % (src, target, os.strerror(e)))


def mount_points():
    """(mount point, per-mount flags) of this namespace, parents first."""
    out = []
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        mp = re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), f[4])
        opts = f[5].split(",")
        flags = ((MS_NOSUID if "nosuid" in opts else 0) |
                 (MS_NODEV if "nodev" in opts else 0) |
                 (MS_NOEXEC if "noexec" in opts else 0))
        out.append((mp, flags))
    return out


def under(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


def enter(spec):
    """Runs as root inside the server's network namespace: builds the mount
    namespace, then execs setpriv (user, capabilities, no-new-privs), which
    execs this script's seccomp stage, which execs ringtrackd."""
    if LIBC.unshare(CLONE_NEWNS) != 0:
        sys.exit("unshare(CLONE_NEWNS): " + os.strerror(ctypes.get_errno()))
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Paths that PrivateTmp=/ProtectHome= would hide but the test needs (the
    # build tree may live under /tmp): reached again through O_PATH fds.
    keep = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in spec["keep"]}
    dev_nodes = {n: os.open("/dev/" + n, os.O_PATH)
                 for n in ("null", "zero", "full", "random", "urandom", "tty")}
    # StateDirectory=: a directory of the test's at /var/lib/ringtrack.
    if not os.path.isdir(STATE_DIR):
        mount("tmpfs", "/var/lib", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
        os.mkdir(STATE_DIR)
    mount(spec["state_dir"], STATE_DIR, None, MS_BIND)
    # ProtectSystem=strict (+ ProtectKernelTunables=, ProtectControlGroups=):
    # every mount read-only but the API file systems' process views.
    if spec["protect_system"]:
        mount("/proc/sys", "/proc/sys", None, MS_BIND)
        for mp, flags in mount_points():
            if mp == STATE_DIR or (under(mp, "/proc") and not under(mp, "/proc/sys")):
                continue
            if under(mp, "/dev"):
                continue  # replaced below (PrivateDevices=)
            try:
                mount(None, mp, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.ENOENT):  # shadowed mounts
                    raise
    hidden = []
    if spec["private_tmp"]:
        hidden += [("/tmp", "mode=1777"), ("/var/tmp", "mode=1777")]
    if spec["protect_home"]:
        hidden += [(p, "mode=0755") for p in ("/home", "/root", "/run/user")
                   if os.path.isdir(p)]
    for top, opts in hidden:
        mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, opts)
        for p, fd in keep.items():
            if under(p, top):
                os.makedirs(p, exist_ok=True)
                mount("/proc/self/fd/%d" % fd, p, None, MS_BIND)
        if top not in ("/tmp", "/var/tmp"):
            mount(None, top, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    if spec["private_devices"]:
        mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
        for n, fd in dev_nodes.items():
            open("/dev/" + n, "w").close()
            mount("/proc/self/fd/%d" % fd, "/dev/" + n, None, MS_BIND)
    for fd in list(keep.values()) + list(dev_nodes.values()):
        os.close(fd)
    # The emulation itself is checked: a test of a sandbox that is not there
    # would pass for the wrong reason.
    for path in ("/etc", "/usr", "/proc/sys/net") if spec["protect_system"] else ():
        ro = os.statvfs(path).f_flag & os.ST_RDONLY
        if not ro:
            sys.exit("sandbox: %s is not read-only" % path)
    if os.statvfs(STATE_DIR).f_flag & os.ST_RDONLY:
        sys.exit("sandbox: %s is read-only" % STATE_DIR)

    os.umask(int(spec["umask"], 8))
    for res, value in spec["limits"].items():
        v = resource.RLIM_INFINITY if value == "infinity" else int(value)
        # Without CAP_SYS_RESOURCE (some hosts' bounding sets lack it) the
        # hard limit cannot be raised: the nearest the host allows.
        hard = resource.getrlimit(getattr(resource, res))[1]
        if hard != resource.RLIM_INFINITY and (v == resource.RLIM_INFINITY or v > hard):
            v = hard
        resource.setrlimit(getattr(resource, res), (v, v))
    caps = ",".join(["-all"] + ["+" + c.lower()[4:] for c in spec["ambient"]])
    bounding = ",".join(["-all"] + ["+" + c.lower()[4:] for c in spec["bounding"]])
    argv = ["setpriv", "--reuid=%d" % DYNAMIC_UID, "--regid=%d" % DYNAMIC_UID,
            "--clear-groups", "--inh-caps=" + caps, "--ambient-caps=" + caps,
            "--bounding-set=" + bounding]
    if spec["no_new_privs"]:
        argv.append("--no-new-privs")
    argv += [PYTHON, os.path.abspath(__file__), "--seccomp",
             json.dumps(spec["seccomp"]), "--"] + spec["argv"]
    os.execvp(argv[0], argv)


SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_CMP_EQ, SCMP_CMP_GE = 4, 5
AF_MAX = 46  # Linux 6.x: families 0..45


def SCMP_ACT_ERRNO(e):  # noqa: N802
    return 0x00050000 | (e & 0xFFFF)


class ScmpArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def seccomp_then_exec(spec, argv):
    """As the unit's user, with no-new-privs already set: loads the
    SystemCallFilter= and RestrictAddressFamilies= filters (two, as systemd
    installs them), sets MemoryDenyWriteExecute=, then execs argv."""
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(ScmpArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]

    def rule(ctx, action, nr, *cmps):
        arr = (ScmpArgCmp * max(1, len(cmps)))(*cmps)
        r = lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), arr)
        if r != 0:
            sys.exit("seccomp_rule_add: %s" % os.strerror(-r))

    # The families' filter first: once the syscall filter is in force,
    # seccomp() itself is refused (systemd installs them in this order too).
    filters = []
    if spec["families"]:
        ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
        nr = lib.seccomp_syscall_resolve_name(b"socket")
        refuse = SCMP_ACT_ERRNO(errno.EAFNOSUPPORT)
        for fam in range(AF_MAX):
            if fam not in spec["families"]:
                rule(ctx, refuse, nr, ScmpArgCmp(0, SCMP_CMP_EQ, fam, 0))
        rule(ctx, refuse, nr, ScmpArgCmp(0, SCMP_CMP_GE, AF_MAX, 0))
        filters.append(ctx)
    if spec["syscalls"]:
        # RT_SECCOMP_LOG=1: log (dmesg: "syscall=N") instead of killing, to
        # find what a change to the daemon needs.
        ctx = lib.seccomp_init(SCMP_ACT_LOG if os.environ.get("RT_SECCOMP_LOG")
                               else SCMP_ACT_KILL_PROCESS)
        for name in spec["syscalls"]:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr >= 0:  # names of other architectures resolve to -1
                rule(ctx, SCMP_ACT_ALLOW, nr)
        filters.append(ctx)
    if spec["mdwe"]:
        PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1  # Linux 6.3
        if LIBC.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
            sys.exit("prctl(PR_SET_MDWE): " + os.strerror(ctypes.get_errno()))
    for ctx in filters:
        r = lib.seccomp_load(ctx)
        if r != 0:
            sys.exit("seccomp_load: %s" % os.strerror(-r))
    os.execv(argv[0], argv)


# ----------------------------------------------------------- the driver

def descendant_named(pid, name, deadline):
    """The pid of `pid` or its first descendant whose comm is `name`."""
    while time.time() < deadline:
        todo = [pid]
        while todo:
            p = todo.pop()
            try:
                if open("/proc/%d/comm" % p).read().strip() == name:
                    return p
                kids = open("/proc/%d/task/%d/children" % (p, p)).read().split()
            except OSError:
                continue
            todo += [int(k) for k in kids]
        time.sleep(0.05)
    return None


def status_field(pid, field):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def run_mode(a, unit, spec_base, mode, n):
    tag = "%d_%d" % (os.getpid() % 10000, n)
    srv_ns, cli_ns = "rt_sbx_s" + tag, "rt_sbx_c" + tag
    srv_if, cli_if = "rtbs" + tag, "rtbc" + tag
    srv_ip = "fd52:7274:5b%02x:%x::1" % (os.getpid() % 256, n)
    cli_ip = srv_ip[:-1] + "2"
    work = tempfile.mkdtemp(prefix="sandbox_%s_" % mode, dir=a.work)
    os.chmod(work, 0o755)
    state = os.path.join(work, "state")
    os.mkdir(state, int(one(unit, "StateDirectoryMode", "0755"), 8))
    os.chown(state, DYNAMIC_UID, DYNAMIC_UID)
    extra = {"uring": ['io = "uring"'],
             "mmsg": ['io = "mmsg"'],
             "xdp": ['xdp = ["%s"]' % srv_if, 'xdp_mode = "generic"'],
             "io-xdp": ['io = "xdp"', 'xdp = ["%s"]' % srv_if, 'xdp_mode = "generic"'],
             }[mode]
    config = os.path.join(work, "ringtrackd.toml")
    with open(config, "w") as f:
        f.write(open(a.config).read())
        f.write("\n# sandbox_test.py: the mode under test\nworkers = 1\n"
                'stats_interval = "0s"\n' + "\n".join(extra) + "\n")
    # The unit's ExecStart, with the built binary and this test's copy of
    # the shipped config (/etc/ringtrack does not exist on a build host).
    exec_start = one(unit, "ExecStart").split()
    check(exec_start[1:] == ["--config", "/etc/ringtrack/ringtrackd.toml"],
          "%s: ExecStart passes only --config: %s" % (mode, exec_start))
    argv = [os.path.join(a.bin, "ringtrackd"), "--config", config]
    spec = dict(spec_base, state_dir=state, argv=argv,
                keep=sorted({os.path.realpath(a.bin), work,
                               os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}))
    log_path = os.path.join(work, "ringtrackd.log")
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "ASAN_OPTIONS", "RT_SECCOMP_LOG",
                                                        "UBSAN_OPTIONS")}
    if a.sanitized:  # LeakSanitizer's ptrace is outside the syscall filter
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    proc = None
    try:
        make_xdp_veth(srv_ns, cli_ns, srv_if, cli_if, [(srv_ip, cli_ip, "/64", True)], False)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", srv_ns, PYTHON, os.path.abspath(__file__),
             "--enter", json.dumps(spec)],
            stderr=open(log_path, "w"), stdout=subprocess.DEVNULL, env=env)
        deadline = time.time() + 20
        log = ""
        while time.time() < deadline and proc.poll() is None:
            log = open(log_path).read()
            if re.search(r"ringtrackd \S+ io=", log):
                break
            time.sleep(0.05)
        rc = proc.poll()
        log = open(log_path).read()
        check(rc is None, "%s: ringtrackd starts under the unit's sandbox (exit %s%s)\n%s" % (
            mode, rc, ", SIGSYS: a syscall outside SystemCallFilter=" if rc in (-31, 159)
            else "", log))
        pid = descendant_named(proc.pid, "ringtrackd", time.time() + 5)
        check(pid is not None, mode + ": the daemon's process is found")
        cli = ["ip", "netns", "exec", cli_ns, os.path.join(a.bin, "ringtrack-cli")]
        p = sh(*cli, "announce", "udp://[%s]:6969/announce" % srv_ip, "--info-hash",
               INFO_HASH, "--left=0", "--timeout=5s", check_rc=False)
        check(p.returncode == 0 and "seeders: 1" in p.stdout,
              "%s: an announce from the client namespace is answered\n%s%s\n%s" % (
                  mode, p.stdout, p.stderr, open(log_path).read()))
        m = sh("ip", "netns", "exec", srv_ns, PYTHON, "-c",
               "import urllib.request as u; print(u.urlopen("
               "'http://127.0.0.1:9469/metrics', timeout=5).read().decode())",
               check_rc=False)
        check(m.returncode == 0 and "ringtrack_" in m.stdout,
              "%s: /metrics is served where the shipped file says (127.0.0.1:9469)\n%s" % (
                  mode, m.stderr))
        st = {f: status_field(pid, f) for f in
              ("Uid", "Gid", "Groups", "CapEff", "CapPrm", "CapAmb", "CapBnd", "NoNewPrivs",
               "Seccomp", "Seccomp_filters")}
        check(st["Uid"].split() == [str(DYNAMIC_UID)] * 4 and st["Groups"] == "" and
              st["CapEff"] == st["CapPrm"] == st["CapAmb"] == "0" * 16 and
              st["NoNewPrivs"] == "1" and st["Seccomp"] == "2" and
              int(st["Seccomp_filters"]) >= 2,
              "%s: serving as the dynamic uid, no capability, no-new-privs, two seccomp "
              "filters\n%s" % (mode, st))
        if mode in ("xdp", "io-xdp"):
            log = open(log_path).read()
            check("xdp=%s(generic)" % srv_if in log,
                  "%s: XDP attached to the veth\n%s" % (mode, log))
        os.kill(pid, signal.SIGTERM)
        rc = proc.wait(20)
        log = open(log_path).read()
        check(rc == 0 and "state saved (at stop)" in log,
              "%s: exits 0 at SIGTERM with its state saved\n%s" % (mode, log))
        for name in ("swarms.state", "connection.key"):
            path = os.path.join(state, name)
            check(os.path.exists(path) and os.stat(path).st_uid == DYNAMIC_UID,
                  "%s: %s is in the StateDirectory, owned by the dynamic uid" % (mode, name))
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        remove_xdp_veth(srv_ns, cli_ns)
        shutil.rmtree(work, ignore_errors=True)


def security_score(unit_path):
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                        unit_path], capture_output=True, text=True)
    print(p.stdout, flush=True)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout + p.stderr)
    check(m is not None and float(m.group(1)) <= MAX_EXPOSURE,
          "systemd-analyze security rates the unit %s (at most %.1f)\n%s" % (
              m.group(1) if m else "?", MAX_EXPOSURE, p.stderr))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--enter":
        enter(json.loads(sys.argv[2]))
    if len(sys.argv) > 3 and sys.argv[1] == "--seccomp" and sys.argv[3] == "--":
        seccomp_then_exec(json.loads(sys.argv[2]), sys.argv[4:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--unit", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--sanitized", action="store_true")
    ap.add_argument("--modes", default="uring,mmsg,xdp,io-xdp")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("sandbox_test.py needs root (namespaces, mounts, XDP): skipped")
        sys.exit(77)
    unit = parse_unit(a.unit)
    spec = {
        "seccomp": sandbox_spec(unit),
        "protect_system": one(unit, "ProtectSystem") == "strict",
        "private_tmp": yes(unit, "PrivateTmp"),
        "protect_home": yes(unit, "ProtectHome"),
        "private_devices": yes(unit, "PrivateDevices"),
        "no_new_privs": yes(unit, "NoNewPrivileges"),
        "ambient": caps_of(unit, "AmbientCapabilities"),
        "bounding": caps_of(unit, "CapabilityBoundingSet"),
        "umask": one(unit, "UMask", "0022"),
        "limits": {res: one(unit, key) for key, res in
                   (("LimitNOFILE", "RLIMIT_NOFILE"), ("LimitMEMLOCK", "RLIMIT_MEMLOCK"))
                   if one(unit, key)},
    }
    check(yes(unit, "DynamicUser") and one(unit, "StateDirectory") == "ringtrack",
          "the unit runs as a dynamic user with StateDirectory=ringtrack")
    check(spec["seccomp"]["syscalls"] and spec["seccomp"]["families"],
          "the unit has a SystemCallFilter= (%d syscalls) and RestrictAddressFamilies=" %
          len(spec["seccomp"]["syscalls"]))
    os.makedirs(a.work, exist_ok=True)
    for i, mode in enumerate(a.modes.split(",")):
        run_mode(a, unit, spec, mode, i)
    security_score(a.unit)
    summary()


if __name__ == "__main__":
    main()
