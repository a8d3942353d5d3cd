"""Writes a corpus of input files, each with NNN-name.expect.json beside it
saying what the report must hold: the format test_corpus.py reads. Shared
by gen_malformed.py and gen_realtools.py."""
import json
import os
import shutil


def write_corpus(out, cases):
    """cases: (name, ext, data bytes, rows [(line, status, reason)], exit code,
    args, complete: no rows beyond those listed)."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for i, (name, ext, data, rows, exit_code, args, complete) in enumerate(cases, 1):
        base = os.path.join(out, "%03d-%s" % (i, name))
        with open(base + "." + ext, "wb") as f:
            f.write(data)
        with open(base + ".expect.json", "w") as f:
            json.dump({"input": os.path.basename(base) + "." + ext, "args": args, "exit": exit_code,
                       "rows": rows, "complete": complete}, f)
            f.write("\n")
    print("%d cases in %s" % (len(cases), out))
