"""--shard K/N: the shards of one list, together, are the list — exactly."""
import os
import random
import subprocess

from harness import RABULK, SUB, Workdir, by_status, check, rabulk, target


def make_input(rows):
    lines = ["Apps,user%d@contoso.com" % i for i in range(1, rows + 1)]
    lines += ["Apps,not an upn", "x,bad@contoso.com", "Apps,USER7@contoso.com"]  # invalid, dup
    return lines


def shard_reports(w, inp, n, tag):
    paths = []
    for k in range(1, n + 1):
        r = rabulk(w, "disconnect", "--dry-run", "--quiet", "--shard", "%d/%d" % (k, n), inp,
                   report="%s-%d-%d.csv" % (tag, n, k))
        check(r.code in (0, 1), "shard %d/%d exit" % (k, n), r.code, r.stderr)
        paths.append(r.report_path)
    return paths


def read_keys(path):
    import csv
    with open(path, newline="") as f:
        return [(r["line"], r["collection"], r["upn"], r["status"]) for r in csv.DictReader(f)]


def test_shards_partition_the_input_for_1_to_8():
    with Workdir() as w:
        lines = make_input(1500)
        for order in ("as-is", "shuffled"):
            if order == "shuffled":
                random.Random(3).shuffle(lines)
            inp = w.file("in-%s.csv" % order, "CollectionName,UserUpn\n" + "\n".join(lines) + "\n")
            whole = read_keys(rabulk(w, "disconnect", "--dry-run", "--quiet", inp,
                                     report="whole-%s.csv" % order).report_path)
            for n in range(1, 9):
                paths = shard_reports(w, inp, n, order)
                rows = [row for p in paths for row in read_keys(p)]
                # independently: the union is the whole run's rows, none twice
                check(sorted(rows) == sorted(whole), "%s N=%d: union == whole" % (order, n),
                      len(rows), len(whole))
                check(len(set(rows)) == len(rows), "%s N=%d: no overlap" % (order, n))
                merged = subprocess.run([RABULK, "report", "merge", "--input", inp, *paths],
                                        capture_output=True, text=True, timeout=60)
                check(merged.returncode == 0, "%s N=%d: report merge" % (order, n),
                      merged.stderr[-300:])
                check(merged.stdout.count("\n") - 1 == len(whole), "merged rows",
                      merged.stdout.count("\n") - 1)


def test_report_merge_finds_overlaps_and_gaps():
    with Workdir() as w:
        inp = w.file("in.csv", "CollectionName,UserUpn\n" + "\n".join(make_input(300)) + "\n")
        a, b, c = shard_reports(w, inp, 3, "t")
        r = subprocess.run([RABULK, "report", "merge", "--input", inp, a, b],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and "in no report" in r.stderr, "a missing shard", r.stderr[-300:])
        r = subprocess.run([RABULK, "report", "merge", a, b, c, a],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and "pairs in two reports" in r.stderr, "an overlap",
              r.stderr[-300:])


def test_four_shards_at_once_disconnect_everyone_once():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:4000", "--latency", "5", "--log-max", "1")
        inp = w.file("in.csv", "CollectionName,UserUpn\n" +
                     "".join("Apps,user%d@contoso.com\n" % i for i in range(1, 4001)))
        procs = [subprocess.Popen([RABULK, "disconnect", *target(emu), "--quiet",
                                   "--shard", "%d/4" % k, "--report",
                                   os.path.join(w.path, "s%d.csv" % k), inp],
                                  stderr=subprocess.PIPE, text=True) for k in range(1, 5)]
        for p in procs:
            _, err = p.communicate(timeout=120)
            check(p.returncode == 0, "shard exit", p.returncode, err)
        seen = [s for s in emu.state()["sessions"]]
        check(len(seen) == 4000 and all(s["state"] == "Disconnected" and
                                        s["operations"]["disconnect"] == 1 for s in seen),
              "every session disconnected exactly once")
        sizes = [len(read_keys(os.path.join(w.path, "s%d.csv" % k))) for k in range(1, 5)]
        check(sum(sizes) == 4000 and min(sizes) > 800, "balanced shards", sizes)


def test_shard_auto_from_kubernetes_and_slurm():
    with Workdir() as w:
        inp = w.file("in.csv", "CollectionName,UserUpn\n" + "\n".join(make_input(200)) + "\n")
        explicit = read_keys(rabulk(w, "disconnect", "--dry-run", "--shard", "3/4", inp,
                                    report="e.csv").report_path)
        k8s = rabulk(w, "disconnect", "--dry-run", "--shard", "auto", "--shards", "4", inp,
                     report="k.csv", env={"JOB_COMPLETION_INDEX": "2"})
        slurm = rabulk(w, "disconnect", "--dry-run", "--shard", "auto", inp, report="s.csv",
                       env={"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "5",
                            "SLURM_ARRAY_TASK_COUNT": "4"})
        check(read_keys(k8s.report_path) == explicit, "JOB_COMPLETION_INDEX=2 is shard 3/4")
        check(read_keys(slurm.report_path) == explicit, "SLURM task 7 of 5..8 is shard 3/4")
        check("shard 3/4" in k8s.stderr, "the summary names the shard", k8s.stderr)
        bad = rabulk(w, "disconnect", "--dry-run", "--shard", "auto", inp, report="b.csv")
        check(bad.code == 2 and "JOB_COMPLETION_INDEX" in bad.stderr, "auto without env",
              bad.stderr)
