"""The documentation site builds in strict mode (every warning an error: a broken link, a
page missing from the nav, a docstring the API reference cannot read), with its generated
pictures and an API page for every reference entry. The pages' examples run as doctests
(pyproject's ``--doctest-glob=*.md``); this builds the site itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _mkdocs():
    exe = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs is not installed: CI builds the site (the docs extra)")
        pytest.skip("mkdocs is not installed (pip install 'matroidopt[docs]')")
    return exe


def _nav_pages(nav):
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            yield from _nav_pages(value)
        else:
            yield value


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([_mkdocs(), "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARNING")]
    assert warnings == []
    return out


def test_the_site_builds_strictly_with_every_nav_page(site):
    yaml = pytest.importorskip("yaml")

    class _Loader(yaml.SafeLoader):   # mkdocs.yml may carry !!python tags
        pass

    _Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)
    pages = list(_nav_pages(config["nav"]))
    assert len(pages) > 60
    for page in pages:
        stem = page[: -len(".md")]
        html = site / (stem[: -len("index")] if stem.endswith("index") else stem + "/") \
            / "index.html"
        assert html.is_file(), page
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")
               if "hooks" not in p.parts}
    assert on_disk - set(pages) == set()      # no page left out of the nav


def test_the_site_has_its_pictures_and_api_reference(site):
    for picture in ("images/gain_curve.png", "images/selection.png",
                    "llm_minibatch/demo_validation_loss.png"):
        assert (site / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
    concepts = (site / "concepts" / "index.html").read_text(encoding="utf-8")
    assert "images/gain_curve.png" in concepts and "images/selection.png" in concepts
    front = (site / "api" / "front_ends" / "index.html").read_text(encoding="utf-8")
    for name in ("SubmodularSelector", "gain_curve", "select_rows", "build_parser"):
        assert name in front, name
    solvers = (site / "api" / "solvers" / "index.html").read_text(encoding="utf-8")
    assert "bound_trace" in solvers and "lazy_greedy" in solvers
    assert (site / "search" / "search_index.json").is_file()
