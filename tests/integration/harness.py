"""Integration harness: real rabulk and rabulk-emulator binaries over loopback.

Each test_* function in tests/integration/test_*.py is one test; it raises
AssertionError (or anything) to fail. run.py discovers and runs them and
prints one line per test. Every server binds 127.0.0.1; every run is
bounded by a timeout.
"""
import csv
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RABULK = os.path.abspath(os.environ.get("RABULK", os.path.join(ROOT, "build/rabulk")))
EMULATOR = os.path.abspath(os.environ.get("EMULATOR", os.path.join(ROOT, "build/rabulk-emulator")))
RECORDINGS = os.environ.get(
    "RABULK_RECORDINGS", os.path.join(ROOT, "..", "shared", "conformance", "remoteapp-recordings"))
SUB = "30da001a-1a9e-48a1-8b77-e5abcfe38bdc"
RUN_TIMEOUT = 120
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "WARNING: ThreadSanitizer", "runtime error:",
                     "ERROR: LeakSanitizer")


class Skip(Exception):
    """Raised by a test whose tool is not installed (say which, and how to get it)."""


def no_sanitizer_report(text, who):
    for marker in SANITIZER_REPORTS:
        if marker in text:
            i = text.index(marker)
            raise AssertionError("%s: sanitizer report: %s" % (who, text[i:i + 1500]))


class Emulator:
    """A rabulk-emulator process on 127.0.0.1, port chosen by the kernel."""

    def __init__(self, workdir, *args, cafile=None):
        self.port_file = os.path.join(workdir, "emu-%d.port" % time.monotonic_ns())
        self.log = open(os.path.join(workdir, "emu.err"), "ab")
        self.proc = subprocess.Popen([EMULATOR, "--port", "0", "--port-file", self.port_file, *args],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("emulator did not start: %s" % open(self.log.name).read())
            time.sleep(0.01)
        self.port = int(open(self.port_file).read())
        self.tls = "--tls-cert" in args
        self.url = "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)
        self.ssl = ssl.create_default_context(cafile=cafile) if self.tls else None

    def get(self, path, headers=None):
        req = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ssl) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def state(self):
        return json.loads(self.get("/_emulator/state")[2])

    def requests(self):
        return json.loads(self.get("/_emulator/log")[2])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()
        no_sanitizer_report(open(self.log.name, errors="replace").read(), "rabulk-emulator")


class Workdir:
    """A temporary folder and the emulators started in it, cleaned up on exit."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="rabulk-it-")
        self.emulators = []
        return self

    def __exit__(self, *exc):
        try:
            for e in self.emulators:
                if e.proc.poll() is None:
                    e.stop()
        finally:
            shutil.rmtree(self.path, ignore_errors=True)

    def file(self, name, text, mode=0o600):
        p = os.path.join(self.path, name)
        with open(p, "w", newline="") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def emulator(self, *args, cafile=None):
        e = Emulator(self.path, *args, cafile=cafile)
        self.emulators.append(e)
        return e


class Result:
    def __init__(self, proc, report_path):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.report_path = report_path

    def rows(self):
        with open(self.report_path, newline="", errors="surrogateescape") as f:
            return list(csv.DictReader(f))


def rabulk(workdir, *args, stdin=None, report="report.csv", env=None, timeout=RUN_TIMEOUT):
    """Runs rabulk to completion; returns its Result."""
    path = os.path.join(workdir.path, report) if report else None
    cmd = [RABULK, *args] + (["--report", path] if report else [])
    e = dict(os.environ)
    for secret in ("RABULK_ACCESS_TOKEN", "RABULK_CERT_PASSWORD", "RABULK_PROFILE"):
        e.pop(secret, None)
    e["HOME"] = workdir.path  # never the machine's own ~/.config/rabulk profile
    e.update(env or {})
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                       cwd=workdir.path, env=e)
    no_sanitizer_report(p.stderr, "rabulk")
    return Result(p, path)


def free_port():
    """A port on 127.0.0.1 nobody listens on (for servers other than the emulator)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, what, seconds=10):
    """Returns once something accepts on 127.0.0.1:port; fails if proc exits first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            check(time.monotonic() < deadline and proc.poll() is None, what + " started")
            time.sleep(0.05)


def target(emu, *extra):
    return ["--endpoint", emu.url, "--subscription", SUB, "--poll-interval", "20ms", *extra]


def users_csv(n, collection="Apps"):
    return "CollectionName,UserUpn\n" + "".join(
        "%s,user%d@contoso.com\n" % (collection, i) for i in range(1, n + 1))


def users_ndjson(n, collection="Apps"):
    return "".join(json.dumps({"CollectionName": collection, "UserUpn": "user%d@contoso.com" % i}) + "\n"
                   for i in range(1, n + 1))


def by_status(rows):
    out = {}
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


def check(cond, what, *detail):
    if not cond:
        raise AssertionError(what + ("" if not detail else ": " + " ".join(str(d) for d in detail)))
