#!/usr/bin/env python3
"""Developer entry point, needing only Python 3.11+: creates .venv on first use, then runs the task.

python3 dev.py demo        the demo (simulator, migration, snapshots, example SQL)
python3 dev.py test [...]  the test suite, one worker per core (pytest-xdist; extra arguments go to pytest, `-n 0`
                           runs it in one process)
python3 dev.py lint        ruff, mypy and the import-linter contracts (each floor imports only the floors below it)
python3 dev.py docs        rewrite the generated column tables of docs/data-dictionary.md (tools/data_dictionary.py)
python3 dev.py kiwoom-etl [...]  the command line itself, from the virtualenv
python3 dev.py screenshot [REPORT.html]  docs/report.png: the report of a fresh demo's demo-3 (or REPORT.html) drawn by
                           headless chromium; installs chromium and fonts-noto-cjk with apt-get when missing
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".kiwoom-etl-installed"
SCREENSHOT = ROOT / "docs" / "report.png"
SCREENSHOT_PACKAGES = ("chromium", "fonts-noto-cjk")


def ensure_virtualenv() -> None:
    """Create .venv and install the project with its development extras; again whenever pyproject.toml changes."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print("dev.py: creating .venv", file=sys.stderr)
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            sys.exit(f"dev.py: cannot create a virtualenv ({exc}); on Debian/Ubuntu: apt install python3-venv")
    print("dev.py: installing kiwoom-etl and its development tools into .venv", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--editable", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def run(*command: str, here: bool = False) -> int:
    # The command line runs where the user is (their config file, their database); tests and checks in the repo.
    return subprocess.run(list(command), cwd=None if here else ROOT).returncode


def ensure_screenshot_tools() -> str:
    """The chromium binary; chromium and the Noto CJK fonts (for Hangul) are installed with apt-get when missing."""
    fonts = ""
    if shutil.which("fc-list"):
        fonts = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True, check=False).stdout
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser and "Noto Sans CJK KR" in fonts:
        return browser
    if not shutil.which("apt-get"):
        sys.exit("dev.py: the screenshot needs chromium and the Noto CJK fonts; there is no apt-get to install them")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print(f"dev.py: installing {' '.join(SCREENSHOT_PACKAGES)} with apt-get (for the screenshot)", file=sys.stderr)
    subprocess.run([*sudo, "apt-get", "update", "-q"], check=True)
    install = [*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", *SCREENSHOT_PACKAGES]
    subprocess.run(install, check=True, env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"})
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        sys.exit("dev.py: apt-get installed chromium, yet no chromium command is on PATH")
    return browser


def screenshot(rest: list[str]) -> int:
    """Write docs/report.png: the report at rest[0], else the report of a demo run in a temporary directory."""
    browser = ensure_screenshot_tools()
    with tempfile.TemporaryDirectory(prefix="kiwoom-etl-screenshot-") as temporary:
        work = Path(temporary)
        if rest:
            report = Path(rest[0]).resolve()
        else:
            database = "sqlite:///kiwoom_etl.db"  # relative: the page names no temporary directory
            report = work / "kiwoom-etl-report.html"
            demo = [str(PYTHON), "-m", "etl", "demo", "--database-url", database, "--report", str(work / "all.html")]
            # The account whose ledger holds deposits, a withdrawal and a dividend: its returns chart says the most.
            one = [str(PYTHON), "-m", "etl", "report", "--database-url", database, "--account", "demo-3"]
            if (
                subprocess.run(demo, cwd=work).returncode
                or subprocess.run([*one, "--out", str(report)], cwd=work).returncode
            ):
                return 1
        drawn = work / "report.png"
        # Offline and quiet: no first-run, sync, update or background requests; a profile that is thrown away.
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={work / 'profile'}",
            "--window-size=1280,5400",  # the whole of demo-3's section, its last day inside too
            "--virtual-time-budget=10000",
            f"--screenshot={drawn}",
            report.as_uri(),
        ]
        # Chromium says 0 even when it drew nothing (a page it cannot open): only a new, non-empty PNG replaces the one
        # in docs/.
        if subprocess.run(command, capture_output=True, text=True, check=False).returncode or not _is_png(drawn):
            print(f"dev.py: chromium could not draw {report}", file=sys.stderr)
            return 1
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.move(drawn, SCREENSHOT)
    print(f"dev.py: {SCREENSHOT} written from {report if rest else 'a fresh demo'}", file=sys.stderr)
    return 0


def screenshot_usage(rest: list[str]) -> int | None:
    """The exit status when `rest` is not what screenshot takes (said why, or the usage for -h), else None: checked
    before anything is installed."""
    if rest and (rest[0].startswith("-") or len(rest) > 1):
        print(
            "usage: python3 dev.py screenshot [REPORT.html]\n\ndocs/report.png drawn by headless chromium from "
            "REPORT.html, or from demo-3's report of a fresh demo; chromium and fonts-noto-cjk are installed with "
            "apt-get when missing.",
            file=sys.stderr,
        )
        return 0 if rest[0] in ("-h", "--help") else 2
    if rest and not Path(rest[0]).is_file():
        print(f"dev.py: {rest[0]} is not a file; name a report kiwoom-etl wrote", file=sys.stderr)
        return 2
    return None


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def main(argv: list[str]) -> int:
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task not in ("demo", "test", "lint", "docs", "kiwoom-etl", "screenshot"):
        print(__doc__.strip())
        return 0 if task in ("help", "-h", "--help") else 2
    if task == "screenshot" and (status := screenshot_usage(rest)) is not None:
        return status
    ensure_virtualenv()
    if task == "demo":
        return run(str(PYTHON), "-m", "etl", "demo", *rest, here=True)
    if task == "kiwoom-etl":
        return run(str(PYTHON), "-m", "etl", *rest, here=True)
    if task == "docs":
        return run(str(PYTHON), "-m", "tools.data_dictionary", "docs/data-dictionary.md")
    if task == "screenshot":
        return screenshot(rest)
    if task == "lint":
        return (
            run(str(PYTHON), "-m", "ruff", "check", ".")
            or run(str(PYTHON), "-m", "mypy")
            or run(str(BIN / "lint-imports"), "--no-cache")
        )
    # The tests wait on PostgreSQL, the simulator and child processes about half of their time: a worker per core
    # keeps the cores busy meanwhile. Each worker takes the next test when it is free (--dist worksteal).
    chosen = any(arg.startswith(("-n", "--numprocesses")) for arg in rest)
    parallel = [] if chosen else ["--numprocesses", "auto", "--dist", "worksteal"]
    return run(str(PYTHON), "-m", "pytest", *parallel, *rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
