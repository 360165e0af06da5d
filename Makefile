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

# Interim demo, until `mimic demo` lands: a SCRIPTED player (random arrow keys, not a person)
# records 900 frames (15 s of game time, played un-throttled) of Pac-Man through the real play loop (window on SDL's dummy video driver),
# into $(DEMO_DATA), not ./data; then `mimic data ls` and `mimic data verify` on it.
DEMO_DATA ?= /tmp/arcade-mimic-demo

demo: $(STAMP)
	rm -rf "$(DEMO_DATA)"
	SDL_VIDEODRIVER=dummy $(BIN)/python -m recorder.scripted --game pacman --frames 900 --max-frames 600 --data "$(DEMO_DATA)"
	COLUMNS=$${COLUMNS:-120} $(BIN)/python -m cli data ls --data "$(DEMO_DATA)"
	$(BIN)/python -m cli data verify --data "$(DEMO_DATA)"
	@echo "Scripted recordings in $(DEMO_DATA); record your own with: mimic play --record --game pacman"

test: $(STAMP) system-deps
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
