# Two commands on a fresh machine with Python 3.10+:  make demo  and  make test.
# Everything lives in .venv; torch is pinned to the CPU build first so nothing pulls CUDA.

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install system-deps bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

# The end-to-end tests drive a real X server: Xvfb, with xdotool for the key presses.
system-deps:
	@if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null; then \
	  echo "installing xvfb and xdotool (Debian packages) for the window tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq xvfb xdotool >/dev/null; \
	fi

# The main job, headless: the planning expert stands in for a person, records demonstrations,
# behavioural cloning trains on them, two DAgger rounds run, the agent is scored against a
# random one and an mp4 of it is written; everything lands in a new data/demo-<time>/ folder.
demo: $(STAMP)
	$(BIN)/mimic demo --game pacman

test: $(STAMP) system-deps
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
