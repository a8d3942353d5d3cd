#!/usr/bin/env python3
"""Writes the real-tools corpus: tests/data/realtools/NNN-name.EXT and, beside
each, NNN-name.expect.json (the same format as gen_malformed.py's).

Each family is a list as a real tool writes it (Windows PowerShell 5.1 and 7
Export-Csv, Out-File and `>`, ConvertTo-Json, Excel's "sep=" and "Unicode
text", `az ... -o tsv`, Get-AzWvdUserSession exports), in each encoding
those tools produce: UTF-8, UTF-8 with BOM, UTF-16LE and UTF-16BE with BOM.
Expectations are stated by construction, not copied from rabulk's output.
Every case runs as
    rabulk disconnect --dry-run --collection Dflt [args] FILE
The files are also seeds for the fuzzers. Re-run after editing:
    python3 tests/data/gen_realtools.py
"""
import json
import os

from corpus import write_corpus

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "realtools")
OK, BAD = "planned", "invalid"
ENCODINGS = {
    "utf8": lambda t: t.encode(),
    "utf8bom": lambda t: b"\xef\xbb\xbf" + t.encode(),
    "utf16le": lambda t: b"\xff\xfe" + t.encode("utf-16-le"),
    "utf16be": lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
}
cases = []


def family(name, ext, text, rows, exit_code=None, args=()):
    """One list in every encoding; rows: [(line, status, reason substring)]."""
    if exit_code is None:
        exit_code = 1 if any(s == BAD for _, s, _ in rows) else 0
    for enc, encode in ENCODINGS.items():
        cases.append(("%s-%s" % (name, enc), ext, encode(text), rows, exit_code, list(args)))


def raw(name, ext, data, rows, exit_code=None, args=()):
    if exit_code is None:
        exit_code = 1 if any(s == BAD for _, s, _ in rows) else 0
    cases.append((name, ext, data, rows, exit_code, list(args)))


CRLF = "\r\n"

# Windows PowerShell 5.1: Get-AzureRemoteAppSession -CollectionName Apps | Export-Csv s.csv
# (a #TYPE line, every field quoted; no collection column: the cmdlet is per collection)
family("ps51-export-csv", "csv", CRLF.join([
    "#TYPE Microsoft.WindowsAzure.Management.RemoteApp.Models.Session",
    '"UserUpn","State","LogonTimeUtc","VirtualMachine"',
    '"alice@contoso.com","Connected","2/1/2015 8:56:29 AM","vm-1"',
    '"bob@contoso.com","Disconnected","2/1/2015 9:02:11 AM","vm-2"',
    '"not a upn","Connected","2/1/2015 9:02:11 AM","vm-2"']) + CRLF,
    [(3, OK, ""), (4, OK, ""), (5, BAD, "white space")])
# ... with a collection column (a loop over collections with -Append)
family("ps51-export-csv-collection", "csv", CRLF.join([
    "#TYPE System.Management.Automation.PSCustomObject",
    '"CollectionName","UserUpn","State"',
    '"Apps","alice@contoso.com","Connected"',
    '"Desktops","bob@contoso.com","Active"']) + CRLF,
    [(3, OK, ""), (4, OK, "")])
# PowerShell 7 Export-Csv: no #TYPE line, every field quoted, LF on Linux
family("ps7-export-csv", "csv", "\n".join([
    '"CollectionName","UserUpn","State"',
    '"Apps","alice@contoso.com","Connected"',
    '"Apps","bob@contoso.com","Active"']) + "\n",
    [(2, OK, ""), (3, OK, "")])
# Excel "CSV (semicolon)" in a ';' locale, with the "sep=" line Excel reads and writes
family("excel-sep-semicolon", "csv", CRLF.join([
    "sep=;", "CollectionName;UserUpn;Dept", "Apps;alice@contoso.com;IT",
    "Apps;bob@contoso.com;HR"]) + CRLF,
    [(3, OK, ""), (4, OK, "")])
# "sep=," over a header whose cells hold ';': the named delimiter wins over sniffing
family("excel-sep-comma", "csv", CRLF.join([
    "sep=,", "Note;x;y;z,CollectionName,UserUpn", "a;b;c;d,Apps,alice@contoso.com"]) + CRLF,
    [(3, OK, "")])
# Excel "Unicode text": tab-separated (UTF-16LE with BOM in its own encoding)
family("excel-unicode-text", "txt", CRLF.join([
    "CollectionName\tUserUpn", "Apps\talice@contoso.com", "Apps\tbob@contoso.com"]) + CRLF,
    [(2, OK, ""), (3, OK, "")])
