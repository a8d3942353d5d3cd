"""Entra ID's credential chain end to end (DESIGN section 9): the emulator is
the identity provider (--idp-*), rabulk gets its tokens from it the way an
Azure SDK would (client secret, client certificate, workload identity,
managed identity, the Azure CLI), sends them on every API request, refreshes
them before they expire, and says clearly why it could not get one."""
import json
import os
import stat
import subprocess
import sys
import threading
import time

from harness import (RABULK, SUB, FakeService, Workdir, by_status, check, free_port, rabulk,
                     target, users_csv)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP = "11111111-2222-3333-4444-555555555555"
SECRET = "S3cret~Value.With-Chars_42"


def clean_env(**extra):
    """No AZURE_* or IDENTITY_* from the machine running the tests; PATH kept
    (the tests need python) unless given."""
    env = {k: "" for k in os.environ if k.startswith(("AZURE_", "IDENTITY_", "MSI_"))}
    env.update(extra)
    return env


def sp_env(emu, **extra):
    env = dict(AZURE_AUTHORITY_HOST=emu.url, AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=APP)
    env.update(extra)
    return clean_env(**env)


def api(emu):
    return [e for e in emu.requests() if e["path"].startswith("/" + SUB)]


def logins(emu):
    return [e for e in emu.requests() if e["path"] == "/%s/oauth2/v2.0/token" % TENANT]


def bearer_tokens(emu):
    return {e["headers"].get("Authorization", "") for e in api(emu)}


def statuses(emu):
    out = {}
    for e in api(emu):
        out[e["status"]] = out.get(e["status"], 0) + 1
    return out


def form(entry):
    import urllib.parse
    return dict(urllib.parse.parse_qsl(entry["body"]))


def ran_well(r, n, what):
    check(r.code == 0 and by_status(r.rows()) == {"succeeded": n}, what, r.code,
          by_status(r.rows()) if os.path.exists(r.report_path) else "", r.stderr[-800:])


def refreshed(emu, what, at_least=2):
    toks = bearer_tokens(emu)
    check(all(t.startswith("Bearer ey") for t in toks), what + ": bearer JWTs sent", list(toks)[:2])
    check(len(toks) >= at_least, what + ": refreshed before expiry", len(toks))
    check(401 not in statuses(emu), what + ": no request refused", statuses(emu))


def openssl(w, *args):
    subprocess.run(["openssl", *args], cwd=w.path, check=True, capture_output=True, timeout=60)


def make_certs(w):
    """app.pem (certificate + key, PEM), app.p12 (with a password), other.pem
    (another key), old.pem (expired)."""
    for name, days in (("app", 30), ("other", 30)):
        openssl(w, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                "-out", name + ".crt", "-days", str(days), "-subj", "/CN=rabulk " + name)
    openssl(w, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "old.key", "-out", "old.csr",
            "-subj", "/CN=rabulk old")
    openssl(w, "x509", "-req", "-in", "old.csr", "-signkey", "old.key", "-out", "old.crt",
            "-days", "-1")
    for name in ("app", "other", "old"):
        w.file(name + ".pem", open(os.path.join(w.path, name + ".crt")).read() +
               open(os.path.join(w.path, name + ".key")).read())
    openssl(w, "pkcs12", "-export", "-in", "app.crt", "-inkey", "app.key", "-out", "app.p12",
            "-passout", "pass:p12-Pass-word")
    for name in os.listdir(w.path):
        os.chmod(os.path.join(w.path, name), 0o600)
    return lambda name: os.path.join(w.path, name)


def test_client_secret_gets_tokens_and_refreshes_them():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1000", "--idp-client", "%s:%s" % (APP, SECRET),
                         "--token-ttl", "3s")
        r = rabulk(w, "disconnect", *target(emu, "--rate", "200/s"), w.file("a.csv", users_csv(1000)),
                   env=sp_env(emu, AZURE_CLIENT_SECRET=SECRET))
        ran_well(r, 1000, "client secret")
        refreshed(emu, "client secret")
        sent = form(logins(emu)[0])
        check(sent.get("grant_type") == "client_credentials" and sent.get("client_id") == APP and
              sent.get("client_secret") == SECRET and
              sent.get("scope") == "https://management.core.windows.net//.default",
              "the client-credentials form", sent.get("scope"))
        check(len(logins(emu)) == len(bearer_tokens(emu)), "one login per token",
              len(logins(emu)), len(bearer_tokens(emu)))


