"""The emulator's ARM quota buckets over HTTP (--arm-quota, emulator/armquota.c
wired into emulator/avd.c): the remaining headers counting down, ARM's 429
SubscriptionRequestsThrottled with Retry-After, a fresh 429 for a request sent
before the wait is over, success after waiting, reads and writes in separate
buckets, one principal per bearer token sharing the subscription's -global-
bucket, the 429s counted per bucket in /_emulator/stats, and a bad spec refused
at start."""
import json
import re
import subprocess
import time

from harness import EMULATOR, Workdir, check
from test_emu_avd import API, SUB, arm_error, call, pool_path

W = "x-ms-ratelimit-remaining-subscription-writes"
GW = "x-ms-ratelimit-remaining-subscription-global-writes"
R = "x-ms-ratelimit-remaining-subscription-reads"
GR = "x-ms-ratelimit-remaining-subscription-global-reads"
MESSAGE = re.compile(r"Number of 'write' requests for subscription '%s' actor '([0-9a-f-]{36})' "
                     r"exceeded\. Please try again after '(\d+)' seconds after additional tokens "
                     r"are available\. Refer to https://aka\.ms/arm-throttling for additional "
                     r"information\.$" % SUB)


def session(host, i):
    return pool_path() + "/sessionHosts/Host-%d/userSessions/%d" % (host, i)


def disconnect(emu, host, i, token="alice"):
    return call(emu, "POST", session(host, i) + "/disconnect",
                headers={"Authorization": "Bearer " + token})


def stats(emu):
    return json.loads(emu.get("/_emulator/stats")[2])


def throttled(status, h, text):
    check(status == 429, "429", status, text)
    code, message = arm_error(text)
    check(code == "SubscriptionRequestsThrottled", "ARM's code", text)
    m = MESSAGE.match(message)
    check(m, "ARM's words", message)
    check(h.get("retry-after", "").isdigit() and int(h["retry-after"]) >= 1 and
          m.group(2) == h["retry-after"], "Retry-After in whole seconds, as the message says",
          h.get("retry-after"), message)
    return int(h["retry-after"])


def test_emu_quota_writes_count_down_then_429_until_the_wait_is_over():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:2:20", "--arm-quota", "writes=5:2")
        left = []
        for i in range(1, 6):
            status, h, text = disconnect(emu, 0, i)
            check(status == 200, "disconnect %d" % i, status, text)
            left.append((int(h[W]), int(h[GW])))
            check(R not in h and GR not in h, "reads are not limited: no header", h)
        check(left == [(4, 4), (3, 3), (2, 2), (1, 1), (0, 0)], "remaining counts down", left)
        status, h, text = disconnect(emu, 0, 6)
        wait = throttled(status, h, text)
        check(h[W] == "0" and h[GW] == "0", "the remaining headers at 0 on the 429", h)
        check(h.get("x-ms-correlation-request-id") and h.get("x-ms-request-id"),
              "ARM's other headers on the 429 too", h)
        u = [s for s in emu.state()["avd"]["userSessions"] if s["sessionHost"] == "Host-0"]
        check(sum(s["operations"]["disconnect"] for s in u) == 5, "the 429 did no work", u)
        # before the wait is over: a fresh 429, the wait started over
        status, h, text = disconnect(emu, 0, 6)
        again = throttled(status, h, text)
        check(again >= wait, "the fresh wait is no shorter", wait, again)
        # reads are a separate bucket, and a GET is not charged to writes
        status, h, text = call(emu, "GET", session(0, 1), headers={"Authorization": "Bearer alice"})
        check(status == 200 and R not in h and W not in h, "reads go on", status, h)
        time.sleep(again + 0.2)
        status, h, text = disconnect(emu, 0, 6)
        check(status == 200, "after waiting Retry-After: served", status, text)
        check(int(h[W]) >= 0 and int(h[GW]) >= 0, "with the remaining headers", h)
        st = stats(emu)["arm_quota"]
        check(st["writes"] == {"allowed": 6, "throttled": 2, "early": 1}, "writes counted", st)
        check(st["reads"] == {"allowed": 1, "throttled": 0, "early": 0} and
              st["deletes"]["throttled"] == 0, "other buckets", st)
        # not counted: a request without api-version or with a bad token
        status, _, _ = call(emu, "POST", session(1, 1) + "/disconnect", query="")
        check(status == 400, "no api-version: 400", status)
        check(stats(emu)["arm_quota"]["writes"]["allowed"] == 6, "not counted")


