"""Reliability under a hostile environment (issue 14): input that blocks,
closed standard streams, a reorder buffer that must not grow with the
input, a descriptor limit, SIGHUP, the report's file, a huge header and a
huge --concurrency. Each test failed on the binary before its fix."""
import os
import re
import resource
import signal
import stat
import subprocess
import time

from harness import RABULK, SUB, Workdir, by_status, check, no_sanitizer_report, rabulk, target, \
    users_csv


def start(w, emu, *args, stdin=subprocess.DEVNULL, report="report.csv", **kw):
    """rabulk in the background; stderr goes to a file, so that waiting
    for it never touches its stdin (communicate() would close a pipe)."""
    cmd = [RABULK, "disconnect", *target(emu), "--report", os.path.join(w.path, report), *args]
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(w.path, "rabulk.err"), "w"), text=True,
                         cwd=w.path, **kw)
    p.errfile = os.path.join(w.path, "rabulk.err")
    return p


def report_rows(w, name="report.csv"):
    import csv
    with open(os.path.join(w.path, name), newline="") as f:
        return list(csv.DictReader(f))


def finish(p, timeout):
    p.wait(timeout=timeout)
    err = open(p.errfile).read()
    no_sanitizer_report(err, "rabulk")
    return "", err


def stop_while_blocked(w, emu, p, feed):
    """Writes two rows, lets the reader block on the silent input, sends
    SIGINT: the run must end at once with exit 3 and both rows reported."""
    feed("CollectionName,UserUpn\nApps,user1@contoso.com\nApps,user2@contoso.com\n")
    time.sleep(2.0)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        out, err = finish(p, 10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError("rabulk still running 10 s after SIGINT on a silent input")
    took = time.monotonic() - t0
    check(p.returncode == 3, "exit code (a signal)", p.returncode, err[-600:])
    check(took < 5, "stopped promptly", "%.1f s" % took)
    rows = report_rows(w)
    check(sorted(r["upn"] for r in rows) == ["user1@contoso.com", "user2@contoso.com"],
          "the rows read are reported", rows)
    check(by_status(rows) == {"succeeded": 2}, "statuses", by_status(rows))


def test_signal_while_reading_a_silent_fifo():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:10")
        fifo = os.path.join(w.path, "in.fifo")
        os.mkfifo(fifo)
        p = start(w, emu, fifo)
        writer = os.open(fifo, os.O_WRONLY)  # kept open, silent after two rows
        try:
            stop_while_blocked(w, emu, p, lambda s: os.write(writer, s.encode()))
        finally:
            os.close(writer)


def test_signal_while_reading_a_silent_pipe():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:10")
        p = start(w, emu, "-", stdin=subprocess.PIPE)

        def feed(s):
            p.stdin.write(s)
            p.stdin.flush()
        try:
            stop_while_blocked(w, emu, p, feed)
        finally:
            try:
                p.stdin.close()
            except OSError:
                pass


def test_first_row_is_sent_before_the_producer_finishes():
    """A producer that writes a row, pauses, writes another: the first
    row's request reaches the service at once, not when input ends."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:10")
        p = start(w, emu, "-", stdin=subprocess.PIPE)
        t0 = time.monotonic()
        p.stdin.write("CollectionName,UserUpn\nApps,user1@contoso.com\n")
        p.stdin.flush()
        seen = None
        while time.monotonic() - t0 < 3.0:
            if any("user1" in r.get("path", "") + r.get("body", "") for r in emu.requests()):
                seen = time.monotonic() - t0
                break
            time.sleep(0.05)
        p.stdin.write("Apps,user2@contoso.com\n")
        p.stdin.close()
        out, err = finish(p, 60)
        check(p.returncode == 0, "exit code", p.returncode, err[-600:])
        check(seen is not None and seen < 0.5, "first row sent within 0.5 s", seen)
        check(by_status(report_rows(w)) == {"succeeded": 2}, "statuses", report_rows(w))


def test_report_to_a_closed_stdout_is_an_error():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3")
        inp = w.file("in.csv", users_csv(3))
        cmd = [RABULK, "disconnect", *target(emu), "--report", "-", inp]
        p = subprocess.run(cmd, capture_output=False, stdout=None, stderr=subprocess.PIPE,
                           text=True, timeout=60, preexec_fn=lambda: os.close(1))
        no_sanitizer_report(p.stderr, "rabulk")
        check(p.returncode in (2, 4), "exit code with stdout closed", p.returncode, p.stderr)
        check("standard output" in p.stderr, "a message naming standard output", p.stderr)


def test_closed_stdin_reads_nothing_and_says_so():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3")
        cmd = [RABULK, "disconnect", *target(emu), "--report", os.path.join(w.path, "r.csv")]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60, preexec_fn=lambda: os.close(0))
        no_sanitizer_report(p.stderr, "rabulk")
        check(p.returncode == 0, "exit code", p.returncode, p.stderr)
        check(len(report_rows(w, "r.csv")) == 0, "no rows from a closed stdin")
        check(emu.requests() == [], "nothing sent", emu.requests()[:2])


def test_ordered_report_memory_is_bounded():
    """One slow row, then 300,000 invalid ones: --ordered holds rows until
    the slow one is written, but never more than its window."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1", "--latency", "4000")
        path = os.path.join(w.path, "in.csv")
        with open(path, "w") as f:
            f.write("CollectionName,UserUpn\nApps,user1@contoso.com\n")
            f.writelines("Apps,bad%d\n" % i for i in range(300000))
        p = subprocess.run(["/usr/bin/time", "-v", RABULK, "disconnect", *target(emu), "--ordered",
                            "--quiet", "--report", os.path.join(w.path, "report.csv"), path],
                           capture_output=True, text=True, timeout=300)
        no_sanitizer_report(p.stderr, "rabulk")
        check(p.returncode == 1, "exit code", p.returncode, p.stderr[-400:])
        kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
        rows = report_rows(w)
        check(len(rows) == 300001, "report rows", len(rows))
        check([int(r["line"]) for r in rows[:3]] == [2, 3, 4], "input order", rows[:3])
        print("    --ordered, one slow row then 300,000 invalid: peak RSS %.1f MiB" % (kib / 1024),
              flush=True)
        if not os.environ.get("SANITIZER"):
            check(kib < 48 * 1024, "peak RSS over 48 MiB", kib)


