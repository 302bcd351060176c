"""The package works installed, not only from a checkout: every data file it reads (Avro
schemas, reference data, migrations, the default plan targets) is package data, and an
install outside the repository finds them through its settings' defaults.

``setup.py build_py`` is the step of a wheel build that copies the modules and the
package data (the environment has no ``wheel`` package to build one offline)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "services" / "motcua"

CHECK = """
from motcua import bootstrap
from motcua.adapters import codec
from motcua.adapters.clickhouse_store import MIGRATIONS_DIR
from motcua.settings import Settings
import motcua
s = Settings()
assert str(s.schema_dir).startswith(sys.argv[1]), s.schema_dir
assert str(s.plan_targets).startswith(sys.argv[1]), s.plan_targets
assert bootstrap.plan_targets(s)
assert codec.load_schema(codec.EVENT_SCHEMA)["name"]
assert any(MIGRATIONS_DIR.glob("*.sql"))
bootstrap.calendar(s)
print(motcua.__file__)
"""


def test_an_installed_package_holds_and_finds_its_data_files(tmp_path):
    build = tmp_path / "build"  # a copy: the build leaves an egg-info beside the sources
    build.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, build / name)
    shutil.copytree(
        SOURCE, build / "services" / "motcua", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    lib = tmp_path / "lib"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "-q",
            "build_py",
            "--build-lib",
            str(lib),
        ],
        cwd=build,
        check=True,
        capture_output=True,
    )
    data = {
        p.relative_to(SOURCE)
        for p in SOURCE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert {Path("adapters/schemas/dossier_event_v2.avsc"), Path("reference/data/plan-targets.yaml")} <= data
    missing = sorted(str(p) for p in data if not (lib / "motcua" / p).is_file())
    assert not missing, f"not package data ([tool.setuptools.package-data]): {missing}"
    # run from elsewhere, with nothing of the repository on the path
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(lib)!r})\n{CHECK}", str(lib)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == str(lib / "motcua" / "__init__.py")
