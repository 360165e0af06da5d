# Two commands on a fresh machine with Python 3.10+:  make demo  and  make test.
# Everything lives in .venv; torch is pinned to the CPU build first so nothing pulls CUDA.

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install lib-deps system-deps apt clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

# Debian packages: OpenCV's wheel loads libGL and glib; the window tests drive a real X server
# (Xvfb) and press keys with xdotool.
lib-deps: $(STAMP)
	@$(BIN)/python -c "import cv2" 2>/dev/null || $(MAKE) --no-print-directory apt PACKAGES="libgl1 libglib2.0-0"

system-deps: lib-deps
	@missing=""; \
	command -v Xvfb >/dev/null || missing="$$missing xvfb"; \
	command -v xdotool >/dev/null || missing="$$missing xdotool"; \
	if [ -n "$$missing" ]; then $(MAKE) --no-print-directory apt PACKAGES="$$missing"; fi

apt:
	@echo "installing $(strip $(PACKAGES)) (Debian packages)"
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PACKAGES) >/dev/null

# The main job, headless: the planning expert stands in for a person, records demonstrations,
# behavioural cloning trains on them, two DAgger rounds run, the agent is scored against a
# random one and an mp4 of it is written; everything lands in a new data/demo-<time>/ folder.
demo: $(STAMP) lib-deps
	$(BIN)/mimic demo --game pacman

# One test process per core (pytest-xdist): the tests wait on real processes, windows and signals.
test: $(STAMP) system-deps
	$(BIN)/python -m pytest -n auto

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