# PowerShell 5.1 `Get-Content users | ... > users.txt` / Out-File: a plain UPN list
family("ps51-out-file-upns", "txt", CRLF.join([
    "alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]) + CRLF,
    [(1, OK, ""), (2, OK, ""), (3, OK, "")])
# az ad group member list --query "[].userPrincipalName" -o tsv
family("az-tsv-one-column", "tsv", "alice@contoso.com\nbob@contoso.com\n",
       [(1, OK, ""), (2, OK, "")])
# Windows PowerShell 5.1 ConvertTo-Json: 4-space indent, "key":  value, enums
# as numbers, dates as \/Date(ms)\/
ps51_json = CRLF.join([
    "[",
    "    {",
    '        "UserUpn":  "alice@contoso.com",',
    '        "State":  1,',
    '        "LogonTimeUtc":  "\\/Date(1422788360000)\\/",',
    '        "CollectionName":  "Apps"',
    "    },",
    "    {",
    '        "UserUpn":  "bob@contoso.com",',
    '        "State":  0,',
    '        "LogonTimeUtc":  "\\/Date(1422788360000)\\/",',
    '        "CollectionName":  "Apps",',
    '        "Extra":  {"a":  [1, null, true]}',
    "    }",
    "]"])
family("ps51-convertto-json", "json", ps51_json, [(2, OK, ""), (8, OK, "")])
# PowerShell 7 ConvertTo-Json: 2-space indent, dates as ISO strings
family("ps7-convertto-json", "json", "\n".join([
    "[", "  {", '    "UserUpn": "alice@contoso.com",', '    "State": 1,',
    '    "LogonTimeUtc": "2015-02-01T08:56:29.045Z"', "  },", "  {",
    '    "UserUpn": "bob@contoso.com",', '    "State": 2', "  }", "]"]),
    [(2, OK, ""), (7, OK, "")])
# ConvertTo-Json of a single session: one object, not in an array
family("ps51-convertto-json-single", "json", CRLF.join([
    "{", '    "UserUpn":  "alice@contoso.com",', '    "State":  1,',
    '    "LogonTimeUtc":  "\\/Date(1422788360000)\\/"', "}"]),
    [(1, OK, "")])
# Get-AzWvdUserSession -HostPoolName hp01 -ResourceGroupName rg | Export-Csv
# (PowerShell 7): Name is "hostpool/sessionhost/id", whose host pool is the collection
family("az-wvd-usersession-export", "csv", "\n".join([
    '"Id","Name","UserPrincipalName","ResourceGroupName","SessionState","ApplicationType",'
    '"CreateTime","ActiveDirectoryUserName","Type"',
    '"/subscriptions/30da001a-1a9e-48a1-8b77-e5abcfe38bdc/resourceGroups/rg/providers/'
    'Microsoft.DesktopVirtualization/hostPools/hp01/sessionHosts/sh-0.contoso.com/userSessions/3",'
    '"hp01/sh-0.contoso.com/3","alice@contoso.com","rg","Active","Desktop",'
    '"12/2/2026 08:14:00","CONTOSO\\alice","Microsoft.DesktopVirtualization/hostpools/sessionhosts/usersessions"',
    '"/subscriptions/30da001a-1a9e-48a1-8b77-e5abcfe38bdc/resourceGroups/rg/providers/'
    'Microsoft.DesktopVirtualization/hostPools/hp01/sessionHosts/sh-1.contoso.com/userSessions/5",'
    '"hp01/sh-1.contoso.com/5","bob@contoso.com","rg","Disconnected","RemoteApp",'
    '"12/2/2026 08:20:00","CONTOSO\\bob","Microsoft.DesktopVirtualization/hostpools/sessionhosts/usersessions"']) + "\n",
    [(2, OK, ""), (3, OK, "")])
# A header without a user column: named, with the accepted names; exit 2
family("header-without-user-column", "csv", "Coll,Login\nApps,alice@contoso.com\n", [],
       exit_code=2)

# Broken UTF-16: an unpaired surrogate inside a UPN, and an odd last byte
good16 = "\r\n".join(["CollectionName,UserUpn", "Apps,alice@contoso.com", "Apps,bob\ud800x@contoso.com",
                      "Apps,carol@contoso.com"]) + "\r\n"
raw("utf16le-lone-surrogate", "csv",
    b"\xff\xfe" + good16.encode("utf-16-le", "surrogatepass"),
    [(2, OK, ""), (3, BAD, "UTF-8"), (4, OK, "")])
raw("utf16be-lone-low-surrogate", "txt",
    b"\xfe\xff" + "alice@contoso.com\n\udc00bob@contoso.com\ncarol@contoso.com\n".encode(
        "utf-16-be", "surrogatepass"),
    [(1, OK, ""), (2, BAD, "UTF-8"), (3, OK, "")])
raw("utf16le-odd-byte", "txt",
    b"\xff\xfe" + "alice@contoso.com\nbob@contoso.com".encode("utf-16-le") + b"\x00",
    [(1, OK, ""), (2, BAD, "UTF-8")])
raw("utf16le-astral", "csv",
    b"\xff\xfe" + "CollectionName,UserUpn,Note\nApps,alice@contoso.com,\U0001F600\n".encode("utf-16-le"),
    [(2, OK, "")])

if __name__ == "__main__":
    write_corpus(OUT, [c + (True,) for c in cases])
