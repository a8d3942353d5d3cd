"""Pacing by ARM's quota (DESIGN section 10) end to end: rabulk against the
emulator's token buckets (--arm-quota) spends the burst, settles at the
refill it measures from the x-ms-ratelimit-remaining-* headers and gets no
429 at all; the same run with --quota-reserve off bursts into 429s. The
buckets are small and fast here (a real one refills 10 writes a second) so
that a run takes seconds."""
import json
import os
import threading
import time
import urllib.request

from harness import Emulator, Workdir, check
from harness import rabulk as run_rabulk

SUB = "6738509d-84ed-4ad6-974a-7dc4e3c34146"


def rabulk(w, *args, **kw):
    kw["env"] = dict({"RABULK_ACCESS_TOKEN": "rabulk-token"}, **(kw.get("env") or {}))
    return run_rabulk(w, *args, **kw)


def users(w, n, name="in.csv"):
    with open(os.path.join(w.path, name), "w") as f:
        f.write("HostPool,UserPrincipalName\n")
        for i in range(1, n + 1):
            f.write("rg/Pool,user%d@contoso.com\n" % i)
    return name


def stats(emu):
    return json.loads(emu.get("/_emulator/stats")[2])["arm_quota"]


def run(w, emu, *extra, report="report.csv"):
    t0 = time.monotonic()
    r = rabulk(w, "logoff", "--yes", "--service", "avd", "--endpoint", emu.url, "--subscription",
               SUB, "--concurrency", "8", "--summary-json", report + ".json", *extra, "in.csv",
               report=report)
    return r, time.monotonic() - t0, json.load(open(os.path.join(w.path, report + ".json")))


def test_paced_run_gets_no_429_and_keeps_the_reserve():
    with Workdir() as w:
        emu = Emulator(w.path, "--generate-avd", "rg/Pool:10:1000", "--page-size", "200",
                       "--arm-quota", "reads=20:40,deletes=30:100")
        try:
            users(w, 1000)
            r, secs, summary = run(w, emu)
            q = stats(emu)
            check(r.code == 0, "exit", r.code, r.stderr[-1500:])
            deletes = q["deletes"]["allowed"]
            check(q["deletes"]["throttled"] == 0 and q["reads"]["throttled"] == 0,
                  "no 429 at all", q)
            check(deletes >= 1000, "every session logged off", q)
            # the burst (30 less the 10% reserve), then 100/s: the ideal time
            ideal = (deletes - 27) / 100.0
            check(secs < ideal * 1.2, "within 1.2 x the ideal", secs, ideal)
            check(summary["quota"]["wait_ms"] > 0, "the summary says it waited", summary)
            check(50 <= summary["quota"]["deletes"]["refill_per_s"] <= 150, "refill measured",
                  summary["quota"])
            check("for the service's quota" in r.stderr, "said in words", r.stderr[-600:])
        finally:
            emu.stop()


def test_unpaced_run_bursts_into_429s():
    """The same run with --quota-reserve off: the bucket runs dry and ARM
    answers 429 (retried after Retry-After, so the rows still succeed)."""
    with Workdir() as w:
        emu = Emulator(w.path, "--generate-avd", "rg/Pool:10:400", "--page-size", "100",
                       "--arm-quota", "reads=20:40,deletes=30:100")
        try:
            users(w, 400)
            r, secs, summary = run(w, emu, "--quota-reserve", "off", "--retry-max-time", "60s")
            q = stats(emu)
            check(q["deletes"]["throttled"] > 0, "429s without pacing", q)
        finally:
            emu.stop()


def test_another_client_on_the_same_subscription_gets_no_429_either():
    """A second principal draws from the subscription's shared bucket at
    30/s while rabulk runs: rabulk backs off (the remaining value falls
    faster than it spends), and neither gets a 429."""
    with Workdir() as w:
        emu = Emulator(w.path, "--generate-avd", "rg/Pool:10:300", "--generate-avd",
                       "rg/Other:2:200", "--page-size", "100",
                       "--arm-quota", "reads=20:40,deletes=40:100,global-deletes=40:100")
        try:
            users(w, 300)
            other = [s for s in emu.state()["avd"]["userSessions"] if s["hostPool"] == "Other"]
            done = threading.Event()
            codes = []

            def neighbour():
                for s in other:
                    if done.is_set():
                        break
                    url = ("%s/subscriptions/%s/resourceGroups/rg/providers/Microsoft.DesktopVirtualization"
                           "/hostPools/Other/sessionHosts/%s/userSessions/%d?api-version=2025-10-10&force=true"
                           % (emu.url, SUB, s["sessionHost"], s["id"]))
                    req = urllib.request.Request(url, method="DELETE",
                                                 headers={"Authorization": "Bearer neighbour"})
                    try:
                        with urllib.request.urlopen(req, timeout=10) as a:
                            codes.append(a.status)
                    except urllib.error.HTTPError as e:
                        codes.append(e.code)
                    time.sleep(1 / 30.0)

            t = threading.Thread(target=neighbour, daemon=True)
            t.start()
            r, secs, summary = run(w, emu, "--quota-reserve", "20%")
            done.set()
            t.join(timeout=30)
            log = emu.requests()
            ours = [q for q in log if q.get("headers", {}).get("Authorization") == "Bearer rabulk-token"]
            check(r.code == 0, "exit", r.code, r.stderr[-1500:])
            check(not any(q["status"] == 429 for q in ours), "rabulk got no 429",
                  sum(q["status"] == 429 for q in ours))
            check(codes.count(429) == 0, "the other client got none either", codes.count(429))
        finally:
            emu.stop()
