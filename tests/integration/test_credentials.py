"""Credentials end to end: management certificates over mutual TLS, profiles,
bearer tokens that expire and refresh, strict TLS, and secrets that never
leak. Certificates are made here with the openssl command; profiles are
templates in tests/data/profiles."""
import csv
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

from harness import (ROOT, RABULK, SUB, Workdir, by_status, check, free_port, no_sanitizer_report,
                     rabulk, target, users_csv, wait_listening)

PROFILES = os.path.join(ROOT, "tests", "data", "profiles")


def openssl(w, *args):
    subprocess.run(["openssl", *args], cwd=w.path, check=True, capture_output=True, timeout=60)


def make_pki(w):
    """CA, server (127.0.0.1), client, a client from another CA, an expired client,
    the client as PKCS#12 with a password, and a self-signed server."""
    w.file("san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for ca in ("ca", "other-ca"):
        openssl(w, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key",
                "-out", ca + ".pem", "-days", "30", "-subj", "/CN=rabulk test " + ca)

    def issue(name, ca, days, *ext):
        openssl(w, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
                name + ".csr", "-subj", "/CN=" + name)
        openssl(w, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-CAcreateserial", "-out", name + ".pem", "-days", str(days), *ext)
    issue("server", "ca", 30, "-extfile", "san.ext")
    issue("client", "ca", 30)
    issue("stranger", "other-ca", 30)
    issue("expired", "ca", -1)
    openssl(w, "pkcs12", "-export", "-in", "client.pem", "-inkey", "client.key", "-out",
            "client.p12", "-passout", "pass:p12-Secret-pw")
    openssl(w, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key", "-out",
            "self.pem", "-days", "30", "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1")
    for name in os.listdir(w.path):
        os.chmod(os.path.join(w.path, name), 0o600)
    return lambda name: os.path.join(w.path, name)


def thumbprint(w, cert):
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha1"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "")


def profile(w, name, **subst):
    text = open(os.path.join(PROFILES, name)).read()
    for k, v in subst.items():
        text = text.replace("@%s@" % k.upper(), v)
    return w.file(name, text)


def tls_emulator(w, pki, *args):
    return w.emulator("--tls-cert", pki("server.pem"), "--tls-key", pki("server.key"),
                      "--client-ca", pki("ca.pem"), "--subscription", SUB, *args,
                      cafile=pki("ca.pem"))


def api_requests(emu):
    return [e for e in emu.requests() if not e["path"].startswith("/_emulator")]


def token_command(w, emu, opaque=False, cafile=None):
    """A --token-command asking the emulator (the identity provider here) for a
    token; every token it hands out is also appended to issued.txt."""
    script = w.file("get-token.py", (
        "import ssl, urllib.request\n"
        "ctx = ssl.create_default_context(cafile=%r) if %r else None\n"
        "t = urllib.request.urlopen(%r, context=ctx).read().decode()\n"
        "open(%r, 'a').write(t + '\\n')\n"
        "print(t)\n") % (cafile, cafile, emu.url + "/_emulator/token" + ("?opaque=1" if opaque else ""),
                        os.path.join(w.path, "issued.txt")))
    return "%s %s" % (sys.executable, script)


def issued(w):
    path = os.path.join(w.path, "issued.txt")
    return open(path).read().split() if os.path.exists(path) else []


def test_management_certificate_over_mutual_tls():
    with Workdir() as w:
        pki = make_pki(w)
        emu = tls_emulator(w, pki, "--generate", "Apps:40")
        r = rabulk(w, "disconnect", *target(emu, "--cacert", pki("ca.pem"), "--cert",
                                             pki("client.pem"), "--key", pki("client.key")),
                   w.file("a.csv", users_csv(20)))
        check(r.code == 0 and by_status(r.rows()) == {"succeeded": 20}, "PEM", r.code, r.stderr)
        pw = w.file("pw", "p12-Secret-pw\n")
        r = rabulk(w, "logoff", "--yes", *target(emu, "--cacert", pki("ca.pem"), "--cert",
                                                  pki("client.p12"), "--cert-password-file", pw),
                   w.file("b.csv", "CollectionName,UserUpn\n" + "".join(
                       "Apps,user%d@contoso.com\n" % i for i in range(21, 31))), report="p12.csv")
        check(r.code == 0 and by_status(r.rows()) == {"succeeded": 10}, "PKCS#12", r.code, r.stderr)
        r = rabulk(w, "disconnect", *target(emu, "--cacert", pki("ca.pem"), "--cert",
                                             pki("client.p12")),
                   w.file("c.csv", "CollectionName,UserUpn\nApps,user31@contoso.com\n"),
                   env={"RABULK_CERT_PASSWORD": "p12-Secret-pw"}, report="env.csv")
        check(r.code == 0, "PKCS#12 password from the environment", r.code, r.stderr)
        states = {s["upn"]: s["state"] for s in emu.state()["sessions"]}
        check(all(states["user%d@contoso.com" % i] == "Disconnected" for i in range(1, 21)),
              "disconnected", states)
        check(all(states.get("user%d@contoso.com" % i, "None") == "None" for i in range(21, 31)),
              "logged off", states)
        r = rabulk(w, "disconnect", *target(emu, "--cacert", pki("ca.pem"), "--cert",
                                             pki("client.p12")),
                   w.file("d.csv", users_csv(1)), env={"RABULK_CERT_PASSWORD": "wrong"},
                   report="bad.csv")
        check(r.code == 2 and "wrong password" in r.stderr, "wrong PKCS#12 password", r.stderr)


def test_wrong_client_certificate_is_rejected_and_stops_the_run():
    with Workdir() as w:
        pki = make_pki(w)
        emu = tls_emulator(w, pki, "--generate", "Apps:200")
        r = rabulk(w, "disconnect", *target(emu, "--cacert", pki("ca.pem"), "--cert",
                                             pki("stranger.pem"), "--key", pki("stranger.key"),
                                             "--concurrency", "4"),
                   w.file("a.csv", users_csv(200)))
        check(r.code == 3 and "AuthenticationFailed" in r.stderr, "exit 3", r.code, r.stderr)
        st = by_status(r.rows())
        check(sum(st.values()) == 200 and set(st) == {"failed", "not_attempted"} and
              st["not_attempted"] > 150, "rest not_attempted", st)
        r = rabulk(w, "disconnect", *target(emu, "--cacert", pki("ca.pem")),
                   w.file("b.csv", users_csv(3)), report="none.csv")
        check(r.code == 3, "no certificate at all", r.code, r.stderr)


def test_expired_or_mismatched_certificate_is_refused_before_sending():
    with Workdir() as w:
        pki = make_pki(w)
        emu = tls_emulator(w, pki, "--generate", "Apps:5")
        f = w.file("a.csv", users_csv(5))
        r = rabulk(w, "disconnect", *target(emu, "--cacert", pki("ca.pem"), "--cert",
                                             pki("expired.pem"), "--key", pki("expired.key")), f)
        check(r.code == 2 and "expired on" in r.stderr, "expired", r.code, r.stderr)
        r = rabulk(w, "disconnect", *target(emu, "--cacert", pki("ca.pem"), "--cert",
                                             pki("client.pem"), "--key", pki("stranger.key")), f)
        check(r.code == 2 and "does not belong" in r.stderr, "key mismatch", r.code, r.stderr)
        prof = profile(w, "certificate.json", endpoint=emu.url, thumbprint=thumbprint(w, pki("server.pem")))
        r = rabulk(w, "disconnect", "--profile", prof, "--cacert", pki("ca.pem"), "--cert",
                   pki("client.pem"), "--key", pki("client.key"), f)
        check(r.code == 2 and "thumbprint" in r.stderr, "thumbprint mismatch", r.code, r.stderr)
        check(not api_requests(emu), "nothing sent", api_requests(emu)[:1])


def test_profile_picks_subscription_endpoint_and_account():
    with Workdir() as w:
        pki = make_pki(w)
        emu = tls_emulator(w, pki, "--generate", "Apps:10")
        # Certificate account: the endpoint and subscription come from the profile.
        tp = thumbprint(w, pki("client.pem")).lower()
        prof = profile(w, "certificate.json", endpoint=emu.url, thumbprint=":".join(
            tp[i:i + 2] for i in range(0, 40, 2)))
        r = rabulk(w, "disconnect", "--cacert", pki("ca.pem"), "--cert", pki("client.pem"), "--key",
                   pki("client.key"), "--poll-interval", "20ms", w.file("a.csv", users_csv(3)),
                   env={"RABULK_PROFILE": prof})
        check(r.code == 0, "certificate profile", r.code, r.stderr)
        check({e["path"].split("/")[1] for e in api_requests(emu)} == {SUB}, "subscription",
              api_requests(emu)[:1])
        r = rabulk(w, "disconnect", "--profile", prof, "--cacert", pki("ca.pem"),
                   w.file("b.csv", users_csv(1)), report="nocert.csv")
        check(r.code == 2 and "--cert FILE" in r.stderr, "certificate account needs --cert", r.stderr)

        # AccessToken account (Type as a number), picked as the default.
        emu2 = w.emulator("--generate", "Apps:10", "--token", "profile-token-1")
        prof2 = profile(w, "tokens.json", endpoint=emu2.url, token="profile-token-1")
        r = rabulk(w, "disconnect", "--profile", prof2, "--poll-interval", "20ms",
                   w.file("c.csv", users_csv(4)), report="tok.csv")
        check(r.code == 0, "AccessToken profile", r.code, r.stderr)
        auth = {e["headers"].get("Authorization") for e in api_requests(emu2)}
        check(auth == {"Bearer profile-token-1"}, "the profile's token", auth)
        # By name, a User account: a token must come from an option.
        r = rabulk(w, "disconnect", "--profile", prof2, "--subscription", "contoso TEST",
                   w.file("d.csv", users_csv(1)), report="user.csv")
        check(r.code == 2 and "--token-command" in r.stderr, "User account needs a token", r.stderr)
        r = rabulk(w, "disconnect", "--profile", prof2, "--subscription", "nope",
                   w.file("e.csv", users_csv(1)), report="nope.csv")
        check(r.code == 2 and "no subscription 'nope'" in r.stderr, "unknown subscription", r.stderr)

        bad = [("missing-account.json", "not in Accounts"), ("no-default.json", "no default"),
               ("unknown-environment.json", "not in Environments")]
        for name, why in bad:
            r = rabulk(w, "disconnect", "--profile", os.path.join(PROFILES, name),
                       w.file("f.csv", users_csv(1)), report="bad.csv")
            check(r.code == 2 and why in r.stderr and name in r.stderr, name, r.code, r.stderr)
        r = rabulk(w, "disconnect", "--profile", os.path.join(w.path, "absent.json"),
                   w.file("g.csv", users_csv(1)), report="absent.csv")
        check(r.code == 2 and "absent.json" in r.stderr, "missing profile", r.stderr)
        w.file("broken.json", "{\"Subscriptions\": [")
        r = rabulk(w, "disconnect", "--profile", os.path.join(w.path, "broken.json"),
                   w.file("h.csv", users_csv(1)), report="broken.csv")
        check(r.code == 2 and "not a JSON object" in r.stderr, "broken profile", r.stderr)


def statuses_of(emu):
    out = {}
    for e in api_requests(emu):
        out[e["status"]] = out.get(e["status"], 0) + 1
    return out


def test_jwt_refreshed_before_it_expires():
    """2,600 rows over about 8 s with tokens that live 4 s: refreshed ahead of
    exp each time (0.75 to 1 s ahead: time for python to start on a loaded
    machine), so no request is ever answered 401."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:2600", "--token-ttl", "4s")
        r = rabulk(w, "disconnect", *target(emu, "--token-command", token_command(w, emu),
                                             "--rate", "330/s"),
                   w.file("a.csv", users_csv(2600)))
        check(r.code == 0 and by_status(r.rows()) == {"succeeded": 2600}, "all succeeded",
              r.code, by_status(r.rows()), r.stderr[-600:])
        check(len(set(issued(w))) >= 3, "token refreshed", len(issued(w)))
        check(401 not in statuses_of(emu), "refreshed before expiry", statuses_of(emu))


def test_opaque_token_refreshed_after_401():
    """Tokens rabulk cannot read the expiry of: each expiry costs a 401, one
    refresh and one retry of the rows concerned; no row fails."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:2000", "--token-ttl", "2s")
        r = rabulk(w, "disconnect", *target(emu, "--token-command", token_command(w, emu, True),
                                             "--rate", "330/s"),
                   w.file("a.csv", users_csv(2000)))
        check(r.code == 0 and by_status(r.rows()) == {"succeeded": 2000}, "all succeeded",
              r.code, by_status(r.rows()), r.stderr[-600:])
        st = statuses_of(emu)
        check(st.get(401, 0) > 0 and len(set(issued(w))) >= 3, "refreshed after 401s", st,
              len(issued(w)))


def slow_token_command(w, emu, opaque):
    """A --token-command that answers its first call at once and every later
    one after 2 s; each slow call appends "start_ms end_ms" (wall clock, as
    the emulator's log) to windows.txt."""
    script = w.file("slow-token.py", (
        "import os, time, urllib.request\n"
        "t0 = time.time()\n"
        "runs = os.path.join(%r, 'runs')\n"
        "later = os.path.exists(runs)\n"
        "open(runs, 'a').write('x')\n"
        "if later:\n"
        "    time.sleep(2)\n"
        "t = urllib.request.urlopen(%r).read().decode()\n"
        "if later:\n"
        "    open(%r, 'a').write('%%d %%d\\n' %% (t0 * 1000, time.time() * 1000))\n"
        "print(t)\n") % (w.path, emu.url + "/_emulator/token" + ("?opaque=1" if opaque else ""),
                         os.path.join(w.path, "windows.txt")))
    return "%s %s" % (sys.executable, script)


def answered_during_refreshes(w, emu):
    """For each slow token fetch that ended while rows were still being
    read (the run had new rows to send all along), (its length in ms, the
    API requests answered 200 or 202 that arrived inside it, 200 ms in from
    either end)."""
    path = os.path.join(w.path, "windows.txt")
    windows = [tuple(map(int, line.split())) for line in open(path)] if os.path.exists(path) else []
    api = api_requests(emu)
    ok = [e["t_ms"] for e in api if e["status"] in (200, 202)]
    first_post = {}
    for e in api:
        if e["method"] == "POST":
            first_post.setdefault(e["body"], e["t_ms"])
    last_new_row = max(first_post.values(), default=0)
    return [(end - start, sum(1 for t in ok if start + 200 <= t <= end - 200))
            for start, end in windows if end <= last_new_row]


def test_refresh_after_401_does_not_stall_other_transfers():
    """Front ends whose clocks differ by up to 3 s (--token-skew): a token
    starts being refused 3 s before it expires, by a growing share of
    requests. The first 401 fetches a new token, which takes 2 s; the rows
    refused wait for it, holding no slot, while the others go on with the
    current token. One worker thread: were it the one to run the command,
    nothing would be sent for those 2 s."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1600", "--token-ttl", "4s", "--token-skew", "3s")
        r = rabulk(w, "disconnect", *target(emu, "--token-command", slow_token_command(w, emu, True),
                                             "--threads", "1", "--concurrency", "8", "--rate", "200/s"),
                   w.file("a.csv", users_csv(1600)))
        check(r.code == 0 and by_status(r.rows()) == {"succeeded": 1600}, "all succeeded",
              r.code, by_status(r.rows()), r.stderr[-600:])
        st = statuses_of(emu)
        windows = answered_during_refreshes(w, emu)
        check(st.get(401, 0) > 0 and len(windows) >= 2, "refreshed after 401s", st, windows)
        check(all(ms >= 2000 and n >= 50 for ms, n in windows),
              "requests answered during each 2-s refresh", windows)


def test_refresh_ahead_of_expiry_does_not_stall_transfers():
    """A JWT that lives 10 s is refreshed 2.5 s before its exp, not because
    of a 401; the command takes 2 s, during which the current token still
    works and requests keep being answered (one worker thread: none would
    be, were the worker the one running it). Whether the new token comes
    before exp depends on how fast python starts on this machine:
    test_jwt_refreshed_before_it_expires has the margin for that."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:2200", "--token-ttl", "10s")
        r = rabulk(w, "disconnect", *target(emu, "--token-command", slow_token_command(w, emu, False),
                                             "--threads", "1", "--concurrency", "8", "--rate", "200/s"),
                   w.file("a.csv", users_csv(2200)))
        check(r.code == 0 and by_status(r.rows()) == {"succeeded": 2200}, "all succeeded",
              r.code, by_status(r.rows()), r.stderr[-600:])
        windows = answered_during_refreshes(w, emu)
        refused = [e["t_ms"] for e in api_requests(emu) if e["status"] == 401]
        started = [int(line.split()[0]) for line in open(os.path.join(w.path, "windows.txt"))]
        check(len(windows) >= 1 and started[0] < min(refused, default=started[0] + 1),
              "refreshed ahead of expiry, before any 401", statuses_of(emu), windows)
        check(all(ms >= 2000 and n >= 50 for ms, n in windows),
              "requests answered during the 2-s refresh", windows)


