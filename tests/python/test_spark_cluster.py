"""The Spark build on a real cluster: a Spark standalone master and two workers, each its own
JVM started from the installed pyspark (loopback only, 1 core and 1 GB per worker), and the
build driven through dbt-spark's `session` method with `spark.master` at that master
(`WSE_SPARK_TARGET=spark_cluster wse-impact spark-build`). The tasks run in the workers'
executors, in other processes than the driver, as on a real cluster:

- the executors' Python imports the project's package from a zip shipped with the
  application (`spark.submit.pyFiles`), not from the driver's memory;
- the key reaches them as a key file (mode 0400) whose path alone travels in the pickled
  UDF: the driver's environment has no WSE_PSEUDONYM_KEY, nor do the workers';
- the landing folder and the warehouse are on this machine's file system, standing for the
  shared storage (HDFS, S3, NFS) every node of a real cluster reads at the same path.

One build (with every dbt test of the project), then: tasks on both workers (the REST API's
executors list, polled while the build runs, and the event log); the key absent from the
UI's environment page, stages and SQL plans (REST API), the event log, every file under the
warehouse, metastore, dbt's logs and target, the workers' work and local folders, and the
processes' environments; marts, outputs, restricted tables (quarantine, the person
numbering) and the released files equal to the DuckDB build of the same landing and key.
Takes ~6-7 minutes with the DuckDB build it is compared with, on 2 cores shared with other work.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import BIN_DIR, PROJECT_DIR, TEST_KEY, Pipeline, dbt_env
from spark_compare import MARTS, OUTPUTS, RESTRICTED, assert_same, assert_same_exports, open_both
from wse_impact.engines.spark_cluster import StandaloneCluster, free_port, package_zip


class RestWatcher(threading.Thread):
    """Polls the driver's REST API (http://127.0.0.1:<ui port>/api/v1) while the build runs
    and keeps the last answer of each endpoint (the UI ends with the build's process)."""

    def __init__(self, ui_port: int, pids_of_cluster):
        super().__init__(daemon=True)
        self.base = f"http://127.0.0.1:{ui_port}/api/v1"
        self.pids_of_cluster = pids_of_cluster
        self.done = threading.Event()
        self.app_id: str | None = None
        self.last: dict[str, bytes] = {}
        self.environments: dict[int, bytes] = {}  # pid -> /proc/<pid>/environ of cluster processes seen

    def _get(self, path: str, timeout: float = 10) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=timeout) as response:
            return response.read()

    def run(self) -> None:
        heavy_at = 0.0
        while not self.done.is_set():
            try:
                if self.app_id is None:
                    self.app_id = json.loads(self._get("/applications"))[0]["id"]
                app = f"/applications/{self.app_id}"
                for name, path in (("environment", "/environment"), ("executors", "/executors"),
                                   ("allexecutors", "/allexecutors")):
                    self.last[name] = self._get(app + path)
                if time.monotonic() - heavy_at > 15:
                    self.last["stages"] = self._get(app + "/stages", 30)
                    self.last["jobs"] = self._get(app + "/jobs", 30)
                    self.last["sql"] = self._get(app + "/sql?details=true&planDescription=true", 60)
                    heavy_at = time.monotonic()
            except (OSError, ValueError, IndexError, KeyError):
                pass
            for pid in self.pids_of_cluster():
                try:
                    self.environments[pid] = Path(f"/proc/{pid}/environ").read_bytes()
                except OSError:
                    pass
            self.done.wait(1.0)


