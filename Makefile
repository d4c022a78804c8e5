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
        test-gateway cli \
        bootstrap clean venv generate check-generated
.PHONY: test-rust bench-rust
.PHONY: test-python bench-python
.PHONY: test-go bench-go

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
	  'fuzz/*.c' 'bench/c/*.c' 'bindings/python/ptel/*.c' | grep -v headertest)

format:
	@clang-format -i $$(git ls-files 'core/*.c' 'core/*.h' 'tools/*.c' 'fuzz/*.c' \
	  'bench/c/*.c' 'bindings/python/ptel/*.c' | grep -v headertest)

test: check-generated test-c test-asan check-format test-python test-rust test-go conformance test-wasm \
      test-integration test-gateway
	@echo "all tests passed"

# The Python binding (bindings/python): install the package into .venv from
# the repository root, type-check it and run its tests, which compare with
# the C CLI of $(BUILD). PTEL_PY_SKIP_ASAN=1 / PTEL_PY_SKIP_WHEEL=1 skip the
# slow sanitizer and wheel tests.
PY_INSTALL = $(PY) -m pip install -q --disable-pip-version-check --no-build-isolation \
             --no-deps --force-reinstall .
test-python: venv build
	@$(PY_INSTALL)
	@$(PY) -m mypy --strict --cache-dir $(BUILD)/python/mypy bindings/python/ptel
	@PTEL_CLI=$(BUILD)/bin/ptel $(PY) -m pytest -q -p no:cacheprovider bindings/python/tests

bench-python: venv
	@$(PY_INSTALL)
	@$(PY) bindings/python/bench/bench_ptel.py

# The main job (examples/gateway/README.md): a Python gateway runs tool calls
# through plugins in C, Go, Rust and Python, in process and as subprocesses,
# writes OTLP/JSON lines under out/ (or exports to OTEL_EXPORTER_OTLP_ENDPOINT)
# and prints the trace tree; then the WASM plugins under wasmtime. Every step
# is skipped when its sources did not change, so a warm run takes seconds.
GATEWAY = $(BUILD)/gateway
GATEWAY_PY = $(PY) examples/gateway/gateway.py --plugins $(GATEWAY) --wasm-dir $(BUILD)/wasm
demo: cli $(VENV)/.ptel-installed $(BUILD)/wasm/.built
	@bash examples/gateway/build.sh $(GATEWAY)
	@$(GATEWAY_PY) --out out
	@echo
	@echo "== WASM plugins under the Python wasmtime host"
	@$(WASM_PY) $(PY) wasm/hosts/python/demo.py

