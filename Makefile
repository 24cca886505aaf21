# Entry points. The checks and root tests need root: run them with sudo.
CARGO ?= cargo
SHELL := /bin/bash

.PHONY: all build test test-unit test-root check doctor rootfs bench clean

all: build

build:
	$(CARGO) build --workspace --bins

## The tests: unit tests always; the root tests (real containers) too when run as root.
test: build
	@if [ "$$(id -u)" = 0 ]; then \
		$(CARGO) test --workspace -- --include-ignored; \
	else \
		echo "not root: running the tests that need no root (sudo make test runs them all)"; \
		$(CARGO) test --workspace; \
	fi

test-unit:
	$(CARGO) test --workspace

## Every check against $$LAB_RUNTIME (default: the reference runtime). Root only.
check: build
	@[ "$$(id -u)" = 0 ] || { echo "make check needs root (sudo make check)"; exit 2; }
	$(CARGO) run -q --bin harness -- doctor || true
	$(CARGO) test --workspace -- --ignored

doctor: build
	$(CARGO) run -q --bin harness -- doctor

## Startup time of `harness run` next to runc and the unshare floor, as ratios.
bench:
	@[ "$$(id -u)" = 0 ] || { echo "make bench needs root"; exit 2; }
	@command -v runc >/dev/null || { echo "make bench needs runc (apt-get install runc)"; exit 2; }
	$(CARGO) build --release --workspace --bins
	$(CARGO) bench -p harness --bench startup

clean:
	$(CARGO) clean
