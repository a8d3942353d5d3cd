"""Distribution and operations: the version, the shell completions, and
--metrics-file (Prometheus text for the node exporter's textfile collector).

The completions are driven as a shell drives them: bash through
bash-completion's own loader and the function it registers (COMP_WORDS, then
COMPREPLY), zsh on a pseudo-terminal with a real Tab. The metrics file is
parsed and checked against --summary-json of the same run, and with promtool
when it is installed (scripts/deps.sh promtool; CI installs it).
"""
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time

from harness import (RABULK, ROOT, Skip, Workdir, by_status, check, rabulk, target,
                     users_csv)


def changelog_version():
    first = open(os.path.join(ROOT, "debian", "changelog")).readline()
    m = re.match(r"rabulk \(([^)]+)\) ", first)
    check(m, "debian/changelog's first line", first)
    return m.group(1)


def test_version_is_the_changelogs():
    version = changelog_version()
    out = subprocess.run([RABULK, "--version"], capture_output=True, text=True).stdout
    check(out == "rabulk %s\n" % version, "--version", out, version)
    th = open(os.path.join(ROOT, "man", "rabulk.1")).readline()
    check('"rabulk %s"' % version in th, "man/rabulk.1 .TH names the version", th)


# ---- bash ---------------------------------------------------------------

BASH_DRIVER = r'''
source /usr/share/bash-completion/bash_completion || exit 90
_completion_loader rabulk    # as bash does on the first Tab: finds share/bash-completion/completions/rabulk
complete -p rabulk >&2 || exit 91
while IFS= read -r line; do
    COMP_LINE=$line COMP_POINT=${#line}
    # split as readline does (COMP_WORDBREAKS: "=" is a word of its own)
    COMP_WORDS=()
    rest=$line
    while [[ $rest =~ ^[[:space:]]*([^[:space:]=]+|=) ]]; do
        COMP_WORDS+=("${BASH_REMATCH[1]}")
        rest=${rest:${#BASH_REMATCH[0]}}
    done
    [[ $line =~ [[:space:]=]$ ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _rabulk rabulk "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[*]}"
done
'''


def bash_complete(w, lines, cwd=None):
    """What bash offers for each line (a Tab at its end), as sets of words.
    The script is laid out as `make install` lays it out, and found by
    bash-completion's loader through XDG_DATA_DIRS."""
    if not os.path.exists("/usr/share/bash-completion/bash_completion"):
        raise AssertionError("bash-completion is not installed: scripts/deps.sh installs it")
    share = os.path.join(w.path, "share")
    os.makedirs(os.path.join(share, "bash-completion", "completions"), exist_ok=True)
    script = subprocess.run([RABULK, "--completion", "bash"], capture_output=True, text=True,
                            check=True).stdout
    with open(os.path.join(share, "bash-completion", "completions", "rabulk"), "w") as f:
        f.write(script)
    env = dict(os.environ, XDG_DATA_DIRS=share, BASH_COMPLETION_USER_DIR=os.path.join(w.path, "none"))
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", BASH_DRIVER], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, env=env, cwd=cwd or w.path, timeout=60)
    check(p.returncode == 0, "bash driver", p.returncode, p.stderr)
    check("complete -F _rabulk rabulk" in p.stderr, "complete -p rabulk after the loader", p.stderr)
    out = p.stdout.split("\n")[:len(lines)]
    return {line: set(o.split()) for line, o in zip(lines, out)}


