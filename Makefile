# Two commands for readers:  `make book` (execute every chapter on CPU and render _build/html)
# and `make test` (the whole test suite). Each sets up .venv by itself on first use.
PYTHON ?= python3
VENV   ?= .venv
# PyTorch: the project's build machines hold a local CPU wheel of 2.13.0; elsewhere pip takes the platform's
# default build of that version. Override (e.g. TORCH_SPEC=torch, or a CUDA/CPU index) where another is wanted.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: setup book test student clean
setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

student: setup
	$(BIN)/python tools/make_student.py book student

# Chapters are executed through jupyter-cache: only those whose code cells changed run again, and all of them
# when the library, the checkpoints' manifest or requirements.txt changed (tools/book_build.py prepare).
book: setup student
	$(BIN)/python tools/book_build.py prepare _build
	GENIR_BOOK_BUILD=1 $(BIN)/jupyter-book build . -W --keep-going
	mkdir -p _build/html/student && cp student/*.ipynb _build/html/student/
	$(BIN)/python tools/book_build.py finish _build

test: setup
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
