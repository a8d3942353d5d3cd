#!/usr/bin/env python3
"""Writes the malformed-input corpus: tests/data/malformed/NNN-name.EXT and,
beside each, NNN-name.expect.json with what the report must say.

Expectations are stated here by construction (which line is bad and why),
not copied from rabulk's output. Every case runs as
    rabulk disconnect --dry-run --collection Dflt [args] FILE
The files double as the fuzzers' seed corpus. Re-run after editing:
    python3 tests/data/gen_malformed.py
"""
import json
import os

from corpus import write_corpus

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "malformed")
cases = []


def case(name, ext, data, rows, exit_code=None, args=(), complete=True):
    """rows: [(line, status, reason substring or "")]; complete: no other rows."""
    if isinstance(data, str):
        data = data.encode()
    if exit_code is None:
        exit_code = 1 if any(s in ("invalid",) for _, s, _ in rows) else 0
    cases.append((name, ext, data, rows, exit_code, list(args), complete))


OK = "planned"
BAD = "invalid"

bad_upns = [
    ("no-at", "alice.contoso.com", "must contain '@'"),
    ("two-at", "a@b@contoso.com", "domain has a character"),
    ("empty-local", "@contoso.com", "no user name"),
    ("no-dot-domain", "alice@contoso", "at least one dot"),
    ("trailing-dot", "alice@contoso.com.", "empty label"),
    ("double-dot", "alice@contoso..com", "empty label"),
    ("leading-dot-domain", "alice@.contoso.com", "empty label"),
    ("space-inside", "al ice@contoso.com", "white space"),
    ("nbsp", "alice@contoso.com\u00a0", "white space"),
    ("ideographic-space", "alice\u3000@contoso.com", "white space"),
    ("slash", "a/b@contoso.com", "user name has a character"),
    ("brackets", "a[b]@contoso.com", "user name has a character"),
    ("colon", "a:b@contoso.com", "user name has a character"),
    ("pipe", "a|b@contoso.com", "user name has a character"),
    ("equals", "a=b@contoso.com", "user name has a character"),
    ("plus", "a+b@contoso.com", "user name has a character"),
    ("star", "a*b@contoso.com", "user name has a character"),
    ("question", "a?b@contoso.com", "user name has a character"),
    ("angle", "a<b>@contoso.com", "user name has a character"),
    ("underscore-domain", "alice@con_toso.com", "domain has a character"),
    ("tilde-domain", "alice@contoso~x.com", "domain has a character"),
    ("hash-domain", "alice@contoso#.com", "domain has a character"),
    ("paren-domain", "alice@contoso().com", "domain has a character"),
    ("brace-domain", "alice@{contoso}.com", "domain has a character"),
    ("percent-domain", "alice@contoso%20.com", "domain has a character"),
    ("amp-domain", "alice@a&b.com", "domain has a character"),
    ("quote-domain", "alice@o'neil.com", "domain has a character"),
    ("only-at", "@", "no user name"),
]

bad_collections = [
    ("too-short", "ab", "3 to 13"),
    ("too-long", "A2345678901234", "3 to 13"),
    ("digit-first", "1apps", "start with a letter"),
    ("dash", "my-apps", "only letters and digits"),
    ("underscore", "my_apps", "only letters and digits"),
    ("space", "my apps", "only letters and digits"),
    ("dotdot", "..", "start with a letter"),
    ("dot", "app.s", "only letters and digits"),
    ("slash", "apps/x", "only letters and digits"),
    ("emoji", "app\U0001F600", "only letters and digits"),
    ("accent-first", "\u00e9apps", "start with a letter"),
    ("percent-encoded", "app%2F", "only letters and digits"),
]