def test_401_gets_one_new_token_per_generation():
    """Front ends whose clocks run up to 3 s ahead (--token-skew) refuse a
    token before its expiry: the first 401 fetches one new token from Entra
    ID however many requests got it, and the rows refused are sent again."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1200", "--idp-client", "%s:%s" % (APP, SECRET),
                         "--token-ttl", "4s", "--token-skew", "3s")
        r = rabulk(w, "disconnect", *target(emu, "--rate", "200/s"), w.file("a.csv", users_csv(1200)),
                   env=sp_env(emu, AZURE_CLIENT_SECRET=SECRET))
        ran_well(r, 1200, "401s answered by a refresh")
        check(statuses(emu).get(401, 0) > 0, "some requests refused", statuses(emu))
        check(len(logins(emu)) == len(bearer_tokens(emu)) >= 2, "one login per token",
              len(logins(emu)), len(bearer_tokens(emu)))


def test_client_secret_from_a_file():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3", "--idp-client", "%s:%s" % (APP, SECRET))
        f = w.file("a.csv", users_csv(3))
        loose = w.file("secret-loose", SECRET + "\n", mode=0o644)
        r = rabulk(w, "disconnect", *target(emu), f, env=sp_env(emu, AZURE_CLIENT_SECRET_FILE=loose))
        check(r.code == 2 and "chmod 600" in r.stderr, "a secret file others can read", r.code,
              r.stderr)
        r = rabulk(w, "disconnect", *target(emu), f,
                   env=sp_env(emu, AZURE_CLIENT_SECRET_FILE=w.file("secret", SECRET + "\n")))
        ran_well(r, 3, "secret from a file")


def test_wrong_secret_is_entra_ids_error_and_exit_2():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3", "--idp-client", "%s:%s" % (APP, SECRET))
        r = rabulk(w, "disconnect", *target(emu), w.file("a.csv", users_csv(3)),
                   env=sp_env(emu, AZURE_CLIENT_SECRET="not-the-secret"))
        check(r.code == 2, "exit 2", r.code, r.stderr)
        check("client secret" in r.stderr and "invalid_client" in r.stderr and
              "AADSTS7000215" in r.stderr and "not-the-secret" not in r.stderr,
              "names the source and quotes Entra ID", r.stderr)
        check(api(emu) == [], "nothing sent", len(api(emu)))
        r = rabulk(w, "disconnect", *target(emu), w.file("b.csv", users_csv(3)),
                   env=sp_env(emu, AZURE_CLIENT_SECRET=SECRET, AZURE_CLIENT_ID="unknown-app"),
                   report="rep-b.csv")
        check(r.code == 2 and "AADSTS700016" in r.stderr, "unknown client", r.code, r.stderr)


def test_client_certificate_pem_and_pkcs12():
    with Workdir() as w:
        crt = make_certs(w)
        emu = w.emulator("--generate", "Apps:800", "--idp-client-cert", "%s:%s" % (APP, crt("app.crt")),
                         "--token-ttl", "3s")
        r = rabulk(w, "disconnect", *target(emu, "--rate", "200/s"), w.file("a.csv", users_csv(800)),
                   env=sp_env(emu, AZURE_CLIENT_CERTIFICATE_PATH=crt("app.pem")))
        ran_well(r, 800, "PEM certificate")
        refreshed(emu, "PEM certificate")
        sent = [form(e) for e in logins(emu)]
        check(all(s.get("client_assertion_type") ==
                  "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" for s in sent),
              "assertion type", sent[0])
        check(len({s["client_assertion"] for s in sent}) == len(sent), "a fresh assertion each time")
        r = rabulk(w, "logoff", "--yes", *target(emu), w.file("b.csv", users_csv(5)), report="p12.csv",
                   env=sp_env(emu, AZURE_CLIENT_CERTIFICATE_PATH=crt("app.p12"),
                              AZURE_CLIENT_CERTIFICATE_PASSWORD="p12-Pass-word"))
        ran_well(r, 5, "PKCS#12 certificate")
        r = rabulk(w, "logoff", "--yes", *target(emu), w.file("c.csv", users_csv(5)), report="p12b.csv",
                   env=sp_env(emu, AZURE_CLIENT_CERTIFICATE_PATH=crt("app.p12"),
                              AZURE_CLIENT_CERTIFICATE_PASSWORD="wrong"))
        check(r.code == 2 and "AZURE_CLIENT_CERTIFICATE_PASSWORD" in r.stderr, "wrong password",
              r.code, r.stderr)


def test_assertion_signed_by_another_key_or_with_an_expired_certificate():
    with Workdir() as w:
        crt = make_certs(w)
        emu = w.emulator("--generate", "Apps:3", "--idp-client-cert", "%s:%s" % (APP, crt("app.crt")))
        r = rabulk(w, "disconnect", *target(emu), w.file("a.csv", users_csv(3)),
                   env=sp_env(emu, AZURE_CLIENT_CERTIFICATE_PATH=crt("other.pem")))
        check(r.code == 2 and "client certificate" in r.stderr and "AADSTS700027" in r.stderr,
              "another key", r.code, r.stderr)
        r = rabulk(w, "disconnect", *target(emu), w.file("b.csv", users_csv(3)), report="rep-b.csv",
                   env=sp_env(emu, AZURE_CLIENT_CERTIFICATE_PATH=crt("old.pem")))
        check(r.code == 2 and "expired" in r.stderr, "expired certificate", r.code, r.stderr)
        check(api(emu) == [], "nothing sent", len(api(emu)))


def test_workload_identity_rereads_a_rotated_token_file():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1000", "--idp-federated", APP, "--token-ttl", "3s")
        path = os.path.join(w.path, "azure-identity-token")
        stop = threading.Event()

        def rotate():  # what the kubelet does with a projected service account token
            while not stop.is_set():
                w.file("fed.tmp", emu.get("/_emulator/token")[2], mode=0o644)
                os.replace(os.path.join(w.path, "fed.tmp"), path)
                stop.wait(1.0)
        t = threading.Thread(target=rotate)
        t.start()
        try:
            time.sleep(0.2)
            r = rabulk(w, "disconnect", *target(emu, "--rate", "200/s", "--credential", "workload"),
                       w.file("a.csv", users_csv(1000)),
                       env=sp_env(emu, AZURE_FEDERATED_TOKEN_FILE=path))
        finally:
            stop.set()
            t.join()
        ran_well(r, 1000, "workload identity")
        refreshed(emu, "workload identity")
        assertions = {form(e).get("client_assertion") for e in logins(emu)}
        check(len(assertions) >= 2, "the rotated file was read again", len(assertions))
        time.sleep(3.2)  # the last federated token written has expired now
        r = rabulk(w, "disconnect", *target(emu), w.file("b.csv", users_csv(3)), report="rep-b.csv",
                   env=sp_env(emu, AZURE_FEDERATED_TOKEN_FILE=path))
        check(r.code == 2 and "workload identity" in r.stderr and "AADSTS700024" in r.stderr,
              "an expired federated token", r.code, r.stderr)


def test_refresh_that_entra_id_refuses_stops_the_run():
    """A federated token file nobody rotates: the first token comes, but once
    the federated token has expired Entra ID refuses every refresh, so when
    the access token expires the run stops (exit 3), report complete."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1200", "--idp-federated", APP, "--token-ttl", "2s")
        fed = w.file("fed", emu.get("/_emulator/token")[2])
        r = rabulk(w, "disconnect", *target(emu, "--rate", "200/s"), w.file("a.csv", users_csv(1200)),
                   env=sp_env(emu, AZURE_FEDERATED_TOKEN_FILE=fed))
        check(r.code == 3, "exit 3", r.code, r.stderr[-800:])
        check("refreshing the token: workload identity" in r.stderr and "AADSTS700024" in r.stderr,
              "says why", r.stderr[-800:])
        st = by_status(r.rows())
        check(sum(st.values()) == 1200 and st.get("not_attempted", 0) > 0, "report complete", st)


