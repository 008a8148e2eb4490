"""Two logical CPU devices for the in-process MirroredStrategy tests.

The project's tests/conftest.py splits the CPU before TensorFlow initialises; `split_cpu(2)`
is then a no-op. When it has not (this folder run on its own), this does it, as long as
nothing has initialised TensorFlow yet; otherwise the tests that need two devices fail
with the reason.
"""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kerasdl.distribute import split_cpu  # noqa: E402

try:
    split_cpu(2)
    _SPLIT_ERROR = None
except RuntimeError as e:
    _SPLIT_ERROR = str(e)


@pytest.fixture(scope="session")
def two_cpus() -> list[str]:
    """The names of two logical CPU devices of this process."""
    if _SPLIT_ERROR is not None:
        pytest.fail(f"tests/distribute needs two logical CPU devices: {_SPLIT_ERROR}")
    return ["/device:CPU:0", "/device:CPU:1"]
