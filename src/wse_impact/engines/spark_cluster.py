"""The Spark build on a cluster: tasks in executors on other workers, not in the driver's JVM.

`wse-impact spark-build` (engines/spark.py) starts the SparkSession, registers the sources and
the project's functions, then runs dbt in the same process (dbt-spark's `session` method):
the driver runs on an edge node and `WSE_SPARK_MASTER` names the cluster's master
(`spark://host:7077`, `yarn`, `k8s://...`). What changes on a cluster, and lives here:

- **Settings** (`cluster_config`, applied when the master is not `local[...]`): executor
  memory and cores, the Python the executors run (`spark.pyspark.python`), how they import
  the project's package (`spark.executorEnv.PYTHONPATH` where it is installed on the nodes,
  or `spark.submit.pyFiles` with a zip of it, `package_zip`), the UI and the event log when
  asked for, and `spark.redaction.regex` covering the key's names.
- **The key.** On `local[N]` the UDF's Python workers are children of the driver and inherit
  `WSE_PSEUDONYM_KEY`; executors on other workers do not have the driver's environment.
  Passing the key through Spark (`spark.executorEnv.*`, a config, a broadcast) would put it
  in the UI's environment page, the event log or the block manager's files. Instead the
  cluster provides a key file (`WSE_PSEUDONYM_KEY_FILE`) on a path every executor can read,
  readable by the build's account only (mode 0400/0600; on YARN/Kubernetes a secret mounted
  as a file); only its *path* travels, inside the pickled UDF (`KeyedHash`, whose pickled
  state is the path alone), and each Python worker reads the key from the file into its own
  memory. The key is in no Spark setting, environment variable, plan, task or file the build
  writes.
- **Landing paths.** `wse_file_size` / `wse_file_sha256` read the landing files on the
  executors; their working folder is the worker's, so they carry the landing folder as an
  absolute path (`LandingFile`) instead of reading `WSE_LANDING_DIR` there.
- **Shared storage.** The parsed CSV extracts are written by the driver under the Spark
  warehouse and read by the executors; the snapshots are read where they are; the tables are
  written by the executors. So the landing folder and `$WSE_WAREHOUSE_DIR/spark` must be on
  storage every node reads at the same path (HDFS, S3 through s3a://, NFS). The Derby
  metastore is the driver's alone (a cluster has a Hive metastore instead).

`StandaloneCluster` starts a Spark standalone master and workers on this machine (loopback,
from the pip-installed pyspark's `bin/spark-class`), for the tests and the benchmark.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from wse_impact.landing.pseudonym import MIN_KEY_LENGTH, keyed_hash

KEY_FILE_ENV = "WSE_PSEUDONYM_KEY_FILE"
# Spark's default regex plus the key's names, so that a setting or environment variable
# named after the key would show as *********(redacted) in the UI and the event log
REDACTION_REGEX = r"(?i)secret|password|token|access[.]?key|pseudonym"


def is_cluster(master: str | None = None) -> bool:
    master = master if master is not None else os.environ.get("WSE_SPARK_MASTER", "local[2]")
    return not master.startswith("local")


def cluster_config() -> dict[str, str]:
    """Settings added to the session's (engines/spark.session_config) when the master is a
    cluster; {} on local[N]. The `spark_cluster` target of profiles.yml names the same."""
    if not is_cluster():
        return {}
    env = os.environ.get
    config = {
        "spark.executor.memory": env("WSE_SPARK_EXECUTOR_MEMORY", "1g"),
        "spark.executor.cores": env("WSE_SPARK_EXECUTOR_CORES", "1"),
        # the executors' Python: the same interpreter path on every node (the project's venv)
        "spark.pyspark.python": env("WSE_SPARK_EXECUTOR_PYTHON", sys.executable),
        "spark.redaction.regex": REDACTION_REGEX,
        "spark.ui.enabled": "false",
    }
    if env("WSE_SPARK_CORES_MAX"):
        config["spark.cores.max"] = env("WSE_SPARK_CORES_MAX")
    if env("WSE_SPARK_EXECUTOR_PYTHONPATH"):  # where the package is installed on the nodes
        config["spark.executorEnv.PYTHONPATH"] = env("WSE_SPARK_EXECUTOR_PYTHONPATH")
    if env("WSE_SPARK_PY_FILES"):  # or shipped with the application (a zip of the package)
        config["spark.submit.pyFiles"] = env("WSE_SPARK_PY_FILES")
    if env("WSE_SPARK_UI_PORT"):
        config.update({"spark.ui.enabled": "true", "spark.ui.port": env("WSE_SPARK_UI_PORT"),
                       "spark.ui.showConsoleProgress": "false"})
    if env("WSE_SPARK_EVENT_LOG_DIR"):
        # uncompressed (Spark 4 writes zstd by default): an audit can search it as it is
        config.update({"spark.eventLog.enabled": "true", "spark.eventLog.dir": env("WSE_SPARK_EVENT_LOG_DIR"),
                       "spark.eventLog.compress": "false"})
    return config


def package_zip(dest: Path) -> Path:
    """A zip of the `wse_impact` package (its .py files), for `spark.submit.pyFiles`: what
    executors import when the package is not installed on the nodes."""
    package = Path(__file__).resolve().parents[1]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*.py")):
            archive.write(path, path.relative_to(package.parent))
    return dest


# ------------------------------------------------------------------------------------ key

class KeyFileError(RuntimeError):
    pass


def key_file() -> Path | None:
    path = os.environ.get(KEY_FILE_ENV)
    return Path(path).resolve() if path else None


def read_key_file(path: str | Path) -> bytes:
    try:
        key = Path(path).read_text().strip()
    except OSError as error:
        raise KeyFileError(f"{KEY_FILE_ENV}: cannot read the key file {path}: {error.strerror}") from None
    if len(key) < MIN_KEY_LENGTH:
        raise KeyFileError(f"{KEY_FILE_ENV}: the key in {path} is shorter than {MIN_KEY_LENGTH} characters")
    return key.encode()


def check_key() -> None:
    """Before the build: the key file when one is named (its mode must keep other accounts
    out), else the key in the environment, which reaches no executor of a cluster."""
    path = key_file()
    if path is not None:
        read_key_file(path)
        if path.stat().st_mode & 0o077:
            raise KeyFileError(f"{KEY_FILE_ENV}: {path} is readable by other accounts; chmod 600 (or 400) it")
        return
    if is_cluster():
        raise KeyFileError(
            f"on a cluster ({os.environ.get('WSE_SPARK_MASTER')}) the executors do not have the driver's "
            f"environment, so WSE_PSEUDONYM_KEY does not reach them: set {KEY_FILE_ENV} to a key file "
            f"every executor reads (readable by the build's account only)")
    from wse_impact.landing.pseudonym import pseudonym_key

    pseudonym_key()


_KEYS: dict[str, bytes] = {}  # per Python worker process: the key read from its file


class KeyedHash:
    """`wse_keyed_hash` on the executors: landing.pseudonym.keyed_hash (HMAC-SHA256, the same
    code as on DuckDB) with the key read from the key file by the Python worker itself. Pickled (to reach the
    executors) as the file's path alone."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.__name__ = "wse_keyed_hash"

    def __getstate__(self) -> dict[str, str]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.path = state["path"]
        self.__name__ = "wse_keyed_hash"

    # no annotations on __call__: pyspark would try to infer a pandas/arrow UDF from them
    def __call__(self, value):
        if value is None:
            return None
        key = _KEYS.get(self.path)
        if key is None:
            key = _KEYS[self.path] = read_key_file(self.path)
        return keyed_hash(value, key)