def test_listing_sends_again_with_a_new_token_after_401():
    """rabulk sessions (one multi handle in the main thread, cli/fetch.c):
    its first token has expired by the time it is used; the 401s ask for
    one new token, fetched in 1 s by the token's thread, and the listings
    are sent again with it."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3", "--generate", "Desk:2", "--generate", "Lab:1",
                         "--token-ttl", "300ms")
        script = w.file("late-token.py", (
            "import os, time, urllib.request\n"
            "runs = os.path.join(%r, 'runs')\n"
            "first = not os.path.exists(runs)\n"
            "open(runs, 'a').write('x')\n"
            "if not first:\n"
            "    time.sleep(1)\n"
            "t = urllib.request.urlopen(%r).read().decode()\n"
            "if first:\n"
            "    time.sleep(0.5)\n"
            "print(t)\n") % (w.path, emu.url + "/_emulator/token?opaque=1"))
        r = rabulk(w, "sessions", *target(emu, "--token-command", "%s %s" % (sys.executable, script)),
                   "Apps", "Desk", "Lab", report=None)
        check(r.code == 0 and len(r.stdout.splitlines()) == 7, "listed", r.code, r.stdout, r.stderr[-600:])
        gets = [e["status"] for e in api_requests(emu)]
        check(sorted(gets) == [200] * 3 + [401] * 3, "each collection: 401, then 200", gets)
        check(len(open(os.path.join(w.path, "runs")).read()) == 2, "one refresh",
              open(os.path.join(w.path, "runs")).read())


def test_fixed_token_that_expires_stops_the_run():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:300", "--token-ttl", "1s")
        tok = emu.get("/_emulator/token?opaque=1")[2]
        r = rabulk(w, "disconnect", *target(emu, "--rate", "100/s"), w.file("a.csv", users_csv(300)),
                   env={"RABULK_ACCESS_TOKEN": tok})
        check(r.code == 3 and "cannot be refreshed" in r.stderr, "exit 3", r.code, r.stderr[-600:])
        st = by_status(r.rows())
        check(sum(st.values()) == 300 and st.get("not_attempted", 0) > 100 and
              set(st) <= {"succeeded", "failed", "not_attempted", "accepted"}, "report complete", st)


def test_token_refused_from_the_start_is_refreshed_once_then_stops():
    """A command whose every token is already expired when it arrives: the
    first 401s fetch one new token; that one is refused before it ever
    worked, so the run stops there instead of fetching once per row."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:300", "--token-ttl", "10ms")
        script = w.file("stale-token.py", (
            "import time, urllib.request\n"
            "t = urllib.request.urlopen(%r).read().decode()\n"
            "open(%r, 'a').write(t + '\\n')\n"
            "time.sleep(0.1)\n"
            "print(t)\n") % (emu.url + "/_emulator/token?opaque=1", os.path.join(w.path, "issued.txt")))
        r = rabulk(w, "disconnect", *target(emu, "--token-command", "%s %s" % (sys.executable, script),
                                             "--concurrency", "16"),
                   w.file("a.csv", users_csv(300)))
        check(r.code == 3 and "401" in r.stderr, "exit 3", r.code, r.stderr[-600:])
        check(len(issued(w)) == 2, "the first token and one refresh", len(issued(w)))
        st = by_status(r.rows())
        check(sum(st.values()) == 300 and st.get("succeeded", 0) == 0, "report complete", st)