bad_bytes = [
    ("lone-continuation", b"al\x80ice@contoso.com", "invalid UTF-8"),
    ("overlong-slash", b"al\xc0\xafice@contoso.com", "invalid UTF-8"),
    ("surrogate", b"al\xed\xa0\x80ice@contoso.com", "invalid UTF-8"),
    ("truncated-seq", b"al\xe2\x82ice@contoso.com", "invalid UTF-8"),
    ("ff-byte", b"al\xffice@contoso.com", "invalid UTF-8"),
    ("f5-byte", b"al\xf5\x80\x80\x80ice@contoso.com", "invalid UTF-8"),
    ("beyond-10ffff", b"al\xf4\x90\x80\x80ice@contoso.com", "invalid UTF-8"),
    ("latin1-e-acute", b"jos\xe9@contoso.com", "invalid UTF-8"),
    ("ctrl-01", b"al\x01ice@contoso.com", "control character"),
    ("ctrl-esc", b"al\x1bice@contoso.com", "control character"),
    ("ctrl-del", b"al\x7fice@contoso.com", "control character"),
    ("c1-nel", b"al\xc2\x85ice@contoso.com", "control character"),
    ("c1-csi", b"al\xc2\x9bice@contoso.com", "control character"),
    ("bell", b"\x07alice@contoso.com", "control character"),
    ("nul-byte", b"al\x00ice@contoso.com", "NUL"),
]


def csv_row(coll, upn):
    return coll + "," + upn + "\n"


GOOD = "good@contoso.com"

for name, upn, why in bad_upns:
    case("upn-csv-" + name, "csv", "CollectionName,UserUpn\n" + csv_row("Apps", upn) + csv_row("Apps", GOOD),
         [(2, BAD, why), (3, OK, "")])
    case("upn-ndjson-" + name, "ndjson",
         json.dumps({"CollectionName": "Apps", "UserUpn": upn}) + "\n" +
         json.dumps({"CollectionName": "Apps", "UserUpn": GOOD}) + "\n",
         [(1, BAD, why), (2, OK, "")])
    case("upn-lines-" + name, "txt", "# users\n" + upn + "\n" + GOOD + "\n",
         [(2, BAD, why), (3, OK, "")], args=["--format", "lines"])

for name, coll, why in bad_collections:
    case("coll-csv-" + name, "csv", "UserUpn,Collection\n" + GOOD + "," + coll + "\n" + GOOD + ",Apps\n",
         [(2, BAD, why), (3, OK, "")])
    case("coll-json-" + name, "json",
         json.dumps([{"Collection": coll, "UserUpn": GOOD}, {"Collection": "Apps", "UserUpn": GOOD}]),
         [(1, BAD, why), (1, OK, "")])

for name, raw, why in bad_bytes:
    case("bytes-csv-" + name, "csv", b"CollectionName,UserUpn\nApps," + raw + b"\nApps," + GOOD.encode() + b"\n",
         [(2, BAD, why), (3, OK, "")])
    case("bytes-lines-" + name, "txt", raw + b"\n" + GOOD.encode() + b"\n",
         [(1, BAD, why), (2, OK, "")], args=["--format", "lines"])
    if b"\x00" not in raw:  # a raw NUL is not valid JSON text at all
        case("bytes-ndjson-" + name, "ndjson",
             b'{"CollectionName":"Apps","UserUpn":"' + raw + b'"}\n{"CollectionName":"Apps","UserUpn":"' +
             GOOD.encode() + b'"}\n', [(1, BAD, why), (2, OK, "")])

