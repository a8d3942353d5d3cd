"""rabulk --service avd end to end against the emulator over loopback: host
pools listed once (all pages), users matched without regard to case, one
request per session (users on two hosts, disconnected ones skipped as
DESIGN section 8 says), one report row per input row, every session acted
on at most once under 429/503 faults (checked in the emulator's state),
sessions gone between list and action, Get-AzWvdUserSession exports as
input, and the errors a person must see (missing pool or group, 403)."""
import csv
import io
import json
import os
import random
import subprocess
import threading
import time

from harness import RABULK, Emulator, Workdir, by_status, check
from harness import rabulk as run_rabulk


def rabulk(w, *args, **kw):
    """AVD takes a bearer token: the emulator's accepts any."""
    kw["env"] = dict({"RABULK_ACCESS_TOKEN": "test-token"}, **(kw.get("env") or {}))
    return run_rabulk(w, *args, **kw)

SUB = "6738509d-84ed-4ad6-974a-7dc4e3c34146"
POOLS = [("rg-east", "Pool-A"), ("rg-east", "Pool-B"), ("rg-west", "Pool-C")]


def seed(w, users=10000, hosts=20, rng=None):
    """A seed file: users spread over POOLS x hosts; every 10th user has a
    second session on the next host, every 5th is disconnected (all of its
    sessions). Returns (path, {upn: (rg, pool, [(host, state)])})."""
    rng = rng or random.Random(7)
    plan = {}
    lines = ["HostPool,SessionHost,UserPrincipalName,SessionState,ResourceGroup"]
    for i in range(users):
        rg, hp = POOLS[i % len(POOLS)]
        upn = "user%d@contoso.com" % i
        h = rng.randrange(hosts)
        state = "Disconnected" if i % 5 == 0 else "Active"
        sess = [("Host-%d" % h, state)]
        if i % 10 == 3:
            sess.append(("Host-%d" % ((h + 1) % hosts), state))
        plan[upn] = (rg, hp, sess)
        for host, st in sess:
            lines.append("%s,%s,%s,%s,%s" % (hp, host, upn, st, rg))
    path = os.path.join(w.path, "seed.csv")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, plan


def input_csv(w, plan, extra=(), name="in.csv", upper=True):
    rows = ["ResourceGroupName,HostPoolName,UserPrincipalName"]
    for upn, (rg, hp, _) in plan.items():
        rows.append("%s,%s,%s" % (rg, hp, upn.upper() if upper and upn.endswith("7@contoso.com") else upn))
    rows += list(extra)
    with open(os.path.join(w.path, name), "w") as f:
        f.write("\n".join(rows) + "\n")
    return name


def common(emu):
    return ["--service", "avd", "--endpoint", emu.url, "--subscription", SUB,
            "--retry-max-time", "60s"]


def sessions_of(emu):
    return emu.state()["avd"]["userSessions"]


