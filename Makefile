# ptel — the two commands are `make demo` and `make test`; everything they
# need is installed on first use (see scripts/bootstrap.sh).
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

VENV ?= .venv
PY := $(VENV)/bin/python
GENERATED := bindings/python/ptel/_cdef.h bindings/python/ptel/_generated.py \
             bindings/go/zz_generated.go bindings/rust/ptel-sys/src/bindings.rs

.PHONY: all build test test-c test-asan headertest check-format format demo bench fuzz \
        bootstrap clean venv generate check-generated

all: build

bootstrap:
	@bash scripts/bootstrap.sh

venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements-dev.txt
	@python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# Every binding's glue comes from the public header; see codegen/gen.py.
generate: venv
	@$(PY) codegen/gen.py

check-generated: venv
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && $(PY) codegen/gen.py --root "$$tmp" && \
	  for f in $(GENERATED); do \
	    diff -u "$$f" "$$tmp/$$f" >/dev/null || { echo "stale generated file: $$f (run make generate)"; \
	      exit 1; }; \
	  done && echo "generated files are up to date"

build: bootstrap
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test-c: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: bootstrap
	@CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -G Ninja -DPTEL_SANITIZE=ON \
	  -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

check-format: bootstrap
	@clang-format --dry-run -Werror $$(git ls-files 'core/*.c' 'core/*.h' 'tools/*.c' \
	  'fuzz/*.c' 'bench/c/*.c' | grep -v headertest)

format:
	@clang-format -i $$(git ls-files 'core/*.c' 'core/*.h' 'tools/*.c' 'fuzz/*.c' \
	  'bench/c/*.c' | grep -v headertest)

test: check-generated test-c test-asan check-format
	@echo "all tests passed"

demo: build
	@bash examples/c/demo.sh

bench: build
	@bash bench/run.sh

fuzz: bootstrap
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -G Ninja -DPTEL_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@bash fuzz/run.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-60}

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) out
