"""What a checkout of the repository must be, whatever the platform."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tracked() -> list[str]:
    """The files git tracks, with their modes (``git ls-files -s``)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (or git is missing): nothing to check")
    return listed.stdout.splitlines()


def test_the_tree_holds_no_symbolic_links() -> None:
    """No file of the repository is a symbolic link (git mode 120000), so a Windows checkout
    gets real files; the example register is one real file inside the package."""
    links = [line.split("\t", 1)[1] for line in _tracked() if line.startswith("120000")]
    assert links == []
    example = ROOT / "src" / "action_ledger" / "_examples" / "west_mercia.py"
    assert example.is_file()
    assert not os.path.islink(example)