def test_bash_completes_commands_options_values_and_files():
    with Workdir() as w:
        w.file("users.csv", "x"), w.file("notes.txt", "x")
        os.mkdir(os.path.join(w.path, "reports"))
        got = bash_complete(w, [
            "rabulk dis",
            "rabulk disconnect --conc",
            "rabulk disconnect --format ",
            "rabulk disconnect --format=nd",
            "rabulk sessions --format ",
            "rabulk sessions --st",
            "rabulk sessions --state ",
            "rabulk drain --then ",
            "rabulk report ",
            "rabulk report merge --in",
            "rabulk --completion ",
            "rabulk --",
            "rabulk ",
            "rabulk disconnect us",
            "rabulk disconnect --report no",
            "rabulk disconnect --concurrency ",
            "rabulk sessions Ap",
            "rabulk message --te",
        ])
        want = {
            "rabulk dis": {"disconnect"},
            "rabulk disconnect --conc": {"--concurrency"},
            "rabulk disconnect --format ": {"csv", "json", "ndjson", "lines"},
            "rabulk disconnect --format=nd": {"ndjson"},
            "rabulk sessions --format ": {"csv", "json", "ndjson"},
            "rabulk sessions --st": {"--state"},
            "rabulk sessions --state ": {"Connected", "Active", "Disconnected"},
            "rabulk drain --then ": {"disconnect", "logoff"},
            "rabulk report ": {"merge"},
            "rabulk report merge --in": {"--input"},
            "rabulk --completion ": {"bash", "zsh"},
            "rabulk --": {"--help", "--version", "--completion"},
            "rabulk ": {"disconnect", "logoff", "message", "sessions", "result", "drain", "undrain", "report"},
            "rabulk disconnect us": {"users.csv"},
            "rabulk disconnect --report no": {"notes.txt"},
            "rabulk disconnect --concurrency ": set(),  # a number: nothing to offer, not files
            "rabulk sessions Ap": set(),  # a collection name: not a file
            "rabulk message --te": {"--text", "--text-file"},
        }
        for line, words in want.items():
            check(got[line] == words, repr(line), sorted(got[line]), "want", sorted(words))


def help_options():
    out = subprocess.run([RABULK, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"^  (?:-h, )?(--[a-z][a-z-]+)", out, re.M))


def test_every_help_option_completes_for_its_commands():
    """Every option --help shows (the man page test checks them against
    man/rabulk.1) is offered for some command, and each command is offered
    its own."""
    commands = ["disconnect", "logoff", "message", "sessions", "result", "drain", "report merge"]
    with Workdir() as w:
        got = bash_complete(w, ["rabulk %s --" % c for c in commands] + ["rabulk --"])
    offered = set().union(*got.values())
    documented = help_options()
    check(len(documented) > 50, "options in --help", len(documented))
    check(documented == offered, "--help and the completions name the same options",
          "only in --help:", sorted(documented - offered), "only completed:", sorted(offered - documented))
    per = {c: got["rabulk %s --" % c] for c in commands}
    for cmd, own in (("message", "--text"), ("sessions", "--state"), ("drain", "--grace"),
                     ("drain", "--then"), ("logoff", "--yes"), ("report merge", "--input"),
                     ("disconnect", "--metrics-file"), ("drain", "--metrics-file"),
                     ("disconnect", "--resume"), ("result", "--endpoint")):
        check(own in per[cmd], "%s offers %s" % (cmd, own), sorted(per[cmd]))
    for cmd, other in (("disconnect", "--state"), ("disconnect", "--grace"), ("sessions", "--report"),
                       ("result", "--metrics-file"), ("report merge", "--endpoint"),
                       ("sessions", "--text")):
        check(other not in per[cmd], "%s does not offer %s" % (cmd, other))
    check(all("--help" in per[c] for c in commands), "--help everywhere")


def test_fixed_value_sets_are_what_the_parser_accepts():
    """The sets completion offers are the ones the option parser names when
    it refuses a value."""
    with Workdir() as w:
        got = bash_complete(w, ["rabulk disconnect --format ", "rabulk sessions --format ",
                                "rabulk drain --then ", "rabulk --completion "])
    for args, line in ((["disconnect", "--format", "x"], "rabulk disconnect --format "),
                       (["sessions", "--format", "x", "Apps"], "rabulk sessions --format "),
                       (["drain", "--then", "x"], "rabulk drain --then "),
                       (["--completion", "fish"], "rabulk --completion ")):
        err = subprocess.run([RABULK, *args], capture_output=True, text=True).stderr
        m = re.search(r"want ([a-z, ]+?)\n", err)
        check(m, "a refusal naming the values", args, err[:300])
        accepted = set(re.split(r", | or ", m.group(1)))
        check(accepted == got[line], "values of " + line, sorted(accepted), sorted(got[line]))


# ---- zsh ----------------------------------------------------------------

