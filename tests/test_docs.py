"""The documentation stays true: every Python example in README.md and docs/ runs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


PAGES_WITH_CODE = [p for p in PAGES if BLOCK.search(p.read_text())]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_examples_run(page: Path, tmp_path: Path) -> None:
    """A page's ```python blocks run as written, in order, sharing one namespace."""
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for number, code in enumerate(BLOCK.findall(page.read_text()), start=1):
            exec(compile(code, f"{page.name} block {number}", "exec"), namespace)
    finally:
        os.chdir(cwd)


def test_docs_link_only_to_pages_that_exist() -> None:
    """Relative links in the README and docs point at files in the repository."""
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
