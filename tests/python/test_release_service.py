"""The release service as it runs in the secure environment (issue 18): real accounts.

Root (CI runs as root) creates a service account, two researchers' and two custodians'
accounts and one without a role; the service runs as its account, from a virtual environment
of Debian's python3.11 (the venv `make` builds lives in root's home, which other accounts
cannot enter); every command runs as the account that would type it (`runuser`), through
the standard-library client and Debian's python3.11. Each attack of the issue is tried as the
account that would try it, and must do no harm. The accounts and files are removed afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import PROJECT_DIR

SYSTEM_PYTHON = "/usr/bin/python3.11"
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
# what the service imports (the gate, the researcher's SQL, the plot): pinned as in pyproject.toml
SERVICE_PACKAGES = ("duckdb", "numpy", "pandas", "pyarrow", "scipy", "matplotlib", "pyyaml", "jinja2", "pyroaring")
SUFFIX = f"{os.getpid() % 100000}"
SERVICE, ALICE, DAVE, CAROL, ERIN, MALLORY = (f"wse{name}{SUFFIX}" for name in ("rel", "ali", "dav", "car", "eri", "mal"))
RESEARCHERS, CUSTODIANS = [ALICE, DAVE], [CAROL, DAVE, ERIN]  # dave is both: his own request is not his to decide

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not Path(SYSTEM_PYTHON).exists() or not Path(RUNUSER).exists(),
                                reason="needs root (to create accounts), runuser and Debian's python3.11")


def pinned(names: tuple[str, ...]) -> list[str]:
    text = (PROJECT_DIR / "pyproject.toml").read_text()
    found = dict(re.findall(r'"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^"]+)"', text))
    return [f"{n}=={found[n]}" for n in names if n in found] + [n for n in names if n not in found]


def service_venv() -> Path:
    """A venv of Debian's python3.11 with what the service imports, readable by every account;
    kept in /var/tmp between runs, keyed by the pins."""
    packages = pinned(SERVICE_PACKAGES)
    key = hashlib.sha256(" ".join(packages).encode()).hexdigest()[:12]
    venv = Path(f"/var/tmp/wse-impact-service-venv-{key}")
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *packages], check=True)
        (venv / ".complete").touch()
    return venv


class Accounts:
    def __init__(self, root: Path, venv: Path):
        self.root, self.venv = root, venv
        self.socket = str(root / "run" / "release.sock")
        self.state, self.exports = root / "state", root / "exports"
        self.env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root / "project" / "src"), "LANG": "C.UTF-8",
                    "WSE_RELEASE_SOCKET": self.socket}

    def home(self, user: str) -> Path:
        return self.root / "home" / user

    def run(self, user: str, *args: str, env: dict | None = None, python: str = SYSTEM_PYTHON, timeout: int = 900):
        """A command as `user`, from the user's home folder, with the default umask."""
        return subprocess.run([RUNUSER, "-u", user, "--", python, *args], cwd=self.home(user),
                              env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout)

    def client(self, user: str, *args: str, env: dict | None = None):
        return self.run(user, "-m", "wse_impact.review.client", *args, env=env)

    def sql_file(self, user: str, name: str, sql: str) -> str:
        path = self.home(user) / name
        path.write_text(sql)
        shutil.chown(path, user)
        return str(path)