def test_disconnect_10000_users_over_3_pools_with_faults():
    with Workdir() as w:
        path, plan = seed(w)
        emu = Emulator(w.path, "--avd-seed", path, "--page-size", "200",
                       "--fault", "429=0.03,503=0.02", "--retry-after", "20ms")
        try:
            name = input_csv(w, plan, extra=["rg-east,Pool-A,nobody@contoso.com"])
            r = rabulk(w, "disconnect", *common(emu), "--concurrency", "32", name,
                       "--summary-json", "sum.json")
            rows = r.rows()
            check(r.code == 0, "exit", r.code, r.stderr[-2000:])
            check(len(rows) == len(plan) + 1 and len({x["line"] for x in rows}) == len(rows),
                  "one report row per input row", len(rows))
            st = by_status(rows)
            want_ok = sum(1 for _, _, s in plan.values() if s[0][1] != "Disconnected")
            check(st.get("succeeded", 0) == want_ok, "every user with a live session", st)
            check(st.get("no_session", 0) == len(plan) + 1 - want_ok, "the rest", st)
            for x in rows:
                upn = x["upn"].lower()
                if upn in plan and plan[upn][2][0][1] != "Disconnected":
                    want = ";".join("%s/" % h for h, _ in plan[upn][2])
                    got = ";".join(s.split("/")[0] + "/" for s in x["sessions"].split(";"))
                    check(got == want, "sessions acted on, in list order", x, plan[upn])
            state = sessions_of(emu)
            for s in state:
                n = s["operations"]["disconnect"]
                check(n <= 1, "acted on at most once", s)
                check(n == (s["state"] == "Disconnected" and s["upn"] in plan and
                            plan[s["upn"]][2][0][1] != "Disconnected"),
                      "every live session once, no disconnected one", s)
            summary = json.load(open(os.path.join(w.path, "sum.json")))
            pages = summary["list_pages"]
            # 3 pools, each listed once: ceil(sessions / 200) pages each, plus retried pages
            need = sum(-(-sum(len(p[2]) for p in plan.values() if (p[0], p[1]) == pool) // 200)
                       for pool in POOLS)
            check(need <= pages <= need + 60, "each pool listed once", pages, need)
            log = emu.requests()
            lists = [q for q in log if q["method"] == "GET"]
            check(lists and all(q["query"].startswith("api-version=2025-10-10") for q in lists),
                  "api-version")
        finally:
            emu.stop()


def test_logoff_and_message_act_on_the_right_sessions_under_faults():
    with Workdir() as w:
        path, plan = seed(w, users=3000, hosts=20)
        emu = Emulator(w.path, "--avd-seed", path, "--page-size", "100",
                       "--fault", "429=0.03,503=0.03,reset=0.01", "--retry-after", "20ms")
        try:
            name = input_csv(w, plan)
            r = rabulk(w, "message", *common(emu), "--text", "Maintenance at 22:00",
                       "--title", "IT", "--concurrency", "16", name)
            rows = r.rows()
            check(len(rows) == len(plan), "one row each", len(rows))
            for s in sessions_of(emu):
                check(s["operations"]["sendMessage"] <= 1, "a pop-up at most once", s)
                if s["operations"]["sendMessage"]:
                    check(s["state"] == "Active", "only active sessions messaged", s)
                    check(s["lastMessage"] == {"title": "IT", "body": "Maintenance at 22:00"},
                          "title and body", s)
            failed = [x for x in rows if x["status"] == "failed"]
            # a reset after the work: not sent again (it may have popped up)
            check(all("not sent again" in x["error_message"] for x in failed), "why failed",
                  failed[:3])
            r = rabulk(w, "logoff", "--yes", *common(emu), "--concurrency", "16", name,
                       report="logoff.csv")
            check(r.code in (0, 1), "logoff exit", r.code, r.stderr[-1500:])
            st = by_status(r.rows())
            check(st.get("succeeded", 0) >= len(plan) * 0.97, "logged off", st)
            left = [s for s in sessions_of(emu) if not s["gone"]]
            ok = {x["upn"].lower() for x in r.rows() if x["status"] == "succeeded"}
            check(not any(s["upn"] in ok for s in left), "no session left of a succeeded row",
                  left[:3])
        finally:
            emu.stop()


def test_sessions_gone_between_list_and_action_are_no_session():
    """The pool is listed when its first row comes (read from a pipe); then
    half of the other users log off; their rows end no_session (the 404
    'User session ID not found'), not failed."""
    with Workdir() as w:
        path, plan = seed(w, users=200, hosts=4)
        emu = Emulator(w.path, "--avd-seed", path)
        try:
            users = [u for u, p in plan.items() if p[1] == "Pool-A" and p[2][0][1] == "Active"]
            p = subprocess.Popen([RABULK, "disconnect", *common(emu), "--report",
                                  os.path.join(w.path, "r.csv"), "-"],
                                 stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ, RABULK_ACCESS_TOKEN="t", HOME=w.path))
            p.stdin.write("ResourceGroupName,HostPool,UserPrincipalName\nrg-east,Pool-A,%s\n" % users[0])
            p.stdin.flush()
            deadline = time.monotonic() + 10
            while not any(q["method"] == "POST" for q in emu.requests()):
                check(time.monotonic() < deadline, "first row acted on")
                time.sleep(0.05)
            gone = users[1::2]
            by_upn = {}
            for s in sessions_of(emu):
                by_upn.setdefault(s["upn"], []).append(s)
            import urllib.request
            for u in gone:
                for s in by_upn[u]:
                    url = "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.DesktopVirtualization/hostPools/%s/sessionHosts/%s/userSessions/%d?api-version=2025-10-10&force=true" % (
                        emu.url, SUB, s["resourceGroup"], s["hostPool"], s["sessionHost"], s["id"])
                    urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10)
            for u in users[1:]:
                p.stdin.write("rg-east,Pool-A,%s\n" % u)
            p.stdin.close()
            err = p.stderr.read()
            check(p.wait(timeout=60) == 0, "exit", err)
            rows = list(csv.DictReader(open(os.path.join(w.path, "r.csv"))))
            st = {x["upn"]: x for x in rows}
            check(len(rows) == len(users), "every row", len(rows))
            for u in gone:
                check(st[u]["status"] == "no_session" and st[u]["http_status"] == "404",
                      "gone: no_session", st[u])
            for u in users[2::2]:
                check(st[u]["status"] == "succeeded", "still there: disconnected", st[u])
            check(sum(1 for q in emu.requests() if q["method"] == "GET") <= 2,
                  "the pool listed once (one or two pages)")
        finally:
            emu.stop()


