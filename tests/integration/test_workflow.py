"""The maintenance workflow end to end: sessions round trips, result, drain,
the same retry policy for their listings as for bulk rows (injected faults,
Retry-After, giving up), --dry-run for every command, the progress line on a
terminal (a real pseudo-terminal) and not elsewhere, and --help against the
man page."""
import json
import os
import pty
import re
import subprocess
import threading
import time

from harness import (ROOT, RABULK, SUB, Workdir, by_status, check, rabulk, target, users_csv)

SEED = ("CollectionName,UserUpn,State\n"
        "Apps,ann@contoso.com,Connected\nApps,bob@contoso.com,Active\n"
        "Apps,cid@contoso.com,Connected\nApps,dan@contoso.com,Disconnected\n"
        "Apps,eve@contoso.com,Connected\nDesk,fay@contoso.com,Connected\n"
        "Lab,gus@contoso.com,Disconnected\n")


# Forty collections, one connected user each: at 20% faults per request a
# listing with no retry passes only if all forty first tries do (0.8^40,
# about 1 in 7,700), while with the default 6 retries a collection fails
# only after 7 faults in a row (0.2^7 each, about 1 in 2,000 for all forty).
MANY = ["Coll%02d" % i for i in range(1, 41)]


def many_seed(w, colls):
    return w.file("many.csv", "CollectionName,UserUpn,State\n" + "".join(
        "%s,u%d@contoso.com,Connected\n" % (c, i) for i, c in enumerate(colls, 1)))


def faults(log):
    return [e for e in log if e.get("fault")]


def states(emu):
    return {s["upn"]: (s["state"], s["operations"]) for s in emu.state()["sessions"]}


def test_sessions_output_round_trips_into_the_other_commands():
    with Workdir() as w:
        emu = w.emulator("--seed", w.file("seed.csv", SEED), "--latency", "200")
        r = rabulk(w, "sessions", *target(emu, "--state", "Connected"), "Apps", "Desk", "Lab",
                   report=None)
        check(r.code == 0, "sessions", r.code, r.stderr)
        lines = r.stdout.splitlines()
        check(lines[0] == "CollectionName,UserUpn,State,LogonTimeUtc" and len(lines) == 6,
              "connected and active only", lines)
        gets = sorted(e["t_ms"] for e in emu.requests() if e["method"] == "GET")
        check(len(gets) == 3 and gets[-1] - gets[0] < 150, "collections listed at once", gets)
        r2 = rabulk(w, "disconnect", *target(emu), "-", stdin=r.stdout)
        check(r2.code == 0 and by_status(r2.rows()) == {"succeeded": 5}, "disconnect", r2.stderr)
        st = states(emu)
        check({u for u, (s, _) in st.items() if s == "Disconnected"} ==
              {"ann@contoso.com", "bob@contoso.com", "cid@contoso.com", "eve@contoso.com",
               "fay@contoso.com", "dan@contoso.com", "gus@contoso.com"}, "all disconnected", st)
        for fmt in ("json", "ndjson"):
            r = rabulk(w, "sessions", *target(emu, "--format", fmt), "Apps", report=None)
            rows = json.loads(r.stdout) if fmt == "json" else [json.loads(x) for x in r.stdout.splitlines()]
            check(len(rows) == 5 and rows[0]["CollectionName"] == "Apps", fmt, r.stdout)
            r3 = rabulk(w, "message", "--text", "hello", *target(emu), "-", stdin=r.stdout,
                        report=fmt + ".csv")
            check(r3.code == 0 and by_status(r3.rows()) == {"succeeded": 5}, fmt + " as input",
                  r3.stderr)
        r = rabulk(w, "sessions", *target(emu), "Apps", "Nope", report=None)
        check(r.code == 1 and "CollectionDoesNotExist" in r.stderr, "missing collection", r.stderr)


