"""AVD conformance over the wire: for every recorded exchange rabulk makes
(../shared/conformance/avd-recordings: live traffic of Microsoft's own
Az.DesktopVirtualization tests), rabulk sends the same request — method,
path with its case, query, Content-Type and a JSON-equal body — to a
stand-in on 127.0.0.1 that answers exactly as the live service did, and
reads that answer right (200 or 204 empty: succeeded; 404 "User session ID
not found" / "does not exist": no_session; a list page: its sessions).

The api-version is rabulk's (2025-10-10) where a recording used an older
one, and a logoff adds force=true (DESIGN section 8; the recorded
Remove-AzWvdUserSession ran without -Force); every other query parameter
must match. Exchanges rabulk never makes
(GET of one session, lists per session host) are skipped, and counted so
that a recording losing all its usable exchanges fails the test.
"""
import csv
import glob
import io
import json
import os
import re
import urllib.parse

from harness import ROOT, FakeService, Workdir, check, rabulk

AVD_RECORDINGS = os.environ.get(
    "RABULK_AVD_RECORDINGS", os.path.join(ROOT, "..", "shared", "conformance", "avd-recordings"))
API = "2025-10-10"
POOL = re.compile(r"^(/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/"
                  r"Microsoft\.DesktopVirtualization/hostPools/([^/]+))(/.*)?$")


def exchanges():
    for f in sorted(glob.glob(os.path.join(AVD_RECORDINGS, "*.Recording.json"))):
        with open(f, encoding="utf-8") as fh:
            for key, e in json.load(fh).items():
                yield os.path.basename(f), e["Request"], e["Response"]


def what(method, path):
    """The rabulk run that makes this request, or None."""
    m = POOL.match(path)
    if not m:
        return None
    rest = m.group(4) or ""
    if method == "GET" and rest == "/userSessions":
        return "list"
    if re.fullmatch(r"/sessionHosts/[^/]+/userSessions/[^/]+/disconnect", rest) and method == "POST":
        return "disconnect"
    if re.fullmatch(r"/sessionHosts/[^/]+/userSessions/[^/]+/sendMessage", rest) and method == "POST":
        return "message"
    if re.fullmatch(r"/sessionHosts/[^/]+/userSessions/[^/]+", rest) and method == "DELETE":
        return "logoff"
    return None


def replay(resp):
    """An answer(method, path, body) that answers as recorded."""
    headers = [(k, v[0] if isinstance(v, list) else v) for k, v in resp["Headers"].items()
               if k.lower() not in ("content-length", "transfer-encoding", "set-cookie")]
    for k, v in (resp.get("ContentHeaders") or {}).items():
        if k.lower() != "content-length":
            headers.append((k, v[0] if isinstance(v, list) else v))
    body = resp.get("Content") or ""
    return lambda method, path, b: (resp["StatusCode"], headers, body)


def query_of(uri):
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query, keep_blank_values=True))
    if "api-version" in q:
        q["api-version"] = API
    return q


def header(h, name):
    for k, v in (h or {}).items():
        if k.lower() == name.lower():
            return v[0] if isinstance(v, list) else v
    return None


