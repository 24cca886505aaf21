#!/bin/busybox sh
# PID 1 of the check VM (`harness vm`), run by busybox sh (/bin/sh is the host's).
#
# Stage 1 runs on the initramfs itself ("rootfs"), where pivot_root fails with
# EINVAL: it puts a tmpfs root over it (the initramfs directories bind-mounted in,
# nothing copied) and re-executes itself there as stage 2. Stage 2 mounts the
# kernel file systems and the cgroup tree of the requested mode, loads the modules,
# runs the command with its output on the results port (the second serial port,
# ttyS1) between markers carrying this run's nonce, sends back the files the
# command left in /lab/out, and powers off.
#
# /lab/run.conf sets LAB_NONCE, LAB_CGROUP (v1, v2, systemd or docker) and LAB_HEARTBEAT
# (seconds); /lab/command.sh is the command; /lab/modules/order lists the modules to
# insmod, dependencies first.
#
# With LAB_CGROUP=systemd, stage 2 hands PID 1 to systemd (the distribution's, from
# the initramfs) once the machine is set up; systemd starts lab.target, whose
# lab-run.service runs stage 3: the command inside runner.service, an ordinary
# service (no Delegate=, no controllers of its own), as a job on a GitHub-hosted
# runner runs, with the results sent as in stage 2.

export PATH=/lab/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
umask 022

say() { printf '%s\n' "$*" >&3; }

off() {
    exec 3>&-    # the last close of the port waits until it has sent everything
    sync
    poweroff -f
    echo o >/proc/sysrq-trigger
    sleep 5
}