H = "CollectionName,UserUpn\n"
g = "Apps," + GOOD + "\n"
csv_cases = [
    ("ragged-short", H + "Apps\n" + g, [(2, BAD, "expected 2 fields, found 1"), (3, OK, "")]),
    ("ragged-long", H + "Apps,a@contoso.com,extra\n" + g, [(2, BAD, "expected 2 fields, found 3"), (3, OK, "")]),
    ("stray-quote", H + 'Apps,al"ice@contoso.com\n' + g, [(2, BAD, "malformed CSV"), (3, OK, "")]),
    ("quote-after-field", H + 'Apps,"alice@contoso.com"x\n' + g, [(2, BAD, "malformed CSV"), (3, OK, "")]),
    ("unterminated-quote-at-eof", H + g + 'Apps,"alice@contoso.com\n', [(2, OK, ""), (3, BAD, "malformed CSV")]),
    ("unterminated-quote-mid-file", H + 'Apps,"alice@contoso.com\n' + g + "Apps,c@contoso.com\n",
     [(2, BAD, "malformed CSV"), (3, OK, ""), (4, OK, "")]),
    ("quote-open-until-later-quote", H + 'Apps,"alice@contoso.com\n' + g + 'Apps,"c@contoso.com"\n',
     [(2, BAD, "malformed CSV"), (3, OK, ""), (4, OK, "")]),
    ("quoted-newline-then-stray-quote", H + 'Apps,"al\nice@contoso.com"x\n' + g,
     [(2, BAD, "malformed CSV"), (3, BAD, "malformed CSV"), (4, OK, "")]),
    ("blank-lines-inside-open-quote", H + 'Apps,"\n\n\n' + g, [(2, BAD, "malformed CSV"), (5, OK, "")]),
    ("unterminated-quote-twice", H + 'Apps,"a@contoso.com\n' + g + 'Apps,"b@contoso.com\n' + "Apps,d@contoso.com\n",
     [(2, BAD, "malformed CSV"), (3, OK, ""), (4, BAD, "malformed CSV"), (5, OK, "")]),
    ("bom", "\ufeff" + H + g, [(2, OK, "")]),
    ("crlf", (H + g + "Apps,b@contoso.com\n").replace("\n", "\r\n"), [(2, OK, ""), (3, OK, "")]),
    ("blank-lines", H + "\n\n" + g + "\n", [(4, OK, "")]),
    ("leading-blank-lines", "\n\n" + H + g, [(4, OK, "")]),
    ("only-header", H, []),
    ("semicolon", "CollectionName;UserUpn\nApps;" + GOOD + "\n", [(2, OK, "")]),
    ("tab", "CollectionName\tUserUpn\nApps\t" + GOOD + "\n", [(2, OK, "")]),
    ("tab-with-spaces-in-field", "CollectionName\tUserUpn\nApps\tal ice@contoso.com\n",
     [(2, BAD, "white space")]),
    ("header-case", "COLLECTIONNAME,userupn\n" + g, [(2, OK, "")]),
    ("header-upn-alias", "Name,UserPrincipalName\n" + g, [(2, OK, "")]),
    ("reordered-extra", "Extra,UserUpn,Other,CollectionName\nx," + GOOD + ",y,Apps\n", [(2, OK, "")]),
    ("quoted-header", '"CollectionName","UserUpn"\n"Apps","' + GOOD + '"\n', [(2, OK, "")]),
    ("doubled-quotes-in-field", H + 'Apps,"al""ice@contoso.com"\n' + g,
     [(2, BAD, "user name has a character"), (3, OK, "")]),
    ("newline-in-quoted-upn", H + 'Apps,"al\nice@contoso.com"\n' + g, [(2, BAD, "control character"), (4, OK, "")]),
    ("newline-in-extra-column", "CollectionName,UserUpn,Note\nApps," + GOOD + ',"two\nlines"\nApps,b@contoso.com,x\n',
     [(2, OK, ""), (4, OK, "")]),
    ("empty-upn", H + "Apps,\n" + g, [(2, BAD, "empty field"), (3, OK, "")]),
    ("empty-collection", H + "," + GOOD + "\n" + g, [(2, BAD, "empty field"), (3, OK, "")]),
    ("spaces-around-fields", H + "  Apps ,  " + GOOD + "  \n", [(2, OK, "")]),
    ("trailing-comma", "CollectionName,UserUpn,\nApps," + GOOD + ",\n", [(2, OK, "")]),
    ("no-final-newline", H + "Apps," + GOOD, [(2, OK, "")]),
    ("cr-only-line-ends", (H + g).replace("\n", "\r"), [(2, OK, "")]),
    ("numbers-as-upn", H + "Apps,12345\n" + g, [(2, BAD, "must contain '@'"), (3, OK, "")]),
    ("field-over-1k", H + "Apps," + "a" * 1100 + "@contoso.com\n" + g, [(2, BAD, "longer than 1024"), (3, OK, "")]),
    ("line-over-64k", H + "Apps," + "a" * 70000 + "@contoso.com\n" + g, [(2, BAD, "longer than 64 KiB"), (3, OK, "")]),
    ("duplicate-rows", H + g + "apps," + GOOD.upper() + "\n", [(2, OK, ""), (3, "duplicate", "earlier row")]),
    ("duplicate-header-column", "CollectionName,UserUpn,UserUpn\nApps," + GOOD + ",other@contoso.com\n",
     [(2, OK, "")]),
    ("header-without-collection-uses-default", "UserUpn\n" + GOOD + "\n", [(2, OK, "")]),
]
for name, data, rows in csv_cases:
    case("csv-" + name, "csv", data, rows)
