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
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class FakeService:
    """A stand-in for the service on 127.0.0.1 that answers as a test says, for
    answers the emulator never gives (a hostile or broken service). answer is
    called per request as answer(method, path, body) and returns (status,
    headers, body): headers a list of (name, value) pairs sent as written
    (latin-1), body bytes or text. Every request is recorded in .log as
    {"t_ms", "method", "path", "body", "query", "headers"}. Use as a context manager: the server
    thread is stopped on exit."""

    def __init__(self, answer):
        self.log = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real service
            timeout = 30  # a socket idle this long is dropped: nothing hangs

            def log_message(self, *args):
                pass

            def handle_one(self, method):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
                path, _, query = self.path.partition("?")
                with outer.lock:
                    outer.log.append({"t_ms": int(time.time() * 1000), "method": method,
                                      "path": path, "body": body, "query": query,
                                      "headers": dict(self.headers.items())})
                status, headers, out = answer(method, path, body)
                out = out.encode() if isinstance(out, str) else out
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self):
                self.handle_one("GET")

            def do_POST(self):
                self.handle_one("POST")

            def do_DELETE(self):
                self.handle_one("DELETE")

            def do_PATCH(self):
                self.handle_one("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def requests(self):
        with self.lock:
            return list(self.log)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


TRACKING_HEADER = "x-remoteapp-operation-tracking-id"


class FakeRemoteApp(FakeService):
    """The section 1 protocol done simply, with hooks for hostile answers. A
    POST answers 202 with a tracking id (make_id(n, upn), default "op-<n>"
    for the n-th operation); a GET of operationResults/<id> for an id it gave
    answers Success (InProgress while .pending is true), and 404 for an id it
    never gave (a truncated one, say). rules[upn] replaces the POST answer for
    that user, poll_rules[upn] the poll answer: a (status, headers, body)
    tuple, or a list of them used in turn, the last one repeating."""

    def __init__(self, rules=None, poll_rules=None, make_id=None):
        self.rules, self.poll_rules = rules or {}, poll_rules or {}
        self.make_id = make_id or (lambda n, upn: "op-%d" % n)
        self.ops = {}  # tracking id -> upn
        self.seen = {}  # (kind, upn) -> answers given
        self.pending = False
        super().__init__(self.answer)

    def pick(self, rules, kind, upn):
        rule = rules.get(upn)
        if rule is None:
            return None
        if isinstance(rule, tuple):
            return rule
        n = self.seen.get((kind, upn), 0)
        self.seen[(kind, upn)] = n + 1
        return rule[min(n, len(rule) - 1)]

    def answer(self, method, path, body):
        with self.lock:
            if method == "POST" and "/sessions/" in path:
                upn = json.loads(body or "{}").get("UserUpn", "")
                rule = self.pick(self.rules, "post", upn)
                if rule:
                    return rule
                tid = self.make_id(len(self.ops) + 1, upn)
                self.ops[urllib.parse.quote(tid, safe="-._~")] = upn
                return 202, [(TRACKING_HEADER, tid), ("x-ms-request-id", "req-%d" % len(self.ops))], ""
            if method == "GET" and "/operationResults/" in path:
                upn = self.ops.get(path.rsplit("/", 1)[1])
                if upn is None:
                    return 404, [], '{"error":{"code":"ResourceNotFound","message":"no such operation"}}'
                rule = self.pick(self.poll_rules, "poll", upn)
                if rule:
                    return rule
                status = "InProgress" if self.pending else "Success"
                return 200, [("Content-Type", "application/json")], json.dumps(
                    {"Description": "DisconnectSessionCommand", "ErrorDetails": "", "Status": status})
        return 404, [], '{"error":{"code":"ResourceNotFound","message":"unknown path"}}'

    def posts(self, upn=None):
        return [r for r in self.requests() if r["method"] == "POST"
                and (upn is None or json.loads(r["body"]).get("UserUpn") == upn)]

    def polls(self):
        return [r for r in self.requests() if r["method"] == "GET"]


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
    # the credential chain's IMDS probe goes to a closed loopback port, never
    # to 169.254.169.254 (a test that wants IMDS sets its own)
    e.setdefault("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")
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
