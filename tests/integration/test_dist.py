"""Shell completions: driven as a shell drives them, bash through
bash-completion's own loader and the function it registers (COMP_WORDS, then
COMPREPLY), zsh on a pseudo-terminal with a real Tab.
"""
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time

from harness import RABULK, Workdir, check


# ---- bash ---------------------------------------------------------------

BASH_DRIVER = r'''
source /usr/share/bash-completion/bash_completion || exit 90
_completion_loader rabulk    # as bash does on the first Tab: finds share/bash-completion/completions/rabulk
complete -p rabulk >&2 || exit 91
while IFS= read -r line; do
    COMP_LINE=$line COMP_POINT=${#line}
    # split as readline does (COMP_WORDBREAKS: "=" is a word of its own)
    COMP_WORDS=()
    rest=$line
    while [[ $rest =~ ^[[:space:]]*([^[:space:]=]+|=) ]]; do
        COMP_WORDS+=("${BASH_REMATCH[1]}")
        rest=${rest:${#BASH_REMATCH[0]}}
    done
    [[ $line =~ [[:space:]=]$ ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _rabulk rabulk "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[*]}"
done
'''


def bash_complete(w, lines, cwd=None):
    """What bash offers for each line (a Tab at its end), as sets of words.
    The script is laid out as `make install` lays it out, and found by
    bash-completion's loader through XDG_DATA_DIRS."""
    if not os.path.exists("/usr/share/bash-completion/bash_completion"):
        raise AssertionError("bash-completion is not installed: scripts/deps.sh installs it")
    share = os.path.join(w.path, "share")
    os.makedirs(os.path.join(share, "bash-completion", "completions"), exist_ok=True)
    script = subprocess.run([RABULK, "--completion", "bash"], capture_output=True, text=True,
                            check=True).stdout
    with open(os.path.join(share, "bash-completion", "completions", "rabulk"), "w") as f:
        f.write(script)
    env = dict(os.environ, XDG_DATA_DIRS=share, BASH_COMPLETION_USER_DIR=os.path.join(w.path, "none"))
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", BASH_DRIVER], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, env=env, cwd=cwd or w.path, timeout=60)
    check(p.returncode == 0, "bash driver", p.returncode, p.stderr)
    check("complete -F _rabulk rabulk" in p.stderr, "complete -p rabulk after the loader", p.stderr)
    out = p.stdout.split("\n")[:len(lines)]
    return {line: set(o.split()) for line, o in zip(lines, out)}


def test_bash_completes_commands_options_values_and_files():
    with Workdir() as w:
        w.file("users.csv", "x"), w.file("notes.txt", "x")
        os.mkdir(os.path.join(w.path, "reports"))
        got = bash_complete(w, [
            "rabulk dis",
            "rabulk disconnect --conc",
            "rabulk disconnect --format ",
            "rabulk disconnect --format=nd",
            "rabulk sessions --format ",
            "rabulk sessions --st",
            "rabulk sessions --state ",
            "rabulk drain --then ",
            "rabulk report ",
            "rabulk report merge --in",
            "rabulk --completion ",
            "rabulk --",
            "rabulk ",
            "rabulk disconnect us",
            "rabulk disconnect --report no",
            "rabulk disconnect --concurrency ",
            "rabulk sessions Ap",
            "rabulk message --te",
        ])
        want = {
            "rabulk dis": {"disconnect"},
            "rabulk disconnect --conc": {"--concurrency"},
            "rabulk disconnect --format ": {"csv", "json", "ndjson", "lines"},
            "rabulk disconnect --format=nd": {"ndjson"},
            "rabulk sessions --format ": {"csv", "json", "ndjson"},
            "rabulk sessions --st": {"--state"},
            "rabulk sessions --state ": {"Connected", "Active", "Disconnected"},
            "rabulk drain --then ": {"disconnect", "logoff"},
            "rabulk report ": {"merge"},
            "rabulk report merge --in": {"--input"},
            "rabulk --completion ": {"bash", "zsh"},
            "rabulk --": {"--help", "--version", "--completion"},
            "rabulk ": {"disconnect", "logoff", "message", "sessions", "result", "drain", "report"},
            "rabulk disconnect us": {"users.csv"},
            "rabulk disconnect --report no": {"notes.txt"},
            "rabulk disconnect --concurrency ": set(),  # a number: nothing to offer, not files
            "rabulk sessions Ap": set(),  # a collection name: not a file
            "rabulk message --te": {"--text", "--text-file"},
        }
        for line, words in want.items():
            check(got[line] == words, repr(line), sorted(got[line]), "want", sorted(words))


def help_options():
    out = subprocess.run([RABULK, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"^  (?:-h, )?(--[a-z][a-z-]+)", out, re.M))