# fuzz_auto's finding: a Name (Get-AzWvdUserSession's hostpool/host/id) longer
# than the bytes a cell keeps was searched for its '/' past the buffer
case("csv-name-over-1-kib", "csv", "Name,UserPrincipalName\n" + "A" * 1100 + "/h/1," + GOOD +
     "\nhp01/h/2," + GOOD + "\n", [(2, BAD, "longer than 1024"), (3, OK, "")])
case("csv-no-user-column", "csv", "CollectionName,Mail\nApps," + GOOD + "\n", [], exit_code=2,
     args=["--format", "csv"])
case("csv-empty-file", "csv", "", [])

N = lambda d: json.dumps(d) + "\n"
nd = N({"CollectionName": "Apps", "UserUpn": GOOD})
ndjson_cases = [
    ("not-json", "{oops\n" + nd, [(1, BAD, "not a JSON object"), (2, OK, "")]),
    ("array-line", nd + "[1,2]\n", [(1, OK, ""), (2, BAD, "not a JSON object")]),
    ("number-line", nd + "42\n", [(1, OK, ""), (2, BAD, "not a JSON object")]),
    ("string-line", nd + '"alice@contoso.com"\n', [(1, OK, ""), (2, BAD, "not a JSON object")]),
    ("null-line", nd + "null\n", [(1, OK, ""), (2, BAD, "not a JSON object")]),
    ("upn-number", N({"UserUpn": 5}) + nd, [(1, BAD, "not a string"), (2, OK, "")]),
    ("upn-array", N({"UserUpn": ["a@contoso.com"]}) + nd, [(1, BAD, "not a string"), (2, OK, "")]),
    ("upn-object", N({"UserUpn": {"x": 1}}) + nd, [(1, BAD, "not a string"), (2, OK, "")]),
    ("upn-bool", N({"UserUpn": True}) + nd, [(1, BAD, "not a string"), (2, OK, "")]),
    ("upn-null", N({"UserUpn": None}) + nd, [(1, BAD, "not a string"), (2, OK, "")]),
    ("collection-number", N({"Collection": 7, "UserUpn": GOOD}) + nd, [(1, BAD, "collection is not a string"), (2, OK, "")]),
    ("no-upn-key", N({"CollectionName": "Apps", "Mail": GOOD}) + nd, [(1, BAD, "no UserUpn"), (2, OK, "")]),
    ("empty-object", "{}\n" + nd, [(1, BAD, "no UserUpn"), (2, OK, "")]),
    ("nul-escape", '{"CollectionName":"Apps","UserUpn":"a@contoso.com\\u0000evil"}\n' + nd,
     [(1, BAD, "NUL"), (2, OK, "")]),
    ("escaped-backslash-u0000-is-text", '{"CollectionName":"Apps","UserUpn":"a\\\\u0000@contoso.com"}\n',
     [(1, OK, "")]),
    ("unicode-escapes", '{"CollectionName":"Apps","UserUpn":"\\u0061lice@contoso.com"}\n', [(1, OK, "")]),
    ("escaped-newline", '{"CollectionName":"Apps","UserUpn":"a\\nb@contoso.com"}\n' + nd,
     [(1, BAD, "control character"), (2, OK, "")]),
    ("lone-surrogate-escape", '{"CollectionName":"Apps","UserUpn":"\\ud800a@contoso.com"}\n' + nd,
     [(1, BAD, ""), (2, OK, "")]),
    ("deep-nesting", '{"a":' * 2000 + "1" + "}" * 2000 + "\n" + nd, [(1, BAD, "not a JSON object"), (2, OK, "")]),
    ("truncated-line", '{"CollectionName":"Apps","UserUpn":"a@con\n' + nd, [(1, BAD, "not a JSON object"), (2, OK, "")]),
    ("trailing-comma", '{"CollectionName":"Apps","UserUpn":"a@contoso.com",}\n' + nd, [(1, BAD, "not a JSON object"), (2, OK, "")]),
    ("duplicate-keys", '{"UserUpn":"a@contoso.com","UserUpn":"b@contoso.com","Collection":"Apps"}\n', [(1, OK, "")]),
    ("keys-other-case", '{"userupn":"a@contoso.com","COLLECTIONNAME":"Apps"}\n', [(1, OK, "")]),
    ("crlf", nd.replace("\n", "\r\n") * 1, [(1, OK, "")]),
    ("bom", "\ufeff" + nd, [(1, OK, "")]),
    ("blank-lines", "\n" + nd + "\n\n" + N({"CollectionName": "Apps", "UserUpn": "b@contoso.com"}), [(2, OK, ""), (5, OK, "")]),
    ("extra-keys", N({"CollectionName": "Apps", "UserUpn": GOOD, "State": "Connected", "LogonTimeUtc": "x", "n": [1]}), [(1, OK, "")]),
    ("state-number", N({"CollectionName": "Apps", "UserUpn": GOOD, "State": 1}), [(1, OK, "")]),
    ("default-collection", N({"UserUpn": GOOD}), [(1, OK, "")]),
]
for name, data, rows in ndjson_cases:
    case("ndjson-" + name, "ndjson", data, rows)