class LandingFile:
    """`wse_file_size` / `wse_file_sha256` on the executors, with the landing folder as an
    absolute path (an executor's working folder is its worker's, and it has no
    WSE_LANDING_DIR)."""

    def __init__(self, landing: str | Path, what: str):
        self.landing, self.what = str(Path(landing).resolve()), what
        self.__name__ = f"wse_file_{what}"

    def __call__(self, relative_path):
        path = Path(self.landing) / relative_path
        if self.what == "size":
            return path.stat().st_size
        from wse_impact.landing.checksums import sha256_of

        return sha256_of(path)


def register_cluster_functions(spark) -> None:
    """On a cluster (or with a key file): the project's functions in forms that work on other
    workers, replacing engines/spark.register_functions' local ones."""
    path = key_file()
    if path is None and not is_cluster():
        return
    from pyspark.sql.functions import udf
    from pyspark.sql.types import LongType, StringType

    from wse_impact.settings import landing_dir

    if path is None:
        raise KeyFileError(f"{KEY_FILE_ENV} is not set")
    spark.udf.register("wse_keyed_hash", udf(KeyedHash(path), StringType()))
    landing = landing_dir()
    spark.udf.register("wse_file_size", udf(LandingFile(landing, "size"), LongType()).asNondeterministic())
    spark.udf.register("wse_file_sha256", udf(LandingFile(landing, "sha256"), StringType()).asNondeterministic())


