"""The generated documentation is a product reviewers read: open the real static docs page in
headless Chromium (Debian's package, installed by `make test-deps`) and check that a mart's
column list and the lineage graph render; keep a screenshot of what a reviewer sees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from conftest import PROJECT_DIR, run_dbt

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# root needs --no-sandbox; the rest keeps Chromium from reaching for a network there is none of
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MART = "model.wse_impact.beneficiary_base"
SCREENSHOT_COPY = PROJECT_DIR / "reports" / "docs_screenshot.png"
TIMEOUT_MS = 30_000

# the graph directive's cytoscape instance, its rendered size and the pixels painted on its canvases
GRAPH_STATE_JS = """() => {
    const box = document.getElementById('cy');
    if (!box) return null;
    const rect = box.getBoundingClientRect();
    const cy = box._cyreg && box._cyreg.cy;
    let painted = 0;
    for (const canvas of box.querySelectorAll('canvas')) {
        if (!canvas.width || !canvas.height) continue;
        const alpha = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < alpha.length; i += 4) if (alpha[i] > 0) painted++;
    }
    return {
        width: rect.width,
        height: rect.height,
        painted: painted,
        nodes: cy ? cy.nodes().filter(n => n.visible()).map(n => n.id()) : [],
        edges: cy ? cy.edges().filter(e => e.visible()).length : 0,
    };
}"""


@pytest.fixture(scope="module")
def static_docs(pipeline) -> Path:
    """`dbt docs generate --static` for real, on the pipeline's warehouse: one self-contained page."""
    run_dbt(["docs", "generate", "--static"], pipeline.env, pipeline.target_dir)
    page = pipeline.target_dir / "static_index.html"
    assert page.is_file() and page.stat().st_size > 0
    return page


@pytest.fixture(scope="module")
def manifest(static_docs) -> dict:
    return json.loads((static_docs.parent / "manifest.json").read_text())


@pytest.fixture(scope="module")
def docs_page(static_docs, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make test-deps` (as root)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context.new_page()
        finally:
            context.close()


def open_route(page: Page, static_docs: Path, route: str) -> None:
    page.goto(f"{static_docs.as_uri()}#!/{route}")
    # the app has booted once its navigation tree lists the project
    expect(page.get_by_text("Projects", exact=True)).to_be_visible()


def column_cell(page: Page, name: str):
    return page.get_by_role("cell", name=name, exact=True)


def test_mart_column_list_renders(docs_page, static_docs):
    # pages without the mart's column table: the overview, and a model that does not exist
    open_route(docs_page, static_docs, "overview")
    expect(column_cell(docs_page, "person_id")).to_have_count(0)
    open_route(docs_page, static_docs, "model/model.wse_impact.no_such_model")
    expect(column_cell(docs_page, "person_id")).to_have_count(0)

    open_route(docs_page, static_docs, f"model/{MART}")
    expect(docs_page.get_by_text("beneficiary_base", exact=True).first).to_be_visible()
    for column in ("person_id", "snapshot_quarter", "age_class"):
        expect(column_cell(docs_page, column).first).to_be_visible()
    # the description carries the deliberation's Dutch term
    age_row = docs_page.locator("tr", has=column_cell(docs_page, "age_class")).first
    expect(age_row).to_contain_text("leeftijdsklasse")
    expect(age_row).not_to_contain_text("kwartaal")


def test_lineage_graph_renders(docs_page, static_docs, manifest, tmp_path):
    open_route(docs_page, static_docs, f"model/{MART}")
    expect(column_cell(docs_page, "person_id").first).to_be_visible()

    # closed, the graph takes no room and nothing is drawn
    closed = docs_page.evaluate(GRAPH_STATE_JS)
    assert closed is None or (closed["width"] == 0 and closed["painted"] == 0), closed

    docs_page.get_by_title("View Lineage Graph").click()
    docs_page.wait_for_function(
        "() => { const b = document.getElementById('cy'); return b && b.getBoundingClientRect().width > 0"
        " && b._cyreg && b._cyreg.cy.nodes().length > 0; }",
        timeout=TIMEOUT_MS,
    )
    # layout and painting finish a moment after the nodes exist
    docs_page.wait_for_function(f"() => ({GRAPH_STATE_JS})().painted > 0", timeout=TIMEOUT_MS)
    graph = docs_page.evaluate(GRAPH_STATE_JS)

    assert graph["width"] > 0 and graph["height"] > 0, graph
    assert graph["painted"] > 0, graph
    assert graph["edges"] > 0, graph
    nodes = set(graph["nodes"])
    assert MART in nodes, sorted(nodes)
    # the mart's lineage as the manifest has it: its parents and the models and exposures fed by it
    parents = set(manifest["nodes"][MART]["depends_on"]["nodes"])
    children = {child for child in manifest["child_map"][MART] if child.split(".")[0] in {"model", "exposure"}}
    assert parents and children, (parents, children)
    assert parents | children <= nodes, sorted((parents | children) - nodes)
    assert "model.wse_impact.no_such_model" not in nodes

    shot = tmp_path / "docs_screenshot.png"
    docs_page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT_COPY)