@pytest.fixture(scope="module")
def accounts(pipeline):
    venv = service_venv()
    root = Path(tempfile.mkdtemp(prefix="wse-release-service-", dir="/tmp"))
    root.chmod(0o755)
    created, service = [], None
    try:
        for user in (SERVICE, ALICE, DAVE, CAROL, ERIN, MALLORY):
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user], check=True)
            created.append(user)
        # the project as installed for the service: readable, not writable, by everyone
        project = root / "project"
        for part in ("src", "models", "seeds", "macros"):
            shutil.copytree(PROJECT_DIR / part, project / part, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(PROJECT_DIR / "dbt_project.yml", project / "dbt_project.yml")
        (root / "warehouse").mkdir()
        shutil.copy(pipeline.research_db, root / "warehouse" / "wse_impact.duckdb")
        for user in (ALICE, DAVE, CAROL, ERIN, MALLORY):
            Accounts(root, venv).home(user).mkdir(parents=True)
            shutil.chown(root / "home" / user, user)
            (root / "home" / user).chmod(0o700)
        for folder in ("run", "state", "exports"):
            (root / folder).mkdir()
            shutil.chown(root / folder, SERVICE)
        (root / "run").chmod(0o755)
        found = Accounts(root, venv)
        service = subprocess.Popen(
            [RUNUSER, "-u", SERVICE, "--", str(venv / "bin" / "python"), "-m", "wse_impact.cli", "serve", "--init",
             "--state-dir", str(found.state), "--socket", found.socket, "--warehouse-dir", str(root / "warehouse"),
             "--export-dir", str(found.exports), "--researchers", ",".join(RESEARCHERS),
             "--custodians", ",".join(CUSTODIANS), "--today", "2026-06-01"],
            cwd=root, env={**found.env, "DBT_PROJECT_DIR": str(project)}, stderr=open(root / "service.log", "w"))
        deadline = time.monotonic() + 120
        while not Path(found.socket).exists():
            assert service.poll() is None, (root / "service.log").read_text()
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        yield found
    finally:
        if service is not None:
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=30)
        for user in created:
            subprocess.run(["userdel", user], check=False)
        shutil.rmtree(root, ignore_errors=True)


SEX_BY_REGION = "select person_id, sex_code, region_code from marts.beneficiary_base where snapshot_quarter = '2019Q4'"
OUTPUT = "socio_economic_position_by_quarter"


def request(accounts, user: str, *extra: str, env: dict | None = None) -> str:
    asked = accounts.client(user, "request", "--output", OUTPUT, *extra, env=env)
    assert asked.returncode == 0, asked.stderr
    return re.search(r"Request (R\d{4})", asked.stdout).group(1)


