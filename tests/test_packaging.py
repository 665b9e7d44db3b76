"""What `pip install` puts in the wheel: every package of etl/ (pyproject.toml lists them one by one)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_under_etl_is_listed_for_the_wheel() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "etl").rglob("__init__.py")
        if not init.parent.is_symlink() and "migrations" not in init.parent.relative_to(ROOT).parts
    }
    listed = set(setuptools["packages"]) - {"etl.migrations", "etl.migrations.versions"}
    assert on_disk == listed
    assert setuptools["package-dir"]["etl.migrations"] == "migrations"