def test_result_reports_each_operation():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3", "--op-delay", "0")
        r = rabulk(w, "disconnect", *target(emu, "--no-wait"), w.file("a.csv", users_csv(3)))
        ids = [x["tracking_id"] for x in r.rows()]
        check(r.code == 0 and all(ids), "tracking ids", r.rows())
        forged = "0" * 8 + "-0000-0000-0000-" + "0" * 12
        r = rabulk(w, "result", *target(emu), *ids, forged, report=None)
        lines = r.stdout.splitlines()
        check(lines[0] == "TrackingId,Status,Description,ErrorDetails", "header", lines)
        check([l.split(",")[1] for l in lines[1:]] == ["Success"] * 3 + ["NotFound"], "statuses",
              lines)
        check([l.split(",")[0] for l in lines[1:4]] == ids, "in the order given", lines)
        check(r.code == 1, "an unknown operation is a failure", r.code)
        r = rabulk(w, "result", *target(emu), *ids, report=None)
        check(r.code == 0, "all known", r.code, r.stderr)


def test_drain_warns_waits_skips_leavers_and_acts_on_the_rest():
    with Workdir() as w:
        emu = w.emulator("--seed", w.file("seed.csv", SEED))
        exclude = w.file("exclude.txt", "eve@contoso.com\n")

        def bob_leaves():  # bob logs off during the grace period
            time.sleep(1.0)
            rabulk(w, "logoff", "--yes", *target(emu), w.file("bob.csv",
                   "CollectionName,UserUpn\nApps,bob@contoso.com\n"), report="bob-report.csv")
        t = threading.Thread(target=bob_leaves)
        t.start()
        r = rabulk(w, "drain", *target(emu, "--message", "Maintenance in {left}", "--grace", "3s",
                                        "--remind", "2s", "--exclude", exclude), "Apps", "Desk", "Lab")
        t.join()
        check(r.code == 0, "exit", r.code, r.stderr)
        ops = {}
        for row in r.rows():
            ops.setdefault(row["operation"], []).append(row["upn"])
            check(row["status"] == "succeeded", "row", row)
        check(sorted(ops["message"]) == sorted(["ann@contoso.com", "bob@contoso.com",
                                                "cid@contoso.com", "fay@contoso.com",
                                                "ann@contoso.com", "cid@contoso.com",
                                                "fay@contoso.com"]),
              "warned, then reminded those still there", ops)
        check(sorted(ops["disconnect"]) == ["ann@contoso.com", "cid@contoso.com", "fay@contoso.com"],
              "acted on the rest", ops)
        st = states(emu)
        check(st["eve@contoso.com"] == ("Connected", {"disconnect": 0, "logoff": 0, "sendMessage": 0}),
              "excluded user untouched", st["eve@contoso.com"])
        check(st["dan@contoso.com"][1]["sendMessage"] == 0 and st["dan@contoso.com"][0] == "Disconnected",
              "disconnected users are not messaged", st["dan@contoso.com"])
        check(st["bob@contoso.com"][0] == "None" and st["bob@contoso.com"][1]["disconnect"] == 0,
              "the leaver skipped", st["bob@contoso.com"])
        bodies = [json.loads(e["body"])["Message"] for e in emu.requests() if e["path"].endswith("sendMessage")]
        check(bodies.count("Maintenance in 3 seconds") == 4 and bodies.count("Maintenance in 2 seconds") == 3,
              "{left} filled in", bodies)

        emu2 = w.emulator("--seed", w.file("seed2.csv", SEED))
        r = rabulk(w, "drain", *target(emu2, "--message", "bye", "--grace", "1s", "--then", "logoff"),
                   "Lab", report="refused.csv")
        check(r.code == 2 and "--yes" in r.stderr, "logoff drain needs --yes off a terminal", r.stderr)
        r = rabulk(w, "drain", *target(emu2, "--message", "bye", "--grace", "1s", "--then", "logoff",
                                        "--yes"), "Lab", "Desk", report="logoff.csv")
        check(r.code == 0, "logoff drain", r.code, r.stderr)
        st = states(emu2)
        check(st["gus@contoso.com"][0] == "None" and st["fay@contoso.com"][0] == "None",
              "logoff removes disconnected and connected sessions", st)
        check(st["gus@contoso.com"][1]["sendMessage"] == 0, "disconnected users are not messaged")