# ---------------------------------------------------------- a standalone cluster, locally

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


class StandaloneCluster:
    """A Spark standalone master and `workers` workers on 127.0.0.1, each its own JVM started
    from the installed pyspark's bin/spark-class, with their work and local folders under
    `root`. A context manager: the processes are killed on exit, also after a failure."""

    def __init__(self, root: Path, workers: int = 2, cores: int = 1, memory: str = "1g",
                 daemon_memory: str = "256m", env: dict[str, str] | None = None):
        import pyspark

        self.spark_home = Path(pyspark.__file__).parent
        self.root = Path(root)
        self.n_workers, self.cores, self.memory = workers, cores, memory
        self.env = dict(env if env is not None else os.environ)
        # the daemons do not need, and must not have, the key
        self.env.pop("WSE_PSEUDONYM_KEY", None)
        self.env.update(SPARK_LOCAL_IP="127.0.0.1", SPARK_HOME=str(self.spark_home),
                        SPARK_DAEMON_MEMORY=daemon_memory)
        self.processes: list[subprocess.Popen] = []
        self.port = free_port()
        self.webui_port = free_port()
        self.worker_webui_ports: list[int] = []
        self.worker_dirs: list[Path] = []

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    @property
    def master_webui(self) -> str:
        return f"http://127.0.0.1:{self.webui_port}"

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = open(self.root / f"{name}.log", "wb")
        self.processes.append(subprocess.Popen(
            [str(self.spark_home / "bin" / "spark-class"), *args], env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True))
        log.close()

    def start(self, timeout: float = 120) -> "StandaloneCluster":
        self.root.mkdir(parents=True, exist_ok=True)
        self._start("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(self.port), "--webui-port", str(self.webui_port)], self.env)
        for i in range(self.n_workers):
            work, local = self.root / f"worker{i}" / "work", self.root / f"worker{i}" / "local"
            work.mkdir(parents=True, exist_ok=True)
            local.mkdir(parents=True, exist_ok=True)
            self.worker_dirs.append(self.root / f"worker{i}")
            port = free_port()
            self.worker_webui_ports.append(port)
            self._start(f"worker{i}", ["org.apache.spark.deploy.worker.Worker", self.master_url,
                                       "--host", "127.0.0.1", "--cores", str(self.cores), "--memory", self.memory,
                                       "--webui-port", str(port), "--work-dir", str(work)],
                        dict(self.env, SPARK_LOCAL_DIRS=str(local)))
        deadline = time.monotonic() + timeout
        while True:
            try:
                alive = [w for w in _json(f"{self.master_webui}/json/")["workers"] if w["state"] == "ALIVE"]
                if len(alive) == self.n_workers:
                    return self
            except OSError:
                pass
            dead = [p.args[1] for p in self.processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join((self.root / f).read_text(errors="replace")[-2000:]
                                 for f in ["master.log", *(f"worker{i}.log" for i in range(self.n_workers))])
                self.stop()
                raise RuntimeError(f"the standalone cluster did not start ({dead or 'timeout'}):\n{logs}")
            time.sleep(0.5)

    def workers(self) -> list[dict[str, Any]]:
        return _json(f"{self.master_webui}/json/")["workers"]

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.poll() is None]

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)  # its own session: spark-class and the JVM (and executors)
                except ProcessLookupError:
                    pass
        for proc in self.processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.processes = []

    def __enter__(self) -> "StandaloneCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
