"""Starting ringtrackd from the Python-driven tests: start it on a free
loopback port, read its resident memory, and parse its stats lines."""
import os
import re
import subprocess
import time
import urllib.request

# How long a start may take before the test gives up. A start that reads a
# large network map or access list takes seconds on a quiet machine, and
# several times that on a CI runner loaded by parallel builds; the wait
# ends as soon as the start line is there, so only a hung start waits this
# long.
START_TIMEOUT_S = 60
# The start line's listen address, which also gives the port.
START_LINE = re.compile(r"listen=127\.0\.0\.1:(\d+)")


class Ringtrackd:
    """A running ringtrackd on 127.0.0.1 (port chosen by the kernel), with
    its stderr in `work`/ringtrackd.log. Stop it with stop(), which returns
    the final stats line as a dict. `prefix` runs it through another
    command that execs it (e.g. nsenter); `user` starts it as that user.
    A daemon that exits before its start line, or has not logged it within
    `start_timeout` seconds (it is then killed), raises RuntimeError saying
    which, with the log's last lines."""

    def __init__(self, bindir, work, args=(), name="ringtrackd", prefix=(),
                 user=None, start_timeout=START_TIMEOUT_S):
        self.log_path = os.path.join(work, name + ".log")
        self.proc = subprocess.Popen(
            list(prefix) +
            [os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0"] +
            list(args),
            stderr=open(self.log_path, "w"), stdout=subprocess.DEVNULL,
            user=user)
        self.port = None
        deadline = time.monotonic() + start_timeout
        while True:
            m = START_LINE.search(self.log())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                why = ("exited with code %d" % rc if rc >= 0 else
                       "was killed by signal %d" % -rc)
                break
            if time.monotonic() >= deadline:
                why = "is still running"
                break
            time.sleep(0.05)
        if self.proc.poll() is None:  # hung at start: leave nothing behind
            self.proc.kill()
            self.proc.wait(10)
        raise RuntimeError(
            "%s did not log its start line (the one with listen=127.0.0.1:PORT) "
            "within %g s: it %s. The last lines of %s:\n%s" %
            (name, start_timeout, why, self.log_path, self.log_tail()))

    def log_tail(self, lines=20):
        return "\n".join(self.log().splitlines()[-lines:]) or "(empty)"

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, text, count=1, timeout=5):
        """Waits until `text` appears `count` times in the log."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.log().count(text) >= count:
                return True
            time.sleep(0.05)
        return False

    def rss_bytes(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def last_stats(self):
        """The newest 'stats' or 'final' line as {key: int}."""
        lines = [l for l in self.log().splitlines()
                 if " stats " in l or " final " in l]
        return parse_stats(lines[-1]) if lines else Stats()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        return self.last_stats()


class Stats(dict):
    """A stats line's values. The line leaves out what is zero, so a key
    that is not there reads as 0; `default` is for no line at all."""

    def __missing__(self, key):
        return 0

    def get(self, key, default=0):
        if not self:
            return default
        return super().get(key, 0)


def parse_stats(line):
    """{key: number} of a stats line: the final line's totals, or a periodic
    line's rates (`key=12/s`, as a number per second) and gauges."""
    out = Stats()
    for k, v in re.findall(r"(\w+)=(-?[0-9.]+(?:e[+-]?\d+)?)(?:/s)?(?![\w.])", line):
        f = float(v)
        out[k] = int(f) if f.is_integer() and "." not in v else f
    return out


def scrape_metrics(port, timeout=10):
    """The text of GET /metrics on 127.0.0.1:`port`."""
    url = "http://127.0.0.1:%d/metrics" % port
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def metric_value(text, series):
    """The value of one series (its name plus exact label string) in a
    /metrics text, or None when it is not there."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None