def test_sessions_retries_server_errors_like_bulk_rows():
    with Workdir() as w:
        emu = w.emulator("--seed", many_seed(w, MANY), "--fault", "503=0.2", "--retry-after", "50ms")
        r = rabulk(w, "sessions", *target(emu), *MANY, report=None)
        log = emu.requests()
        check(faults(log), "the emulator injected 503s", len(log))
        check(r.code == 0, "exit", r.code, r.stderr[-600:])
        listed = sorted(l.split(",")[0] for l in r.stdout.splitlines()[1:])
        check(listed == MANY, "every collection listed once", listed)
        check(len(log) == 40 + len(faults(log)), "one more request per fault", len(log))


def test_result_retries_server_errors_like_bulk_rows():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:40", "--op-delay", "0", "--fault", "503=0.2",
                         "--retry-after", "50ms")
        r = rabulk(w, "disconnect", *target(emu, "--no-wait"), w.file("a.csv", users_csv(40)))
        ids = [x["tracking_id"] for x in r.rows()]
        check(r.code == 0 and len(ids) == 40 and all(ids), "tracking ids", r.code, r.stderr[-300:])
        sent = len(emu.requests())
        r = rabulk(w, "result", *target(emu), *ids, report=None)
        log = emu.requests()[sent:]
        check(faults(log), "the emulator injected 503s", len(log))
        check(r.code == 0, "exit", r.code, r.stdout[-600:], r.stderr[-300:])
        rows = [l.split(",")[:2] for l in r.stdout.splitlines()[1:]]
        check(rows == [[i, "Success"] for i in ids], "every operation, in order", rows[:5])


def test_drain_lists_through_throttling_and_server_errors():
    with Workdir() as w:
        colls = MANY[:20]  # listed twice: 40 listing requests
        emu = w.emulator("--seed", many_seed(w, colls), "--op-delay", "0",
                         "--fault", "429=0.1,503=0.1", "--retry-after", "50ms")
        r = rabulk(w, "drain", *target(emu, "--message", "bye", "--grace", "1s"), *colls)
        lists = [e for e in emu.requests() if e["method"] == "GET" and e["path"].endswith("/sessions")]
        check(faults(lists), "the emulator injected faults into the listings", len(lists))
        check(r.code == 0, "exit", r.code, r.stderr[-600:])
        ops = {}
        for row in r.rows():
            ops.setdefault(row["operation"], []).append(row["status"])
        check(ops == {"message": ["succeeded"] * 20, "disconnect": ["succeeded"] * 20},
              "every user warned, then disconnected", ops)
        check(all(s == "Disconnected" for s, _ in states(emu).values()), "all disconnected")


def test_listing_waits_for_retry_after():
    with Workdir() as w:
        # One request a second: of three listed at once two get a 429 with
        # Retry-After: 2, and nothing of the listing goes before it expires.
        emu = w.emulator("--seed", w.file("seed.csv", SEED), "--throttle", "1/s",
                         "--retry-after", "2s")
        r = rabulk(w, "sessions", *target(emu), "Apps", "Desk", "Lab", report=None)
        check(r.code == 0, "exit", r.code, r.stderr[-600:])
        check(len(r.stdout.splitlines()) == 8, "every session listed", r.stdout)
        log = emu.requests()
        throttled = [e for e in log if e["status"] == 429]
        check(len(throttled) >= 2, "throttled", [(e["path"], e["status"]) for e in log])
        for t in throttled:
            again = min(e["t_ms"] for e in log if e["path"] == t["path"] and e["t_ms"] > t["t_ms"])
            check(again - t["t_ms"] >= 1950, "retried after Retry-After", t["path"],
                  again - t["t_ms"])
            early = [e["t_ms"] - t["t_ms"] for e in log if 100 < e["t_ms"] - t["t_ms"] < 1950]
            check(not early, "nothing sent during the pause", early)


