"""Assertions for the Python-driven tests: each check prints one line, the
first failure exits 1, and summary() prints the closing 'N passed, 0 failed'
line that CI reads."""
import sys

_passed = 0


def check(cond, msg):
    """Passes iff cond; msg's first line is the check's name, the rest is
    printed only on failure."""
    global _passed
    if not cond:
        print("FAIL: " + msg, flush=True)
        sys.exit(1)
    _passed += 1
    print("ok: " + msg.splitlines()[0], flush=True)


def summary():
    print("%d passed, 0 failed" % _passed, flush=True)
