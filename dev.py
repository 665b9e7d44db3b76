#!/usr/bin/env python3
"""Developer entry point, needing only Python 3.11+: creates .venv on first use, then runs the task.

python3 dev.py demo        the demo (simulator, migration, snapshots, example SQL)
python3 dev.py test [...]  the test suite (extra arguments go to pytest)
python3 dev.py lint        ruff, mypy and the import-linter contract (stages import only earlier stages)
python3 dev.py docs        rewrite the generated column tables of docs/data-dictionary.md from etl/store/dictionary.py
python3 dev.py kiwoom-etl [...]  the command line itself, from the virtualenv
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".kiwoom-etl-installed"


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


def main(argv: list[str]) -> int:
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task not in ("demo", "test", "lint", "docs", "kiwoom-etl"):
        print(__doc__.strip())
        return 0 if task in ("help", "-h", "--help") else 2
    ensure_virtualenv()
    if task == "demo":
        return run(str(PYTHON), "-m", "etl", "demo", *rest, here=True)
    if task == "kiwoom-etl":
        return run(str(PYTHON), "-m", "etl", *rest, here=True)
    if task == "docs":
        return run(str(PYTHON), "-m", "etl.store.dictionary", "docs/data-dictionary.md")
    if task == "lint":
        return (
            run(str(PYTHON), "-m", "ruff", "check", ".")
            or run(str(PYTHON), "-m", "mypy")
            or run(str(BIN / "lint-imports"), "--no-cache")
        )
    return run(str(PYTHON), "-m", "pytest", *rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
