# ptel — the two commands are `make demo` and `make test`; everything they
# need is installed on first use (see scripts/bootstrap.sh).
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build test test-c test-asan headertest check-format format demo bench fuzz \
        bootstrap clean

all: build

bootstrap:
	@bash scripts/bootstrap.sh

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

test: test-c test-asan check-format
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
