# Entry points. The checks and root tests need root: run them with sudo.
CARGO ?= cargo
SHELL := /bin/bash

# phases: see test
.PHONY: all build test test-phases phases test-unit lint check grade soak conformance-table doctor bench clean browser-deps pictures image check-docker

all: build

build:
	$(CARGO) build --workspace --bins

TEST_LOG := target/test.log
TEST_SUMMARY := target/test-summary.txt

# In the VM: cgroups checks (memory, pids, monitoring: the quick ones) from the root
# cgroup (the checker's cgroups beside it), then from a cgroup that holds processes,
# with no systemd (directly under the hierarchy root), then at the root of a cgroup
# namespace, as in a Docker container on cgroup v2 (Docker Desktop): a cgroup of its
# own with the controllers given to it, a new cgroup and mount namespace, cgroup2
# mounted afresh (the checker moves the root's processes into a leaf, as dind does).
PLACES_CHECKS := cgroups.memory cgroups.pids cgroups.monitoring
VM_NS_ROOT := mkdir /sys/fs/cgroup/ctr && echo 0 >/sys/fs/cgroup/ctr/cgroup.procs && \
	unshare -C -m --propagation private sh -c \"umount /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && labcheck $(PLACES_CHECKS)\"
VM_CGROUP_PLACES := sh -c 'labcheck $(PLACES_CHECKS) && mkdir /sys/fs/cgroup/job && echo 0 >/sys/fs/cgroup/job/cgroup.procs && labcheck $(PLACES_CHECKS) && $(VM_NS_ROOT)'

# cargo test over the workspace with $(1) after `--`, then one summary line over
# every test binary: "tests: N passed, N failed, N skipped" (skipped = ignored).
cargo_test_cmd = set -o pipefail; $(CARGO) test --workspace -- $(1) 2>&1 | tee $(TEST_LOG); status=$$?; \
	awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($$i ~ /^passed/) p += $$(i-1); \
		if ($$i ~ /^failed/) f += $$(i-1); if ($$i ~ /^ignored/) s += $$(i-1) } } \
		END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' $(TEST_LOG) | tee $(TEST_SUMMARY); \
	exit $$status

IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)

## Formatting and lints, over the workspace and over the runtime built with its
## test-only faults (a build without them compiles none of that code).
lint:
	@$(CARGO) fmt --version >/dev/null 2>&1 || { echo "make lint needs rustfmt (rustup component add rustfmt)"; exit 2; }
	@$(CARGO) clippy --version >/dev/null 2>&1 || { echo "make lint needs clippy (rustup component add clippy)"; exit 2; }
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p harness --all-targets --features faults -- -D warnings

## The tests: lint, unit tests always; the root tests (real containers) too when run as root.
## Each phase is timed into $(PHASES); the breakdown, with the slowest test binaries, is
## printed at the end whether the tests passed or not (every CI log says where the time went).
PHASES := target/phases.tsv
# $(call phase,NAME,COMMAND): runs COMMAND, appends "NAME<TAB>seconds" to $(PHASES).
define phase
	@t0=$$(date +%s%N); ( $(2) ); st=$$?; t1=$$(date +%s%N); \
	printf '%s\t%s\n' "$(1)" "$$(( (t1 - t0) / 1000000 ))" >> $(PHASES); exit $$st
endef

test:
	@mkdir -p target; : > $(PHASES); rm -f $(TEST_LOG) $(TEST_SUMMARY)
	@$(MAKE) --no-print-directory test-phases; st=$$?; $(MAKE) --no-print-directory phases; exit $$st

## The time of each phase of the last `make test` (after those of .ci/run, which names its
## own file in CI_PHASES), and the slowest test binaries of its cargo test.
phases:
	@echo "time by phase:"
	@{ [ -z "$$CI_PHASES" ] || [ ! -f "$$CI_PHASES" ] || cat "$$CI_PHASES"; cat $(PHASES); } | \
		awk -F'\t' '{ printf "  %-48s %7.1f s\n", $$1, $$2 / 1000; t += $$2 } END { printf "  %-48s %7.1f s\n", "total", t / 1000 }'
	@[ ! -f $(TEST_LOG) ] || awk '/^ *Running / { n = split($$NF, p, "/"); bin = p[n]; sub(/-[0-9a-f]+\)$$/, "", bin); \
		if ($$2 == "unittests") bin = bin " (unit tests)" } \
		/^test result:/ { for (i = 1; i <= NF; i++) if ($$i == "in") { \
		sub(/s$$/, "", $$(i+1)); printf "%s\t%s\n", $$(i+1), bin } }' $(TEST_LOG) | sort -rn | head -8 | \
		awk -F'\t' 'NR == 1 { print "slowest test binaries:" } { printf "  %-48s %7.1f s\n", $$2, $$1 }'
	@# The summary line again, last: the line a reader of the log's end looks for.
	@[ ! -f $(TEST_SUMMARY) ] || cat $(TEST_SUMMARY)

