"""Installing the pinned npm packages a test drives (the federation gateway, the graphql-http audit)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.databases import in_ci


def npm_ci(directory: Path, needed_for: str) -> Path:
    """``npm ci`` in ``directory``; its node_modules. Without npm: skipped, but a failure with CI=true."""
    if shutil.which("npm") is None:
        if in_ci():
            pytest.fail(f"npm is needed for {needed_for} (CI=true)")
        pytest.skip("npm is not installed")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=directory, check=True, capture_output=True, timeout=600
    )
    return directory / "node_modules"