def test_get_azwvdusersession_exports_as_input():
    """rabulk sessions writes what Get-AzWvdUserSession exports (Id, Name,
    UserPrincipalName, ...): as input, each row names its session and no
    list is fetched; PowerShell's own JSON export of the same reads alike."""
    with Workdir() as w:
        path, plan = seed(w, users=300, hosts=5)
        emu = Emulator(w.path, "--avd-seed", path, "--page-size", "50")
        try:
            r = rabulk(w, "sessions", *common(emu), "rg-east/Pool-A", "rg-west/Pool-C",
                       "--state", "Active", report=None)
            check(r.code == 0, "sessions", r.code, r.stderr)
            exported = list(csv.DictReader(io.StringIO(r.stdout)))
            want = sum(len(p[2]) for p in plan.values()
                       if p[1] in ("Pool-A", "Pool-C") and p[2][0][1] == "Active")
            check(len(exported) == want, "every active session listed", len(exported), want)
            with open(os.path.join(w.path, "export.csv"), "w") as f:
                f.write(r.stdout)
            # as ConvertTo-Json writes Get-AzWvdUserSession's objects
            ps = [{"Id": e["Id"], "Name": "%s/%s/%s" % (e["HostPool"].split("/")[-1], e["SessionHost"], e["SessionId"]),
                   "UserPrincipalName": e["UserPrincipalName"], "SessionState": 2,
                   "ResourceGroupName": e["HostPool"].split("/")[0]} for e in exported[:40]]
            with open(os.path.join(w.path, "export.json"), "w", encoding="utf-8-sig") as f:
                json.dump(ps, f, indent=4)
            # and a Name-only export (no Id): hostpool/host/id with ResourceGroupName
            with open(os.path.join(w.path, "names.csv"), "w") as f:
                f.write("Name,UserPrincipalName,ResourceGroupName\n")
                for e in exported[40:60]:
                    f.write("%s/%s/%s,%s,%s\n" % (e["HostPool"].split("/")[-1], e["SessionHost"],
                                                  e["SessionId"], e["UserPrincipalName"],
                                                  e["HostPool"].split("/")[0]))
            before = sum(1 for q in emu.requests() if q["method"] == "GET")
            r = rabulk(w, "disconnect", *common(emu), "export.csv", "--summary-json", "s.json")
            check(r.code == 0 and by_status(r.rows()) == {"succeeded": want}, "export acted on",
                  by_status(r.rows()), r.stderr[-1000:])
            check(json.load(open(os.path.join(w.path, "s.json")))["list_pages"] == 0, "no list")
            check(sum(1 for q in emu.requests() if q["method"] == "GET") == before, "no GET")
            for name in ("export.json", "names.csv"):
                r = rabulk(w, "logoff", "--yes", *common(emu), name, report=name + ".report.csv")
                check(r.code == 0 and set(by_status(r.rows())) == {"succeeded"}, name,
                      by_status(r.rows()), r.stderr[-1000:])
            gone = {(s["sessionHost"], str(s["id"]), s["hostPool"]) for s in sessions_of(emu) if s["gone"]}
            want = {(e["SessionHost"], e["SessionId"], e["HostPool"].split("/")[-1]) for e in exported[:60]}
            check(gone == want, "logged off through both exports: those sessions only",
                  len(gone), len(want))
        finally:
            emu.stop()