def test_listing_gives_up_after_the_retries():
    with Workdir() as w:
        emu = w.emulator("--seed", w.file("seed.csv", SEED), "--fault", "503=1",
                         "--retry-after", "100ms")
        t0 = time.monotonic()
        r = rabulk(w, "sessions", *target(emu, "--retries", "2"), "Apps", "Desk", report=None)
        took = time.monotonic() - t0
        check(r.code == 1, "exit", r.code, r.stderr)
        check("'Apps': HTTP 503 ServerBusy: Injected fault. (gave up after 3 attempts)" in r.stderr,
              "the last answer, and that it was retried", r.stderr)
        tries = {}
        for e in emu.requests():
            tries[e["path"].split("/")[-2]] = tries.get(e["path"].split("/")[-2], 0) + 1
        check(tries == {"Apps": 3, "Desk": 3}, "1 + --retries requests each", tries)
        check(took < 10, "bounded", took)

        sent = len(emu.requests())
        t0 = time.monotonic()
        r = rabulk(w, "sessions", *target(emu, "--retries", "100", "--retry-max-time", "2s"),
                   "Apps", report=None)
        took, n = time.monotonic() - t0, len(emu.requests()) - sent
        check(r.code == 1 and took < 6 and 2 <= n <= 21, "--retry-max-time bounds it", r.code,
              took, n, r.stderr)

        sent = len(emu.requests())
        r = rabulk(w, "result", *target(emu, "--retries", "1"), "0" * 8 + "-0000-0000-0000-" + "0" * 12,
                   report=None)
        check(r.code == 1 and ",Unknown,," in r.stdout and "HTTP 503" in r.stdout and
              "gave up after 2 attempts" in r.stdout, "result", r.stdout)
        check(len(emu.requests()) - sent == 2, "1 + --retries requests", len(emu.requests()) - sent)


def test_dry_run_plans_every_command_and_sends_nothing():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3")
        f = w.file("a.csv", users_csv(3))
        cases = [
            (["disconnect", *target(emu, "--rate", "2/s"), f], "takes 0:00:02"),
            (["logoff", *target(emu), f], "3 logoff requests would be sent"),
            (["message", "--text", "x", *target(emu), f], "3 message requests"),
            (["sessions", *target(emu), "Apps", "Desk"], "would list 2 collections"),
            (["result", *target(emu), "abc"], "would query 1 operation"),
            (["drain", *target(emu, "--message", "m", "--grace", "10m", "--remind", "5m,1m"), "Apps"],
             "remind the still connected at 300 s left, 60 s left"),
        ]
        for args, plan in cases:
            r = rabulk(w, *args, "--dry-run", report="dry.csv" if args[0] in ("disconnect", "logoff", "message") else None)
            check(r.code == 0 and plan in r.stderr, "plan for " + args[0], r.code, r.stderr)
        check(not emu.requests(), "nothing sent", emu.requests()[:1])