ifeq ($(IS_ROOT),yes)
test-phases:
	$(call phase,lint,$(MAKE) --no-print-directory lint)
	$(call phase,build,$(MAKE) --no-print-directory build)
	@if command -v qemu-system-x86_64 >/dev/null; then \
		echo "the whole suite on cgroup v2 under systemd, from a non-delegated service, in a VM (make check-vm CGROUP=systemd)"; \
	else echo "qemu-system-x86_64 is not installed: the cgroup v2 runs in a VM are left out (apt-get install qemu-system-x86 busybox-static)"; fi
	$(call phase,VM: the suite on v2 under systemd,! command -v qemu-system-x86_64 >/dev/null || $(MAKE) --no-print-directory check-vm CGROUP=systemd)
	@! command -v qemu-system-x86_64 >/dev/null || echo "cgroups checks on cgroup v2 from the root cgroup, from a cgroup with processes and no systemd, and from a cgroup namespace's root (a container's), in a VM"
	$(call phase,VM: cgroup v2 places,! command -v qemu-system-x86_64 >/dev/null || $(MAKE) --no-print-directory check-vm CGROUP=v2 VM_CMD="$(VM_CGROUP_PLACES)")
	$(call phase,cargo test (every test; root ones included),$(call cargo_test_cmd,--include-ignored))
else
test-phases:
	$(call phase,lint,$(MAKE) --no-print-directory lint)
	$(call phase,build,$(MAKE) --no-print-directory build)
	@echo "not root: running the tests that need no root (as root, make test runs them all)"
	$(call phase,cargo test (the tests that need no root),$(call cargo_test_cmd,))
endif

test-unit:
	$(CARGO) test --workspace

## What the report's browser test needs (exercises/tests/report_html.rs): Debian's
## chromium and Node.js, and the test's two npm packages (playwright-core, mermaid)
## at the versions of its package-lock.json.
browser-deps:
	@command -v node >/dev/null || { echo "make browser-deps needs Node.js (apt-get install nodejs npm)"; exit 2; }
	@[ -x /usr/bin/chromium ] || { echo "make browser-deps needs Debian's chromium (apt-get install chromium)"; exit 2; }
	npm ci --prefix exercises/tests/browser --no-audit --no-fund --loglevel=error

HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
BIN := target/$(HOST_TRIPLE)/debug

## Every check against $$LAB_RUNTIME (default: the reference runtime), as a table
## with the summary line "N passed, N failed, N broken, N skipped". Root only.
check: build
	@[ "$$(id -u)" = 0 ] || { echo "make check needs root (sudo make check)"; exit 2; }
	@$(BIN)/harness doctor >/dev/null || $(BIN)/harness doctor
	$(BIN)/labcheck

## One topic: make check-namespaces (check-cgroups, check-overlay as they land).
check-%: build
	@[ "$$(id -u)" = 0 ] || { echo "make $@ needs root"; exit 2; }
	$(BIN)/labcheck --topic $*

## Every check inside a qemu VM, no root needed (harness vm): CGROUP=v2 (default), v1
## or systemd (systemd as PID 1, the checker in a non-delegated service, as on a
## GitHub-hosted runner), or docker (as root: the image is built from the Dockerfile by
## checks/tests/docker.rs, then run privileged by a Docker Engine inside the v2 VM, in a
## private cgroup namespace, /tmp on its overlay, as on Docker Desktop); the distribution's cloud kernel (fetched once into target/vm) or
## KERNEL=/path/to/bzImage; VM_CMD runs another workspace binary, e.g.
## VM_CMD="grade --topic namespaces"; VM_FLAGS passes options (--timeout, --accel tcg);
## VM_PROFILE=release runs optimised binaries (about 3x faster under TCG).
CGROUP ?= v2
KERNEL ?=
VM_CMD ?= labcheck
VM_FLAGS ?=
VM_PROFILE ?= debug
.PHONY: check-vm
VM_DOCKER_IMAGE := target/vm/docker/lab-check.tar
check-vm: build
	$(if $(filter release,$(VM_PROFILE)),$(CARGO) build --release --workspace --bins)
	$(if $(filter docker,$(CGROUP)),LAB_DOCKER_VARIANTS=none LAB_DOCKER_SAVE=$(CURDIR)/$(VM_DOCKER_IMAGE) $(CARGO) test $(if $(filter release,$(VM_PROFILE)),--release) -p checks --test docker -- --ignored --nocapture)
	target/$(HOST_TRIPLE)/$(VM_PROFILE)/harness vm --cgroup $(CGROUP) $(if $(filter docker,$(CGROUP)),--docker-image $(VM_DOCKER_IMAGE)) $(if $(KERNEL),--kernel $(KERNEL)) $(VM_FLAGS) -- $(VM_CMD)

