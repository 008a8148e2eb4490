"""Every tutorial runs end to end (in its quick mode) and writes the PNGs it promises."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TUTORIALS = sorted(
    path.stem
    for path in (ROOT / "tutorials").glob("*.py")
    if path.stem not in ("__init__", "common")
)


def extra_arguments(name: str) -> list[str]:
    """Options the quick run also covers: the wake-word tutorial's peak weight and neural
    voices (those installed)."""
    from kerasdl.data import kokoro
    from kerasdl.data.piper import voice_files

    if name != "wake_word":
        return []
    piper = ["--piper-voices", "2"] if "en_US-joe-medium" in voice_files() else []
    neural = piper + (["--kokoro-voices", "2"] if kokoro.ready() else [])
    return ["--peak-weight", "0.2", *neural]


def promised_pictures(name: str) -> list[str]:
    """The PNG names the tutorial's docstring lists."""
    text = (ROOT / "tutorials" / f"{name}.py").read_text()
    return sorted(set(re.findall(r"`([\w-]+\.png)`", text)))


@pytest.mark.slow
@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_runs_and_draws(name, tmp_path):
    pictures = promised_pictures(name)
    assert pictures, f"tutorials/{name}.py lists no PNG in its docstring"
    done = subprocess.run(
        [sys.executable, "-m", f"tutorials.{name}", "--quick", "--out", str(tmp_path)]
        + extra_arguments(name),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    if done.returncode == 77:  # the tutorial's data or packages are not installed
        pytest.skip(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, done.stderr[-3000:]
    for picture in pictures:
        with open(tmp_path / picture, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", picture
