"""Shared fixtures: small generated landing data and one real `dbt build` per test session.

Everything runs for real: the generator writes files, dbt builds both DuckDB databases, and
tests open them read-only afterwards (DuckDB allows one writer per file).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
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
    env.pop("ENGINE", None)  # `make test ENGINE=spark` must not turn the DuckDB tests' export/validate to Spark
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


# ------------------------------------------- damaged lines (test_deliveries, test_spark)


def _plant(path: Path, edits: dict[int, bytes | list[bytes]]) -> list[bytes]:
    """Replace physical lines (1-based, of the original file) by one or more lines of bytes."""
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    out = []
    for number, line in enumerate(lines[:-1], start=1):
        replacement = edits.get(number, line)
        out.extend(replacement if isinstance(replacement, list) else [replacement])
    path.write_bytes(b"\n".join(out) + b"\n")
    return out


def _line_of(lines: list[bytes], content: bytes) -> int:
    matches = [i + 1 for i, line in enumerate(lines) if line == content]
    assert len(matches) == 1, content
    return matches[0]


@pytest.fixture(scope="session")
def damaged_build(landing_dir, tmp_path_factory):
    """The session's landing with damaged lines planted in three measure extracts and the
    control sample; returns (pipeline, {(file, line): (reason, raw text, INSZ of the line)})."""
    root = tmp_path_factory.mktemp("damaged")
    landing = Path(shutil.copytree(landing_dir, root / "landing"))
    planted: dict[tuple[str, int], tuple[str, str, str]] = {}

    dgv = landing / "measures" / "doelgroepvermindering.csv"
    original = dgv.read_bytes().split(b"\n")
    insz_of = lambda line: line.split(b";")[0].decode()  # noqa: E731
    # a quoted field holding a line break (line 100), then damage further on: numbering must follow
    quoted = original[99].split(b";")
    quoted_lines = [b";".join(quoted[:1]) + b';"' + quoted[1] + b"", b'"' + b";" + b";".join(quoted[2:])]
    fields = original[139].split(b";")
    too_many = b";".join([*fields[:4], fields[4] + b";a stray delimiter", *fields[5:]])
    too_few = b";".join(original[179].split(b";")[:-2])
    lines = _plant(dgv, {40: original[39] + b";stray", 100: quoted_lines, 140: too_many, 180: too_few})
    planted[("measures/doelgroepvermindering.csv", _line_of(lines, original[39] + b";stray"))] = (
        "has 7 fields, expected 6", (original[39] + b";stray").decode(), insz_of(original[39]))
    planted[("measures/doelgroepvermindering.csv", _line_of(lines, too_many))] = (
        "has 7 fields, expected 6", too_many.decode(), insz_of(original[139]))
    planted[("measures/doelgroepvermindering.csv", _line_of(lines, too_few))] = (
        "has 4 fields, expected 6", too_few.decode(), insz_of(original[179]))
    multi_line_start = _line_of(lines, quoted_lines[0])
    planted_multi_line_insz = insz_of(original[99])
    assert _line_of(lines, too_few) == 181, "the quoted line break shifts the later lines by one"

    maatwerk = landing / "measures" / "maatwerk.csv"
    original_m = maatwerk.read_bytes().split(b"\n")
    unbalanced = original_m[29].replace(b";", b';"', 1)
    undecodable = original_m[59].rsplit(b";", 1)[0] + b";Co\xf6peratie"
    lines = _plant(maatwerk, {30: unbalanced, 60: undecodable})
    planted[("measures/maatwerk.csv", 30)] = ("unbalanced quote", unbalanced.decode(), insz_of(original_m[29]))
    planted[("measures/maatwerk.csv", 60)] = ("not valid UTF-8", undecodable.decode("utf-8", "backslashreplace"),
                                              insz_of(original_m[59]))

    vop = landing / "measures" / "vop.csv"
    original_v = vop.read_bytes().split(b"\n")
    after_quote = b'"' + original_v[9].replace(b";", b'"x;', 1)
    _plant(vop, {10: after_quote})
    planted[("measures/vop.csv", 10)] = ("text after a closing quote", after_quote.decode(), insz_of(original_v[9]))

    control = landing / "dwh" / "control_sample.csv"
    original_c = control.read_bytes().split(b"\n")
    _plant(control, {500: original_c[499] + b";Jansens"})
    planted[("dwh/control_sample.csv", 500)] = ("has 2 fields, expected 1", (original_c[499] + b";Jansens").decode(),
                                                insz_of(original_c[499]))

    pipeline = build_pipeline(root, landing)  # raises if the build stops
    return pipeline, planted, (multi_line_start, planted_multi_line_insz), landing


# ------------------------------------------- the release service, in this process (test_review, test_export)


@contextmanager
def release_service(root: Path, warehouse: Path, researchers: list[str], custodians: list[str],
                    today: str | None = "2026-06-01", engine: str = "duckdb", project: Path | None = None,
                    approvals_required: int | None = None):
    """A release service on a socket of its own, served by a thread of the test's process (so
    the caller is this process's account: the tests' in-process view of the service).
    Yields (service, socket path); the commands reach it with WSE_RELEASE_SOCKET."""
    import threading

    from wse_impact.review.server import PeerCredentialServer, make_application
    from wse_impact.review.service import ReleaseService, initialise_state

    state = root / "state"
    initialise_state(state, researchers, custodians, approvals_required=approvals_required, today=today,
                     project=project)
    service = ReleaseService(state, warehouse, root / "exports", engine=engine)
    socket_path = str(root / "release.sock")
    server = PeerCredentialServer(socket_path, make_application(service))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service, socket_path
    finally:
        server.shutdown()
        server.server_close()
        Path(socket_path).unlink(missing_ok=True)
