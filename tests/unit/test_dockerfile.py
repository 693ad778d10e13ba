"""The Dockerfile, checked without Docker (no engine or base image is reachable here).

The build stage installs Firstline from exactly the paths it COPYs; a package folder
missing from that list would build an image that fails at start-up. So: copy those paths,
build the wheel as the image does (setuptools from PyPI), and check it holds every module
and migration the repository has. The runtime stage must run ``firstline serve`` as a non-root user.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _stages() -> list[list[str]]:
    stages: list[list[str]] = []
    for line in DOCKERFILE.splitlines():
        if line.startswith("FROM "):
            stages.append([])
        if stages and line.strip() and not line.lstrip().startswith("#"):
            stages[-1].append(line.strip())
    return stages


def test_the_runtime_stage_serves_as_a_non_root_user() -> None:
    runtime = _stages()[-1]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert 'ENTRYPOINT ["firstline"]' in runtime and 'CMD ["serve"]' in runtime
    assert any(line.startswith("HEALTHCHECK") for line in runtime)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the tracked files")
def test_the_build_stage_copies_every_package_and_migration(tmp_path: Path) -> None:
    build = _stages()[0]
    context = tmp_path / "context"
    context.mkdir()
    for line in build:
        if not line.startswith("COPY ") or "--from" in line:
            continue
        *sources, _target = line.split()[1:]
        for source in sources:
            src = ROOT / source
            if src.is_dir():
                shutil.copytree(src, context / source, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, context / source)
    out = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(context)],
        check=True,
        capture_output=True,
    )
    [wheel] = out.glob("firstline-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = set(archive.namelist())
        entry_points = next(n for n in packaged if n.endswith("entry_points.txt"))
        assert "firstline = " in archive.read(entry_points).decode()

    tracked = subprocess.run(
        ["git", "ls-files", "bot", "handlers", "storage", "schedules", "migrations"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    needed = {name for name in tracked if name.endswith((".py", ".mako"))}
    missing = sorted(needed - packaged)
    assert not missing, f"the image would lack {missing}: COPY them in the Dockerfile"


def test_base_images_are_pinned_and_every_install_uses_the_constraints() -> None:
    """Reproducible images: the base by full version and digest, Python packages by the
    exact versions in constraints.txt, which covers every runtime dependency."""
    import re
    import tomllib

    froms = [line.split()[1] for line in DOCKERFILE.splitlines() if line.startswith("FROM ")]
    assert froms and all(
        re.fullmatch(r"python:3\.11\.\d+-slim-\w+@sha256:[0-9a-f]{64}", image) for image in froms
    ), froms
    installs = [line for line in DOCKERFILE.splitlines() if "pip install" in line]
    assert installs and all("-c constraints.txt" in line for line in installs)
    assert any(line.startswith("COPY constraints.txt") for line in _stages()[0])

    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [
        *project["dependencies"],
        *project["optional-dependencies"]["postgres"],
        *project["optional-dependencies"]["teams"],
    ]
    names = {re.split(r"[\[<>=!~ ]", spec, maxsplit=1)[0].lower() for spec in runtime}
    assert {re.sub(r"[-_.]+", "-", n) for n in names} <= set(pins), names - set(pins)

    compose = (ROOT / "docker-compose.yml").read_text()
    for image in re.findall(r"image: (\S+)", compose):
        if not image.startswith("firstline"):
            assert re.fullmatch(r"[\w/-]+:\d+\.\d+(\.\d+)?", image), image
