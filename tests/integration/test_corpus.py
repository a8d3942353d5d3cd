"""The malformed-input corpus (tests/data/malformed, made by gen_malformed.py)
and the real-tools corpus (tests/data/realtools, gen_realtools.py):
every case through `rabulk disconnect --dry-run`, its report checked row by
row against the expectation written beside it. Plus the cases too big to
commit (a 10 MB field), made here."""
import glob
import json
import os

from harness import ROOT, Workdir, by_status, check, rabulk

CORPUS = os.path.join(ROOT, "tests", "data", "malformed")
REALTOOLS = os.path.join(ROOT, "tests", "data", "realtools")


def run_case(w, path, exp):
    r = rabulk(w, "disconnect", "--dry-run", "--collection", "Dflt", *exp["args"], path,
               report="r.csv")
    name = os.path.basename(path)
    check(r.code in (0, 1, 2), name + ": crashed", r.code, r.stderr[-500:])
    check(r.code == exp["exit"], name + ": exit code", r.code, r.stderr[-300:])
    if r.code == 2:
        check(name[:3] in r.stderr or os.path.basename(path) in r.stderr, name + ": names the file",
              r.stderr)
        return
    # Rows by line, in report order (a dry run reports in input order); the
    # elements of a one-line JSON array share line 1.
    rows = {}
    for row in r.rows():
        rows.setdefault(row["line"], []).append(row)
    wanted = {}
    for line, status, why in exp["rows"]:
        wanted.setdefault(str(line), []).append((status, why))
    for line, want in wanted.items():
        got = rows.get(line, [])
        check(len(got) >= len(want), name + ": rows for line %s" % line, len(got), sorted(rows))
        for row, (status, why) in zip(got, want):
            check(row["status"] == status, name + ": line %s status" % line, row["status"],
                  row["error_message"])
            check(why in row["error_message"], name + ": line %s reason" % line,
                  repr(row["error_message"]), "wanted", repr(why))
    if exp["complete"]:
        n = sum(len(v) for v in rows.values())
        check(n == len(exp["rows"]), name + ": row count", n, len(exp["rows"]))


def run_corpus(folder, at_least):
    expects = sorted(glob.glob(os.path.join(folder, "*.expect.json")))
    check(len(expects) >= at_least, "corpus size", len(expects))
    failures = []
    with Workdir() as w:
        for e in expects:
            exp = json.load(open(e))
            try:
                run_case(w, os.path.join(folder, exp["input"]), exp)
            except AssertionError as err:
                failures.append(str(err))
    check(not failures, "%d of %d cases failed:\n  " % (len(failures), len(expects)) +
          "\n  ".join(failures[:40]))


def test_malformed_corpus():
    run_corpus(CORPUS, 200)


def test_real_tools_corpus():
    """Lists as PowerShell, Excel and az write them, in every encoding they use."""
    run_corpus(REALTOOLS, 50)


def test_ten_megabyte_field():
    with Workdir() as w:
        big = "x" * (10 * 1024 * 1024)
        p = w.file("big.csv", "CollectionName,UserUpn,Note\nApps,a@contoso.com,\"%s\"\n"
                              "Apps,b@contoso.com,ok\n" % big)
        r = rabulk(w, "disconnect", "--dry-run", p)
        rows = {x["line"]: x for x in r.rows()}
        check(r.code == 1, "exit code", r.code, r.stderr)
        check(rows["2"]["status"] == "invalid" and "64 KiB" in rows["2"]["error_message"], "big row",
              rows["2"])
        check(rows["3"]["status"] == "planned", "next row", rows)
        j = w.file("big.json", '[{"CollectionName":"Apps","UserUpn":"a@contoso.com","n":"%s"},'
                               '{"CollectionName":"Apps","UserUpn":"b@contoso.com"}]' % big)
        r = rabulk(w, "disconnect", "--dry-run", j, report="j.csv")
        check(by_status(r.rows()) == {"invalid": 1, "planned": 1}, "json", by_status(r.rows()))


def test_keep_columns_dedup_and_dry_run():
    with Workdir() as w:
        p = w.file("in.csv", "Dept;UserUpn;CollectionName;Note\nIT;a@contoso.com;Apps;\"=cmd|x\"\n"
                             "HR;A@CONTOSO.COM;apps;dup\nOps;b@contoso.com;Apps;\n")
        r = rabulk(w, "disconnect", "--dry-run", "--keep-columns", p)
        check(r.code == 0, "exit code", r.code, r.stderr)
        head = open(r.report_path).readline().strip()
        check(head.endswith("latency_ms,Dept,Note"), "extra columns in the header", head)
        rows = r.rows()
        check([x["status"] for x in rows] == ["planned", "duplicate", "planned"], "statuses", rows)
        check(rows[0]["Dept"] == "IT" and rows[0]["Note"] == "'=cmd|x", "carried, guarded", rows[0])
        check("requests would be sent" in r.stderr, "dry-run summary", r.stderr)
        r = rabulk(w, "disconnect", "--dry-run", "--no-dedup", p, report="nd.csv")
        check(by_status(r.rows()) == {"planned": 3}, "--no-dedup", by_status(r.rows()))
