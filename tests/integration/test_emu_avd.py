"""The emulator's Azure Virtual Desktop side over HTTP (emulator/avd.c): paged
lists whose nextLink is absolute and followable, answers that validate against
the spec's schemas, ARM's api-version, resource-group and host-pool errors, the
recorded 404 wordings, case-sensitive session host names, actions that change
state and are counted, the 403 knob, bearer tokens, faults, and RemoteApp still
served beside it.

The spec is read from ../shared/conformance/avd-spec-examples (RABULK_AVD_SPEC
overrides), never copied. Its external $refs (ARM's common types, not in that
folder) are taken as "anything"; its nextLink is typed string, but the live
service sends "nextLink":null on the last page (the recordings), so null is
allowed there too, as it is for the three SessionHost properties the
Update-AzWvdSessionHost recording shows null (friendlyName, statusTimestamp,
assignedUser).
"""
import copy
import json
import os
import re
import urllib.error
import urllib.request

from harness import ROOT, Skip, Workdir, check

SPEC_DIR = os.environ.get(
    "RABULK_AVD_SPEC", os.path.join(ROOT, "..", "shared", "conformance", "avd-spec-examples"))
API = "2025-10-10"
SUB = "6738509d-84ed-4ad6-974a-7dc4e3c34146"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ACTIONS = "Microsoft.DesktopVirtualization/hostpools/sessionhosts/"


def pool_path(rg="rg1", hp="Pool1", sub=SUB):
    return ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.DesktopVirtualization"
            "/hostPools/%s" % (sub, rg, hp))


def call(emu, method, path, body=None, headers=None, query="api-version=" + API):
    """(status, headers with lower-case names, body text) of one request."""
    url = path if path.startswith("http") else emu.url + path + ("?" + query if query else "")
    data = json.dumps(body).encode() if body is not None else None
    h = {"Accept": "application/json"}
    if data is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def arm_error(text):
    e = json.loads(text)["error"]
    return e["code"], e["message"]


_schemas = {}


def schema(name):
    """A validator for the spec's definition name."""
    if name in _schemas:
        return _schemas[name]
    try:
        import jsonschema
    except ImportError:
        raise Skip("python3-jsonschema is not installed (scripts/deps.sh installs it)")
    spec = json.load(open(os.path.join(SPEC_DIR, "desktopvirtualization.json")))

    def local(node):  # external $refs: ARM's common types, not in the folder
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str) and not node["$ref"].startswith("#"):
                return {}
            return {k: local(v) for k, v in node.items()}
        if isinstance(node, list):
            return [local(v) for v in node]
        return node

    defs = local(spec["definitions"])
    for lst in ("UserSessionList", "SessionHostList"):  # live: "nextLink":null
        defs[lst]["properties"]["nextLink"]["type"] = ["string", "null"]
    for prop in ("friendlyName", "statusTimestamp", "assignedUser"):  # recorded as null
        p = defs["SessionHostProperties"]["properties"][prop]
        p["type"] = [p["type"], "null"]
    v = jsonschema.Draft4Validator({"definitions": defs, "$ref": "#/definitions/" + name})
    _schemas[name] = v
    return v


def valid(name, doc):
    errors = sorted(schema(name).iter_errors(doc), key=str)
    check(not errors, "%s validates against the spec" % name, *[e.message for e in errors[:3]])


def follow(emu, first_url):
    """Every page of a list from first_url (absolute): (items, pages, links)."""
    items, pages, links, url = [], 0, [], first_url
    while url:
        status, _, text = call(emu, "GET", url)
        check(status == 200, "list page", status, text[:300])
        page = json.loads(text)
        check("nextLink" in page, "nextLink present (null on the last page)", text[-200:])
        items += page["value"]
        pages += 1
        url = page["nextLink"]
        if url:
            links.append(url)
        check(pages < 1000, "paging ends")
    return items, pages, links


