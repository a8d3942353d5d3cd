"""Conformance over the wire: for every recorded request to the live service,
rabulk sends the same thing (as captured by the emulator's request log), and
understands what the service answered.

Compared per request: method, path, query, x-ms-version, Accept,
Content-Type and a JSON-equal body. Operation ids differ by nature, so an
operationResults path is compared with the id replaced by {id}.
"""
import glob
import json
import os
import re

from harness import RECORDINGS, SUB, Workdir, check, rabulk

OP_BY_PATH = {"disconnect": "disconnect", "logoff": "logoff", "sendMessage": "message"}
GUID = re.compile(r"/operationResults/[0-9a-fA-F-]{36}")


def template(method, uri):
    path, _, query = uri.partition("?")
    return method, GUID.sub("/operationResults/{id}", path), query


def header(headers, name):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v[0] if isinstance(v, list) else v
    return None


def commands(entries):
    """The rabulk runs that make the requests of one recording, in order."""
    runs = []
    for e in entries:
        m = re.match(r"/[^/]+/services/rdst15/collections/([^/]+)/sessions(?:/(\w+))?\?",
                     e["RequestUri"])
        if not m:
            continue
        coll, op = m.group(1), m.group(2)
        if op is None:
            runs.append(("sessions", coll, None))
        else:
            body = json.loads(e["RequestBody"])
            runs.append((OP_BY_PATH[op], coll, body))
    return runs


def run_all(w, emu, runs):
    statuses = []
    for i, (cmd, coll, body) in enumerate(runs):
        common = ["--endpoint", emu.url, "--subscription", SUB, "--namespace", "rdst15",
                  "--poll-interval", "50ms"]
        if cmd == "sessions":
            r = rabulk(w, "sessions", *common, coll, report=None)
            check(r.code == 0, "sessions exit", r.code, r.stderr)
            check(r.stdout.startswith("CollectionName,UserUpn,State,LogonTimeUtc"), "list output")
            statuses.append(("sessions", r.stdout))
            continue
        extra = ["--yes"] if cmd == "logoff" else []
        if "Message" in body:
            extra += ["--text", body["Message"]]
        inp = w.file("in%d.csv" % i, "CollectionName,UserUpn\n%s,%s\n" % (coll, body["UserUpn"]))
        r = rabulk(w, cmd, *common, *extra, inp, report="r%d.csv" % i)
        statuses.append((cmd, r.rows()[0]))
    return statuses


def check_recording(path):
    rec = json.load(open(path))
    entries = rec["Entries"]
    check(rec["Variables"]["SubscriptionId"] == SUB, "recorded subscription")
    with Workdir() as w:
        seed = w.file("seed.csv", "CollectionName,UserUpn\nsimple,yadavb@hotmail.com\n")
        emu = w.emulator("--namespace", "rdst15", "--subscription", SUB, "--seed", seed,
                         "--op-delay", "100")
        outcomes = run_all(w, emu, commands(entries))
        sent = emu.requests()
        by_shape = {}
        for s in sent:
            by_shape.setdefault(template(s["method"], s["path"] + "?" + s["query"]), []).append(s)
        for e in entries:
            shape = template(e["RequestMethod"], e["RequestUri"])
            check(shape in by_shape, "rabulk sent " + " ".join(shape), sorted(by_shape))
            ours = by_shape[shape][0]
            for h in ("x-ms-version", "Accept", "Content-Type"):
                check(header(ours["headers"], h) == header(e["RequestHeaders"], h),
                      "%s header of %s" % (h, shape[1]), header(ours["headers"], h))
            if e["RequestBody"]:
                check(json.loads(ours["body"]) == json.loads(e["RequestBody"]), "body",
                      ours["body"], e["RequestBody"])
            else:
                check(ours["body"] == "", "empty body", ours["body"])
        return entries, outcomes


def expected_outcome(entries):
    posts = [e for e in entries if e["RequestMethod"] == "POST"]
    return "failed" if posts and posts[0]["StatusCode"] == 404 else "succeeded"


def test_recordings_over_the_wire():
    files = sorted(glob.glob(os.path.join(RECORDINGS, "*.json")))
    check(len(files) >= 3, "recordings found in " + RECORDINGS, files)
    for path in files:
        entries, outcomes = check_recording(path)
        want = expected_outcome(entries)
        for cmd, out in outcomes:
            if cmd == "sessions":
                continue
            check(out["status"] == want, os.path.basename(path) + " outcome", out)
            if want == "failed":
                check(out["error_code"] == "CollectionDoesNotExist", "error code", out)