## The image of the top-level Dockerfile with this build's release binaries
## (BINARIES=prebuilt), for the Docker Engine the docker command talks to. Without a
## Rust toolchain (Docker Desktop on macOS or Windows) `docker build -t lab-check .`
## builds them in the image instead.
IMAGE ?= lab-check
.PHONY: image
image:
	$(CARGO) build --release --workspace --bins
	rm -rf target/image && mkdir -p target/image
	cp $(foreach b,labcheck grade harness probe oci-runtime,target/$(HOST_TRIPLE)/release/$(b)) target/image/
	DOCKER_BUILDKIT=1 docker build --build-arg BINARIES=prebuilt --tag $(IMAGE) .

## The whole suite inside a real Docker Engine of its own (checks/tests/docker.rs:
## dockerd in its own mount and cgroup namespaces, socket and data under target/docker,
## no bridge, no iptables; the image built from the Dockerfile on a Debian base that
## mmdebstrap makes offline), privileged, in every variant: cgroupns host and private,
## labcheck as PID 1 and under a shell, /tmp on the container's overlay and on a noexec
## --tmpfs; then oci:runc inside, and an unprivileged run that must stop with exit 2.
## Root, docker.io and mmdebstrap. make test runs three of the variants (DOCKER_VARIANTS=cover).
DOCKER_VARIANTS ?= all
.PHONY: check-docker
check-docker:
	@[ "$$(id -u)" = 0 ] || { echo "make check-docker needs root"; exit 2; }
	$(CARGO) build --release --workspace --bins
	LAB_DOCKER_VARIANTS=$(DOCKER_VARIANTS) $(CARGO) test --release -p checks --test docker -- --ignored --nocapture

## Grade $$LAB_RUNTIME (default: the reference runtime) against the exercises, as
## root: make grade; one topic: make grade-namespaces (grade-cgroups, grade-overlay).
## GRADE_FLAGS passes options, e.g. GRADE_FLAGS="--junit junit.xml --lang ko".
GRADE_FLAGS ?=
## make turns any non-zero status of a recipe into its own 2: the grader prints its
## own status (0 all passed, 1 a check failed, 2 one could not be graded) in the
## student's language.
grade: build
	@[ "$$(id -u)" = 0 ] || { echo "make grade needs root (sudo make grade)"; exit 2; }
	@$(BIN)/grade $(GRADE_FLAGS)

grade-%: build
	@[ "$$(id -u)" = 0 ] || { echo "make $@ needs root"; exit 2; }
	$(BIN)/grade --topic $* $(GRADE_FLAGS)

## Flake soak: the whole suite N times in a row, JOBS checks at a time; prints every check
## whose outcome varied.
## LOAD=K runs K busy loops per CPU on the host meanwhile (outside the checker's
## cgroups, ended by their PIDs afterwards), as a shared CI runner or a laptop that
## compiles would: verdicts must not depend on it.
N ?= 20
LOAD ?= 0
JOBS ?= 4
soak: build
	@[ "$$(id -u)" = 0 ] || { echo "make $@ needs root"; exit 2; }
	@pids=""; n=$$(( $(LOAD) * $$(nproc) )); i=0; \
	while [ $$i -lt $$n ]; do sh -c 'while :; do :; done' & pids="$$pids $$!"; i=$$((i+1)); done; \
	[ -z "$$pids" ] || echo "soak: $$n busy loops on the host (pids$$pids)"; \
	trap '[ -z "$$pids" ] || kill $$pids 2>/dev/null' EXIT INT TERM; \
	$(BIN)/labcheck -j $(JOBS) --soak $(N)

