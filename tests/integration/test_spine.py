"""The spine end to end: rabulk against rabulk-emulator over real sockets."""
import json
import os
import re
import resource
import signal
import subprocess
import time

from harness import (RABULK, SUB, TRACKING_HEADER, FakeRemoteApp, Workdir, by_status, check,
                     rabulk, target, users_csv, users_ndjson)


def assert_every_session_disconnected_once(emu, n):
    state = emu.state()
    sessions = {s["upn"]: s for s in state["sessions"] if s["collection"] == "Apps"}
    check(len(sessions) == n, "sessions in emulator", len(sessions))
    wrong = [s for s in sessions.values()
             if s["state"] != "Disconnected" or s["operations"]["disconnect"] != 1]
    check(not wrong, "sessions not disconnected exactly once", wrong[:3])


def assert_one_row_per_input(rows, n, first_line):
    lines = sorted(int(r["line"]) for r in rows)
    check(lines == list(range(first_line, first_line + n)), "one report row per input row",
          len(lines), lines[:3], lines[-3:])


def test_csv_10000_rows_all_succeed():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:10000", "--log-max", "1")
        r = rabulk(w, "disconnect", *target(emu), w.file("users.csv", users_csv(10000)))
        check(r.code == 0, "exit code", r.code, r.stderr)
        rows = r.rows()
        check(by_status(rows) == {"succeeded": 10000}, "statuses", by_status(rows))
        assert_one_row_per_input(rows, 10000, 2)
        check(all(r["tracking_id"] and r["http_status"] == "202" for r in rows), "tracking ids")
        assert_every_session_disconnected_once(emu, 10000)
        check("succeeded 10000" in r.stderr, "summary counts", r.stderr)


def test_ndjson_10000_rows_on_stdin():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:10000", "--log-max", "1")
        r = rabulk(w, "disconnect", *target(emu), "-", stdin=users_ndjson(10000))
        check(r.code == 0, "exit code", r.code, r.stderr)
        rows = r.rows()
        check(by_status(rows) == {"succeeded": 10000}, "statuses", by_status(rows))
        assert_one_row_per_input(rows, 10000, 1)
        assert_every_session_disconnected_once(emu, 10000)


def test_missing_collection_fails_with_its_code():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1")
        r = rabulk(w, "disconnect", *target(emu),
                   w.file("in.csv", "CollectionName,UserUpn\nNowhere,a@contoso.com\n"))
        check(r.code == 1, "exit code", r.code, r.stderr)
        row, = r.rows()
        check(row["status"] == "failed" and row["http_status"] == "404", "row", row)
        check(row["error_code"] == "CollectionDoesNotExist", "error code", row)
        check(row["error_message"] == "Collection 'Nowhere' does not exist", "message", row)
        check(row["attempts"] == "1", "not retried", row)


def no_session(mode):
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1", "--no-session", mode)
        r = rabulk(w, "disconnect", *target(emu),
                   w.file("in.csv", "CollectionName,UserUpn\nApps,ghost@contoso.com\n"
                                    "Apps,user1@contoso.com\n"))
        check(r.code == 0, "no_session counts as ok", r.code, r.stderr)
        rows = {x["upn"]: x for x in r.rows()}
        check(rows["ghost@contoso.com"]["status"] == "no_session", "ghost", rows)
        check(rows["user1@contoso.com"]["status"] == "succeeded", "user1", rows)
        return rows["ghost@contoso.com"]


def test_no_session_as_failed_operation():
    row = no_session("202")
    check(row["http_status"] == "202" and row["tracking_id"], "went through polling", row)


def test_no_session_as_404():
    row = no_session("404")
    check(row["http_status"] == "404" and row["error_code"] == "SessionDoesNotExist", "404", row)