def test_every_recorded_exchange_over_the_wire():
    done = {"list": 0, "disconnect": 0, "logoff": 0, "message": 0}
    for name, req, resp in exchanges():
        uri = urllib.parse.urlsplit(req["RequestUri"])
        kind = what(req["Method"], uri.path)
        if not kind:
            continue
        m = POOL.match(uri.path)
        sub = m.group(1).split("/")[2]
        with Workdir() as w, FakeService(replay(resp)) as svc:
            common = ["--service", "avd", "--endpoint", svc.url, "--subscription", sub]
            env = {"RABULK_ACCESS_TOKEN": "test-token"}
            if kind == "list":
                r = rabulk(w, "sessions", *common, "%s/%s" % (m.group(2), m.group(3)),
                           report=None, env=env)
                check(r.code == 0, name, "sessions exit", r.code, r.stderr)
                want = len(json.loads(resp["Content"])["value"])
                got = list(csv.DictReader(io.StringIO(r.stdout)))
                check(len(got) == want, name, "sessions listed", len(got), want)
                for row in got:  # host and id as the resource id spells them
                    check(re.search(r"/sessionhosts/([^/]+)/usersessions/([^/]+)$", row["Id"],
                                    re.I).groups() == (row["SessionHost"], row["SessionId"]),
                          name, "id and names agree", row)
            else:
                body = json.loads(req["Content"]) if req.get("Content") else None
                path = os.path.join(w.path, "in.csv")
                with open(path, "w") as f:
                    f.write("Id,UserPrincipalName\n%s,someone@contoso.com\n" %
                            re.sub(r"/(disconnect|sendMessage)$", "", uri.path))
                extra = {"message": ["--text", body["messageBody"] if body else "",
                                     "--title", body["messageTitle"] if body else ""],
                         "logoff": ["--yes"]}.get(kind, [])
                r = rabulk(w, kind, *common, *extra, "in.csv", env=env)
                rows = r.rows()
                check(len(rows) == 1, name, "one report row", rows, r.stderr)
                status = rows[0]["status"]
                if resp["StatusCode"] in (200, 204):
                    check(status == "succeeded" and r.code == 0, name, "succeeded", rows[0], r.stderr)
                else:
                    check(status == "no_session" and r.code == 0, name, "404 read as no_session",
                          rows[0], r.stderr)
                sh, sid = re.search(r"/sessionHosts/([^/]+)/userSessions/([^/]+)", uri.path).groups()
                check(rows[0]["sessions"] == "%s/%s" % (sh, sid), name, "sessions column", rows[0])
            sent = svc.requests()
            check(len(sent) == 1, name, "one request", [(s["method"], s["path"]) for s in sent])
            s = sent[0]
            check(s["method"] == req["Method"], name, "method", s["method"])
            check(s["path"] == uri.path, name, "path (case included)", s["path"], uri.path)
            want_q = query_of(req["RequestUri"])
            if kind == "logoff":  # the recording ran without -Force; DESIGN section 8 forces
                want_q["force"] = "true"
            check(query_of("?" + s["query"]) == want_q, name, "query", s["query"], uri.query)
            want_ct = header(req.get("ContentHeaders"), "Content-Type")
            check(header(s["headers"], "Content-Type") == want_ct, name, "Content-Type",
                  header(s["headers"], "Content-Type"), want_ct)
            if req.get("Content"):
                check(json.loads(s["body"]) == json.loads(req["Content"]), name, "body",
                      s["body"], req["Content"])
            else:
                check(s["body"] == "", name, "no body", s["body"])
            check(header(s["headers"], "Authorization") == "Bearer test-token", name, "bearer")
            check(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                               header(s["headers"], "x-ms-client-request-id") or ""),
                  name, "x-ms-client-request-id", s["headers"])
            check(header(s["headers"], "Accept") == "application/json", name, "Accept")
            done[kind] += 1
    for kind, n in done.items():
        check(n > 0, "recordings exercised", kind, done)


def test_a_pool_row_lists_once_then_acts_on_the_recorded_session():
    """Lookup over recorded answers: the live host-pool list (3 sessions, all
    disconnected), then the recorded logoff answer (204) for the one that
    matches; a disconnect of the same user has nothing to do."""
    listing = None
    for name, req, resp in exchanges():
        if name.startswith("Get-AzWvdUserSession.2024") and req["RequestUri"].split("?")[0].endswith(
                "/alecbUserSessionHP/userSessions"):
            listing = resp
    delete = next(resp for name, req, resp in exchanges() if req["Method"] == "DELETE")
    sessions = json.loads(listing["Content"])["value"]
    upn = sessions[0]["properties"]["userPrincipalName"]
    list_answer, act_answer = replay(listing), replay(delete)

    def answer(method, path, body):
        return (list_answer if method == "GET" else act_answer)(method, path, body)

    with Workdir() as w, FakeService(answer) as svc:
        with open(os.path.join(w.path, "in.csv"), "w") as f:
            f.write("HostPool,UserPrincipalName\nalecbUserSessionTests/alecbUserSessionHP,%s\n"
                    "alecbUserSessionTests/alecbUserSessionHP,%s\n" % (upn.upper(), "nobody@contoso.com"))
        common = ["--service", "avd", "--endpoint", svc.url, "--subscription",
                  "dbedef25-184c-430f-b383-0eeb87c3205d", "in.csv"]
        r = rabulk(w, "disconnect", *common, env={"RABULK_ACCESS_TOKEN": "t"})
        check(r.code == 0 and [x["status"] for x in r.rows()] == ["no_session"] * 2,
              "disconnect: every session is disconnected already", r.rows(), r.stderr)
        check(all(s["method"] == "GET" for s in svc.requests()), "nothing but the list", svc.requests())
        svc.log.clear()
        r = rabulk(w, "logoff", "--yes", *common, env={"RABULK_ACCESS_TOKEN": "t"})
        rows = {x["upn"]: x for x in r.rows()}
        check(r.code == 0, "exit", r.code, r.stderr)
        sent = svc.requests()
        check([s["method"] for s in sent].count("GET") == 1, "the pool listed once", sent)
        posts = [s for s in sent if s["method"] == "DELETE"]
        sh, sid = sessions[0]["name"].split("/")[1:]
        check(len(posts) == 1 and posts[0]["path"].endswith("/sessionHosts/%s/userSessions/%s" % (sh, sid))
              and posts[0]["query"] == "api-version=2025-10-10&force=true",
              "the matching session, its host spelled as listed", posts)
        check(rows[upn.upper()]["status"] == "succeeded" and rows[upn.upper()]["sessions"] == "%s/%s" % (sh, sid),
              "row", rows)
        check(rows["nobody@contoso.com"]["status"] == "no_session", "no session", rows)