def test_managed_identity_imds_and_app_service():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:1000", "--idp-identity-header", "hdr-Secret-1",
                         "--token-ttl", "3s")
        r = rabulk(w, "disconnect", *target(emu, "--rate", "200/s", "--credential", "managed-identity"),
                   w.file("a.csv", users_csv(1000)),
                   env=clean_env(AZURE_POD_IDENTITY_AUTHORITY_HOST=emu.url, AZURE_CLIENT_ID=APP))
        ran_well(r, 1000, "IMDS")
        refreshed(emu, "IMDS")
        imds = [e for e in emu.requests() if e["path"] == "/metadata/identity/oauth2/token"]
        check(imds and all(e["headers"].get("Metadata") == "true" and
                           "client_id=%s" % APP in e["query"] and
                           "resource=https%3A%2F%2Fmanagement.core.windows.net%2F" in e["query"]
                           for e in imds), "IMDS requests", imds[:1])
        status, _, body = emu.get("/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x")
        check(status == 400 and "Required metadata header" in body, "IMDS without Metadata", status, body)

        emu2 = w.emulator("--generate", "Apps:600", "--idp-identity-header", "hdr-Secret-1",
                          "--token-ttl", "3s")
        env = clean_env(IDENTITY_ENDPOINT=emu2.url + "/msi/token", IDENTITY_HEADER="hdr-Secret-1")
        r = rabulk(w, "disconnect", *target(emu2, "--rate", "150/s"), w.file("b.csv", users_csv(600)),
                   env=env, report="rep-b.csv")
        ran_well(r, 600, "App Service")
        refreshed(emu2, "App Service")
        env["IDENTITY_HEADER"] = "wrong"
        r = rabulk(w, "disconnect", *target(emu2), w.file("c.csv", users_csv(3)), env=env,
                   report="rep-c.csv")
        check(r.code == 2 and "managed identity (App Service)" in r.stderr, "wrong header", r.code,
              r.stderr)