def test_avd_lists_cross_pages_with_absolute_next_links():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:3:120")  # default page size: 50
        base = emu.url + pool_path()
        items, pages, links = follow(emu, base + "/userSessions?api-version=" + API)
        check(pages == 3, "120 sessions, 50 a page: 3 pages", pages)
        check(len(items) == 120 and len({i["id"] for i in items}) == 120, "each once", len(items))
        for link in links:
            check(link.startswith(base + "/userSessions?"), "nextLink is absolute", link, base)
            check("api-version=" + API in link and "skiptoken=" in link, "same api-version", link)
        status, _, text = call(emu, "GET", pool_path() + "/userSessions")
        page = json.loads(text)
        valid("UserSessionList", page)
        check(page["nextLink"] is not None and len(page["value"]) == 50, "first page")
        last = json.loads(call(emu, "GET", links[-1])[2])
        valid("UserSessionList", last)
        check(last["nextLink"] is None and len(last["value"]) == 20, "last page", last["nextLink"])
        # the spec's pageSize, and --page-size for session hosts
        _, _, text = call(emu, "GET", pool_path() + "/userSessions",
                          query="api-version=%s&pageSize=7" % API)
        page = json.loads(text)
        check(len(page["value"]) == 7 and "pageSize=7" in page["nextLink"], "pageSize kept",
              page["nextLink"])
        u = items[0]
        check(re.fullmatch(r"Pool1/Host-\d/\d+", u["name"]), "name hp/sh/id", u["name"])
        check(u["id"].startswith("/subscriptions/%s/resourcegroups/rg1/providers/"
                                 "Microsoft.DesktopVirtualization/hostpools/Pool1/sessionhosts/"
                                 % SUB) and "/usersessions/" in u["id"], "lower-case id", u["id"])
        check(u["type"] == "Microsoft.DesktopVirtualization/hostpools/sessionhosts/usersessions",
              "type", u["type"])
        for key in ("userPrincipalName", "sessionState", "applicationType", "createTime",
                    "objectId", "activeDirectoryUserName"):
            check(key in u["properties"], "property " + key, u["properties"])
        bad = copy.deepcopy(page)
        bad["value"][0]["properties"]["sessionState"] = "Bogus"
        check(list(schema("UserSessionList").iter_errors(bad)), "the schema catches a bad state")

        emu2 = w.emulator("--generate-avd", "rg1/Pool1:5:10", "--page-size", "2")
        hosts, pages, links = follow(emu2, emu2.url + pool_path() + "/sessionHosts?api-version=" + API)
        check(pages == 3 and [h["name"] for h in hosts] == ["Pool1/Host-%d" % i for i in range(5)],
              "hosts by pages of 2", pages, [h["name"] for h in hosts])
        for link in links:
            check(link.startswith(emu2.url + pool_path() + "/sessionHosts?"), "absolute", link)
        valid("SessionHostList", json.loads(call(emu2, "GET", pool_path() + "/sessionHosts")[2]))
        per_host, _, _ = follow(emu2, emu2.url + pool_path() +
                                "/sessionHosts/Host-1/userSessions?api-version=" + API)
        # users 2 and 7, then user 1's second session (avdseed.h)
        check([s["properties"]["userPrincipalName"] for s in per_host] ==
              ["user2@contoso.com", "user7@contoso.com", "user1@contoso.com"] and
              all("/Host-1/" in s["name"] for s in per_host), "a host's sessions",
              [s["name"] for s in per_host])
        valid("UserSession", per_host[0])
        check(isinstance(per_host[0]["systemData"], dict), "systemData as recorded per host")