def test_drain_and_undrain_patch_session_hosts_as_recorded():
    """Update-AzWvdSessionHost's PATCHes (allowNewSession false, then true),
    as rabulk drain and rabulk undrain send them."""
    ex = [(req, resp) for name, req, resp in exchanges() if name.startswith("Update-AzWvdSessionHost")]
    patches = [(req, resp) for req, resp in ex if req["Method"] == "PATCH"]
    host_now = [resp for req, resp in ex if req["Method"] == "GET"][-1]  # allowNewSession true
    check(len(patches) == 2 and json.loads(host_now["Content"])["properties"]["allowNewSession"],
          "the recording has both PATCHes", len(patches))
    uri = urllib.parse.urlsplit(patches[0][0]["RequestUri"])
    m = POOL.match(uri.path)
    sub, rg, hp = m.group(1).split("/")[2], m.group(2), m.group(3)
    listing = json.dumps({"value": [json.loads(host_now["Content"])], "nextLink": None})
    answers = {"drain": replay(patches[0][1]), "undrain": replay(patches[1][1])}
    with Workdir() as w:
        for cmd, (req, _) in zip(("drain", "undrain"), patches):
            def answer(method, path, body, cmd=cmd):
                if method == "PATCH":
                    return answers[cmd](method, path, body)
                if path.endswith("/sessionHosts"):
                    return 200, [("Content-Type", "application/json")], listing
                return 200, [("Content-Type", "application/json")], '{"value":[],"nextLink":null}'

            with FakeService(answer) as svc:
                common = ["--service", "avd", "--endpoint", svc.url, "--subscription", sub]
                env = {"RABULK_ACCESS_TOKEN": "t"}
                if cmd == "drain":
                    r = rabulk(w, "drain", *common, "--message", "bye", "--grace", "1s", "--yes",
                               "%s/%s" % (rg, hp), env=env, report="drain.csv")
                else:  # the drain's report says what to put back
                    r = rabulk(w, "undrain", *common, "--input", "drain.csv", "%s/%s" % (rg, hp),
                               env=env, report="undrain.csv")
                check(r.code == 0, cmd, r.code, r.stderr)
                rows = [x for x in r.rows() if x["operation"] == cmd]
                check(len(rows) == 1 and rows[0]["status"] == "succeeded" and
                      rows[0]["sessions"] == "auto2-0=true", cmd, "host row", rows)
                sent = [s for s in svc.requests() if s["method"] == "PATCH"]
                check(len(sent) == 1, cmd, "one PATCH", sent)
                s = sent[0]
                check(s["path"] == uri.path and s["query"] == "api-version=2025-10-10", cmd,
                      "path", s["path"], s["query"])
                check(json.loads(s["body"]) == json.loads(req["Content"]), cmd, "body", s["body"])
                check(header(s["headers"], "Content-Type") == "application/json", cmd,
                      "Content-Type")
