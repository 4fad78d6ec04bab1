"""Shared fixtures: small generated landing data and one real `dbt build` per test session.

Everything runs for real: the generator writes files, dbt builds both DuckDB databases, and
tests open them read-only afterwards (DuckDB allows one writer per file).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
TEST_SCALE = float(os.environ.get("WSE_TEST_SCALE", "0.01"))
TEST_SEED = int(os.environ.get("WSE_TEST_SEED", "20230905"))
# a fixed test key: tests must not depend on, or create, the demo key of the work tree
TEST_KEY = "test-key-0123456789abcdef0123456789abcdef"


@dataclass
class Pipeline:
    landing_dir: Path
    warehouse_dir: Path
    target_dir: Path
    env: dict

    @property
    def log_dir(self) -> Path:
        return Path(self.env["DBT_LOG_PATH"])

    @property
    def research_db(self) -> Path:
        return self.warehouse_dir / "wse_impact.duckdb"

    @property
    def restricted_db(self) -> Path:
        return self.warehouse_dir / "restricted.duckdb"

    def research(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.research_db), read_only=True)

    def restricted(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.restricted_db), read_only=True)


def dbt_env(landing_dir: Path, warehouse_dir: Path, key: str | None = TEST_KEY, **extra: str) -> dict:
    env = dict(os.environ)
    env.update(
        WSE_LANDING_DIR=str(landing_dir),
        WSE_WAREHOUSE_DIR=str(warehouse_dir),
        DBT_PROFILES_DIR=str(PROJECT_DIR),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    env.pop("WSE_PSEUDONYM_KEY", None)
    if key is not None:
        env["WSE_PSEUDONYM_KEY"] = key
    env.update(extra)
    return env


def run_dbt(args: list[str], env: dict, target_dir: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real dbt command line in the project; returns the completed process."""
    cmd = [str(BIN_DIR / "dbt"), *args]
    if target_dir is not None:
        cmd += ["--target-path", str(target_dir)]
    proc = subprocess.run(cmd, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
    return proc


def build_pipeline(root: Path, landing_dir: Path, key: str = TEST_KEY, select: list[str] | None = None) -> Pipeline:
    warehouse_dir = root / "warehouse"
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    target_dir = root / "target"
    env = dbt_env(landing_dir, warehouse_dir, key, DBT_LOG_PATH=str(root / "logs"))
    run_dbt(["build", *(["--select", *select] if select else [])], env, target_dir)
    return Pipeline(landing_dir, warehouse_dir, target_dir, env)


@pytest.fixture(scope="session")
def landing_dir(tmp_path_factory) -> Path:
    from wse_impact.generate import generate_landing

    out = tmp_path_factory.mktemp("landing")
    generate_landing(out=out, scale=TEST_SCALE, seed=TEST_SEED, if_missing=False, progress=False)
    return out


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, landing_dir) -> Pipeline:
    """The whole project built once on small generated data."""
    return build_pipeline(tmp_path_factory.mktemp("build"), landing_dir)