def test_every_help_option_completes_for_its_commands():
    """Every option --help shows (the man page test checks them against
    man/rabulk.1) is offered for some command, and each command is offered
    its own."""
    commands = ["disconnect", "logoff", "message", "sessions", "result", "drain", "report merge"]
    with Workdir() as w:
        got = bash_complete(w, ["rabulk %s --" % c for c in commands] + ["rabulk --"])
    offered = set().union(*got.values())
    documented = help_options()
    check(len(documented) > 50, "options in --help", len(documented))
    check(documented == offered, "--help and the completions name the same options",
          "only in --help:", sorted(documented - offered), "only completed:", sorted(offered - documented))
    per = {c: got["rabulk %s --" % c] for c in commands}
    for cmd, own in (("message", "--text"), ("sessions", "--state"), ("drain", "--grace"),
                     ("drain", "--then"), ("logoff", "--yes"), ("report merge", "--input"),
                     ("disconnect", "--resume"), ("result", "--endpoint")):
        check(own in per[cmd], "%s offers %s" % (cmd, own), sorted(per[cmd]))
    for cmd, other in (("disconnect", "--state"), ("disconnect", "--grace"), ("sessions", "--report"),
                       ("report merge", "--endpoint"),
                       ("sessions", "--text")):
        check(other not in per[cmd], "%s does not offer %s" % (cmd, other))
    check(all("--help" in per[c] for c in commands), "--help everywhere")


def test_fixed_value_sets_are_what_the_parser_accepts():
    """The sets completion offers are the ones the option parser names when
    it refuses a value."""
    with Workdir() as w:
        got = bash_complete(w, ["rabulk disconnect --format ", "rabulk sessions --format ",
                                "rabulk drain --then ", "rabulk --completion "])
    for args, line in ((["disconnect", "--format", "x"], "rabulk disconnect --format "),
                       (["sessions", "--format", "x", "Apps"], "rabulk sessions --format "),
                       (["drain", "--then", "x"], "rabulk drain --then "),
                       (["--completion", "fish"], "rabulk --completion ")):
        err = subprocess.run([RABULK, *args], capture_output=True, text=True).stderr
        m = re.search(r"want ([a-z, ]+?)\n", err)
        check(m, "a refusal naming the values", args, err[:300])
        accepted = set(re.split(r", | or ", m.group(1)))
        check(accepted == got[line], "values of " + line, sorted(accepted), sorted(got[line]))


# ---- zsh ----------------------------------------------------------------

def zsh_tab(fpath, line):
    """Types line and a Tab into an interactive zsh with _rabulk on its
    fpath; returns what the terminal showed after the Tab."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="dumb", HOME=fpath)
        os.execvp("zsh", ["zsh", "-f", "-i"])

    def read(until=None, quiet=0.4, limit=10.0):
        buf, end, last = b"", time.monotonic() + limit, time.monotonic()
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                buf, last = buf + chunk, time.monotonic()
                if until and until in buf:
                    return buf
            elif not until and buf and time.monotonic() - last > quiet:
                return buf
        return buf

    try:
        os.write(fd, ("PS1='%% '; fpath=(%s $fpath); autoload -Uz compinit; compinit -u -D; "
                      "print RE''ADY\n" % fpath).encode())
        read(until=b"READY\r\n")
        read(quiet=0.2, limit=2)  # the prompt
        os.write(fd, line.encode() + b"\t")
        return read().decode(errors="replace")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def test_zsh_completes_commands_options_and_values():
    if not shutil.which("zsh"):
        raise AssertionError("zsh is not installed: scripts/deps.sh installs it")
    with Workdir() as w:
        fpath = os.path.join(w.path, "zsh")
        os.mkdir(fpath)
        script = subprocess.run([RABULK, "--completion", "zsh"], capture_output=True, text=True,
                                check=True).stdout
        with open(os.path.join(fpath, "_rabulk"), "w") as f:
            f.write(script)
        p = subprocess.run(["zsh", "-n", os.path.join(fpath, "_rabulk")], capture_output=True, text=True)
        check(p.returncode == 0, "zsh -n", p.stderr)
        for line, words in (("rabulk dis", ["rabulk disconnect "]),
                            ("rabulk disconnect --conc", ["--concurrency="]),
                            ("rabulk disconnect --format ", ["csv", "json", "lines", "ndjson"]),
                            ("rabulk drain --th", ["--then", "--threads", "drain: logoff or disconnect"])):
            shown = zsh_tab(fpath, line)
            check(all(wd in shown for wd in words), "zsh: " + line, words, repr(shown[-300:]))
        shown = zsh_tab(fpath, "rabulk sessions --format ")
        check("ndjson" in shown and "lines" not in shown, "zsh: sessions' formats", repr(shown[-300:]))