def _descendants(pids: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _event_log_files(events: Path) -> list[Path]:
    """The event log's files, in order (Spark 4 writes a folder of rolled files,
    events_<n>_<app>, uncompressed here: spark_cluster.cluster_config)."""
    files = [p for p in events.rglob("*") if p.is_file() and not p.name.startswith((".", "appstatus"))]
    return sorted(files, key=lambda p: (len(p.name), p.name))


def _event_log_bytes(files: list[Path]) -> bytes:
    assert files, "no event log"
    for path in files:
        assert path.suffix not in (".zstd", ".lz4", ".snappy", ".lzf"), f"compressed event log {path}"
    return b"".join(path.read_bytes() for path in files)


@dataclass
class ClusterBuild:
    pipeline: Pipeline
    root: Path
    key_file: Path
    worker_ids: dict[int, str]  # worker web UI port -> worker id (from the master)
    rest: dict[str, bytes]
    app_id: str
    environments: dict[int, bytes]
    build_output: str
    event_logs: list[Path] = field(default_factory=list)


@pytest.fixture(scope="module")
def cluster_build(tmp_path_factory, damaged_build) -> ClusterBuild:
    if shutil.which("java") is None:
        pytest.fail("java is missing: `make test` installs openjdk-17-jre-headless (make test-deps)")
    landing_dir = damaged_build[3]
    root = tmp_path_factory.mktemp("spark_cluster")
    warehouse_dir = root / "warehouse"
    # the key file the cluster provides: readable by the build's account only, outside
    # every folder the build writes
    secrets = root / "secrets"
    secrets.mkdir(mode=0o700)
    key_file = secrets / "pseudonym.key"
    key_file.write_text(TEST_KEY + "\n")
    key_file.chmod(0o400)
    events = root / "events"
    events.mkdir()
    driver_local = root / "driver-local"
    driver_local.mkdir()
    ui_port = free_port()
    # the package as the application ships it to executors where it is not installed
    package = package_zip(root / "dist" / "wse_impact.zip")
    with StandaloneCluster(root / "cluster", workers=2, cores=1, memory="1g") as cluster:
        worker_ids = {int(urlparse(w["webuiaddress"]).port): w["id"] for w in cluster.workers()}
        assert sorted(worker_ids) == sorted(cluster.worker_webui_ports)
        env = dbt_env(landing_dir, warehouse_dir, key=None,  # no WSE_PSEUDONYM_KEY anywhere
                      DBT_LOG_PATH=str(root / "logs"), DBT_TARGET_PATH=str(root / "target"),
                      SPARK_LOCAL_IP="127.0.0.1", SPARK_LOCAL_DIRS=str(driver_local),
                      WSE_SPARK_TARGET="spark_cluster", WSE_SPARK_MASTER=cluster.master_url,
                      WSE_PSEUDONYM_KEY_FILE=str(key_file), WSE_SPARK_PY_FILES=str(package),
                      WSE_SPARK_EXECUTOR_PYTHON=str(BIN_DIR / "python"),
                      WSE_SPARK_DRIVER_MEMORY="1g", WSE_SPARK_EXECUTOR_MEMORY="512m",
                      WSE_SPARK_SHUFFLE_PARTITIONS="4",
                      WSE_SPARK_UI_PORT=str(ui_port), WSE_SPARK_EVENT_LOG_DIR=str(events))
        watcher = RestWatcher(ui_port, lambda: _descendants(cluster.pids()))
        watcher.start()
        try:
            proc = subprocess.run([str(BIN_DIR / "wse-impact"), "spark-build"], cwd=PROJECT_DIR, env=env,
                                  capture_output=True, text=True, timeout=1800)
        finally:
            watcher.done.set()
            watcher.join()
        output = proc.stdout + proc.stderr
        (root / "spark-cluster-build.log").write_text(output)
        if proc.returncode != 0:
            raise AssertionError(f"Spark cluster build failed:\n{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}")
    assert watcher.app_id and "allexecutors" in watcher.last, "the driver's REST API never answered"
    (root / "rest").mkdir()  # what the REST API answered last, to read after a failure
    for name, body in watcher.last.items():
        (root / "rest" / f"{name}.json").write_bytes(body)
    return ClusterBuild(Pipeline(landing_dir, warehouse_dir, root / "target", env), root, key_file, worker_ids,
                        dict(watcher.last), watcher.app_id, dict(watcher.environments), output,
                        _event_log_files(events))


def test_tasks_ran_on_both_workers(cluster_build):
    """The REST API's executors list: two executors (besides the driver), on the two
    workers, each with tasks done; the event log's task ends agree."""
    executors = [e for e in json.loads(cluster_build.rest["allexecutors"]) if e["id"] != "driver"]
    busy = {e["id"]: e for e in executors if e["totalTasks"] > 0}
    assert len(busy) >= 2, [(e["id"], e["totalTasks"]) for e in executors]
    workers = {cluster_build.worker_ids[urlparse(e["executorLogs"]["stdout"]).port] for e in busy.values()}
    assert len(workers) == 2, f"tasks ran on {workers} only"
    assert len({e["hostPort"] for e in busy.values()}) == len(busy)

    tasks_by_executor: dict[str, int] = {}
    for line in _event_log_bytes(cluster_build.event_logs).decode().splitlines():
        event = json.loads(line)
        if event["Event"] == "SparkListenerTaskEnd":
            executor = event["Task Info"]["Executor ID"]
            tasks_by_executor[executor] = tasks_by_executor.get(executor, 0) + 1
    assert "driver" not in tasks_by_executor
    assert len([n for n in tasks_by_executor.values() if n > 0]) >= 2, tasks_by_executor
    assert sum(tasks_by_executor.values()) >= sum(e["totalTasks"] for e in busy.values())


def test_the_build_ran_on_the_cluster_with_the_shipped_package(cluster_build):
    env = json.loads(cluster_build.rest["environment"])
    spark_properties = dict(env["sparkProperties"])
    assert spark_properties["spark.master"].startswith("spark://127.0.0.1:")
    assert spark_properties["spark.submit.pyFiles"].endswith("wse_impact.zip")
    # the redaction regex is applied on this page: its own value matches it ("secret"), so
    # Spark shows it redacted, as it would a setting or variable named after the key
    assert spark_properties["spark.redaction.regex"] == "*********(redacted)"
    # the key file's path does not travel as a setting or environment variable either
    assert str(cluster_build.key_file) not in cluster_build.rest["environment"].decode()
    work_dirs = list((cluster_build.root / "cluster").glob("worker*/work/app-*/*/wse_impact.zip"))
    assert len(work_dirs) >= 2, "the package was not fetched by both workers' executors"


def test_key_absent_from_rest_api_event_log_and_every_file(cluster_build):
    """The key's bytes: not in the UI's environment page, executors, jobs, stages (task
    descriptions) or SQL plans (REST API); not in the event log (every setting, plan and
    task); not in any file under the build's folders (warehouse, Derby metastore, dbt logs
    and target, the cluster's logs and the workers' work and local folders) but the key
    file; not in the environment of the driver's or the cluster's processes."""
    needle = TEST_KEY.encode()
    for name in ("environment", "executors", "allexecutors", "jobs", "stages", "sql"):
        assert name in cluster_build.rest, f"no answer from the REST API's {name}"
        assert needle not in cluster_build.rest[name], f"the key appears in the REST API's {name}"
    # the REST API's plans and the event log do show the function: they are where a key
    # passed through SQL or a setting would be
    assert b"wse_keyed_hash" in cluster_build.rest["sql"]
    event_bytes = _event_log_bytes(cluster_build.event_logs)
    assert b"wse_keyed_hash" in event_bytes and b"SparkListenerEnvironmentUpdate" in event_bytes
    (environment,) = [json.loads(line) for line in event_bytes.decode().splitlines()
                      if line.startswith('{"Event":"SparkListenerEnvironmentUpdate"')]
    assert environment["Spark Properties"]["spark.redaction.regex"] == "*********(redacted)"
    assert needle not in event_bytes, "the key appears in the event log"
    checked = 0
    for path in cluster_build.root.rglob("*"):
        if path.is_file() and path != cluster_build.key_file:
            checked += 1
            assert needle not in path.read_bytes(), f"the key appears in {path}"
    assert checked > 100
    assert list(cluster_build.root.glob("cluster/worker*/work/app-*/*/stderr")), "no executor log was checked"
    assert TEST_KEY not in cluster_build.build_output
    assert "WSE_PSEUDONYM_KEY" not in cluster_build.pipeline.env  # the driver's
    assert len(cluster_build.environments) >= 5, "the master, workers and executors' environments were not read"
    for pid, environ in cluster_build.environments.items():
        assert needle not in environ and b"WSE_PSEUDONYM_KEY=" not in environ, f"process {pid}"


@pytest.fixture(scope="module")
def both(damaged_build, cluster_build, tmp_path_factory):
    duck, spark, spark_all = open_both(damaged_build[0], cluster_build.pipeline.warehouse_dir,
                                       tmp_path_factory.mktemp("cluster_view"))
    yield duck, spark, spark_all
    duck.close()
    spark.close()


def test_marts_and_outputs_equal_on_the_cluster_and_duckdb(both):
    duck, spark, _ = both
    for mart in MARTS:
        assert_same(duck, spark, f"wse_impact.marts.{mart}")
    for output in OUTPUTS:
        assert_same(duck, spark, f"wse_impact.outputs.{output}")


def test_quarantine_and_person_numbering_equal_on_the_cluster_and_duckdb(both):
    """The quarantine, reconciliation, delivery record and the INSZ -> person_id link
    (the key read from the file by the executors gives the same pseudonyms)."""
    duck, _, spark_all = both
    for relation in RESTRICTED:
        assert_same(duck, spark_all, f"intermediate.{relation}")
    assert spark_all.execute("select count(*) from intermediate.quarantine").fetchone()[0] > 0


def test_released_files_equal_on_the_cluster_and_duckdb(damaged_build, cluster_build, tmp_path):
    assert_same_exports(damaged_build[0].warehouse_dir, cluster_build.pipeline.warehouse_dir, tmp_path)


# ------------------------------------------------------- the key file, without a cluster


def test_the_keyed_hash_travels_as_the_key_files_path_only(tmp_path):
    import pickle

    from pyspark import cloudpickle

    from wse_impact.engines.spark_cluster import KeyedHash
    from wse_impact.landing.pseudonym import keyed_hash

    key_file = tmp_path / "pseudonym.key"
    key_file.write_text(TEST_KEY + "\n")
    function = KeyedHash(key_file)
    assert function("85073003328") == keyed_hash("85073003328", TEST_KEY.encode())  # as on DuckDB
    for pickled in (pickle.dumps(function), cloudpickle.dumps(function)):  # after the key was read
        assert TEST_KEY.encode() not in pickled and str(key_file).encode() in pickled
        assert pickle.loads(pickled)("85073003328") == function("85073003328")


def test_a_cluster_build_needs_a_key_file_only_its_account_reads(tmp_path, monkeypatch):
    from wse_impact.engines.spark_cluster import KeyFileError, check_key, cluster_config

    monkeypatch.setenv("WSE_SPARK_MASTER", "spark://127.0.0.1:7077")
    monkeypatch.setenv("WSE_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("WSE_PSEUDONYM_KEY_FILE", raising=False)
    with pytest.raises(KeyFileError, match="executors do not have the driver's environment"):
        check_key()
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text(TEST_KEY + "\n")
    key_file.chmod(0o644)
    monkeypatch.setenv("WSE_PSEUDONYM_KEY_FILE", str(key_file))
    with pytest.raises(KeyFileError, match="readable by other accounts"):
        check_key()
    key_file.chmod(0o600)
    check_key()
    key_file.write_text("short\n")
    with pytest.raises(KeyFileError, match="shorter than"):
        check_key()
    config = cluster_config()
    assert config["spark.pyspark.python"] and config["spark.executor.memory"]
    assert "pseudonym" in config["spark.redaction.regex"]
    assert not any(TEST_KEY in value or str(key_file) in value for value in config.values())
    monkeypatch.setenv("WSE_SPARK_MASTER", "local[2]")
    assert cluster_config() == {}


def test_the_spark_cluster_target_names_the_settings_the_session_starts_with(tmp_path, monkeypatch):
    """dbt-spark reuses the session engines/spark.py starts (session_config +
    spark_cluster.cluster_config); the `spark_cluster` target of profiles.yml, which a reader
    of the profile sees, names the same values."""
    import jinja2
    import yaml

    from wse_impact.engines.spark import session_config
    from wse_impact.engines.spark_cluster import cluster_config

    settings = dict(WSE_SPARK_MASTER="spark://master:7077", WSE_WAREHOUSE_DIR=str(tmp_path / "wh"),
                    WSE_SPARK_UI_PORT="4050", WSE_SPARK_EVENT_LOG_DIR="/shared/events",
                    WSE_SPARK_EXECUTOR_PYTHON="/opt/wse/bin/python", WSE_SPARK_PY_FILES="/shared/wse_impact.zip",
                    WSE_SPARK_EXECUTOR_PYTHONPATH="/opt/wse/src", WSE_SPARK_EXECUTOR_MEMORY="3g")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    text = (PROJECT_DIR / "profiles.yml").read_text()
    rendered = jinja2.Environment().from_string(text).render(env_var=lambda name, default=None: os.environ.get(name, default))
    target = yaml.safe_load(rendered)["wse_impact"]["outputs"]["spark_cluster"]
    assert target["method"] == "session"
    profile = {key: str(value) for key, value in target["server_side_parameters"].items()}
    started = {**session_config(tmp_path / "wh"), **cluster_config()}
    only_in_code = {"spark.driver.extraJavaOptions"}  # Derby's home: a local detail
    assert set(started) - only_in_code <= set(profile), set(started) - set(profile)
    for key in set(started) - only_in_code:
        assert profile[key] == started[key], f"{key}: {profile[key]!r} in profiles.yml, {started[key]!r} started"
    thrift = yaml.safe_load(rendered)["wse_impact"]["outputs"]["spark_thrift"]
    assert thrift["method"] == "thrift" and int(thrift["port"]) == 10000
