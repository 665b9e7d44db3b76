"""Every package says what is in it: its docstring names each of its modules, and the command line's names each
command under the module that registers it."""

from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType

import pytest

import etl
import etl.cli

# Alembic's environment and revisions: the revisions are named by their hash, not listed.
NOT_LISTED = ("etl.migrations",)
# etl.migrations is the top-level migrations/ folder, put into the package by pyproject's package-dir: installed, it
# is there, but not on disk under etl/.
MAPPED = {"etl": {"migrations"}}


def packages() -> list[str]:
    found = [name for _, name, is_package in pkgutil.walk_packages(etl.__path__, "etl.") if is_package]
    return ["etl", *sorted(n for n in found if not n.startswith(NOT_LISTED))]


def listed(module: ModuleType) -> dict[str, str]:
    """The words of each module a docstring lists, as "- `name`: words" items (an item may run over lines and name
    several modules: "`a`, `b`: words; `c`: words")."""
    items = [item.split("\n\n")[0] for item in re.split(r"^- ", module.__doc__ or "", flags=re.M)[1:]]
    return {name: item for item in items for name in re.findall(r"(?:^|[;,]\s+)`([a-z_0-9]+)/?`(?=:|, `)", item)}


@pytest.mark.parametrize("name", packages())
def test_the_packages_docstring_lists_each_of_its_modules(name: str) -> None:
    package = importlib.import_module(name)
    modules = {info.name for info in pkgutil.iter_modules(package.__path__)} | MAPPED.get(name, set())
    assert modules, name
    assert modules - set(listed(package)) == set(), f"{name}'s docstring does not list these modules"
    assert set(listed(package)) - modules == set(), f"{name}'s docstring lists modules it does not hold"


def test_the_command_lines_docstring_lists_each_command_under_its_module() -> None:
    items = listed(etl.cli)
    for name, command in etl.cli.cli.commands.items():
        assert command.callback is not None
        module = command.callback.__module__.rsplit(".", 1)[1]
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", items[module]), (name, module)
