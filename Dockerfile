# The suite in one image: labcheck, grade, the reference runtime (harness), the probe,
# runc (for oci:runc) and the tools the checks call. For a machine without Linux root
# of its own (Docker Desktop on macOS or Windows, Codespaces, a CI runner's container):
#
#   docker build -t lab-check .
#   docker run --rm --privileged --cgroupns=private lab-check            # every check
#   docker run --rm --privileged --cgroupns=private -v "$PWD:/lab" -e LAB_RUNTIME=/lab/runtime.sh lab-check grade
#
# --privileged is needed (the checks make namespaces, cgroups and mounts); on cgroup v2
# --cgroupns=private gives the checker a cgroup namespace whose root it may organize.
# /tmp may be the container's overlay or a noexec tmpfs: the checker then prepares its
# files in a tmpfs of its own (README, "Where the checker's files go").
#
# BINARIES=source (the default) builds the binaries in the image; BINARIES=prebuilt
# copies the release binaries `make image` puts in target/image (make check-docker,
# which has built them already). Needs BuildKit (Docker 23 and later
# use it by default; DOCKER_BUILDKIT=1 on Docker 20.10), which builds only the stage
# BINARIES names.
ARG BINARIES=source

# The development environment (.devcontainer/devcontainer.json): Rust and what the
# checks call, to build and run everything inside (make check, make test).
FROM rust:1-bookworm AS dev
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      iproute2 nftables util-linux mount runc busybox-static \
 && rm -rf /var/lib/apt/lists/*

FROM dev AS source
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bins \
 && mkdir /out \
 && cd "target/$(rustc -vV | sed -n 's/^host: //p')/release" \
 && cp labcheck grade harness probe oci-runtime /out/

FROM scratch AS prebuilt
COPY target/image/ /out/

FROM ${BINARIES} AS binaries

FROM debian:bookworm-slim
# iproute2 (ip: veths), nftables (nft: the net_cls check), util-linux and mount (unshare,
# nsenter, setpriv, losetup), runc (oci:runc), busybox-static (`harness rootfs
# --busybox`, the labs' root file systems with a shell).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      iproute2 nftables util-linux mount runc busybox-static \
 && rm -rf /var/lib/apt/lists/*
COPY --from=binaries /out/ /usr/local/bin/
CMD ["labcheck"]