def test_busy_imds_is_asked_again():
    """IMDS answering 503, then 429, then a token: asked three times, as
    Azure SDKs do, before anything is sent."""
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:3", "--token-ttl", "1h")
        answers = [(503, [], "{}"), (429, [], "{}")]

        def answer(method, path, body):
            if answers:
                return answers.pop(0)
            return 200, [("Content-Type", "application/json")], json.dumps(
                {"access_token": emu.get("/_emulator/token")[2], "expires_in": "3599",
                 "expires_on": str(int(time.time()) + 3599), "token_type": "Bearer"})
        with FakeService(answer) as imds:
            r = rabulk(w, "disconnect", *target(emu, "--credential", "managed-identity"),
                       w.file("a.csv", users_csv(3)),
                       env=clean_env(AZURE_POD_IDENTITY_AUTHORITY_HOST=imds.url))
            ran_well(r, 3, "busy IMDS")
            check(len(imds.requests()) == 3, "three tries", len(imds.requests()))


def fake_az(w, emu, shape):
    """An az on PATH that prints what az account get-access-token prints, with
    a token from the emulator (opaque: only the JSON says when it expires)."""
    bindir = os.path.join(w.path, "bin-" + shape)
    os.mkdir(bindir)
    script = (
        "#!%s\n"
        "import datetime, json, sys, time, urllib.request\n"
        "t = urllib.request.urlopen(%r).read().decode()\n"
        "open(%r, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "exp = int(time.time()) + 3\n"
        "out = {'accessToken': t, 'subscription': 'x', 'tenant': 't', 'tokenType': 'Bearer'}\n"
        "if %r == 'expires_on':\n"
        "    out['expires_on'] = exp\n"
        "    out['expiresOn'] = 'garbage'\n"
        "else:\n"
        "    out['expiresOn'] = datetime.datetime.fromtimestamp(exp).strftime('%%Y-%%m-%%d %%H:%%M:%%S.%%f')\n"
        "print(json.dumps(out, indent=2))\n") % (sys.executable, emu.url + "/_emulator/token?opaque=1",
                                                 os.path.join(w.path, "az-args.txt"), shape)
    p = os.path.join(bindir, "az")
    with open(p, "w") as f:
        f.write(script)
    os.chmod(p, 0o755)
    return bindir


