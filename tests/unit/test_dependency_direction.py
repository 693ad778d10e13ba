"""The core imports only storage/ (and standard and domain libraries); nothing imports in a
circle. Read from the source with ast, so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "storage", "schedules")
FORBIDDEN_IN_CORE = ("handlers", "schedules", "slack_bolt", "slack_sdk", "botbuilder",
                     "microsoft_agents", "aiohttp")  # fmt: skip


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _sources(*packages: str) -> dict[str, Path]:
    return {_module(p): p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))}


def test_the_core_imports_no_platform_and_no_entry_point() -> None:
    offences = [
        f"{module} imports {name}"
        for module, path in _sources("bot").items()
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN_IN_CORE
    ]
    assert offences == []


def test_no_import_circles() -> None:
    sources = _sources(*PACKAGES)
    graph = {
        module: {name for name in _imports(path) if name in sources and name != module}
        for module, path in sources.items()
    }
    # A package's __init__ is imported along with any of its modules; leave those edges out
    # only when the __init__ imports nothing of ours (then it cannot close a circle).
    circles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert circles == [], " | ".join(" → ".join(c) for c in circles)