def test_missing_pool_or_group_fails_those_rows_and_403_stops_naming_the_role():
    with Workdir() as w:
        path, plan = seed(w, users=30, hosts=2)
        emu = Emulator(w.path, "--avd-seed", path)
        try:
            with open(os.path.join(w.path, "in.csv"), "w") as f:
                f.write("HostPool,UserPrincipalName\nrg-east/Pool-A,user0@contoso.com\n"
                        "rg-east/NoSuchPool,user1@contoso.com\nno-such-rg/Pool-A,user2@contoso.com\n"
                        "Pool-A,user3@contoso.com\n")
            r = rabulk(w, "disconnect", *common(emu), "in.csv")
            rows = {x["line"]: x for x in r.rows()}
            check(r.code == 1, "some failed: exit 1", r.code, r.stderr)
            check(rows["3"]["status"] == "failed" and rows["3"]["http_status"] == "404" and
                  "NoSuchPool" in rows["3"]["error_message"], "missing pool", rows["3"])
            check(rows["4"]["status"] == "failed" and rows["4"]["error_code"] == "ResourceGroupNotFound",
                  "missing group", rows["4"])
            check(rows["5"]["status"] == "invalid" and "resource group" in rows["5"]["error_message"],
                  "no group at all", rows["5"])
            r = rabulk(w, "disconnect", *common(emu), "--resource-group", "rg-east", "in.csv",
                       report="r2.csv")
            check({x["line"]: x["status"] for x in r.rows()}["5"] in ("succeeded", "no_session"),
                  "--resource-group fills it in", r.rows())
        finally:
            emu.stop()
        emu = Emulator(w.path, "--avd-seed", path, "--avd-forbid", "sessions")
        try:
            r = rabulk(w, "disconnect", *common(emu), "in.csv", report="r3.csv")
            check(r.code == 3, "403 stops the run: exit 3", r.code, r.stderr)
            check("Desktop Virtualization User Session Operator" in r.stderr, "names the role",
                  r.stderr)
            check(len(r.rows()) == 4, "still a row per input row", r.rows())
        finally:
            emu.stop()


def test_result_is_refused_and_emulator_needs_no_setup():
    with Workdir() as w:
        r = rabulk(w, "result", "--service", "avd", "x", report=None)
        check(r.code == 2 and "synchronous" in r.stderr, "result refused", r.code, r.stderr)
        with open(os.path.join(w.path, "in.csv"), "w") as f:
            f.write("HostPool,UserPrincipalName\n" + "".join(
                "rg/pool-%d,u%d@contoso.com\n" % (i % 3, i) for i in range(500)))
        r = rabulk(w, "disconnect", "--service", "avd", "--emulator", "in.csv")
        check(r.code == 0 and by_status(r.rows()) == {"succeeded": 500}, "--emulator",
              by_status(r.rows()), r.stderr)


def test_drain_closes_hosts_messages_logs_off_and_undrain_restores():
    """drain --service avd: every session host closed first (a host closed
    before stays closed after undrain), the active sessions messaged,
    everything left logged off (AVD's default --then); undrain --input puts
    the recorded values back."""
    with Workdir() as w:
        emu = Emulator(w.path, "--generate-avd", "rg-east/Pool-A:6:60", "--generate-avd",
                       "rg-east/Pool-B:3:20", "--page-size", "4")
        try:
            import urllib.request
            closed = "%s/subscriptions/%s/resourceGroups/rg-east/providers/Microsoft.DesktopVirtualization/hostPools/Pool-A/sessionHosts/Host-2?api-version=2025-10-10" % (emu.url, SUB)
            urllib.request.urlopen(urllib.request.Request(
                closed, method="PATCH", data=b'{"properties":{"allowNewSession":false}}',
                headers={"Content-Type": "application/json"}), timeout=10)
            active = {(s["hostPool"], s["sessionHost"], s["id"]) for s in sessions_of(emu)
                      if s["state"] == "Active"}
            r = rabulk(w, "drain", *common(emu), "--message", "Back in {left}", "--grace", "1s",
                       "--yes", "rg-east/Pool-A", "rg-east/Pool-B", report="drain.csv")
            check(r.code == 0, "drain exit", r.code, r.stderr)
            rows = r.rows()
            hosts = {(x["collection"], x["sessions"]): x["status"] for x in rows
                     if x["operation"] == "drain"}
            check(len(hosts) == 9 and hosts[("rg-east/Pool-A", "Host-2=false")] == "skipped" and
                  list(hosts.values()).count("succeeded") == 8, "each host once", hosts)
            state = emu.state()["avd"]
            check(not any(h["allowNewSession"] for h in state["sessionHosts"]), "all closed")
            for s in state["userSessions"]:
                key = (s["hostPool"], s["sessionHost"], s["id"])
                check(s["gone"] and s["operations"]["logoff"] == 1, "logged off once", s)
                check(s["operations"]["sendMessage"] == (key in active), "messaged if active", s)
                if key in active:
                    check(s["lastMessage"]["body"] == "Back in 1 second", "{left}", s)
            r = rabulk(w, "undrain", *common(emu), "--input", "drain.csv", "rg-east/Pool-A",
                       "rg-east/Pool-B", report="undrain.csv")
            check(r.code == 0 and len(r.rows()) == 9, "undrain", r.code, r.stderr)
            opened = {(h["hostPool"], h["name"]): h["allowNewSession"]
                      for h in emu.state()["avd"]["sessionHosts"]}
            check(opened[("Pool-A", "Host-2")] is False and
                  sum(opened.values()) == 8, "recorded values back", opened)
            r = rabulk(w, "undrain", *common(emu), "rg-east/Pool-A", report="open.csv")
            check(all(h["allowNewSession"] for h in emu.state()["avd"]["sessionHosts"]
                      if h["hostPool"] == "Pool-A"), "without a report: all opened")
        finally:
            emu.stop()