def stuck_command(w, emu=None):
    """A --token-command that hangs, having started a child that hangs too (so
    only killing its process group ends both); both carry a unique marker in
    their command line. With emu, its first run prints a token from the
    emulator instead. It creates the file `hanging` once both are up."""
    marker = "rabulk-stuck-" + uuid.uuid4().hex
    script = w.file(marker + ".py", (
        "import os, subprocess, sys, time, urllib.request\n"
        "if sys.argv[1:] == ['child']:\n"
        "    time.sleep(1000)\n"
        "runs = os.path.join(%r, 'runs')\n"
        "n = len(open(runs).read()) if os.path.exists(runs) else 0\n"
        "open(runs, 'a').write('x')\n"
        "if %r and n == 0:\n"
        "    print(urllib.request.urlopen(%r).read().decode())\n"
        "    sys.exit(0)\n"
        "subprocess.Popen([sys.executable, __file__, 'child'])\n"
        "open(os.path.join(%r, 'hanging'), 'w').close()\n"
        "time.sleep(1000)\n") % (w.path, emu is not None,
                                 emu.url + "/_emulator/token?opaque=1" if emu else "", w.path))
    return "%s %s" % (sys.executable, script), marker


def survivors(marker, seconds=3):
    """Processes whose command line holds marker, once they had `seconds` to go."""
    deadline = time.monotonic() + seconds
    while True:
        pids = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def kill_survivors(marker):
    """Cleans up after a failed test: kills, by pid, what the marker names."""
    for pid in survivors(marker, 0):
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_rabulk(w, *args, report="report.csv"):
    """rabulk in the background (as harness.rabulk runs it), to be signalled."""
    env = dict(os.environ, HOME=w.path)
    for secret in ("RABULK_ACCESS_TOKEN", "RABULK_CERT_PASSWORD", "RABULK_PROFILE"):
        env.pop(secret, None)
    return subprocess.Popen([RABULK, *args, "--report", os.path.join(w.path, report)], cwd=w.path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_file(path, p, seconds=20):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        check(p.poll() is None and time.monotonic() < deadline, "waiting for " + path,
              p.poll(), p.stderr.read() if p.poll() is not None else "")
        time.sleep(0.02)


def test_token_command_that_hangs_times_out_and_is_killed():
    """The limit is RABULK_TOKEN_COMMAND_TIMEOUT (30 s by default): past it
    the command and its children are killed, and the run fails before
    sending anything (exit 2)."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:20", "--token-ttl", "60s")
        cmd, marker = stuck_command(w)
        try:
            t0 = time.monotonic()
            r = rabulk(w, "disconnect", *target(emu, "--token-command", cmd),
                       w.file("a.csv", users_csv(20)),
                       env={"RABULK_TOKEN_COMMAND_TIMEOUT": "2s"}, timeout=30)
            took = time.monotonic() - t0
            check(r.code == 2 and "--token-command timed out after 2 s" in r.stderr,
                  "timed out", r.code, r.stderr[-600:])
            check(2 <= took < 7, "within the limit and a few seconds", took)
            check(survivors(marker) == [], "command and child killed", survivors(marker))
            check(api_requests(emu) == [], "nothing sent", len(api_requests(emu)))
            r = rabulk(w, "disconnect", *target(emu, "--token-command", cmd),
                       w.file("b.csv", users_csv(2)), env={"RABULK_TOKEN_COMMAND_TIMEOUT": "soon"},
                       timeout=30)
            check(r.code == 2 and "bad RABULK_TOKEN_COMMAND_TIMEOUT 'soon'" in r.stderr,
                  "bad limit refused", r.code, r.stderr[-600:])
        finally:
            kill_survivors(marker)


def test_token_command_printing_too_much_is_an_error():
    """10 MB on stdout is an error, as a token file that long is, not a token
    cut to 16 KiB and sent."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:20", "--token-ttl", "60s")
        marker = "rabulk-big-" + uuid.uuid4().hex
        script = w.file(marker + ".py", "import sys\nsys.stdout.write('x' * 10000000)\n")
        try:
            r = rabulk(w, "disconnect", *target(emu, "--token-command",
                                                "%s %s" % (sys.executable, script)),
                       w.file("a.csv", users_csv(20)), timeout=30)
            check(r.code == 2 and "--token-command printed more than 16383 bytes" in r.stderr,
                  "too much output refused", r.code, r.stderr[-600:])
            check(api_requests(emu) == [], "nothing sent", len(api_requests(emu)))
            check(survivors(marker) == [], "command killed", survivors(marker))
        finally:
            kill_survivors(marker)


