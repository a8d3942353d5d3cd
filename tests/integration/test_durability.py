"""Durability: kill -9 at random moments and resume, graceful signals, edited
inputs, torn reports, a full disk, a closed stdout. Checked against the
emulator's per-pair operation counts."""
import csv
import json
import os
import random
import signal
import subprocess
import time

from harness import (RABULK, SUB, Workdir, by_status, check, rabulk, target, users_csv)

ROWS = 5000
OK = {"succeeded", "submitted", "no_session", "skipped"}


def runs():
    n = int(os.environ.get("RABULK_DURABILITY_RUNS", "0"))
    return n or (10 if os.environ.get("SANITIZER") else 50)


def complete_rows(path):
    """Rows of a report whose line is complete (a kill may tear the last)."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    return list(csv.DictReader(text.splitlines(True)))


def journal(path):
    out = set()
    if os.path.exists(path + ".journal.ndjson"):
        for line in open(path + ".journal.ndjson"):
            try:
                out.add(json.loads(line)["upn"])
            except ValueError:
                pass  # a torn last line
    return out


def counts(emu):
    return {s["upn"]: s["operations"]["disconnect"] for s in emu.state()["sessions"]}


def kill_and_resume(w, emu, inp, i, rng):
    r1, r2 = os.path.join(w.path, "r1-%d.csv" % i), os.path.join(w.path, "r2-%d.csv" % i)
    urllib_reset(emu)
    args = [RABULK, "disconnect", "--endpoint", emu.url, "--subscription", SUB, "--quiet",
            "--poll-interval", "50ms", "--concurrency", "128"]
    p = subprocess.Popen(args + ["--report", r1, inp], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.02, 1.2))
    p.send_signal(signal.SIGKILL)
    p.wait()
    time.sleep(0.05)  # let requests already on the wire land
    first = complete_rows(r1)
    accepted = journal(r1)
    r = subprocess.run(args + ["--resume", r1, "--report", r2, inp], capture_output=True,
                       text=True, timeout=120)
    check(r.returncode == 0, "run %d: resume exit code" % i, r.returncode, r.stderr[-300:])
    second = complete_rows(r2)
    lines = sorted(int(x["line"]) for x in second)
    check(lines == list(range(2, ROWS + 2)), "run %d: resumed report has every row once" % i)
    check(all(x["status"] in OK for x in second), "run %d: every row ok" % i, by_status(second))
    done_first = {x["upn"] for x in first if x["status"] in OK}
    skipped = {x["upn"] for x in second if x["status"] == "skipped"}
    check(skipped == done_first, "run %d: skipped exactly what was done" % i,
          len(skipped), len(done_first))
    seen = counts(emu)
    dup = {u for u, n in seen.items() if n > 1}
    check(all(n in (1, 2) for n in seen.values()) and len(seen) == ROWS, "run %d: counts" % i,
          sorted(set(seen.values())))
    check(not dup & done_first, "run %d: a finished row was sent again" % i, list(dup & done_first)[:3])
    check(not dup & accepted, "run %d: an accepted row was sent again, not polled" % i,
          list(dup & accepted)[:3])
    # In flight at the kill: up to 128 requests, plus rows already answered
    # but still queued for the writer (it keeps up, so a few at most).
    check(len(dup) <= 2 * 128, "run %d: duplicates only for rows in flight" % i, len(dup))
    return len(done_first), len(accepted), len(dup)


def urllib_reset(emu):
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(emu.url + "/_emulator/reset", method="POST"),
                           timeout=10).read()


def test_kill_9_at_random_moments_then_resume():
    rng = random.Random(int(os.environ.get("RABULK_SEED", "0")) or None)
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:%d" % ROWS, "--latency", "10:5", "--op-delay", "100",
                         "--log-max", "1")
        inp = w.file("in.csv", users_csv(ROWS))
        totals = [0, 0, 0]
        n = runs()
        for i in range(n):
            for k, v in enumerate(kill_and_resume(w, emu, inp, i, rng)):
                totals[k] += v
            for f in os.listdir(w.path):
                if f.startswith(("r1-", "r2-")):
                    os.unlink(os.path.join(w.path, f))
        print("    %d kills: rows done before the kill %d, accepted (polled on resume) %d, "
              "sent twice (in flight) %d" % (n, *totals), flush=True)


def graceful(sig):
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3000", "--latency", "20", "--op-delay", "300",
                         "--log-max", "1")
        inp = w.file("in.csv", users_csv(3000))
        report = os.path.join(w.path, "r1.csv")
        p = subprocess.Popen([RABULK, "disconnect", *target(emu, "--concurrency", "32",
                              "--poll-interval", "100ms"), "--report", report, inp],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.8)
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
        check(p.returncode == 3, "exit code", p.returncode, err)
        first = complete_rows(report)
        check(len(first) == 3000, "complete report", len(first))
        check(not os.path.exists(report + ".journal.ndjson"), "journal removed on a clean stop")
        r = rabulk(w, "disconnect", *target(emu, "--poll-interval", "100ms"), "--resume", report,
                   inp, report="r2.csv")
        check(r.code == 0, "resume exit code", r.code, r.stderr)
        second = r.rows()
        st = by_status(second)
        check(set(st) <= OK and sum(st.values()) == 3000, "resumed statuses", st)
        seen = counts(emu)
        check(set(seen.values()) == {1}, "every session disconnected exactly once",
              sorted(set(seen.values())))


def test_sigint_then_resume_sends_only_the_rest():
    graceful(signal.SIGINT)


def test_sigterm_then_resume_sends_only_the_rest():
    graceful(signal.SIGTERM)


def test_second_signal_abandons_requests_in_flight():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:200", "--fault", "stall=1.0")
        inp = w.file("in.csv", users_csv(200))
        report = os.path.join(w.path, "r.csv")
        p = subprocess.Popen([RABULK, "disconnect", *target(emu, "--concurrency", "8",
                              "--timeout", "60s"), "--report", report, inp],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        _, err = p.communicate(timeout=30)
        check(p.returncode == 3 and time.monotonic() - t0 < 5, "quick exit 3", p.returncode, err)
        rows = complete_rows(report)
        check(by_status(rows) == {"not_attempted": 200}, "statuses", by_status(rows))


def test_resume_with_shuffled_and_edited_input():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:400")
        lines = users_csv(400).splitlines()[1:]
        r = rabulk(w, "disconnect", *target(emu), w.file("a.csv", "CollectionName,UserUpn\n" +
                                                          "\n".join(lines[:200]) + "\n"),
                   report="first.csv")
        check(r.code == 0, "first half", r.code, r.stderr)
        edited = [l.upper() if i % 3 == 0 else l for i, l in enumerate(lines)]  # case changes
        random.Random(7).shuffle(edited)
        inp = w.file("b.csv", "UserUpn,CollectionName\n" +
                     "\n".join("%s,%s" % tuple(reversed(l.split(","))) for l in edited) + "\n")
        r = rabulk(w, "disconnect", *target(emu), "--resume", os.path.join(w.path, "first.csv"),
                   inp, report="second.csv")
        check(r.code == 0, "resume", r.code, r.stderr)
        check(by_status(r.rows()) == {"skipped": 200, "succeeded": 200}, "statuses",
              by_status(r.rows()))
        check(set(counts(emu).values()) == {1}, "nothing sent twice")


def test_resume_into_the_same_report_after_a_torn_line():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:100")
        inp = w.file("in.csv", users_csv(100))
        r = rabulk(w, "disconnect", *target(emu), inp, report="r.csv")
        rows = open(r.report_path).read().splitlines(True)
        cut = "".join(rows[:51]) + rows[51][:37]  # header, 50 rows, a torn one
        with open(r.report_path, "w") as f:
            f.write(cut)
        r = rabulk(w, "disconnect", *target(emu), "--resume", r.report_path, inp, report="r.csv")
        check(r.code == 0, "resume", r.code, r.stderr)
        text = open(r.report_path).read()
        check(text.count("line,collection") == 1, "one header")
        rows = r.rows()
        check(len(rows) == 150, "50 old rows, then 100 new ones", len(rows))
        st = by_status(rows[50:])
        check(st == {"skipped": 50, "succeeded": 50}, "second run", st)
        check(max(counts(emu).values()) == 2 and sum(counts(emu).values()) == 150,
              "the 50 rows missing from the cut report (torn one included) sent again, no others")


def test_full_disk_stops_with_exit_4_and_an_intact_report():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3000", "--latency", "5")
        inp = w.file("in.csv", users_csv(3000))
        report = os.path.join(w.path, "r.csv")
        p = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-P", report,
                            "-e", "trace=write", "-e", "inject=write:error=ENOSPC:when=3+",
                            RABULK, "disconnect", *target(emu), "--report", report, inp],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))  # LSan vs ptrace
        check(p.returncode == 4, "exit code", p.returncode, p.stderr[-400:])
        check("No space left on device" in p.stderr, "says why", p.stderr[-400:])
        rows = complete_rows(report)
        check(rows and all(len(x) == 14 and x["status"] for x in rows), "complete rows intact")
        sent = sum(counts(emu).values())
        check(sent < 3000, "the run stopped", sent)


def test_closed_stdout_report_is_an_error_not_silence():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3000")
        inp = w.file("in.csv", users_csv(3000))
        p = subprocess.Popen([RABULK, "disconnect", *target(emu), "--report", "-", inp],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.readline()
        p.stdout.close()  # the reader of the pipe goes away
        err = p.stderr.read().decode()
        p.wait(timeout=60)
        check(p.returncode == 4 and "Broken pipe" in err, "exit 4 with a reason", p.returncode, err)


def test_ordered_report_and_summary_json():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:500", "--latency", "20:20")
        inp = w.file("in.csv", users_csv(500) + "Apps,bad upn\nApps,user1@contoso.com\n")
        summary = os.path.join(w.path, "s.json")
        r = rabulk(w, "disconnect", *target(emu, "--concurrency", "64"), "--ordered",
                   "--summary-json", summary, inp, report="o.ndjson")
        check(r.code == 1, "exit code", r.code, r.stderr)
        rows = [json.loads(l) for l in open(r.report_path)]
        check([x["line"] for x in rows] == list(range(2, 504)), "input order",
              [x["line"] for x in rows][:10])
        s = json.load(open(summary))
        check(s["status"]["succeeded"] == 500 and s["status"]["invalid"] == 1 and
              s["status"]["duplicate"] == 1 and s["exit_status"] == 1 and s["requests"] == 500,
              "summary", s)
        check(s["latency_ms"]["p50"] >= 0 and s["latency_ms"]["max"] >= s["latency_ms"]["p99"],
              "latency", s["latency_ms"])
