"""examples/notebook.ipynb: committed without outputs, and run top to bottom by a real
ipykernel (nbclient, both from the dev extras), offline: the kernel's proxies point at a
closed port, so any web request it made would fail. Its map cell's HTML loads no script
from another host (the maps inline Leaflet and its plugins: mapper/assets.py)."""

from __future__ import annotations

import html
import os
import re
import socket
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from mapper.assets import remote_references
from tests.conftest import ROOT

NOTEBOOK = ROOT / "examples" / "notebook.ipynb"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_committed_notebook_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 6
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert nb.metadata["kernelspec"]["name"] == "python3"


def _text(output: dict[str, Any]) -> str:
    if output["output_type"] == "stream":
        return str(output["text"])
    data = output.get("data", {})
    return str(data.get("text/html") or data.get("text/plain") or "")


# A Jupyter kernel running the notebook (13 s here) is in the slow tier; the API it calls is
# tested by test_api.py in the quick one.
@pytest.fixture(scope="module")
def executed() -> Any:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    dead = f"http://127.0.0.1:{closed_port()}"
    env = dict(os.environ)
    for key in ("http_proxy", "https_proxy", "all_proxy"):
        env[key] = env[key.upper()] = dead
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )  # fmt: skip
    client.execute(env=env)  # raises CellExecutionError on a cell's error
    return nb


@pytest.mark.slow
def test_the_notebook_runs_top_to_bottom(executed: Any) -> None:
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    for cell in code:
        assert not [o for o in cell.outputs if o["output_type"] == "error"], cell.source
    shown = "\n".join(_text(o) for c in code for o in c.outputs)
    for city in ("Zürich", "Bern", "Genève", "Lausanne", "Basel"):
        assert city in shown
    compare = next(c for c in code if "store.compare(" in c.source)
    table = "".join(_text(o) for o in compare.outputs)
    assert "not all cameras" in table and "data date 2023-06-14" in table
    assert table.count("<tr") == 6  # the header and the five cities


@pytest.mark.slow
def test_the_map_cell_loads_no_outside_script(executed: Any) -> None:
    cell = next(c for c in executed.cells if "map" in c.metadata.get("tags", []))
    (out,) = [o for o in cell.outputs if o["output_type"] == "execute_result"]
    shown = out["data"]["text/html"]
    m = re.search(r'<iframe srcdoc="([^"]*)"', shown)
    assert m, shown[:300]
    page = html.unescape(m.group(1))
    assert "L.map(" in page and len(page) > 100_000  # Leaflet itself is in the page
    assert remote_references(page) == [] and remote_references(shown) == []
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"<link[^>]*\shref=[\"']?(https?:)?//", page)