def refused(proc, pattern: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert re.search(pattern, proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_the_whole_path_as_real_accounts(accounts):
    sql = accounts.sql_file(ALICE, "mine.sql", SEX_BY_REGION)
    first = request(accounts, ALICE, "--aggregate", "sex_by_region", "--sql-file", sql,
                    "--dimensions", "sex_code,region_code")
    assert first == "R0001"
    assert accounts.client(CAROL, "review", "approve", first, "--comment", "counts checked").returncode == 0
    refused(accounts.client(ALICE, "release", first), "1 of 2 approvals")
    refused(accounts.client(ALICE, "review", "approve", first, "--comment", "mine"), "not one of the custodians")
    own = request(accounts, DAVE)
    refused(accounts.client(DAVE, "review", "approve", own, "--comment", "mine"), "may not decide on it")
    assert accounts.client(DAVE, "review", "approve", first, "--comment", "second check").returncode == 0
    released = accounts.client(ALICE, "release", first)
    assert released.returncode == 0, released.stderr
    folder = accounts.exports / "2026-06-01"
    assert f"released to {folder}" in released.stdout
    assert accounts.run(ALICE, "-c", f"print(open('{folder}/{OUTPUT}.csv').read()[:20])").returncode == 0, \
        "released files are for the researchers"
    rejected = request(accounts, ALICE)
    assert accounts.client(ERIN, "review", "reject", rejected, "--comment", "no").returncode == 0
    refused(accounts.client(ALICE, "release", rejected), "is rejected")
    audit = accounts.client(CAROL, "audit")
    assert audit.returncode == 0, audit.stderr


def test_the_state_is_the_service_s_alone(accounts):
    """Nothing of the state is readable or writable by another account: no forged approval,
    no true count read; every file the service wrote is its own, whatever the callers' umask."""
    for path in [accounts.state, *accounts.state.rglob("*")]:
        assert path.stat().st_uid == int(subprocess.run(["id", "-u", SERVICE], capture_output=True,
                                                        text=True).stdout), path
        assert path.stat().st_mode & 0o077 == 0 or path == accounts.state / "requests", oct(path.stat().st_mode)
    assert accounts.state.stat().st_mode & 0o777 == 0o700
    for user in (ALICE, CAROL, MALLORY):
        tried = accounts.run(user, "-c", f"""
import sqlite3, os
for attempt in (lambda: os.listdir('{accounts.state}'),
                lambda: open('{accounts.state}/review.sqlite', 'rb'),
                lambda: open('{accounts.state}/audit.key', 'rb'),
                lambda: open('{accounts.state}/requests/R0001/staged/checking_report.json'),
                lambda: sqlite3.connect('file:{accounts.state}/review.sqlite?mode=rw', uri=True).execute('select 1'),
                lambda: open('{accounts.exports}/2026-06-01/{OUTPUT}.csv', 'a'),
                lambda: os.rename('{accounts.exports}/2026-06-01', '{accounts.exports}/gone')):
    try:
        attempt()
        print('allowed')
    except (PermissionError, sqlite3.OperationalError):
        print('denied')
""")
        assert tried.stdout.split() == ["denied"] * 7, (user, tried.stdout, tried.stderr)


def test_a_caller_cannot_name_itself(accounts):
    """The identity is the kernel's: a `Remote-User` header (or any body field) is not read."""
    forged = accounts.run(ALICE, "-c", f"""
import http.client, json, socket
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect({accounts.socket!r})
c = C('x')
c.request('POST', '/v1/requests/R0002/decision', body=json.dumps({{'approve': True, 'comment': 'ok', 'user': '{CAROL}'}}),
          headers={{'Remote-User': '{CAROL}', 'X-Remote-User': '{CAROL}', 'Content-Type': 'application/json'}})
r = c.getresponse(); print(r.status, json.loads(r.read())['error'])
""")
    assert forged.stdout.startswith("409") and f"{ALICE} is not one of the custodians" in forged.stdout, forged


def test_a_project_file_of_the_researcher_s_own_changes_nothing(accounts):
    home = accounts.home(ALICE)
    (home / "dbt_project.yml").write_text("name: mine\nvars:\n  release_approvals_required: 1\n"
                                          "  retain_until: '2099-12-31'\n")
    env = {"DBT_PROJECT_DIR": str(home), "WSE_WAREHOUSE_DIR": str(home)}
    mine = request(accounts, ALICE, env=env)
    assert accounts.client(CAROL, "review", "approve", mine, "--comment", "fine").returncode == 0
    refused(accounts.client(ALICE, "release", mine, env=env), "1 of 2 approvals")


def test_purge_is_refused_to_anyone_but_a_custodian(accounts):
    for user in (ALICE, MALLORY):
        refused(accounts.client(user, "purge"), "not one of the custodians")
    refused(accounts.client(CAROL, "purge"), "retention period runs until 2026-12-31")
    assert (accounts.exports / "2026-06-01" / f"{OUTPUT}.csv").is_file()
    refused(accounts.client(MALLORY, "request", "--output", OUTPUT), "not one of the researchers")
    refused(accounts.client(MALLORY, "audit"), "not one of the")


def test_a_researcher_s_sql_cannot_reach_the_service_s_files(accounts):
    """The service runs a researcher's SQL as its own account, which can read its key and
    database: the SQL may still reach nothing but the research database."""
    key = (accounts.state / "audit.key").read_bytes()
    attempts = {
        "key": f"select person_id, sex_code, content as region_code from marts.beneficiary_base, "
               f"read_blob('{accounts.state}/audit.key')",
        "database": f"select person_id, sex_code, content as region_code from marts.beneficiary_base, "
                    f"read_text('{accounts.state}/policy.yml')",
        "attach": f"attach '{accounts.state}/review.sqlite' as stolen",
        "glob": f"select person_id, sex_code, file as region_code from marts.beneficiary_base, glob('{accounts.state}/*')",
    }
    for name, sql in attempts.items():
        path = accounts.sql_file(ALICE, f"{name}.sql", sql)
        tried = accounts.client(ALICE, "request", "--aggregate", f"steal_{name}", "--sql-file", path,
                                "--dimensions", "sex_code,region_code")
        refused(tried, "does not run on the research database|exactly one SELECT")
        assert key.hex() not in tried.stderr and "researchers:" not in tried.stderr, tried.stderr


def test_a_researcher_sees_no_true_count(accounts):
    status = accounts.client(ALICE, "request", "--status")
    assert status.returncode == 0
    for line in status.stdout.splitlines():
        assert re.fullmatch(r"R\d{4}: [a-z ]+, \d approval\(s\)( \(([a-z_]+: \d+ of \d+ cells suppressed(; )?)+\))?",
                            line), line
    assert "R0001" in status.stdout and "R0002" not in status.stdout, "only her own requests"
    refused(accounts.client(ALICE, "review", "show", "R0001"), "not one of the custodians")
    shown = accounts.client(CAROL, "review", "show", "R0001")
    assert shown.returncode == 0 and json.loads(shown.stdout)["custodian_report"]["outputs"]


def test_twenty_simultaneous_approvals_and_requests_are_each_recorded_once(accounts):
    made = [request(accounts, ALICE) for _ in range(5)]
    calls = [(CAROL, "review", "approve", r, "--comment", "fine") for r in made]
    calls += [(ERIN, "review", "approve", r, "--comment", "fine") for r in made]
    calls += [(ALICE, "request", "--output", OUTPUT)] * 5 + [(DAVE, "request", "--output", OUTPUT)] * 5
    with ThreadPoolExecutor(len(calls)) as pool:
        results = list(pool.map(lambda c: accounts.client(*c), calls))
    assert len(calls) == 20 and all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    new = {re.search(r"Request (R\d{4})", r.stdout).group(1) for r in results[10:]}
    assert len(new) == 10, "ten requests, ten ids"
    audit = accounts.client(CAROL, "audit")
    assert audit.returncode == 0, audit.stderr
    listed = accounts.client(CAROL, "review").stdout
    for request_id in made:
        assert re.search(rf"{request_id}: approved, by {ALICE}, approved by {CAROL}, {ERIN} \(2 of 2\)", listed) or \
            re.search(rf"{request_id}: approved, by {ALICE}, approved by {ERIN}, {CAROL} \(2 of 2\)", listed), listed


# ----------------------------------------------------------------------------- in the browser (issue 20)

AGE_BY_PROVINCE = ("select person_id, age_class, province_code from marts.beneficiary_base "
                   "where snapshot_quarter = '2019Q4'")


@contextmanager
def relay_as(accounts, user: str):
    """`wse-impact review --web` started by `user`, as that account; yields its first URL."""
    proc = subprocess.Popen([RUNUSER, "-u", user, "--", SYSTEM_PYTHON, "-m", "wse_impact.review.client", "review",
                             "--web"], cwd=accounts.home(user), env=accounts.env, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        url = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", proc.stdout.readline()).group(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    from test_docs import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(url)
    return page


def test_custodians_check_a_request_in_the_browser(accounts, browser, tmp_path):
    from playwright.sync_api import expect

    sql = accounts.sql_file(ALICE, "web.sql", AGE_BY_PROVINCE)
    request_id = request(accounts, ALICE, "--aggregate", "age_by_province", "--sql-file", sql,
                         "--dimensions", "age_class,province_code")
    with relay_as(accounts, CAROL) as url:
        page = open_page(browser, url)
        expect(page.locator("#user")).to_have_text(CAROL)
        expect(page.locator("#waiting tr", has_text=request_id)).to_contain_text(ALICE)
        page.get_by_role("link", name=request_id).click()
        expect(page.locator("#requester")).to_have_text(ALICE)
        tables = page.locator("table.output")
        expect(tables).to_have_count(2)  # the output model and the aggregate, each rendered
        expect(page.locator("pre.sql")).to_contain_text("province_code")
        assert page.locator("table[data-output=age_by_province] th", has_text="province_code = ").count() >= 2, \
            "dimensions as row and column headers"
        suppressed = page.locator("td.suppressed")
        assert suppressed.count() > 0
        reasons = " ".join(suppressed.all_inner_texts()) + " ".join(
            suppressed.nth(i).get_attribute("title") for i in range(suppressed.count()))
        assert "min_persons: fewer than 10" in reasons and "secondary" in reasons, \
            "why each cell is suppressed, for the custodian"
        assert page.locator("#intervals tr").count() > 1 and page.locator("#history").is_visible()
        screenshot = tmp_path / "request_page.png"
        page.screenshot(path=str(screenshot), full_page=True)
        if os.environ.get("WSE_SCREENSHOT_DIR"):  # the README's picture (docs/request_page.png): the aggregate
            page.locator("#output-age_by_province").scroll_into_view_if_needed()
            page.screenshot(path=str(Path(os.environ["WSE_SCREENSHOT_DIR"]) / "request_page.png"))
        assert screenshot.stat().st_size > 20_000 and page.locator("h1").inner_text().startswith(f"Request {request_id}")
        page.fill("#comment", "checked in the browser: small cells suppressed")
        page.get_by_role("button", name="Approve").click()
        expect(page.locator("#message")).to_have_text("Your approval is recorded.")
        expect(page.locator("#approvals")).to_contain_text(CAROL)
        expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # decided: no second vote
        port = url.split(":")[2].split("/")[0]
        intruder = accounts.run(MALLORY, "-c", f"""
import urllib.request, urllib.error
for url, data in (('http://127.0.0.1:{port}/web/', None), ('{url}', None),
                  ('http://127.0.0.1:{port}/web/requests/{request_id}/decision', b'decision=approve&comment=x&csrf=x')):
    try:
        urllib.request.urlopen(url, data=data); print('allowed')
    except urllib.error.HTTPError as error:
        print(error.code)
""")
        assert intruder.stdout.split() == ["403", "403", "403"], intruder.stdout + intruder.stderr
    with relay_as(accounts, DAVE) as url:
        page = open_page(browser, url)
        page.goto(url.split("?")[0] + "web/requests/R0002")  # his own request: no buttons
        expect(page.locator("#own")).to_be_visible()
        expect(page.get_by_role("button", name="Approve")).to_have_count(0)
        page.goto(url.split("?")[0] + f"web/requests/{request_id}")
        page.fill("#comment", "second check")
        page.get_by_role("button", name="Approve").click()
        expect(page.locator("#status")).to_have_text("approved")
        page.get_by_role("button", name="Release to exports/").click()
        expect(page.locator("#message")).to_have_text("Released to the export folder.")
        expect(page.locator("#status")).to_have_text("released")
        page.get_by_role("link", name="Audit log").click()
        expect(page.locator("#whole")).to_be_visible()
        history = page.locator("#log tr", has_text=request_id).all_inner_texts()
        assert [next(w for w in ("request", "approve", "release") if w in line) for line in history] == \
            ["request", "approve", "approve", "release"], history
    with relay_as(accounts, ALICE) as url:
        page = open_page(browser, url)
        expect(page.locator("#mine tr", has_text=request_id)).to_contain_text("released")
        expect(page.locator("#mine")).to_contain_text("cells suppressed")
        assert page.locator("table.output, #waiting, td.suppressed").count() == 0
        content = page.content()
        assert "min_persons" not in content and "interval" not in content, "no per-cell reason for a researcher"
        response = page.goto(url.split("?")[0] + f"web/requests/{request_id}")
        assert response.status == 403, "a researcher never sees the request's tables or true counts"


def test_the_record_tampered_with_by_someone_without_the_key(accounts):
    """Last: what root (or a restored backup) can do to the database is named by the audit."""
    database = accounts.state / "review.sqlite"
    with sqlite3.connect(database) as con:
        con.execute("delete from release_log")
    audit = accounts.client(CAROL, "audit")
    assert audit.returncode == 1 and "release-log entry was removed" in audit.stderr
    refused(accounts.client(CAROL, "review", "approve", "R0004", "--comment", "now"), "broken")
    shutil.rmtree(accounts.exports / "2026-06-01")
    audit = accounts.client(CAROL, "audit")
    assert "the folder is missing, not purged" in audit.stderr