def test_azure_cli_both_output_shapes():
    with Workdir() as w:
        for shape in ("expires_on", "expiresOn"):
            emu = w.emulator("--generate", "Apps:700", "--token-ttl", "3s")
            bindir = fake_az(w, emu, shape)
            r = rabulk(w, "disconnect", *target(emu, "--rate", "150/s", "--credential", "azure-cli"),
                       w.file("a.csv", users_csv(700)), report=shape + ".csv",
                       env=clean_env(PATH=bindir + os.pathsep + os.environ["PATH"]))
            ran_well(r, 700, "az, " + shape)
            toks = bearer_tokens(emu)
            check(len(toks) >= 2 and 401 not in statuses(emu), "az, %s: refreshed before expiry"
                  % shape, len(toks), statuses(emu))
        args = open(os.path.join(w.path, "az-args.txt")).read().splitlines()[0]
        check(args == "account get-access-token --resource https://management.core.windows.net/ "
              "--output json", "az's arguments", args)


def test_chain_picks_the_first_source_found():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:4", "--idp-client", "%s:%s" % (APP, SECRET),
                         "--idp-federated", APP)
        fed = w.file("fed", emu.get("/_emulator/token")[2])
        env = sp_env(emu, AZURE_CLIENT_SECRET=SECRET, AZURE_FEDERATED_TOKEN_FILE=fed,
                     AZURE_POD_IDENTITY_AUTHORITY_HOST=emu.url)
        r = rabulk(w, "disconnect", *target(emu, "--verbose"), w.file("a.csv", users_csv(2)), env=env)
        ran_well(r, 2, "chain")
        check("credential: client secret (env)" in r.stderr, "the secret comes first", r.stderr[:600])
        check("client_secret" in form(logins(emu)[-1]), "the secret was sent")
        del env["AZURE_CLIENT_SECRET"]
        r = rabulk(w, "disconnect", *target(emu, "--verbose"), w.file("b.csv", users_csv(2)), env=env,
                   report="rep-b.csv")
        ran_well(r, 2, "chain without the secret")
        check("credential: workload identity" in r.stderr, "then workload identity", r.stderr[:600])
        env = clean_env(AZURE_POD_IDENTITY_AUTHORITY_HOST=emu.url)
        r = rabulk(w, "disconnect", *target(emu, "--verbose", "--credential", "auto"),
                   w.file("c.csv", users_csv(2)), env=env, report="rep-c.csv")
        ran_well(r, 2, "chain: IMDS after the probe")
        check("managed identity (IMDS)" in r.stderr, "then IMDS", r.stderr[:600])


def test_no_source_at_all_is_one_message_and_exit_2():
    with Workdir() as w:
        emu = w.emulator("--generate", "Apps:2", "--idp")
        closed = "http://127.0.0.1:%d" % free_port()
        env = clean_env(AZURE_POD_IDENTITY_AUTHORITY_HOST=closed, PATH=os.path.join(w.path, "none"))
        r = rabulk(w, "disconnect", *target(emu, "--credential", "auto"), w.file("a.csv", users_csv(2)),
                   env=env)
        check(r.code == 2 and r.stderr.count("\n") == 1 and "no credential found" in r.stderr,
              "one message", r.code, r.stderr)
        for what in ("--token-file", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                     "IDENTITY_ENDPOINT", closed, "az"):
            check(what in r.stderr, "names " + what, r.stderr)
        r = rabulk(w, "disconnect", *target(emu, "--credential", "workload"),
                   w.file("b.csv", users_csv(2)), env=clean_env(AZURE_CLIENT_ID=APP), report="rep-b.csv")
        check(r.code == 2 and "AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID not set" in r.stderr,
              "what workload identity lacks", r.code, r.stderr)
        r = rabulk(w, "disconnect", *target(emu), w.file("c.csv", users_csv(2)), report="rep-c.csv",
                   env=sp_env(emu, AZURE_CLIENT_SECRET=SECRET,
                              AZURE_AUTHORITY_HOST="http://login.example.com"))
        check(r.code == 2 and "http:// only for loopback" in r.stderr, "plain http off loopback",
              r.code, r.stderr)