def on_a_terminal(args, cwd):
    """Runs rabulk with stderr on a pseudo-terminal; returns (code, what it showed)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([RABULK, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=slave, cwd=cwd, env=dict(os.environ, HOME=cwd))
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=60), out.decode(errors="replace")


def test_progress_on_a_terminal_and_nowhere_else():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:240", "--latency", "40")
        f = w.file("a.csv", users_csv(240))
        args = ["disconnect", *target(emu, "--concurrency", "16"), f]
        code, shown = on_a_terminal([*args, "--report", "p.csv"], w.path)
        check(code == 0, "run", code, shown[-400:])
        frames = [x for x in shown.split("\r\x1b[K") if x.startswith("rabulk: ") and "/240" in x]
        check(len(frames) >= 3, "progress redrawn", shown[:500])
        check(re.search(r"rabulk: \d+/240 rows  \d+/s  ETA \d+:\d\d succeeded \d+", shown),
              "done/total, rate, ETA, counts", frames[-1:])
        code, shown = on_a_terminal([*args, "--report", "q.csv", "--quiet"], w.path)
        check(code == 0 and "/240" not in shown and "ETA" not in shown, "--quiet: none", shown[:300])
        r = rabulk(w, *args, report="r.csv")
        check(r.code == 0 and "\r" not in r.stderr and "ETA" not in r.stderr, "not a terminal: none",
              r.stderr[:300])
        r = rabulk(w, *args, "--progress", report="s.csv")
        check("ETA" in r.stderr, "--progress forces it", r.stderr[:300])
        code, shown = on_a_terminal(["drain", *target(emu, "--message", "m", "--grace", "2s"), "Apps",
                                     "--report", "d.csv", "--concurrency", "64"], w.path)
        check(code == 0 and "0:01 left" in shown, "drain countdown", shown[-400:])


def test_help_matches_the_man_page():
    r = subprocess.run([RABULK, "--help"], capture_output=True, text=True)
    check(r.returncode == 0, "--help")
    man = open(os.path.join(ROOT, "man", "rabulk.1")).read().replace("\\-", "-")
    options = set(re.findall(r"(--[a-z][a-z-]+)", r.stdout))
    missing = sorted(o for o in options if o not in man)
    check(len(options) > 40 and not missing, "every --help option in man/rabulk.1", missing)
    for cmd in ("disconnect", "logoff", "message", "sessions", "result", "drain", "report merge"):
        check("rabulk " + cmd in r.stdout and cmd in man, "command " + cmd)
    emu_help = subprocess.run([os.environ.get("EMULATOR", os.path.join(ROOT, "build", "rabulk-emulator")),
                               "--help"], capture_output=True, text=True).stdout
    emu_man = open(os.path.join(ROOT, "man", "rabulk-emulator.1")).read().replace("\\-", "-")
    missing = sorted(o for o in set(re.findall(r"(--[a-z][a-z-]+)", emu_help)) if o not in emu_man)
    check(not missing, "every emulator option in man/rabulk-emulator.1", missing)


def test_logoff_asks_with_the_row_count_on_a_terminal():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:5")
        f = w.file("a.csv", users_csv(3))
        for answer, logged_off in ((b"n\n", 0), (b"y\n", 3)):
            pid, fd = pty.fork()
            if pid == 0:  # the child: a terminal on stdin, stdout and stderr
                os.chdir(w.path)
                os.execv(RABULK, [RABULK, "logoff", *target(emu), "--report", "l.csv", f])
            out = b""
            while b"[y/N]" not in out:
                out += os.read(fd, 1024)
            os.write(fd, answer)
            try:
                while True:
                    chunk = os.read(fd, 4096)
                    if not chunk:
                        break
                    out += chunk
            except OSError:
                pass
            os.close(fd)
            code = os.waitpid(pid, 0)[1] >> 8
            check(b"log off 3 users listed in the input? [y/N]" in out, "asks with the count", out)
            gone = sum(1 for s in emu.state()["sessions"] if s["state"] == "None")
            check(gone == logged_off and code == (2 if logged_off == 0 else 0), "answer " + answer.decode().strip(),
                  code, gone, out[-300:])


def test_one_policy_for_sessions_and_every_drain_phase():
    """Architecture issue: `sessions` over three collections and a whole
    drain succeed under --fault 503=0.3,429=0.1 (retries enough that a
    request fails 13 times in a row with probability 0.4^13 = 7e-6)."""
    with Workdir() as w:
        emu = w.emulator("--seed", w.file("seed.csv", SEED), "--op-delay", "0",
                         "--fault", "503=0.3,429=0.1", "--retry-after", "50ms")
        r = rabulk(w, "sessions", *target(emu, "--retries", "12"), "Apps", "Desk", "Lab",
                   report=None)
        check(r.code == 0, "sessions exit", r.code, r.stderr[-600:])
        check(len(r.stdout.splitlines()) == 8, "every session listed", r.stdout)
        r = rabulk(w, "drain", *target(emu, "--retries", "12", "--message", "bye", "--grace",
                                       "1s"), "Apps", "Desk", "Lab")
        check(r.code == 0, "drain exit", r.code, r.stderr[-600:])
        check(faults(emu.requests()), "the emulator injected faults")
        ops = {}
        for row in r.rows():
            ops.setdefault(row["operation"], []).append(row["status"])
        check(set(ops) == {"message", "disconnect"} and
              all(s == "succeeded" for v in ops.values() for s in v), "every phase done", ops)