def test_dry_run_plans_resume_redoes_what_was_not_ok_and_shards_split_the_pairs():
    with Workdir() as w:
        path, plan = seed(w, users=600, hosts=6)
        name = input_csv(w, plan, extra=["rg-east,Pool-A,nobody@contoso.com"])
        sub = next(iter(plan.values()))
        with open(os.path.join(w.path, "direct.csv"), "w") as f:
            f.write("Id,UserPrincipalName\n/subscriptions/%s/resourceGroups/rg-east/providers/"
                    "Microsoft.DesktopVirtualization/hostPools/Pool-A/sessionHosts/Host-0/"
                    "userSessions/1,x@contoso.com\n" % SUB)
        r = rabulk(w, "disconnect", "--service", "avd", "--subscription", SUB, "--dry-run",
                   name, "direct.csv")
        check(r.code == 0 and "3 host pools would be listed" in r.stderr and
              "1 row names a session" in r.stderr, "dry run plan", r.stderr[-600:])
        check(set(by_status(r.rows())) == {"planned"}, "planned rows", by_status(r.rows()))
        emu = Emulator(w.path, "--avd-seed", path, "--fault", "503=0.3", "--retry-after", "10ms")
        try:
            r = rabulk(w, "disconnect", *common(emu), "--retries", "0", name)
            first = r.rows()
        finally:
            emu.stop()
        failed = {x["upn"].lower() for x in first if x["status"] == "failed"}
        check(failed, "some rows failed under 503s", by_status(first))
        emu = Emulator(w.path, "--avd-seed", path)  # the same sessions, none touched
        try:
            r = rabulk(w, "disconnect", *common(emu), "--resume", "report.csv", name,
                       report="report.csv")
            final = {x["line"]: x for x in r.rows()}  # the last row of each line
            check(len(final) == len(plan) + 1, "every row", len(final))
            check({x["status"] for x in final.values()} <= {"succeeded", "no_session", "skipped"},
                  "ok after the resume", by_status(final.values()))
            redone = {x["upn"].lower() for x in final.values() if x["status"] != "skipped"}
            check(redone == failed, "only the rows not ok were sent again",
                  len(redone), len(failed))
            want = sum(1 for u in failed for _, st in plan.get(u, ("", "", []))[2]
                       if st != "Disconnected")
            ops = sum(s["operations"]["disconnect"] for s in sessions_of(emu))
            check(ops == want, "their sessions, re-resolved from a new list", ops, want)
            shards = [rabulk(w, "disconnect", "--service", "avd", "--subscription", SUB,
                             "--dry-run", "--shard", "%d/3" % k, name, report="s%d.csv" % k)
                      for k in (1, 2, 3)]
            pairs = [{(x["collection"], x["upn"]) for x in s.rows()} for s in shards]
            check(sum(len(p) for p in pairs) == len(plan) + 1 and
                  not (pairs[0] & pairs[1]) and not (pairs[1] & pairs[2]), "shards split the pairs",
                  [len(p) for p in pairs])
        finally:
            emu.stop()


def test_one_pool_spelled_two_ways_is_one_pair():
    """rg/hp, its resource id in other case, and a bare name with
    --resource-group are one host pool: a user listed under each is sent
    once, the other rows duplicate."""
    with Workdir() as w:
        path, plan = seed(w, users=30, hosts=2)
        emu = Emulator(w.path, "--avd-seed", path)
        try:
            with open(os.path.join(w.path, "in.csv"), "w") as f:
                f.write("HostPool,UserPrincipalName\nrg-east/Pool-A,user3@contoso.com\n"
                        "/subscriptions/%s/resourcegroups/RG-EAST/providers/"
                        "Microsoft.DesktopVirtualization/hostpools/pool-a,USER3@contoso.com\n"
                        "Pool-A,user3@contoso.com\n" % SUB)
            r = rabulk(w, "message", *common(emu), "--text", "hi", "--resource-group", "rg-east",
                       "in.csv")
            st = [x["status"] for x in sorted(r.rows(), key=lambda x: int(x["line"]))]
            check(st == ["succeeded", "duplicate", "duplicate"], "one pair", st, r.stderr)
            check(sum(s["operations"]["sendMessage"] for s in sessions_of(emu)) == 2,
                  "user3's two sessions messaged once each")
        finally:
            emu.stop()