def test_invalid_rows_are_reported_and_the_run_goes_on():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:2")
        r = rabulk(w, "disconnect", *target(emu), w.file("in.csv", (
            "CollectionName,UserUpn\nApps,user1@contoso.com\nApps,not an upn\n"
            "x,user2@contoso.com\nApps,user2@contoso.com\n")))
        check(r.code == 1, "exit code", r.code, r.stderr)
        rows = {int(x["line"]): x for x in r.rows()}
        check(rows[3]["status"] == "invalid" and "white space" in rows[3]["error_message"], "line 3",
              rows[3])
        check(rows[4]["status"] == "invalid" and "3 to 13" in rows[4]["error_message"], "line 4",
              rows[4])
        check(rows[2]["status"] == rows[5]["status"] == "succeeded", "valid rows", rows)
        check(all(e["method"] != "POST" or "not an upn" not in e["body"] for e in emu.requests()),
              "invalid row never sent")
        named = [l for l in r.stderr.splitlines() if "(reported invalid)" in l]
        check(len(named) == 2 and "in.csv': line 3: " in named[0] and "white space" in named[0]
              and "in.csv': line 4: " in named[1], "stderr names file, line and reason", named)


def test_invalid_rows_named_on_stderr_up_to_ten_and_not_with_quiet():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:2")
        path = w.file("many.csv", "CollectionName,UserUpn\n" + "Apps,bad\n" * 25)
        r = rabulk(w, "disconnect", *target(emu), path)
        named = [l for l in r.stderr.splitlines() if "(reported invalid)" in l]
        check(r.code == 1 and len(named) == 10 and "report only" in r.stderr, "ten named",
              r.code, r.stderr)
        check(by_status(r.rows()) == {"invalid": 25}, "all in the report", by_status(r.rows()))
        r = rabulk(w, "disconnect", *target(emu, "--quiet"), path)
        check(r.code == 1 and "invalid" not in r.stderr, "--quiet", r.stderr)


def test_no_wait_submits_without_polling():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:50")
        r = rabulk(w, "disconnect", *target(emu, "--no-wait"), w.file("in.csv", users_csv(50)))
        check(r.code == 0, "exit code", r.code, r.stderr)
        check(by_status(r.rows()) == {"submitted": 50}, "statuses", by_status(r.rows()))
        check(not [e for e in emu.requests() if e["method"] == "GET"], "no polls")


