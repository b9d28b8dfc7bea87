# Two commands for readers:  `make book` (execute every chapter on CPU and render _build/html)
# and `make test` (the whole test suite). Each sets up .venv by itself on first use.
PYTHON ?= python3
VENV   ?= .venv
# PyTorch: the project's build machines hold a local CPU wheel of 2.13.0; elsewhere pip takes the platform's
# default build of that version. Override (e.g. TORCH_SPEC=torch, or a CUDA/CPU index) where another is wanted.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: setup book test student nbgrader browser clean
setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# The student notebooks (exercises as stubs) are generated from the chapters and committed, so that Colab can
# open them from GitHub; tests/test_student.py fails when they are stale.
student: setup
	$(BIN)/python tools/make_student.py book student

# nbgrader source notebooks, one assignment per chapter, for a course: then `nbgrader generate_assignment`.
nbgrader: setup
	$(BIN)/python tools/make_student.py --nbgrader book _build/nbgrader/source
	@echo "nbgrader source notebooks in _build/nbgrader/source/<chapter>/ (copy them to your course's source/)"

# A Chromium for the browser test (tests/test_rendered_book.py): Debian's package where apt works (root),
# otherwise Playwright's own build (downloads it).
browser: setup
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; }; }; } || \
	  $(BIN)/python -m playwright install chromium

# Chapters are executed through jupyter-cache: only those whose code cells changed run again, and all of them
# when the library, the checkpoints' manifest or requirements.txt changed (tools/book_build.py prepare).
book: setup student
	$(BIN)/python tools/book_build.py prepare _build
	GENIR_BOOK_BUILD=1 $(BIN)/jupyter-book build . -W --keep-going
	mkdir -p _build/html/student && cp student/*.ipynb _build/html/student/
	$(BIN)/python tools/book_build.py finish _build

test: setup browser
	$(BIN)/python -m pytest -q

clean:
	rm -rf _build student

# The corpus of natural photographs that the photo recipes' cpu and gpu tiers train on: the public-domain and
# CC0 photographs of the Debian package gcompris-qt-data (genir_mini.data.corpus). Readers who only run the
# chapters never need it. Installs with apt where it can (root, or sudo without a password), else says how.
CORPUS_PACKAGE := gcompris-qt-data
CORPUS_DIR := /usr/share/gcompris-qt/rcc
.PHONY: corpus
corpus:
	@if ls $(CORPUS_DIR)/*.rcc >/dev/null 2>&1; then \
	  echo "the photo corpus is installed ($(CORPUS_DIR))"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "no apt-get on this machine: on Debian/Ubuntu install the package $(CORPUS_PACKAGE); elsewhere copy"; \
	  echo "its $(CORPUS_DIR)/*.rcc files into a folder and set GENIR_CORPUS_DIR to that folder"; exit 1; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update && apt-get install -y --no-install-recommends $(CORPUS_PACKAGE); \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  sudo apt-get update && sudo apt-get install -y --no-install-recommends $(CORPUS_PACKAGE); \
	else \
	  echo "installing the corpus needs root: sudo apt-get install -y --no-install-recommends $(CORPUS_PACKAGE)"; \
	  echo "(on Colab: !apt-get install -y --no-install-recommends $(CORPUS_PACKAGE))"; exit 1; \
	fi
