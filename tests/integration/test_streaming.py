"""Streaming: a 1,000,000-row CSV and a 1,000,000-element JSON array through
--dry-run with flat memory. Peak RSS comes from /usr/bin/time -v and is
printed; the 64 MiB bound is checked on normal builds only (sanitizers
multiply memory by design)."""
import os
import re
import subprocess

from harness import RABULK, Workdir, check

ROWS = 1_000_000
LIMIT_KIB = 64 * 1024


def peak_rss(w, path, name):
    report = os.path.join(w.path, name + ".csv")
    p = subprocess.run(["/usr/bin/time", "-v", RABULK, "disconnect", "--dry-run", "--quiet",
                        "--report", report, path], capture_output=True, text=True, timeout=600)
    check(p.returncode == 0, name + ": exit code", p.returncode, p.stderr[-400:])
    kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    with open(report, "rb") as f:
        lines = sum(1 for _ in f) - 1
    check(lines == ROWS, name + ": report rows", lines)
    print("    %s: %d rows, peak RSS %.1f MiB" % (name, ROWS, kib / 1024), flush=True)
    if not os.environ.get("SANITIZER"):
        check(kib < LIMIT_KIB, name + ": peak RSS over 64 MiB", kib)


def test_million_rows_csv_and_json_flat_memory():
    with Workdir() as w:
        csv_path = os.path.join(w.path, "big.csv")
        with open(csv_path, "w") as f:
            f.write("CollectionName,UserUpn\n")
            f.writelines("Apps,user%d@contoso.com\n" % i for i in range(ROWS))
        peak_rss(w, csv_path, "csv")
        os.unlink(csv_path)
        json_path = os.path.join(w.path, "big.json")
        with open(json_path, "w") as f:  # one line, ~60 MB: no line-based reader could cope
            f.write("[")
            f.write(",".join('{"CollectionName":"Apps","UserUpn":"user%d@contoso.com"}' % i
                             for i in range(ROWS)))
            f.write("]")
        peak_rss(w, json_path, "json")