def test_connections_closed_while_idle_are_replaced_quietly():
    """The worker keeps an idle connection in its epoll set (engine/evloop.c).
    When the server closes it, that socket turns readable with nobody asking:
    it must leave the set (or the loop spins on it) and the next request must
    go on a new connection, without a failure or a retry."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:4", "--idle-timeout", "1")
        summary = os.path.join(w.path, "summary.json")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        r = rabulk(w, "disconnect", *target(emu, "--no-wait", "--rate", "30/m", "--burst", "1",
                                            "--summary-json", summary),
                   w.file("in.csv", users_csv(4)))
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        check(r.code == 0 and by_status(r.rows()) == {"submitted": 4}, "every row submitted",
              r.code, by_status(r.rows()), r.stderr)
        check(json.load(open(summary))["retries"] == 0, "no retries")
        conns = json.loads(emu.get("/_emulator/stats")[2])["connections"]
        check(conns >= 3, "the server closed idle connections in between", conns)
        check(wall > 5 and cpu < wall / 4, "no busy loop while connections sat closed",
              "%.2f s CPU in %.2f s" % (cpu, wall))


def test_pending_operations_are_polled_until_done():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:20", "--op-delay", "300")
        r = rabulk(w, "disconnect", *target(emu, "--poll-interval", "100ms"),
                   w.file("in.csv", users_csv(20)))
        check(r.code == 0, "exit code", r.code, r.stderr)
        check(by_status(r.rows()) == {"succeeded": 20}, "statuses", by_status(r.rows()))
        polls = [e for e in emu.requests() if "/operationResults/" in e["path"]]
        check(len(polls) >= 40, "each operation polled while Pending", len(polls))
        check(all(int(x["latency_ms"]) >= 300 for x in r.rows()), "waited for the operation")


def test_logoff_and_message():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3")
        r = rabulk(w, "logoff", "--yes", *target(emu), w.file("a.csv", users_csv(2)))
        check(r.code == 0, "logoff exit", r.code, r.stderr)
        r = rabulk(w, "message", "--text", "Maintenance in 10 minutes", *target(emu),
                   w.file("b.csv", "CollectionName,UserUpn\nApps,user3@contoso.com\n"),
                   report="m.csv")
        check(r.code == 0, "message exit", r.code, r.stderr)
        check(r.rows()[0]["operation"] == "message", "operation column", r.rows())
        states = {s["upn"]: s for s in emu.state()["sessions"]}
        check(states["user1@contoso.com"]["state"] == "None", "logged off", states)
        check(states["user3@contoso.com"]["state"] == "Connected", "message leaves it", states)
        check(states["user3@contoso.com"]["operations"]["sendMessage"] == 1, "message sent")
        body = [e["body"] for e in emu.requests() if e["path"].endswith("/sendMessage")][0]
        check('"Message":"Maintenance in 10 minutes"' in body, "message body", body)


def test_logoff_refuses_without_yes_off_a_terminal():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1")
        r = rabulk(w, "logoff", *target(emu), w.file("a.csv", users_csv(1)))
        check(r.code == 2 and "--yes" in r.stderr, "refused", r.code, r.stderr)
        check(not emu.requests(), "nothing sent")


def test_token_is_sent_and_never_reported():
    with Workdir() as w:
        secret = "s3cr3t-token-value"
        emu = w.emulator("--generate", "Apps:5", "--token", secret)
        tok = w.file("token", secret + "\n")
        r = rabulk(w, "disconnect", *target(emu, "--token-file", tok), w.file("in.csv", users_csv(5)))
        check(r.code == 0, "exit code", r.code, r.stderr)
        auth = {e["headers"].get("Authorization") for e in emu.requests()}
        check(auth == {"Bearer " + secret}, "bearer header", auth)
        check(secret not in open(r.report_path).read() + r.stderr + r.stdout, "token leaked")
        r = rabulk(w, "disconnect", *target(emu), w.file("in2.csv", users_csv(1)),
                   env={"RABULK_ACCESS_TOKEN": secret}, report="env.csv")
        check(r.code == 0, "token from the environment", r.code, r.stderr)


def test_rejected_auth_stops_the_run_with_a_complete_report():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:300", "--token", "right")
        tok = w.file("token", "wrong\n")
        r = rabulk(w, "disconnect", *target(emu, "--token-file", tok, "--concurrency", "4"),
                   w.file("in.csv", users_csv(300)))
        check(r.code == 3, "exit code", r.code, r.stderr)
        check("authentication rejected" in r.stderr, "says why", r.stderr)
        rows = r.rows()
        assert_one_row_per_input(rows, 300, 2)
        st = by_status(rows)
        check(set(st) <= {"failed", "not_attempted"} and st.get("not_attempted", 0) > 200,
              "statuses", st)
        check(len(emu.requests()) < 20, "stopped sending", len(emu.requests()))


def test_token_file_readable_by_others_is_refused():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1")
        tok = w.file("token", "t\n", mode=0o644)
        r = rabulk(w, "disconnect", *target(emu, "--token-file", tok), w.file("a.csv", users_csv(1)))
        check(r.code == 2 and "chmod 600" in r.stderr, "refused", r.code, r.stderr)


def test_usage_errors_exit_2_and_send_nothing():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1")
        f = w.file("a.csv", users_csv(1))
        cases = [
            (["disconnect", "--endpoint", emu.url, f], "no subscription"),
            (["disconnect", "--endpoint", "http://example.com", "--subscription", SUB, f], "loopback"),
            (["disconnect", *target(emu), os.path.join(w.path, "missing.csv")], "cannot open"),
            (["disconnect", *target(emu), "--concurrency", "0", f], "--concurrency"),
            (["disconnect", *target(emu), "--timeout", "soon", f], "--timeout"),
            (["message", *target(emu), f], "--text"),
            (["frobnicate", f], "unknown command"),
            (["disconnect", *target(emu), "--format", "csv", w.file("h.csv", "Mail\nx@y.com\n")],
             "no user column"),
            (["disconnect", *target(emu), w.file("l.txt", "x@y.com\n")], "needs --collection"),
        ]
        for args, why in cases:
            r = rabulk(w, *args, report="u.csv")
            check(r.code == 2 and why in r.stderr, "usage error for " + why, r.code, r.stderr)
        check(not emu.requests(), "nothing sent", emu.requests()[:1])


def test_embedded_emulator_seeded_from_input():
    with Workdir() as w:
        r = rabulk(w, "disconnect", "--emulator", w.file("in.csv", users_csv(500)))
        check(r.code == 0, "exit code", r.code, r.stderr)
        check(by_status(r.rows()) == {"succeeded": 500}, "statuses", by_status(r.rows()))


def test_demo_shows_every_outcome():
    with Workdir() as w:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        r = rabulk(w, "disconnect", "--emulator", "--emulator-seed",
                   os.path.join(root, "examples/sessions.csv"), os.path.join(root, "examples/users.csv"))
        check(r.code == 1, "exit code", r.code, r.stderr)
        st = by_status(r.rows())
        check({"succeeded", "no_session", "failed", "invalid"} <= set(st), "outcomes", st)


def test_sigint_stops_with_every_row_reported():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3000", "--op-delay", "1500", "--log-max", "1")
        report = os.path.join(w.path, "report.csv")
        p = subprocess.Popen([RABULK, "disconnect", *target(emu, "--concurrency", "16",
                              "--poll-interval", "200ms"), "--report", report,
                              w.file("in.csv", users_csv(3000))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        check(p.returncode == 3, "exit code", p.returncode, err)
        import csv
        rows = list(csv.DictReader(open(report)))
        assert_one_row_per_input(rows, 3000, 2)
        st = by_status(rows)
        check(st.get("not_attempted", 0) > 1000, "rest not attempted", st)
        check(set(st) <= {"succeeded", "accepted", "not_attempted"}, "statuses", st)
        accepted = [x for x in rows if x["status"] == "accepted"]
        check(all(x["tracking_id"] for x in accepted), "accepted rows keep their tracking id")


def fake_run(w, svc, rows_csv, *opts, report="report.csv"):
    inp = w.file("in.csv", "CollectionName,UserUpn\n" + rows_csv)
    r = rabulk(w, "disconnect", "--endpoint", svc.url, "--subscription", SUB, "--poll-interval",
               "20ms", *opts, inp, report=report, timeout=60)
    return r, {x["upn"]: x for x in r.rows()} if report.endswith(".csv") else None


def test_202_without_tracking_id_is_accepted_not_succeeded():
    # Nothing proves the operation ran: the row is accepted (pending, exit
    # 1) with the reason; a 200 without one is HTTP's own word that it is done.
    rules = {"bare@contoso.com": (202, [("x-ms-request-id", "req-bare")], ""),
             "sync@contoso.com": (200, [], "")}
    with Workdir() as w, FakeRemoteApp(rules) as svc:
        r, rows = fake_run(w, svc, "Apps,bare@contoso.com\nApps,sync@contoso.com\n"
                                   "Apps,user1@contoso.com\n")
        check(r.code == 1, "exit code", r.code, r.stderr)
        bare = rows["bare@contoso.com"]
        check(bare["status"] == "accepted" and bare["error_code"] == "NoTrackingId"
              and bare["http_status"] == "202" and not bare["tracking_id"], "untracked 202", bare)
        check(TRACKING_HEADER in bare["error_message"] and "cannot be polled" in bare["error_message"],
              "says why", bare)
        check(rows["sync@contoso.com"]["status"] == "succeeded", "200 without id", rows)
        check(rows["user1@contoso.com"]["status"] == "succeeded", "tracked row", rows)
        check("accepted 1" in r.stderr, "summary counts it pending", r.stderr)
        # --resume sends it again: there is nothing to poll
        r2, rows2 = fake_run(w, svc, "Apps,bare@contoso.com\n", "--resume", r.report_path,
                             report="again.csv")
        check(len(svc.posts("bare@contoso.com")) == 2, "resume sends it again",
              len(svc.posts("bare@contoso.com")))


def long_id(n, upn):
    """A tracking id of the length the user's name asks for (len100@...)."""
    size = int(upn.split("@")[0][3:])
    head = "%s-%d-" % (upn.split("@")[0], n)
    return (head + "0123456789abcdef" * 20)[:size]