# Runs the command ("$@" runs /lab/command.sh) with its output on the results port
# between this run's markers, sends back the files it left in /lab/out, powers off.
run_and_report() {
    cd /lab/out || exit 1
    say "@@LAB-BEGIN $LAB_NONCE@@"
    # Through a pipe: the command's output is no terminal (no progress lines), as when
    # its output is captured on the host.
    { "$@" </dev/null 2>&1; echo $? >/run/lab-rc; } | cat >&3
    rc=$(cat /run/lab-rc 2>/dev/null || echo 2)
    say "@@LAB-END $LAB_NONCE rc=$rc@@"
    for f in /lab/out/* /lab/out/.[!.]*; do
        [ -f "$f" ] || continue
        say "@@LAB-FILE $LAB_NONCE ${f#/lab/out/}@@"
        base64 "$f" >&3
        say "@@LAB-FILE-END $LAB_NONCE@@"
    done
    say "@@LAB-DONE $LAB_NONCE@@"
    off
}

# The command in runner.service: what systemd gives any service (its own cgroup in
# system.slice, no Delegate=), as a job on a CI runner. Its output streams through a
# FIFO (no terminal: no progress bars). There is no D-Bus daemon here: clients (the
# checker asking systemd-run for a delegated scope) talk to systemd over its private
# socket, which speaks D-Bus; transient services cannot be started that way, so the
# runner is a unit file.
run_in_service() {
    mkfifo /run/lab-output
    cat /run/lab-output &
    reader=$!
    {
        echo "[Unit]"
        echo "Description=runner: the command, as a job on a CI runner"
        echo "[Service]"
        echo "Type=oneshot"
        # The service's main process stays a shell that waits for the command, as a
        # runner's agent does for its job: a checker moves itself into a scope.
        echo "ExecStart=/bin/sh -c '/bin/sh /lab/command.sh; echo \$\$? >/run/lab-service-rc'"
        echo "WorkingDirectory=/lab/out"
        echo "Environment=PATH=$PATH HOME=/root DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/systemd/private"
        echo "StandardInput=null"
        echo "StandardOutput=file:/run/lab-output"
        echo "StandardError=inherit"
    } >/run/systemd/system/runner.service
    systemctl daemon-reload >/dev/console 2>&1
    systemctl start runner.service >/dev/console 2>&1
    # A reader still waiting for a writer (the command never started) gets its EOF.
    exec 5<>/run/lab-output
    exec 5>&-
    wait "$reader"
    if [ -s /run/lab-service-rc ]; then
        return "$(cat /run/lab-service-rc)"
    fi
    echo "lab-vm: runner.service did not run the command"
    systemctl status --no-pager runner.service
    return 2
}

if [ "$1" = stage3 ]; then
    . /lab/run.conf
    exec </dev/null >/dev/console 2>&1
    exec 3>/dev/ttyS1
    run_and_report run_in_service
fi

if [ "$1" != stage2 ]; then
    mount -t tmpfs -o mode=0755 root /newroot
    for d in bin sbin usr lib lib64 etc lab; do
        [ -d "/$d" ] || continue
        mkdir -p "/newroot/$d"
        mount --bind "/$d" "/newroot/$d"
    done
    mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run /newroot/root
    cd /newroot || exit 1
    mount --move . /
    exec chroot . /lab/init stage2
fi

. /lab/run.conf

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=0755 run /run
mkdir -p /lab/out

# A heartbeat on the console, so the host tells a VM that stopped (a hung vCPU)
# from a slow one. Started before the results port is opened: it must not hold it.
( while :; do sleep "${LAB_HEARTBEAT:-5}"; echo "lab-vm: alive"; done ) &

stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec 3>/dev/ttyS1
say "@@LAB-BOOT $LAB_NONCE@@"

hostname lab-vm

if [ -f /lab/modules/order ]; then
    while read -r m; do
        [ -n "$m" ] || continue
        insmod "/lab/modules/$m" || echo "lab-vm: insmod $m failed"
    done </lab/modules/order
fi

# Swap, so that the checks can show a memory limit is not escaped by swapping: a
# zram device (compressed RAM). Not a swap file on a loop device over this tmpfs:
# loop writes the swapped pages into the tmpfs charged to the container's own
# memory cgroup (cgroup-aware loop workers, Linux 5.13+), so swapping would never
# relieve it; zram's compressed pages are charged to no cgroup, as a disk's are.
if [ -e /sys/block/zram0/disksize ]; then
    echo 256M >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 ||
        echo "lab-vm: no swap on zram0"
else
    echo "lab-vm: no zram device: no swap"
fi

# The network checks' controls need a host interface besides lo to tell a network
# namespace by: a dummy one (nothing is sent through it) with a documentation address.
# (Host tools by path: busybox sh would run its own ip applet.)
ifconfig lo up
/usr/bin/ip link add lab0 type dummy && /usr/bin/ip addr add 192.0.2.1/24 dev lab0 &&
    /usr/bin/ip link set lab0 up || echo "lab-vm: no dummy interface lab0"

case "$LAB_CGROUP" in
v2)
    mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
    # Everything stays in the root cgroup, which is exempt from the no-internal-process
    # rule, so every controller can be enabled for the checker's scratch parents.
    for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
        echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "lab-vm: cannot enable $c"
    done
    ;;
v1)
    mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
    # Every enabled controller on a hierarchy of its own.
    while read -r name hier num enabled; do
        case "$name" in \#*) continue ;; esac
        [ "$enabled" = 1 ] || continue
        mkdir -p "/sys/fs/cgroup/$name"
        mount -t cgroup -o "$name" cgroup "/sys/fs/cgroup/$name" || echo "lab-vm: cannot mount the $name hierarchy"
    done </proc/cgroups
    ;;
docker)
    # cgroup v2 with a Docker Engine (the host's docker.io binaries): the command runs
    # in a privileged container of /lab/docker/image.tar in a private cgroup namespace
    # (Docker's default on v2), its /tmp on the container's overlay, as on Docker
    # Desktop; the command's script, the runtime under test and /lab/out are bind-mounted.
    mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
    for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
        echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "lab-vm: cannot enable $c"
    done
    mkdir -p /var/lib/docker /etc/docker
    /usr/bin/dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
        >/run/dockerd.log 2>&1 &
    n=0
    until /usr/bin/docker version >/dev/null 2>&1; do
        n=$((n + 1))
        if [ "$n" -gt 300 ]; then
            echo "lab-vm: dockerd did not answer in 300 s"; tail -20 /run/dockerd.log
            break
        fi
        sleep 1
    done
    image=$(/usr/bin/docker load -i /lab/docker/image.tar | sed -n 's/^Loaded image: //p' | head -n 1)
    rm -f /lab/docker/image.tar
    echo "lab-vm: docker: $(/usr/bin/docker version --format '{{.Server.Version}}'), image $image"
    # An interface besides lo, as Docker's bridge gives: a macvlan over lab0.
    net=none
    /usr/bin/docker network create --driver=macvlan --opt=parent=lab0 --subnet=192.0.2.0/24 \
        --ip-range=192.0.2.128/25 labnet >/dev/null && net=labnet
    set -- --rm --privileged --cgroupns=private --network "$net" \
        -v /lab/command.sh:/lab/command.sh:ro -v /lab/out:/lab/out -w /lab/out
    [ -d /lab/runtime ] && set -- "$@" -v /lab/runtime:/lab/runtime:ro
    # sh execs the command: it is the container's PID 1.
    run_and_report /usr/bin/docker run "$@" "$image" sh /lab/command.sh
    ;;
systemd)
    # systemd mounts cgroup2 itself and runs the command (stage 3).
    exec 3>&-
    exec /lib/systemd/systemd --unit=lab.target --log-target=console --log-level=warning --show-status=no
    echo "lab-vm: cannot start systemd"
    ;;
*)
    echo "lab-vm: unknown cgroup mode $LAB_CGROUP"
    ;;
esac

run_and_report /bin/sh /lab/command.sh