def interrupt_while_hanging(w, p, marker, settle=0.0):
    """Sends SIGINT once the command hangs; checks a prompt exit 3 that
    leaves no process of the command; returns stderr and the report rows.
    Kills what is left whatever happens (it holds p's stdout and stderr)."""
    try:
        wait_for_file(os.path.join(w.path, "hanging"), p)
        time.sleep(settle)
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        _, err = p.communicate(timeout=10)
        no_sanitizer_report(err, "rabulk")
        check(p.returncode == 3 and time.monotonic() - t0 < 5, "prompt exit 3", p.returncode,
              time.monotonic() - t0, err[-600:])
        check(survivors(marker) == [], "command and child killed", survivors(marker))
        return err, list(csv.DictReader(open(os.path.join(w.path, "report.csv"))))
    finally:
        if p.poll() is None:
            p.kill()
        kill_survivors(marker)
        p.communicate(timeout=10)


def test_signal_while_the_first_token_is_fetched_stops_the_run():
    """Ctrl-C while the command hangs: exit 3 at once, nothing sent, every
    row in the report as not_attempted, no process of the command left."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:50", "--token-ttl", "60s")
        cmd, marker = stuck_command(w)
        p = start_rabulk(w, "disconnect", *target(emu, "--token-command", cmd),
                         w.file("a.csv", users_csv(50)))
        err, rows = interrupt_while_hanging(w, p, marker)
        check("interrupted while --token-command was running" in err, "said why", err[-600:])
        check(len(rows) == 50 and by_status(rows) == {"not_attempted": 50},
              "complete report", len(rows), by_status(rows))
        check(api_requests(emu) == [], "nothing sent", len(api_requests(emu)))


def test_signal_while_a_token_is_refreshed_stops_the_run():
    """The first token works for 1 s; the refresh after the 401s hangs.
    Ctrl-C then: exit 3 at once, every row reported (those waiting for the
    token not_attempted, none failed as an auth error), no process left."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:400", "--token-ttl", "1s")
        cmd, marker = stuck_command(w, emu)
        p = start_rabulk(w, "disconnect", *target(emu, "--token-command", cmd, "--rate", "100/s"),
                         w.file("a.csv", users_csv(400)))
        err, rows = interrupt_while_hanging(w, p, marker, settle=0.3)
        check("authentication rejected" not in err, "not an auth failure", err[-600:])
        st = by_status(rows)
        check(len(rows) == 400 and st.get("not_attempted", 0) > 0 and
              set(st) <= {"succeeded", "accepted", "not_attempted"}, "complete report", st)