def test_tracking_ids_up_to_256_bytes_survive_a_run_and_a_resume():
    with Workdir() as w, FakeRemoteApp(make_id=long_id) as svc:
        upns = ["len100@contoso.com", "len256@contoso.com", "len257@contoso.com"]
        inp = "".join("Apps,%s\n" % u for u in upns)
        svc.pending = True  # first run: every operation stays InProgress
        r, rows = fake_run(w, svc, inp, "--poll-timeout", "300ms")
        check(r.code == 1, "exit code", r.code, r.stderr)
        for u, size in (("len100@contoso.com", 100), ("len256@contoso.com", 256)):
            x = rows[u]
            check(x["status"] == "accepted" and x["error_code"] == "PollTimeout", "pending", x)
            check(len(x["tracking_id"]) == size and x["tracking_id"] in svc.ops,
                  "full tracking id kept", size, len(x["tracking_id"]), x)
            paths = [p["path"] for p in svc.polls()]
            check(any(p.endswith("/" + x["tracking_id"]) for p in paths), "polled with it", paths)
        big = rows["len257@contoso.com"]
        check(big["status"] == "accepted" and big["error_code"] == "BadTrackingId"
              and not big["tracking_id"] and "256" in big["error_message"],
              "an over-long id is refused, not cut", big)
        ids = {u: rows[u]["tracking_id"] for u in upns}
        posts_before, polls_before = len(svc.posts()), len(svc.polls())
        svc.pending = False
        r2, rows2 = fake_run(w, svc, inp, "--resume", r.report_path, report="resumed.csv")
        for u in ("len100@contoso.com", "len256@contoso.com"):
            check(rows2[u]["status"] == "succeeded" and rows2[u]["tracking_id"] == ids[u],
                  "resumed row polled its operation", rows2[u])
            check(len(svc.posts(u)) == 1, "not sent again", u, len(svc.posts(u)))
        new_polls = [p["path"] for p in svc.polls()[polls_before:]]
        for u in ("len100@contoso.com", "len256@contoso.com"):
            check(any(p.endswith("/" + ids[u]) for p in new_polls), "resume polls the full id",
                  u, new_polls)
        check(len(svc.posts("len257@contoso.com")) == 2, "the untracked one is sent again")
        check(all(len(p.rsplit("/", 1)[1]) in (100, 256) for p in new_polls), "no cut ids",
              new_polls)


RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]")


def test_control_characters_never_reach_the_report_raw():
    evil = "evil \u001b[31mred\nsecond line\u007f"
    rules = {
        "esc@contoso.com": (202, [(TRACKING_HEADER, "op-\x1b[31m-1"), ("x-ms-request-id", "r\x1b]0;x\x07")], ""),
        "msg@contoso.com": (400, [("x-ms-request-id", "req\x1b[2J")],
                            json.dumps({"error": {"code": "Bad\u001bCode", "message": evil}})),
    }
    inp = ("Apps,esc@contoso.com\nApps,msg@contoso.com\nApps,\"bad\x1b[31m@contoso.com\"\n"
           "Apps,\"two\nlines@contoso.com\"\nApps,user1@contoso.com\n")
    with Workdir() as w, FakeRemoteApp(rules) as svc:
        r, rows = fake_run(w, svc, inp)
        check(r.code == 1, "exit code", r.code, r.stderr)
        raw = open(r.report_path, "rb").read()
        bad = RAW_CONTROL.findall(raw)
        check(not bad, "raw control characters in the CSV report", bad[:5], raw[:600])
        check(raw.count(b"\n") == 6, "one line per row", raw)
        esc = rows["esc@contoso.com"]
        check(esc["status"] == "accepted" and esc["error_code"] == "BadTrackingId"
              and not esc["tracking_id"], "a tracking id with control characters is refused", esc)
        check(esc["request_id"] == "r\\u001b]0;x\\u0007", "escaped request id", esc)
        msg = rows["msg@contoso.com"]
        check(msg["status"] == "failed" and msg["error_code"] == "Bad\\u001bCode"
              and msg["error_message"] == "evil \\u001b[31mred\\nsecond line\\u007f",
              "escaped as JSON would", msg)
        invalid = [x for x in r.rows() if x["status"] == "invalid"]
        check(sorted(x["upn"] for x in invalid) == ["bad\\u001b[31m@contoso.com",
                                                     "two\\nlines@contoso.com"], "invalid rows",
              invalid)
        check(rows["user1@contoso.com"]["status"] == "succeeded", "the rest goes on", rows)

        # JSON: cJSON escapes, and DEL too; read back, the text is exact.
        r, _ = fake_run(w, svc, inp, report="report.json")
        raw = open(r.report_path, "rb").read()
        bad = RAW_CONTROL.findall(raw)
        check(not bad, "raw control characters in the JSON report", bad[:5])
        got = {x["upn"]: x for x in json.loads(raw)}
        check(got["msg@contoso.com"]["error_message"] == evil, "JSON keeps the text exactly",
              got["msg@contoso.com"])
        check("bad\x1b[31m@contoso.com" in got, "identity kept exactly in JSON", list(got))