obj = {"CollectionName": "Apps", "UserUpn": GOOD}
json_cases = [
    ("truncated-mid-element", '[{"CollectionName":"Apps","UserUpn":"good@contoso.com"},{"Coll',
     [(0, OK, ""), (1, BAD, "truncated JSON")]),
    ("no-closing-bracket", '[{"CollectionName":"Apps","UserUpn":"good@contoso.com"},',
     [(0, OK, ""), (1, BAD, "no closing")]),
    ("trailing-garbage", json.dumps([obj]) + " junk", [(0, OK, ""), (1, BAD, "after the end")]),
    ("scalars", json.dumps([1, "a@contoso.com", None, True, obj]),
     [(0, BAD, "not a JSON object"), (1, BAD, "not a JSON object"), (2, BAD, "not a JSON object"),
      (3, BAD, "not a JSON object"), (4, OK, "")]),
    ("nested-arrays", json.dumps([[obj], obj]), [(0, BAD, "not a JSON object"), (1, OK, "")]),
    ("deep-nesting", "[" + "[" * 5000 + "]" * 5000 + "," + json.dumps(obj) + "]",
     [(0, BAD, "not a JSON object"), (1, OK, "")]),
    ("big-element", json.dumps([{"CollectionName": "Apps", "UserUpn": GOOD, "pad": "x" * 1200000}, obj]),
     [(0, BAD, "larger than 1 MiB"), (1, OK, "")]),
    ("empty-array", "[]", []),
    ("whitespace-array", "  [\n\n  ]\n", []),
    ("brackets-in-strings", json.dumps([{"CollectionName": "Apps", "UserUpn": "x]y@contoso.com"}, obj]),
     [(0, BAD, "user name has a character"), (1, OK, "")]),
    ("escaped-quotes", '[{"CollectionName":"Apps","UserUpn":"a\\"],[b@contoso.com"},' + json.dumps(obj) + "]",
     [(0, BAD, "user name has a character"), (1, OK, "")]),
    ("double-comma", "[" + json.dumps(obj) + ",," + json.dumps({"CollectionName": "Apps", "UserUpn": "b@contoso.com"}) + "]",
     [(0, OK, ""), (1, OK, "")]),
    ("convertto-json", "[\r\n    {\r\n        \"LogonTimeUtc\":  \"2015-02-01T08:56:29.045Z\",\r\n"
     "        \"State\":  \"Connected\",\r\n        \"UserUpn\":  \"yadavb@hotmail.com\"\r\n    }\r\n]",
     [(0, OK, "")]),
    ("convertto-json-single", "{\r\n    \"LogonTimeUtc\":  \"2015-02-01T08:56:29.045Z\",\r\n"
     "    \"State\":  \"Connected\",\r\n    \"UserUpn\":  \"yadavb@hotmail.com\"\r\n}", [(0, OK, "")]),
    ("one-line-many", json.dumps([{"CollectionName": "Apps", "UserUpn": "u%d@contoso.com" % i} for i in range(50)]),
     [(i, OK, "") for i in range(50)]),
    ("rabulk-sessions-output", '[\n{"CollectionName":"Apps","UserUpn":"a@contoso.com","State":"Connected",'
     '"LogonTimeUtc":"2026-11-24T09:13:43.636Z"}\n]\n', [(0, OK, "")]),
    ("upn-number", json.dumps([{"UserUpn": 3}, obj]), [(0, BAD, "not a string"), (1, OK, "")]),
    ("nul-escape", '[{"CollectionName":"Apps","UserUpn":"a@contoso.com\\u0000"},' + json.dumps(obj) + "]",
     [(0, BAD, "NUL"), (1, OK, "")]),
    ("bom", "\ufeff" + json.dumps([obj]), [(0, OK, "")]),
    ("duplicates", json.dumps([obj, obj]), [(0, OK, ""), (1, "duplicate", "earlier row")]),
]
# A JSON row's line is the line where its element starts: every element of
# a one-line array is on line 1. The multi-line cases say their lines.
multi_line = {"convertto-json": [2], "rabulk-sessions-output": [2]}
for name, data, rows in json_cases:
    lines = multi_line.get(name)
    rows = [((lines[i] if lines else 1), st, why) for i, st, why in rows]
    case("json-" + name, "json", data, rows)

lines_cases = [
    ("comments-and-blanks", "# list\n\n" + GOOD + "\n   \n# end\n", [(3, OK, "")]),
    ("crlf-and-spaces", "  " + GOOD + "  \r\nb@contoso.com\r\n", [(1, OK, ""), (2, OK, "")]),
    ("tab-inside", "a\tb@contoso.com\n" + GOOD + "\n", [(1, BAD, "control character"), (2, OK, "")]),
    ("long-line", "a" * 70000 + "@contoso.com\n" + GOOD + "\n", [(1, BAD, "longer than 64 KiB"), (2, OK, "")]),
    ("csv-looking", "alice@contoso.com,extra\n", [(1, BAD, "domain has a character")]),
    ("no-final-newline", GOOD, [(1, OK, "")]),
]
for name, data, rows in lines_cases:
    case("lines-" + name, "txt", data, rows, args=["--format", "lines"])

if __name__ == "__main__":
    write_corpus(OUT, cases)