def test_token_file_is_reread_when_it_changes():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1500", "--token-ttl", "2s")
        path = os.path.join(w.path, "token")
        stop = threading.Event()

        def rotate():  # what a sidecar renewing the token would do
            while not stop.is_set():
                w.file("token.tmp", emu.get("/_emulator/token?opaque=1")[2] + "\n")
                os.replace(os.path.join(w.path, "token.tmp"), path)
                stop.wait(0.7)
        rotate_thread = threading.Thread(target=rotate)
        rotate_thread.start()
        try:
            time.sleep(0.1)
            r = rabulk(w, "disconnect", *target(emu, "--token-file", path, "--rate", "300/s"),
                       w.file("a.csv", users_csv(1500)))
        finally:
            stop.set()
            rotate_thread.join()
        check(r.code == 0 and by_status(r.rows()) == {"succeeded": 1500}, "all succeeded",
              r.code, by_status(r.rows()), r.stderr[-600:])
        tokens = {e["headers"].get("Authorization") for e in api_requests(emu)}
        check(len(tokens) >= 4, "new tokens picked up", len(tokens))


def test_secrets_never_leak():
    """Tokens and the certificate password: not in rabulk's command line, the
    report, the summary, or --verbose output."""
    with Workdir() as w:
        pki = make_pki(w)
        emu = tls_emulator(w, pki, "--generate", "Apps:300", "--token-ttl", "1s")
        cmd = token_command(w, emu, cafile=pki("ca.pem"))
        report = os.path.join(w.path, "report.csv")
        args = [RABULK, "disconnect", *target(emu, "--cacert", pki("ca.pem"), "--cert", pki("client.p12"),
                                               "--token-command", cmd, "--rate", "150/s", "--verbose",
                                               "--summary-json", os.path.join(w.path, "summary.json")),
                "--report", report, w.file("a.csv", users_csv(300))]
        env = dict(os.environ, RABULK_CERT_PASSWORD="p12-Secret-pw", HOME=w.path)
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, cwd=w.path)
        time.sleep(0.8)
        cmdline = open("/proc/%d/cmdline" % p.pid, "rb").read().decode(errors="replace")
        out, err = p.communicate(timeout=120)
        check(p.returncode == 0, "run", p.returncode, err[-800:])
        check("Authorization: [redacted]" in err and "> POST" in err, "verbose shows requests",
              err[:400])
        tokens = issued(w)
        check(len(set(tokens)) >= 2, "tokens issued", len(tokens))
        seen = cmdline + out + err + open(report).read() + open(os.path.join(w.path, "summary.json")).read()
        for secret in tokens + ["p12-Secret-pw"]:
            check(secret not in seen, "secret leaked", secret[:12] + "...")