def test_avd_api_version_errors_as_arm_words_them():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:1:2")
        for query in ("", "api-version=", "foo=1"):
            status, _, text = call(emu, "GET", pool_path() + "/userSessions", query=query)
            check(status == 400 and arm_error(text) == (
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests."),
                "missing api-version: " + query, status, text)
        status, _, text = call(emu, "GET", pool_path() + "/userSessions",
                               query="api-version=2099-01-01")
        code, msg = arm_error(text)
        check(status == 400 and code == "InvalidApiVersionParameter", "wrong api-version", text)
        check(msg.startswith("The api-version '2099-01-01' is invalid. The supported versions are '")
              and API in msg, "ARM's words", msg)
        for v in ("2024-04-03", "2025-03-01-preview"):  # the recordings' versions
            check(call(emu, "GET", pool_path() + "/userSessions", query="api-version=" + v)[0] == 200,
                  "recorded api-version " + v)


def test_avd_not_found_wordings():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:2:4")
        status, _, text = call(emu, "GET", pool_path(rg="nope") + "/userSessions")
        check(status == 404 and arm_error(text) == (
            "ResourceGroupNotFound", "Resource group 'nope' could not be found."), "rg", text)
        status, _, text = call(emu, "GET", pool_path(hp="Other") + "/userSessions")
        code, msg = arm_error(text)
        check(status == 404 and code == "ResourceNotFound" and
              "'Microsoft.DesktopVirtualization/hostPools/Other' under resource group 'rg1' was "
              "not found" in msg, "pool", text)
        # resource group and pool names are ARM's: any case
        check(call(emu, "GET", pool_path(rg="RG1", hp="pool1") + "/userSessions")[0] == 200,
              "rg and pool in another case")
        s = pool_path() + "/sessionHosts/Host-0/userSessions/"
        status, h, text = call(emu, "GET", s + "99")
        check(status == 404, "get a missing session", status)
        check(re.fullmatch(r'\{"error":\{"code":"404","message":"ActivityId: (%s) Error: User '
                           r'session does not exist"\}\}' % GUID, text), "GET 404 as recorded", text)
        check(h.get("x-ms-correlation-id") in text, "the ActivityId is x-ms-correlation-id")
        for action in ("disconnect", "sendMessage"):
            body = {"messageTitle": "t", "messageBody": "b"} if action == "sendMessage" else None
            status, _, text = call(emu, "POST", s + "99/" + action, body=body)
            check(status == 404 and re.fullmatch(
                r'\{"error":\{"code":"404","message":"ActivityId: %s Error: User session ID not '
                r'found"\}\}' % GUID, text), action + " 404 as recorded", status, text)
        status, _, text = call(emu, "DELETE", s + "99", query="api-version=%s&force=true" % API)
        check(status == 404 and "User session does not exist" in text, "DELETE 404", text)


def test_avd_session_host_names_are_case_sensitive():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:1:2")
        exact = pool_path() + "/sessionHosts/Host-0"
        check(call(emu, "GET", exact)[0] == 200, "exact spelling")
        for path, method in ((exact.replace("Host-0", "host-0"), "GET"),
                             (exact.replace("Host-0", "HOST-0") + "/userSessions/1", "GET"),
                             (exact.replace("Host-0", "host-0") + "/userSessions/1/disconnect",
                              "POST")):
            status, _, text = call(emu, method, path)
            code, msg = arm_error(text)
            check(status == 404 and code == "404" and "Session host does not exist" in msg
                  and "User session" not in msg, "another case is another host: " + path, text)
        check(emu.state()["avd"]["userSessions"][0]["operations"]["disconnect"] == 0,
              "nothing done")


def test_avd_actions_change_state_and_are_counted():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:2:4")
        s1 = pool_path() + "/sessionHosts/Host-0/userSessions/1"
        status, h, text = call(emu, "POST", s1 + "/disconnect")
        check(status == 200 and text == "" and h.get("content-length") == "0", "disconnect 200 empty",
              status, text)
        got = json.loads(call(emu, "GET", s1)[2])
        valid("UserSession", got)
        check(got["properties"]["sessionState"] == "Disconnected", "Disconnected", got)
        status, _, text = call(emu, "POST", s1 + "/sendMessage",
                               body={"messageTitle": "Maintenance", "messageBody": "log off"})
        check(status == 200 and text == "", "sendMessage 200 empty", status, text)
        status, h, text = call(emu, "DELETE", s1, query="api-version=%s&force=true" % API)
        check(status == 204 and text == "", "logoff 204 empty", status, text)
        status, _, _ = call(emu, "DELETE", s1, query="api-version=%s&force=true" % API)
        check(status == 404, "logged off: gone", status)
        status, _, text = call(emu, "GET", pool_path() + "/userSessions")
        names = [u["name"] for u in json.loads(text)["value"]]
        check("Pool1/Host-0/1" not in names and len(names) == 3, "no longer listed", names)
        st = {(u["sessionHost"], u["id"]): u for u in emu.state()["avd"]["userSessions"]}
        u = st[("Host-0", 1)]
        check(u["gone"] and u["operations"] == {"disconnect": 1, "logoff": 2, "sendMessage": 1},
              "counted", u)
        check(u["lastMessage"] == {"title": "Maintenance", "body": "log off"}, "message kept", u)
        check(all(v["operations"] == {"disconnect": 0, "logoff": 0, "sendMessage": 0}
                  for k, v in st.items() if k != ("Host-0", 1)), "others untouched")
        # drain and undrain a session host
        host = pool_path() + "/sessionHosts/Host-1"
        status, _, text = call(emu, "PATCH", host, body={"properties": {"allowNewSession": False}})
        got = json.loads(text)
        check(status == 200 and got["properties"]["allowNewSession"] is False and
              got["name"] == "Pool1/Host-1", "PATCH answers the SessionHost", status, text[:300])
        valid("SessionHost", got)
        hosts = {h["name"]: h for h in emu.state()["avd"]["sessionHosts"]}
        check(hosts["Host-1"]["allowNewSession"] is False and hosts["Host-0"]["allowNewSession"],
              "drained in state", hosts)
        got = json.loads(call(emu, "GET", host)[2])
        check(got["properties"]["allowNewSession"] is False, "GET shows the drain")
        call(emu, "PATCH", host, body={"properties": {"allowNewSession": True}})
        check(emu.state()["avd"]["sessionHosts"][1]["allowNewSession"] is True, "undrained")
        # /_emulator/reset zeroes the counts, not the sessions
        call(emu, "POST", "/_emulator/reset", query="")
        u = [x for x in emu.state()["avd"]["userSessions"] if x["id"] == 1 and x["sessionHost"] == "Host-0"][0]
        check(u["gone"] and u["operations"]["logoff"] == 0, "reset", u)
        log = [e for e in emu.requests() if "/userSessions" in e["path"] or "/sessionHosts" in e["path"]]
        check(log == [] and "avd" in emu.state(), "log emptied by reset")
        call(emu, "GET", pool_path() + "/userSessions")
        log = emu.requests()
        check(len(log) == 1 and log[0]["path"].endswith("/userSessions") and
              log[0]["status"] == 200, "AVD requests are logged", log)


def test_avd_headers_as_recorded():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:1:1")
        cid = "114532c1-8b47-4e79-8540-395323fbd86a"
        status, h, _ = call(emu, "GET", pool_path() + "/userSessions",
                            headers={"x-ms-client-request-id": cid})
        check(h.get("x-ms-request-id") == cid, "x-ms-request-id echoes the client's", h)
        check(h.get("x-rate-limit-limit") == "0" and
              h.get("x-rate-limit-remaining") == "9223372036854775807" and
              h.get("x-rate-limit-reset") == "0", "the provider's X-Rate-Limit trio", h)
        check(h.get("content-type") == "application/json; charset=utf-8" and
              h.get("expires") == "-1" and h.get("cache-control") == "no-cache", "entity headers", h)
        check(re.fullmatch(GUID, h.get("x-ms-correlation-request-id", "")), "correlation id", h)
        status, h, _ = call(emu, "GET", pool_path() + "/userSessions")
        check(re.fullmatch(GUID, h.get("x-ms-request-id", "")), "a fresh request id without one", h)


def test_avd_forbid_answers_authorization_failed():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:1:2", "--avd-forbid", "sessions")
        status, _, text = call(emu, "GET", pool_path() + "/userSessions")
        code, msg = arm_error(text)
        check(status == 403 and code == "AuthorizationFailed", "403", status, text)
        check("does not have authorization to perform action '%susersessions/read' over scope '%s"
              % (ACTIONS, pool_path()) in msg, "names the action and scope", msg)
        status, _, text = call(emu, "POST", pool_path() + "/sessionHosts/Host-0/userSessions/1/disconnect")
        check(status == 403 and "usersessions/disconnect/action" in arm_error(text)[1], "disconnect",
              text)
        check(call(emu, "GET", pool_path() + "/sessionHosts")[0] == 200, "hosts still allowed")
        check(emu.state()["avd"]["userSessions"][0]["operations"]["disconnect"] == 0, "not done")
        emu2 = w.emulator("--generate-avd", "rg1/Pool1:1:2", "--avd-forbid", "hosts")
        status, _, text = call(emu2, "PATCH", pool_path() + "/sessionHosts/Host-0",
                               body={"properties": {"allowNewSession": False}})
        check(status == 403 and ACTIONS + "write" in arm_error(text)[1], "drain forbidden", text)
        check(call(emu2, "GET", pool_path() + "/userSessions")[0] == 200, "sessions allowed")
        check(emu2.state()["avd"]["sessionHosts"][0]["allowNewSession"] is True, "not drained")


def test_avd_bearer_tokens_and_faults_as_for_remoteapp():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:1:1", "--token", "sekrit")
        status, _, text = call(emu, "GET", pool_path() + "/userSessions")
        check(status == 401 and arm_error(text)[0] == "AuthenticationFailed", "no token", text)
        status, _, text = call(emu, "GET", pool_path() + "/userSessions",
                               headers={"Authorization": "Bearer wrong"})
        check(status == 401 and arm_error(text)[0] == "InvalidAuthenticationToken", "bad token", text)
        check(call(emu, "GET", pool_path() + "/userSessions",
                   headers={"Authorization": "Bearer sekrit"})[0] == 200, "good token")
        emu2 = w.emulator("--generate-avd", "rg1/Pool1:1:1", "--fault", "503=1")
        status, _, _ = call(emu2, "GET", pool_path() + "/userSessions")
        check(status == 503, "faults reach AVD requests", status)
        check(emu2.requests()[0]["fault"] == "503", "and are logged", emu2.requests())


def test_avd_seed_file_and_remoteapp_beside_it():
    with Workdir() as w:
        seed = w.file("avd.csv",
                      "HostPool,SessionHost,UserPrincipalName,SessionState,ResourceGroup\n"
                      "Pool1,sh-a.contoso.com,ann@contoso.com,Active,rg1\n"
                      "Pool1,sh-a.contoso.com,bob@contoso.com,disconnected,rg1\n"
                      "Pool1,sh-b.contoso.com,ann@contoso.com,,rg1\n"
                      "rg2/Other,sh-c,cid@contoso.com,,\n")
        emu = w.emulator("--avd-seed", seed, "--generate", "Apps:3", "--subscription", SUB)
        st = emu.state()
        got = [(u["hostPool"], u["sessionHost"], u["id"], u["upn"], u["state"])
               for u in st["avd"]["userSessions"]]
        check(got == [("Pool1", "sh-a.contoso.com", 1, "ann@contoso.com", "Active"),
                      ("Pool1", "sh-a.contoso.com", 2, "bob@contoso.com", "Disconnected"),
                      ("Pool1", "sh-b.contoso.com", 1, "ann@contoso.com", "Active"),
                      ("Other", "sh-c", 1, "cid@contoso.com", "Active")], "seeded", got)
        items, _, _ = follow(emu, emu.url + pool_path() + "/userSessions?api-version=" + API)
        check(sorted(u["properties"]["userPrincipalName"] for u in items) ==
              ["ann@contoso.com", "ann@contoso.com", "bob@contoso.com"], "a user on two hosts")
        check(call(emu, "GET", pool_path(rg="rg2", hp="Other") + "/userSessions")[0] == 200, "rg/hp")
        status, _, text = call(emu, "GET", pool_path(sub="00000000-0000-0000-0000-000000000000")
                               + "/userSessions")
        check(status == 404 and arm_error(text)[0] == "SubscriptionNotFound", "--subscription", text)
        # RemoteApp's paths and state keys are unchanged beside AVD's
        check([s["upn"] for s in st["sessions"]] ==
              ["user%d@contoso.com" % i for i in (1, 2, 3)] and st["collections"] == ["Apps"],
              "RemoteApp state", st["sessions"])
        status, _, text = call(emu, "GET", "/%s/services/remoteapp/collections/Apps/sessions" % SUB,
                               headers={"x-ms-version": "2014-08-01"}, query="api-version=2014-09-01")
        check(status == 200 and "user1@contoso.com" in text, "RemoteApp served", status, text[:200])
        bad = w.file("bad.csv", "HostPool,SessionHost\nPool1,sh\n")
        try:
            w.emulator("--avd-seed", bad)
            check(False, "a seed without a user column is refused")
        except RuntimeError as e:
            check("UserPrincipalName" in str(e), "says which columns", e)
