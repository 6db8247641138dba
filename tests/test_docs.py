"""Every shell example of the documentation runs, and answers as it says.

The ```sh blocks of README.md and docs/*.md, in that order (the README's
quick start sets the variables the others use), run one after the other in
one bash, `set -euo pipefail`, in a folder of their own (examples that save
files save them there), against the session's demo platform — what a
newcomer has after `make run`; `localhost:8000` becomes its address. Every
curl in an example says what it answers with a `# → <status>` comment on its
line (the last line of a command that runs over several); the test records
each curl's status and compares, block by block. Blocks that are not meant to
be run (output, JSON answers, a Python snippet, `make run` itself) are not
```sh. Needs curl, python3 and zbarimg (Debian's zbar-tools, which reads a
printed QR code as a phone does)."""
import glob
import os
import re
import shutil
import subprocess
import sys

from tools import launch

DOCUMENTS = ["README.md"] + sorted(os.path.relpath(path, launch.ROOT) for path in
                                   glob.glob(os.path.join(launch.ROOT, "docs", "*.md")))
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```\s*$", re.S | re.M)
EXPECTED = re.compile(r"#\s*→\s*(\d{3})\b")
MARK = "=== block "

# Every curl, wherever it is called from (a $(...), a function), records its
# status; the examples themselves stay plain curl.
PREAMBLE = r'''set -euo pipefail
curl() {
  command curl --write-out '%{stderr}status %{http_code}\n' "$@" 2>> "$STATUS_LOG"
}
'''


def shell_examples():
    """[(document, line, text)] of every ```sh block, in document order."""
    found = []
    for document in DOCUMENTS:
        with open(os.path.join(launch.ROOT, document), encoding="utf-8") as handle:
            text = handle.read()
        for match in SH_BLOCK.finditer(text):
            found.append((document, text.count("\n", 0, match.start()) + 1, match.group(1)))
    return found


def operator_env(platform):
    """What an operator's shell has on the platform's machine: the project's
    virtualenv first on PATH (`python -m …` tools), and the broker and queue
    prefix the services use."""
    return {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
            "PYTHONPATH": launch.ROOT, "AMQP_URI": platform.env["AMQP_URI"],
            "QUEUE_PREFIX": platform.env["QUEUE_PREFIX"]}


def test_every_shell_example_runs_and_answers_as_it_says(demo_platform, tmp_path):
    for tool in ("curl", "python3", "zbarimg"):
        assert shutil.which(tool), "%s is needed (zbarimg: apt-get install zbar-tools)" % tool
    address = demo_platform.base_url.split("://", 1)[1]
    examples = shell_examples()
    assert {document for document, _, _ in examples} >= {"README.md", "docs/api.md"}
    log = tmp_path / "statuses"
    script = [PREAMBLE]
    for number, (document, line, text) in enumerate(examples):
        script.append("echo '%s%d' >> \"$STATUS_LOG\"\n" % (MARK, number))
        script.append(text.replace("localhost:8000", address))
    work = tmp_path / "work"
    work.mkdir()
    finished = subprocess.run(["bash", "-c", "".join(script)], cwd=str(work),
                              env=dict(os.environ, STATUS_LOG=str(log),
                                       **operator_env(demo_platform)),
                              capture_output=True, text=True, timeout=600)
    answered = {}
    current = None
    for entry in log.read_text().splitlines() if log.exists() else []:
        if entry.startswith(MARK):
            current = int(entry[len(MARK):])
            answered[current] = []
        elif entry.startswith("status "):
            answered[current].append(entry.split()[1])
    for number, (document, line, text) in enumerate(examples):
        expected = EXPECTED.findall(text)
        got = answered.get(number)
        assert got == expected, (
            "%s:%d: the example answered %s, it says %s\n%s\n--- its output (end):\n%s\n%s"
            % (document, line, got, expected, text, finished.stdout[-3000:],
               finished.stderr[-3000:]))
    assert finished.returncode == 0, finished.stderr[-3000:]