def test_low_descriptor_limit_fits_concurrency_and_keeps_every_row():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:2000")
        inp = w.file("in.csv", users_csv(2000))

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        p = start(w, emu, "--concurrency", "1000", inp, preexec_fn=limit)
        out, err = finish(p, 120)
        check(p.returncode == 0, "exit code", p.returncode, err[-600:])
        check("descriptor" in err and "concurrency" in err, "a warning naming the limit", err)
        rows = report_rows(w)
        check(len(rows) == 2000 and by_status(rows) == {"succeeded": 2000}, "every row done",
              by_status(rows))


def test_sighup_stops_like_sigterm():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3000", "--op-delay", "1500")
        p = start(w, emu, "--concurrency", "16", "--poll-interval", "200ms",
                  w.file("in.csv", users_csv(3000)))
        time.sleep(1.0)
        p.send_signal(signal.SIGHUP)
        out, err = finish(p, 60)
        check(p.returncode == 3, "exit code", p.returncode, err[-600:])
        rows = report_rows(w)
        check(len(rows) == 3000, "every row reported", len(rows))
        check(by_status(rows).get("not_attempted", 0) > 1000, "rest not attempted", by_status(rows))


def test_report_is_private_and_never_follows_a_symlink():
    with Workdir() as w:
        inp = w.file("in.csv", users_csv(3))
        old = w.file("old.csv", "hello\n", mode=0o644)
        r = rabulk(w, "disconnect", "--emulator", inp, report="old.csv")
        check(r.code == 0, "exit code", r.code, r.stderr)
        check(stat.S_IMODE(os.stat(old).st_mode) == 0o600, "an existing report becomes 0600",
              oct(os.stat(old).st_mode))
        victim = w.file("victim.txt", "precious\n", mode=0o644)
        os.symlink(victim, os.path.join(w.path, "link.csv"))
        r = rabulk(w, "disconnect", "--emulator", inp, report="link.csv")
        check(r.code == 2, "exit code for a symlinked report", r.code, r.stderr)
        check("symbolic link" in r.stderr, "says why", r.stderr)
        check(open(victim).read() == "precious\n", "the link's target untouched")


def test_csv_header_over_64_kib_is_a_clear_error():
    with Workdir() as w:
        header = "CollectionName,UserUpn," + ",".join("Column%d" % i for i in range(9000))
        inp = w.file("in.csv", header + "\nApps,user1@contoso.com\nApps,user2@contoso.com\n")
        r = rabulk(w, "disconnect", "--emulator", inp)
        check(r.code == 2, "exit code", r.code, r.stderr)
        check("line 1" in r.stderr and "header" in r.stderr, "names the header's line", r.stderr)


def test_huge_concurrency_costs_memory_for_the_rows_only():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:100")
        inp = w.file("in.csv", users_csv(100))
        p = subprocess.run(["/usr/bin/time", "-v", RABULK, "disconnect", *target(emu),
                            "--concurrency", "65536", "--quiet", "--report",
                            os.path.join(w.path, "report.csv"), inp],
                           capture_output=True, text=True, timeout=120)
        no_sanitizer_report(p.stderr, "rabulk")
        check(p.returncode == 0, "exit code", p.returncode, p.stderr[-400:])
        kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
        print("    --concurrency 65536, 100 rows: peak RSS %.1f MiB" % (kib / 1024), flush=True)
        if not os.environ.get("SANITIZER"):
            check(kib < 64 * 1024, "peak RSS over 64 MiB", kib)
        check(by_status(report_rows(w)) == {"succeeded": 100}, "statuses")