def test_cloud_picks_the_authority():
    with Workdir() as w:
        r = rabulk(w, "disconnect", "--cloud", "Mars", "--subscription", SUB,
                   w.file("a.csv", users_csv(1)))
        check(r.code == 2 and "AzureUSGovernment" in r.stderr, "unknown cloud", r.code, r.stderr)
        # No network in the tests: the authority shows in the error for an unreachable one.
        env = clean_env(AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=APP, AZURE_CLIENT_SECRET=SECRET,
                        HTTPS_PROXY="http://127.0.0.1:%d" % free_port())
        r = rabulk(w, "disconnect", "--cloud", "AzureChinaCloud", "--subscription", SUB,
                   w.file("b.csv", users_csv(1)), env=env, report="rep-b.csv")
        check(r.code == 2 and "https://login.chinacloudapi.cn/%s/oauth2/v2.0/token" % TENANT in r.stderr,
              "China's authority", r.code, r.stderr)


def test_secrets_never_leak():
    """The client secret, the certificate password and every token: not in
    rabulk's command line, report, summary, or --verbose output."""
    with Workdir() as w:
        crt = make_certs(w)
        emu = w.emulator("--generate", "Apps:600", "--idp-client", "%s:%s" % (APP, SECRET),
                         "--idp-client-cert", "other-app:%s" % crt("app.crt"), "--token-ttl", "1s")
        outs = []
        for i, env in enumerate((sp_env(emu, AZURE_CLIENT_SECRET=SECRET),
                                 sp_env(emu, AZURE_CLIENT_ID="other-app",
                                        AZURE_CLIENT_CERTIFICATE_PATH=crt("app.p12"),
                                        AZURE_CLIENT_CERTIFICATE_PASSWORD="p12-Pass-word"))):
            report = os.path.join(w.path, "r%d.csv" % i)
            summary = os.path.join(w.path, "s%d.json" % i)
            args = [RABULK, "disconnect", *target(emu, "--rate", "150/s", "--verbose",
                                                   "--summary-json", summary),
                    "--report", report, w.file("a%d.csv" % i, users_csv(300))]
            p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ, HOME=w.path, **env), cwd=w.path)
            time.sleep(0.8)
            cmdline = open("/proc/%d/cmdline" % p.pid, "rb").read().decode(errors="replace")
            out, err = p.communicate(timeout=120)
            check(p.returncode == 0, "run", p.returncode, err[-800:])
            outs.append(cmdline + out + err + open(report).read() + open(summary).read())
        tokens = {t.split(" ", 1)[1] for t in bearer_tokens(emu)}
        check(len(tokens) >= 4, "tokens issued", len(tokens))
        seen = "".join(outs)
        for secret in list(tokens) + [SECRET, "p12-Pass-word"]:
            check(secret not in seen, "secret leaked", secret[:12] + "...")


def test_avd_asks_for_arms_audience_and_needs_a_credential():
    """--service avd: the client-credentials form asks for ARM's scope (not
    RemoteApp's), the AVD requests carry the token the issuer gave, and
    with no credential at all the run is exit 2, nothing sent."""
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg/Pool:2:20", "--idp-client", "%s:%s" % (APP, SECRET))
        f = w.file("a.csv", "HostPool,UserPrincipalName\n" +
                   "".join("rg/Pool,user%d@contoso.com\n" % i for i in range(1, 21)))
        common = ["--service", "avd", "--endpoint", emu.url, "--subscription", SUB]
        r = rabulk(w, "logoff", "--yes", *common, f, env=sp_env(emu, AZURE_CLIENT_SECRET=SECRET))
        check(r.code == 0 and set(by_status(r.rows())) <= {"succeeded", "no_session"},
              "logoff with a client secret", r.code, r.stderr[-800:])
        sent = form(logins(emu)[0])
        check(sent.get("scope") == "https://management.azure.com/.default", "ARM's scope",
              sent.get("scope"))
        avd = [e for e in emu.requests() if "/providers/Microsoft.DesktopVirtualization/" in e["path"]]
        check(avd and all(e["status"] in (200, 204) for e in avd), "the token was accepted",
              {e["status"] for e in avd})
        before = len(emu.requests())
        r = rabulk(w, "logoff", "--yes", *common, f, env=clean_env())
        check(r.code == 2, "no credential: exit 2", r.code, r.stderr)
        check(len(emu.requests()) == before, "nothing sent", len(emu.requests()) - before)