def zsh_tab(fpath, line):
    """Types line and a Tab into an interactive zsh with _rabulk on its
    fpath; returns what the terminal showed after the Tab."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="dumb", HOME=fpath)
        os.execvp("zsh", ["zsh", "-f", "-i"])

    def read(until=None, quiet=0.4, limit=10.0):
        buf, end, last = b"", time.monotonic() + limit, time.monotonic()
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                buf, last = buf + chunk, time.monotonic()
                if until and until in buf:
                    return buf
            elif not until and buf and time.monotonic() - last > quiet:
                return buf
        return buf

    try:
        os.write(fd, ("PS1='%% '; fpath=(%s $fpath); autoload -Uz compinit; compinit -u -D; "
                      "print RE''ADY\n" % fpath).encode())
        read(until=b"READY\r\n")
        read(quiet=0.2, limit=2)  # the prompt
        os.write(fd, line.encode() + b"\t")
        return read().decode(errors="replace")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def test_zsh_completes_commands_options_and_values():
    if not shutil.which("zsh"):
        raise AssertionError("zsh is not installed: scripts/deps.sh installs it")
    with Workdir() as w:
        fpath = os.path.join(w.path, "zsh")
        os.mkdir(fpath)
        script = subprocess.run([RABULK, "--completion", "zsh"], capture_output=True, text=True,
                                check=True).stdout
        with open(os.path.join(fpath, "_rabulk"), "w") as f:
            f.write(script)
        p = subprocess.run(["zsh", "-n", os.path.join(fpath, "_rabulk")], capture_output=True, text=True)
        check(p.returncode == 0, "zsh -n", p.stderr)
        for line, words in (("rabulk dis", ["rabulk disconnect "]),
                            ("rabulk disconnect --conc", ["--concurrency="]),
                            ("rabulk disconnect --format ", ["csv", "json", "lines", "ndjson"]),
                            ("rabulk drain --th", ["--then", "--threads", "drain: logoff or disconnect"])):
            shown = zsh_tab(fpath, line)
            check(all(wd in shown for wd in words), "zsh: " + line, words, repr(shown[-300:]))
        shown = zsh_tab(fpath, "rabulk sessions --format ")
        check("ndjson" in shown and "lines" not in shown, "zsh: sessions' formats", repr(shown[-300:]))


# ---- --metrics-file ------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def parse_metrics(text):
    """The text exposition format, strictly: HELP and TYPE before each
    family's samples, each family's lines together, no duplicate series.
    Returns {name: {frozenset(labels): value}} and {family: type}."""
    check(text.endswith("\n"), "ends with a newline")
    series, types, helps, done, current = {}, {}, set(), set(), None
    for line in text.rstrip("\n").split("\n"):
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            check(name not in helps and name not in done, "one HELP per family", name)
            helps.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            check(name in helps and name not in types, "TYPE after HELP", name)
            types[name] = kind
            if current:
                done.add(current)
            current = name
            continue
        m = SAMPLE.match(line)
        check(m, "a sample line", line)
        name, labels, value = m.groups()
        family = re.sub(r"_(sum|count)$", "", name) if types.get(current) == "summary" else name
        check(family == current and family not in done, "samples under their family", line)
        pairs = LABEL.findall(labels or "")
        check(",".join('%s="%s"' % p for p in pairs) == (labels or ""), "labels", line)
        key = frozenset(pairs)
        check(key not in series.setdefault(name, {}), "duplicate series", line)
        series[name][key] = float(value)
    return series, types


def only(series, name, **labels):
    """The value of the one series of name whose labels include these."""
    hits = [v for k, v in series[name].items() if set(labels.items()) <= set(k)]
    check(len(hits) == 1, "one series", name, labels, series.get(name))
    return hits[0]


def test_metrics_file_holds_the_runs_figures():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:60", "--fault", "429=0.15", "--retry-after", "50ms")
        inp = w.file("in.csv", users_csv(60) + "Apps,not a upn\nApps,nobody@contoso.com\n")
        prom = os.path.join(w.path, "textfile", "rabulk.prom")
        os.mkdir(os.path.dirname(prom))
        t0 = time.time()
        r = rabulk(w, "disconnect", *target(emu, "--concurrency", "8"), "--metrics-file", prom,
                   "--summary-json", os.path.join(w.path, "s.json"), "--quiet", inp)
        t1 = time.time()
        check(r.code == 1, "exit code (an invalid row)", r.code, r.stderr)
        summary = json.load(open(os.path.join(w.path, "s.json")))
        series, types = parse_metrics(open(prom).read())
        labels = {"operation": "disconnect", "service": "remoteapp", "shard": ""}
        for name, values in series.items():
            for key in values:
                check(set(labels.items()) <= set(key), "labels operation, service, shard", name, key)
        rows = {dict(k)["status"]: v for k, v in series["rabulk_last_run_rows"].items()}
        check(rows == {k: float(v) for k, v in summary["status"].items()}, "rows per status",
              rows, summary["status"])
        check(rows["succeeded"] + rows["no_session"] == 61 and rows["invalid"] == 1, "outcomes", rows)
        check(by_status(r.rows()) == {k: int(v) for k, v in rows.items() if v}, "as the report")
        for name, key in (("requests", "requests"), ("polls", "polls"), ("retries", "retries"),
                          ("throttled_responses", "throttled")):
            check(only(series, "rabulk_last_run_" + name) == summary[key], name,
                  only(series, "rabulk_last_run_" + name), summary[key])
        check(summary["throttled"] > 0 and summary["retries"] > 0, "the faults were met", summary)
        check(abs(only(series, "rabulk_last_run_paused_seconds") - summary["paused_ms"] / 1000) < 0.002,
              "paused")
        duration = only(series, "rabulk_last_run_duration_seconds")
        check(0 < duration <= t1 - t0, "duration", duration)
        rate = only(series, "rabulk_last_run_rows_per_second")
        check(abs(rate - 62 / duration) < 0.01 * rate + 0.01, "rows/s", rate, duration)
        check(types["rabulk_last_run_latency_seconds"] == "summary", "latency is a summary")
        for q, key in (("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99")):
            got = only(series, "rabulk_last_run_latency_seconds", quantile=q)
            check(abs(got - summary["latency_ms"][key] / 1000) < 0.0015, "latency " + q, got, summary)
        check(only(series, "rabulk_last_run_latency_seconds_count") == 61, "timed rows")
        check(abs(only(series, "rabulk_last_run_latency_max_seconds") * 1000 -
                  summary["latency_ms"]["max"]) < 0.5, "max latency")
        check(only(series, "rabulk_last_run_exit_code") == 1, "exit code")
        end = only(series, "rabulk_last_run_timestamp_seconds")
        check(t0 <= end <= t1 + 0.001, "end time", t0, end, t1)
        check(only(series, "rabulk_last_success_timestamp_seconds") == 0, "no success yet")
        check(all(t == "gauge" for n, t in types.items() if n != "rabulk_last_run_latency_seconds"),
              "gauges", types)
        check(os.listdir(os.path.dirname(prom)) == ["rabulk.prom"], "nothing else in the folder",
              os.listdir(os.path.dirname(prom)))
        check(os.stat(prom).st_mode & 0o777 == 0o644, "readable by the node exporter")


def test_promtool_accepts_the_metrics():
    if not shutil.which("promtool"):
        raise Skip("promtool is not installed (scripts/deps.sh promtool)")
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:5")
        prom = os.path.join(w.path, "rabulk.prom")
        for shard in ("1/2", "2/2"):
            r = rabulk(w, "disconnect", *target(emu), "--shard", shard, "--metrics-file", prom,
                       w.file("in.csv", users_csv(5)))
            check(r.code == 0, "exit code", r.code, r.stderr)
            p = subprocess.run(["promtool", "check", "metrics"], stdin=open(prom), capture_output=True,
                               text=True)
            check(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(),
                  "promtool check metrics", p.returncode, p.stdout, p.stderr)
            series, _ = parse_metrics(open(prom).read())
            check(only(series, "rabulk_last_run_exit_code", shard=shard) == 0, "shard label " + shard)


def test_example_alert_rules_fire_as_documented():
    """examples/prometheus/rabulk-alerts.yml, loaded by promtool and run on
    made-up series (tests/data/prometheus/rabulk-alerts.test.yml)."""
    if not shutil.which("promtool"):
        raise Skip("promtool is not installed (scripts/deps.sh promtool)")
    for cmd in (["check", "rules", os.path.join(ROOT, "examples", "prometheus", "rabulk-alerts.yml")],
                ["test", "rules", os.path.join(ROOT, "tests", "data", "prometheus", "rabulk-alerts.test.yml")]):
        p = subprocess.run(["promtool", *cmd], capture_output=True, text=True)
        check(p.returncode == 0 and "SUCCESS" in p.stdout, "promtool " + " ".join(cmd[:2]),
              p.stdout, p.stderr)


def test_metrics_file_is_replaced_whole_and_keeps_the_last_success():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:20")
        prom = os.path.join(w.path, "rabulk.prom")
        good = w.file("good.csv", users_csv(20))
        r = rabulk(w, "disconnect", *target(emu), "--metrics-file", prom, good, report="r1.csv")
        check(r.code == 0, "first run", r.code, r.stderr)
        first_inode = os.stat(prom).st_ino
        first, _ = parse_metrics(open(prom).read())
        success = only(first, "rabulk_last_success_timestamp_seconds")
        check(success == only(first, "rabulk_last_run_timestamp_seconds"), "a success is its own end")

        time.sleep(0.05)
        bad = w.file("bad.csv", users_csv(3) + "Apps,not a upn\n")
        r = rabulk(w, "logoff", "--yes", *target(emu), "--metrics-file", prom, bad, report="r2.csv")
        check(r.code == 1, "second run fails a row", r.code, r.stderr)
        text = open(prom).read()
        second, _ = parse_metrics(text)  # no duplicate series: replaced, not appended
        check(os.stat(prom).st_ino != first_inode, "a new file renamed over the old one")
        check(text.count("# TYPE rabulk_last_run_exit_code") == 1, "one run in the file")
        check(only(second, "rabulk_last_run_exit_code", operation="logoff") == 1, "second run's code")
        check(only(second, "rabulk_last_success_timestamp_seconds") == 0,
              "another operation's success is not carried over")

        r = rabulk(w, "logoff", "--yes", *target(emu), "--metrics-file", prom, good, report="r3.csv")
        check(r.code == 0, "third run", r.code, r.stderr)
        third, _ = parse_metrics(open(prom).read())
        success = only(third, "rabulk_last_success_timestamp_seconds")
        r = rabulk(w, "logoff", "--yes", *target(emu), "--metrics-file", prom, bad, report="r4.csv")
        fourth, _ = parse_metrics(open(prom).read())
        check(only(fourth, "rabulk_last_success_timestamp_seconds") == success, "kept across a failure")
        check(only(fourth, "rabulk_last_run_timestamp_seconds") > success, "the failed run's own end")
        check(sorted(f for f in os.listdir(w.path) if f.startswith("rabulk.prom")) == ["rabulk.prom"],
              "no temporary file left", os.listdir(w.path))

        r = rabulk(w, "disconnect", *target(emu), "--metrics-file",
                   os.path.join(w.path, "missing", "rabulk.prom"), good, report="r5.csv")
        check(r.code == 4 and "cannot write metrics" in r.stderr, "an unwritable file is exit 4",
              r.code, r.stderr)
        check(not os.path.exists(os.path.join(w.path, "missing")), "nothing made")


def test_stopped_run_writes_metrics_with_exit_code_3():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3000", "--op-delay", "1500", "--log-max", "1")
        prom = os.path.join(w.path, "rabulk.prom")
        report = os.path.join(w.path, "report.csv")
        p = subprocess.Popen([RABULK, "disconnect", *target(emu, "--concurrency", "16",
                              "--poll-interval", "200ms"), "--report", report, "--metrics-file", prom,
                              w.file("in.csv", users_csv(3000))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        check(not os.path.exists(prom), "written at the end, not before")
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        check(p.returncode == 3, "exit code", p.returncode, err)
        series, _ = parse_metrics(open(prom).read())
        check(only(series, "rabulk_last_run_exit_code") == 3, "the stopped run's exit code")
        rows = {dict(k)["status"]: v for k, v in series["rabulk_last_run_rows"].items()}
        check(sum(rows.values()) == 3000 and rows["not_attempted"] > 1000, "every row counted", rows)
        check(only(series, "rabulk_last_run_requests") > 0, "requests counted")
        check(os.listdir(w.path).count("rabulk.prom") == 1 and
              not [f for f in os.listdir(w.path) if f.startswith("rabulk.prom.")], "no temporary file")


def test_drain_writes_metrics_too():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:4")
        prom = os.path.join(w.path, "rabulk.prom")
        r = rabulk(w, "drain", "Apps", *target(emu), "--message", "bye", "--grace", "200ms",
                   "--metrics-file", prom)
        check(r.code == 0, "exit code", r.code, r.stderr)
        series, _ = parse_metrics(open(prom).read())
        rows = {dict(k)["status"]: v for k, v in series["rabulk_last_run_rows"].items()}
        check(only(series, "rabulk_last_run_exit_code", operation="drain") == 0 and
              rows["succeeded"] == 8, "a drain's two phases", rows)