## The README's table of check x runtime (reference, runc, crun), regenerated: on
## this host (cgroup v1 hybrid here) and in the cgroup v2 VM of check-vm, where the
## OCI runtimes of the table are copied in.
CONFORMANCE_RUNTIMES ?= reference,oci:runc,oci:crun
conformance-table: build
	@[ "$$(id -u)" = 0 ] || { echo "make $@ needs root"; exit 2; }
	$(BIN)/labcheck --table $(CONFORMANCE_RUNTIMES) > target/conformance-host.md
	$(BIN)/harness vm --cgroup v2 $(VM_FLAGS) -- labcheck --table $(CONFORMANCE_RUNTIMES) > target/conformance-v2.log
	grep '^|' target/conformance-v2.log > target/conformance-v2.md
	{ printf '%s\n\n' "On this project's machines (cgroup v1 hybrid, kernel $$(uname -r)):"; cat target/conformance-host.md; \
	  printf '\n%s\n\n' "In the cgroup v2 VM of \`make check-vm\` (Debian's cloud kernel, runc and crun copied in):"; \
	  cat target/conformance-v2.md; } > target/conformance.md
	awk 'BEGIN { while ((getline l < "target/conformance.md") > 0) t = t l "\n" } \
		/<!-- conformance-table -->/ { print; printf "%s", t; skip = 1; next } \
		/<!-- \/conformance-table -->/ { skip = 0 } !skip' README.md > target/README.new
	mv target/README.new README.md

doctor: build
	$(BIN)/harness doctor

## docs/pictures: `labcheck --explain` of the reference runtime and of the partial
## fixture (a shell runtime with only ns-pid and ns-uts done), and `labcheck --watch`,
## in the cgroup v2 VM (no root needed); PNG screenshots of the HTML where Debian's
## chromium is installed.
PICTURES := docs/pictures
CHROMIUM_SHOT = chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
	--user-data-dir=$(CURDIR)/target/chromium-profile --window-size=860,2050
WATCH_DEMO := sh -c 'mkdir /sys/fs/cgroup/w; export LAB_CGROUP_PARENT=/w; \
	harness run --cgroup box --memory 64M --pids 16 --cpus 50000/100000 -- probe mem --total 24M --hold 12 >/dev/null & \
	harness run --cgroup box2 --memory 64M --pids 16 --cpus 20000/100000 -- probe cpu --secs 14 >/dev/null & \
	sleep 1.5; labcheck --watch box --count 3; labcheck --watch box2 --count 4; wait; rmdir /sys/fs/cgroup/w'
pictures: build
	mkdir -p $(PICTURES)
	$(BIN)/harness vm --cgroup v2 --out $(PICTURES) -- labcheck --explain --html reference.html --markdown reference.md \
		| grep -v -e '^vm:' -e '^labcheck:' > $(PICTURES)/reference.txt
	$(BIN)/harness vm --cgroup v2 --out $(PICTURES) -- labcheck --explain --lang ko --html reference.ko.html --markdown reference.ko.md \
		| grep -v -e '^vm:' -e '^labcheck:' > $(PICTURES)/reference.ko.txt
	$(BIN)/harness vm --cgroup v2 --out $(PICTURES) --env LAB_RUNTIME=$(CURDIR)/checks/tests/fixtures/partial-runtime \
		-- labcheck --explain --html partial-runtime.html --markdown partial-runtime.md | grep -v -e '^vm:' -e '^labcheck:' > $(PICTURES)/partial-runtime.txt
	$(BIN)/harness vm --cgroup v2 -- $(WATCH_DEMO) | grep -v -e '^vm:' -e '^labcheck:' > $(PICTURES)/watch.txt
	@if [ -x /usr/bin/chromium ]; then for f in reference partial-runtime; do \
		$(CHROMIUM_SHOT) --screenshot=$(CURDIR)/$(PICTURES)/$$f.png file://$(CURDIR)/$(PICTURES)/$$f.html >/dev/null 2>&1; done; \
	else echo "no /usr/bin/chromium: the PNG screenshots are left as they are"; fi

## Startup time of `harness run` next to runc and the unshare floor, as ratios.
bench:
	@[ "$$(id -u)" = 0 ] || { echo "make bench needs root"; exit 2; }
	@command -v runc >/dev/null || { echo "make bench needs runc (apt-get install runc)"; exit 2; }
	$(CARGO) build --release --workspace --bins
	$(CARGO) bench -p harness --bench startup

clean:
	$(CARGO) clean