# The gateway's tests (examples/gateway/tests): run the demo and check what
# it exported, then the host's handling of misbehaving subprocess plugins;
# plus the plugins' own format, lint and unit checks.
GATEWAY_RS = --manifest-path examples/gateway/plugins/rust/secrets_detector/Cargo.toml
test-gateway: cli $(VENV)/.ptel-installed $(BUILD)/wasm/.built
	@bash examples/gateway/build.sh $(GATEWAY)
	@out=$$($(GO)fmt -l examples/gateway) && [ -z "$$out" ] || { echo "gofmt: $$out"; exit 1; }
	@$(GO) vet ./examples/gateway/...
	@cargo fmt --check $(GATEWAY_RS)
	@CARGO_TARGET_DIR=$(GATEWAY)/rust cargo test -q --release --locked $(GATEWAY_RS)
	@$(PY) -m mypy --strict --cache-dir $(BUILD)/python/mypy-gateway --ignore-missing-imports \
	  examples/gateway/*.py examples/gateway/plugins/python/*.py examples/gateway/tests/*.py
	@PTEL_GATEWAY_PLUGINS=$(GATEWAY) PTEL_WASM_DIR=$(BUILD)/wasm \
	  $(PY) -m pytest -q -p no:cacheprovider examples/gateway/tests

# Only the ptel tool (the demo prints its trees with `ptel tree`).
cli: bootstrap
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target ptel_cli

# The Python package, reinstalled only when it or the core changed.
PY_PKG_SOURCES = setup.py pyproject.toml $(wildcard bindings/python/ptel/*.py \
                 bindings/python/ptel/*.[ch] core/src/*.c core/src/*.h core/include/ptel/*.h)
$(VENV)/.ptel-installed: $(VENV)/.stamp $(PY_PKG_SOURCES)
	@$(PY_INSTALL)
	@touch $@

# wasm/build.sh, run only when the sources it builds from changed.
$(BUILD)/wasm/.built: wasm/build.sh $(shell find wasm/guest wasm/include wasm/plugins \
                      wasm/native conformance/runners/c core/src core/include -type f 2>/dev/null)
	@bash wasm/build.sh $(BUILD)/wasm
	@touch $@

# The C core's benchmarks, then each binding's against its OpenTelemetry SDK.
bench: build
	@bash bench/run.sh
	@$(MAKE) --no-print-directory bench-python bench-rust bench-go bench-wasm

fuzz: bootstrap
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -G Ninja -DPTEL_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@bash fuzz/run.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-60}

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) out

# A real OpenTelemetry Collector (integration/collector, built once and
# cached under ~/.cache/ptel) receives what the built-in exporter and each
# SDK adapter export, also through a fault-injecting proxy (integration/).
# The Rust adapter example's build is cached there too, so that a fresh
# clone (CI) does not compile its HTTP stack again.
PTEL_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ptel
PTEL_ADAPTER_TARGET_DIR ?= $(PTEL_CACHE)/target-adapters
.PHONY: test-integration
test-integration: venv build
	@$(PY_INSTALL)
	@$(PY) -m mypy --strict --cache-dir $(BUILD)/python/mypy-integration integration/faultproxy.py \
	  integration/tests
	@PTEL_OTELCOL=$$(GO=$(GO) bash integration/build-collector.sh) && export PTEL_OTELCOL && \
	  GO=$(GO) PTEL_CLI=$(abspath $(BUILD)/bin/ptel) PTEL_ADAPTER_TARGET_DIR=$(PTEL_ADAPTER_TARGET_DIR) \
	  $(PY) -m pytest -q -rs -p no:cacheprovider integration/tests

# The Rust binding (Cargo workspace at the root; see bindings/rust/README.md):
# format, lints, tests (with a brief proptest pass over the host decode path),
# docs, the PyO3 example loaded into Python, the packaged ptel-sys, and the
# tests again with the C core under ASan + UBSan (bindings/rust/asan.sh).
RUST_PYTHON ?= python3
test-rust:
	@cargo fmt --all --check
	@cargo clippy --workspace --all-targets --all-features -- -D warnings
	@PROPTEST_CASES=$${PROPTEST_CASES:-256} cargo test --workspace --all-features
	@RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features
	@PYO3_PYTHON=$(RUST_PYTHON) cargo build -p ptel-pyo3-plugin
	@$(RUST_PYTHON) bindings/rust/examples/pyo3-plugin/check.py $${CARGO_TARGET_DIR:-target}/debug/libptel_pyo3_plugin.so
	@bash bindings/rust/ptel-sys/vendor-core.sh >/dev/null && bash bindings/rust/ptel-sys/vendor-core.sh --check
	@cargo package -p ptel-sys --list --allow-dirty | grep -qx 'core/src/ptel.c' \
	  || { echo "ptel-sys: the package lacks core/src/ptel.c"; exit 1; }
	@bash bindings/rust/asan.sh

bench-rust:
	@cargo bench -p ptel --bench spans

# The Go binding (bindings/go; the module is the repository root): gofmt,
# vet, the tests under the race detector, then a brief fuzzing pass per fuzz
# target (GO_FUZZTIME each). Needs only Go and a C compiler.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
# An execution count, not a duration: a duration ends with "context deadline
# exceeded" when a worker is still busy at the deadline on a loaded machine.
GO_FUZZTIME ?= 20000x
GO_FUZZ_TARGETS = FuzzInvocationEnd FuzzDecodeContext FuzzRenderJSON
test-go:
	@out=$$($(GO)fmt -l bindings/go 2>/dev/null || gofmt -l bindings/go); \
	  [ -z "$$out" ] || { echo "gofmt: $$out"; exit 1; }
	@$(GO) vet ./...
	@$(GO) test -race -count=1 ./...
	@for t in $(GO_FUZZ_TARGETS); do \
	  $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(GO_FUZZTIME) ./bindings/go || exit 1; \
	done

# ptel against the OpenTelemetry Go SDK with OTLP transform and marshal.
bench-go:
	@$(GO) test -run '^$$' -bench . -benchmem ./bindings/go

# WASM plugins (wasm/): the core and the example plugins as wasm32-wasi
# modules, plus native builds of the same plugins (wasm/build.sh), and the
# hosts that run them with a real runtime (wasm/hosts/).
.PHONY: wasm test-wasm bench-wasm demo-wasm test-wasm-rust
wasm: build
	@bash wasm/build.sh $(BUILD)/wasm

WASM_PY = PYTHONPATH=wasm/hosts/python PTEL_WASM_DIR=$(BUILD)/wasm PTEL_CLI=$(BUILD)/bin/ptel
test-wasm: wasm venv
	@$(PY_INSTALL)
	@$(WASM_PY) $(PY) -m pytest -q -p no:cacheprovider wasm/hosts/python
	@cd wasm/hosts/go && out=$$($(GO)fmt -l .) && [ -z "$$out" ] || { echo "gofmt: $$out"; exit 1; }
	@cd wasm/hosts/go && $(GO) vet ./... && PTEL_WASM_DIR=$(abspath $(BUILD)/wasm) $(GO) test -count=1 ./...
	@$(PY) -m mypy --strict --cache-dir $(BUILD)/python/mypy-wasm wasm/hosts/python/ptel_wasm.py \
	  wasm/hosts/python/scenarios_wasm.py
	@$(WASM_RS_TEST)

bench-wasm: wasm venv
	@$(PY_INSTALL)
	@$(WASM_PY) $(PY) wasm/hosts/python/bench_wasm.py
	@cd wasm/hosts/go && PTEL_WASM_DIR=$(abspath $(BUILD)/wasm) $(GO) test -run '^$$' -bench . \
	  -benchmem ./...
	@cd wasm/hosts/rust && PTEL_WASM_DIR=$(abspath $(BUILD)/wasm) cargo run -q --locked --release \
	  --example bench_wasm

# The conformance suite (conformance/README.md): check that the committed
# vectors match their authoring scripts and the C core, check them against
# the official OTLP definitions, run every runner that exists (C, Python, Go,
# Rust, the cross-boundary matrix) and print the table. Exits non-zero on any
# unexpected result. `make conformance-update` regenerates the vectors.
.PHONY: conformance conformance-update
conformance: venv
	@$(PY) conformance/gen/generate.py --check
	@$(PY) conformance/oracle/check.py
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) conformance/report.py --run

conformance-update: venv
	@$(PY) conformance/gen/generate.py

demo-wasm: wasm venv
	@$(PY_INSTALL)
	@$(WASM_PY) $(PY) wasm/hosts/python/demo.py

# The Rust host (wasm/hosts/rust, its own Cargo workspace and target
# directory, so wasmtime is built once and cached there: a few minutes the
# first time, with default features off and no debug info). Part of
# test-wasm; test-wasm-rust runs it alone.
WASM_RS_TEST = cd wasm/hosts/rust && cargo fmt --check && \
  PTEL_WASM_DIR=$(abspath $(BUILD)/wasm) cargo test -q --locked
test-wasm-rust: wasm
	@$(WASM_RS_TEST)
