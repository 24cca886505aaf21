#!/usr/bin/env bash
# Gradescope autograder image setup (runs once, as root, when the image is built).
#
# A Gradescope container is not privileged: no namespaces, no cgroups, no mounts of
# our own. So the checks run inside a qemu VM (`harness vm`, TCG: no /dev/kvm, no
# root needed), where they are root on a kernel of their own with cgroup v2.
#
# The autograder zip holds this file, run_autograder and `lab/`, a checkout of the
# lab suite at the tag the course grades with (make the zip with
# exercises/ci/gradescope/make-zip.sh). Everything slow happens here, once: the
# packages, Rust, an optimised build (about 3x faster under TCG than a debug one),
# the distribution's kernel, and a trial boot.
set -euo pipefail
LAB=${LAB:-/autograder/source/lab}
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    ca-certificates curl git make gcc libc6-dev iproute2 util-linux nftables \
    qemu-system-x86 busybox-static
if ! command -v cargo >/dev/null; then
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
export PATH="$HOME/.cargo/bin:$PATH"
make -C "$LAB" build
cargo build --manifest-path "$LAB/Cargo.toml" --release --workspace --bins
# The kernel is fetched into target/vm now, and the VM proven to boot here.
bin=$(ls -d "$LAB"/target/*/release | head -n 1)
"$bin/harness" vm --accel tcg --cache "$LAB/target/vm" -- harness --version
