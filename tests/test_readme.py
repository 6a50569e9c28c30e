"""The README's Python examples run as written (on a slice of the bundled adult data)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
#: Only the sizes change, so the examples run in seconds: the code is the README's.
SMALLER = {
    "100_000": "5_000",
    "n_runs=20": "n_runs=2",
    "real.sample(2_000)": "real.sample(300)",
    "la.datasets.load_adult()": "la.datasets.load_adult().head(4_000)",
    'la.datasets.load_adult("test")': 'la.datasets.load_adult("test").head(2_000)',
}


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::lookalike.errors.DataWarning")  # adult breaks its rules
def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _python_blocks()
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}  # nothing but what the README defines
    for block in blocks:
        for big, small in SMALLER.items():
            block = block.replace(big, small)
        exec(compile(block, str(README), "exec"), namespace)  # our own README, as written
    assert (tmp_path / "report.html").exists()
    assert len(namespace["completed"]) == 50
    assert namespace["board"].to_frame().shape[0] >= 4  # the grid, and the real-only baseline