def test_weak_or_untrusted_tls_is_refused():
    with Workdir() as w:
        pki = make_pki(w)
        f = w.file("a.csv", users_csv(2))
        emu = w.emulator("--tls-cert", pki("self.pem"), "--tls-key", pki("self.key"),
                         "--generate", "Apps:2", cafile=pki("self.pem"))
        r = rabulk(w, "disconnect", *target(emu), f)
        check(r.code == 2 and "self-signed certificate" in r.stderr and "--cacert" in r.stderr,
              "self-signed refused", r.code, r.stderr)
        r = rabulk(w, "disconnect", *target(emu, "--cacert", pki("self.pem")), f, report="ok.csv")
        check(r.code == 0, "trusted with --cacert", r.code, r.stderr)
        r = rabulk(w, "disconnect", *target(emu, "--insecure"), f, report="insecure.csv")
        check(r.code == 0 and "NOT" in r.stderr, "--insecure on loopback, loudly", r.code, r.stderr)

        port = free_port()
        old = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-tls1_1",
                                "-cipher", "DEFAULT:@SECLEVEL=0", "-cert", pki("server.pem"),
                                "-key", pki("server.key"), "-www", "-quiet"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            wait_listening(port, old, "openssl s_server")
            r = rabulk(w, "disconnect", "--endpoint", "https://127.0.0.1:%d" % port, "--subscription",
                       SUB, "--cacert", pki("ca.pem"), f, report="old.csv")
        finally:
            old.terminate()
            old.wait(timeout=10)
        check(r.code == 2 and "TLS 1.2" in r.stderr, "TLS 1.1 refused", r.code, r.stderr)
