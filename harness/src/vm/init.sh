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
# /lab/run.conf sets LAB_NONCE, LAB_CGROUP (v1 or v2) and LAB_HEARTBEAT (seconds); /lab/command.sh is the
# command; /lab/modules/order lists the modules to insmod, dependencies first.

export PATH=/lab/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
umask 022

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
say() { printf '%s\n' "$*" >&3; }
say "@@LAB-BOOT $LAB_NONCE@@"

off() {
    exec 3>&-    # the last close of the port waits until it has sent everything
    sync
    poweroff -f
    echo o >/proc/sysrq-trigger
    sleep 5
}

hostname lab-vm

if [ -f /lab/modules/order ]; then
    while read -r m; do
        [ -n "$m" ] || continue
        insmod "/lab/modules/$m" || echo "lab-vm: insmod $m failed"
    done </lab/modules/order
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
*)
    echo "lab-vm: unknown cgroup mode $LAB_CGROUP"
    ;;
esac

cd /lab/out || exit 1
say "@@LAB-BEGIN $LAB_NONCE@@"
# Through a pipe: the command's output is no terminal (no progress lines), as when
# its output is captured on the host.
{ /bin/sh /lab/command.sh </dev/null 2>&1; echo $? >/run/lab-rc; } | cat >&3
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