def test_emu_quota_reads_and_deletes_have_their_own_buckets():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:2:20",
                         "--arm-quota", "reads=3:1,writes=2:1,deletes=2:1")
        for i in (1, 2):
            check(disconnect(emu, 0, i)[0] == 200, "write %d" % i)
        check(disconnect(emu, 0, 3)[0] == 429, "writes spent")
        got = []
        for _ in range(3):
            status, h, _ = call(emu, "GET", pool_path() + "/userSessions",
                                headers={"Authorization": "Bearer alice"})
            got.append((status, h.get(R), h.get(GR), W in h))
        check(got == [(200, "2", "2", False), (200, "1", "1", False), (200, "0", "0", False)],
              "reads: their own bucket, their own headers", got)
        status, h, text = call(emu, "GET", pool_path() + "/userSessions",
                               headers={"Authorization": "Bearer alice"})
        check(status == 429 and "'read' requests" in arm_error(text)[1] and h[R] == "0",
              "reads spent: 429 naming reads", status, text)
        status, h, text = call(emu, "DELETE", session(1, 1), headers={"Authorization": "Bearer alice"})
        check(status == 204 and h.get("x-ms-ratelimit-remaining-subscription-deletes") == "1",
              "deletes: their own bucket", status, h)
        # a 404 is charged too, and carries the headers (whatever the answer)
        status, h, text = call(emu, "DELETE", session(1, 1), headers={"Authorization": "Bearer alice"})
        check(status == 404 and h.get("x-ms-ratelimit-remaining-subscription-deletes") == "0",
              "a 404 with the headers", status, h)
        st = stats(emu)["arm_quota"]
        check(st["reads"]["throttled"] == 1 and st["writes"]["throttled"] == 1 and
              st["deletes"] == {"allowed": 2, "throttled": 0, "early": 0}, "counted per bucket", st)


def test_emu_quota_principals_have_their_own_buckets_and_share_the_global_one():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:2:20",
                         "--arm-quota", "writes=3:0.2,global-writes=5:0.2")
        seen = []
        for i, who in enumerate(["alice", "bob", "alice", "bob"], 1):
            status, h, _ = disconnect(emu, 0, i, token=who)
            seen.append((who, status, h[W], h[GW]))
        check(seen == [("alice", 200, "2", "4"), ("bob", 200, "2", "3"),
                       ("alice", 200, "1", "2"), ("bob", 200, "1", "1")],
              "each token its own bucket, one -global- value falling for both", seen)
        status, h, _ = disconnect(emu, 0, 5, token="alice")
        check(status == 200 and h[W] == "0" and h[GW] == "0", "alice takes the last", status, h)
        status, h, text = disconnect(emu, 0, 6, token="bob")
        throttled(status, h, text)
        check(h[W] == "1" and h[GW] == "0", "bob still holds one of his own: the global is empty",
              h)
        actor_bob = MESSAGE.match(arm_error(text)[1]).group(1)
        status, h, text = disconnect(emu, 0, 6, token="alice")
        throttled(status, h, text)
        actor_alice = MESSAGE.match(arm_error(text)[1]).group(1)
        check(actor_alice != actor_bob, "the message names each caller", actor_alice, actor_bob)
        # no token at all (the emulator accepts it): one more caller, "anonymous"
        status, h, text = call(emu, "POST", session(1, 1) + "/disconnect")
        check(status == 429 and "actor 'anonymous'" in arm_error(text)[1] and h[W] == "3",
              "without a token: anonymous, its own full bucket, the global one empty", status,
              text, h)
        check(stats(emu)["arm_quota"]["writes"]["throttled"] == 3, "three 429s")


def test_emu_quota_off_and_beside_the_fault_429s():
    with Workdir() as w:
        emu = w.emulator("--generate-avd", "rg1/Pool1:1:3")
        status, h, _ = disconnect(emu, 0, 1)
        check(status == 200 and not any(k.startswith("x-ms-ratelimit") for k in h),
              "without --arm-quota: no headers", h)
        check("arm_quota" not in stats(emu), "nor stats")
        emu2 = w.emulator("--generate-avd", "rg1/Pool1:1:3", "--arm-quota", "writes=5:1",
                          "--fault", "429=1")
        status, h, text = disconnect(emu2, 0, 1)
        check(status == 429 and W not in h and "SubscriptionRequestsThrottled" not in text,
              "the fault's own 429, not ARM's", status, h, text)
        check(stats(emu2)["arm_quota"]["writes"] == {"allowed": 0, "throttled": 0, "early": 0},
              "and not counted by the buckets", stats(emu2))


def test_emu_quota_bad_spec_is_refused_at_start():
    with Workdir() as w:
        for spec, words in (("writes=5", "burst:rate"), ("posts=5:1", "unknown bucket"),
                            ("writes=0:1", "burst"), ("", "empty")):
            try:
                w.emulator("--generate-avd", "rg1/Pool1:1:1", "--arm-quota", spec)
                check(False, "a bad --arm-quota is refused", spec)
            except RuntimeError as e:
                check("bad --arm-quota '%s'" % spec in str(e) and words in str(e),
                      "says what is wrong", spec, e)
        r = subprocess.run([EMULATOR, "--port", "0", "--arm-quota", "reads=250:25,writes=x"],
                           capture_output=True, text=True, timeout=10)
        check(r.returncode == 2 and "bad --arm-quota 'reads=250:25,writes=x'" in r.stderr,
              "exit status 2, said on stderr", r.returncode, r.stderr)
