"""Benchmark: request -> two approvals -> release of the three output models, through the
release service (a service on its socket, the request and the release sent by the command
line's client as separate processes) next to the same steps called in-process.

    WSE_WAREHOUSE_DIR=warehouse .venv/bin/python benchmarks/bench_release_service.py

The warehouse (a build at scale 1.0 for the deliberation's figures) is only read; states and
exports go to temporary folders. Prints wall time per path and their ratio, and peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

OUTPUTS = ("socio_economic_position_by_quarter", "beneficiaries_by_profile", "employment_around_measure")
BIN = Path(sys.executable).parent


def _service(root: Path, warehouse: Path, me: str):
    from wse_impact.review.service import ReleaseService, initialise_state

    initialise_state(root / "state", [me], ["carol", "dave"], today="2026-06-01")
    return ReleaseService(root / "state", warehouse, root / "exports")


def in_process(root: Path, warehouse: Path, me: str) -> float:
    started = time.perf_counter()
    service = _service(root, warehouse, me)
    request_id = service.request(me, list(OUTPUTS), [])["request"]
    for custodian in ("carol", "dave"):
        service.decide(custodian, request_id, approve=True, comment="benchmark")
    service.release_request(me, request_id)
    return time.perf_counter() - started


def through_the_socket(root: Path, warehouse: Path, me: str) -> float:
    from wse_impact.review.server import PeerCredentialServer, make_application

    started = time.perf_counter()
    service = _service(root, warehouse, me)
    server = PeerCredentialServer(str(root / "release.sock"), make_application(service))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**os.environ, "WSE_RELEASE_SOCKET": str(root / "release.sock")}
    try:
        asked = subprocess.run([str(BIN / "wse-impact"), "request", *[a for o in OUTPUTS for a in ("--output", o)]],
                               env=env, capture_output=True, text=True, check=True)
        request_id = asked.stdout.split()[1].rstrip(":")
        for custodian in ("carol", "dave"):  # custodians' accounts: the decisions are recorded as theirs
            service.decide(custodian, request_id, approve=True, comment="benchmark")
        subprocess.run([str(BIN / "wse-impact"), "release", request_id], env=env, capture_output=True, text=True,
                       check=True)
    finally:
        server.shutdown()
        server.server_close()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse-dir", default=os.environ.get("WSE_WAREHOUSE_DIR", "warehouse"))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    warehouse = Path(args.warehouse_dir).resolve()
    me = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    times = {"in-process": [], "through the service": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):  # interleaved, so that both see the same machine
            times["in-process"].append(in_process(Path(tmp) / f"in-{run}", warehouse, me))
            times["through the service"].append(through_the_socket(Path(tmp) / f"svc-{run}", warehouse, me))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"request -> 2 approvals -> release of {', '.join(OUTPUTS)} on {warehouse}")
    for name, values in times.items():
        print(f"  {name:22s} " + ", ".join(f"{v:.1f} s" for v in values))
    ratio = min(times["through the service"]) / min(times["in-process"])
    print(f"  ratio (best of each): {ratio:.2f}x; peak memory of this process {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
