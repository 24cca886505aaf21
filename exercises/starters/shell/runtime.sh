#!/usr/bin/env bash
# runtime.sh: a container runtime written in bash with util-linux tools.
#
# This is the starter kit of the container-internals course. It implements
# the runtime contract's command line completely (exercises/CONTRACT.md):
#
#   runtime.sh run [OPTIONS] -- COMMAND [ARG...]
#   runtime.sh pause NAME | resume NAME | stats NAME
#
# It does not isolate anything yet. Every container step is a small function
# marked `TODO(<exercise id>)`, and you fill them in one exercise at a time, in
# the order of exercises/exercises.toml. Until you fill them in, `run` runs
# COMMAND in place without isolation and passes its exit status through, and
# pause/resume/stats fail with a `runtime error:` line.
#
# How a `run` goes (read this before the first exercise):
#
#   HOST SIDE (this script, `run`)               CONTAINER SIDE (`__inside`)
#   parse and validate the options
#   cgroup: create it, write the limits
#   build UNSHARE_ARGS (one function per ns)
#   launch: a subshell joins the cgroup, then
#     execs [setpriv] [unshare UNSHARE_ARGS]  -> this script again, `__inside`:
#   find the first process (FIRST_PID)             waits on the "go" FIFO ...
#   write uid/gid maps, mount the overlay
#   (--layer), set up the veth
#   write --pid-file, then say "go"          ->   ... goes on:
#                                                  become root inside (user)
#                                                  set the host name (uts)
#                                                  become init, PID 1 (pid)
#                                                  mounts, pivot_root (mnt)
#                                                  exec COMMAND
#   wait, forwarding SIGTERM/SIGINT/SIGHUP to FIRST_PID
#   clean up (cgroup, veth, overlay), exit with COMMAND's status
#
# Without any namespace, FIRST_PID is the launched subshell itself: it becomes
# setpriv, then this script's `__inside`, then COMMAND, all under one PID.
#
# Rules of the contract that this skeleton already keeps for you: the exit
# statuses (COMMAND's own, 128+N, 125, 126, 127), `runtime error:` lines,
# --pid-file written before COMMAND runs, signal forwarding from the runtime,
# a parent-death signal on the first process (setpriv --pdeathsig).

set -u
shopt -s execfail # a failed `exec` returns, so we can print our own error

# The container side runs this script from a descriptor that the host side
# opened (SELF_FD, see launch), as /proc/self/fd/N: user_become_root executes
# the script again once it is root of the user namespace, and that root may
# not reach the script's path (a copy in /root, mode 0700 and owned by host
# root, who is nobody in there: "Permission denied", exit status 126). A
# descriptor needs no path: /proc/self/fd/N opens its file directly.
case ${BASH_SOURCE[0]} in
/proc/self/fd/*) SELF=${BASH_SOURCE[0]} SELF_FD=${BASH_SOURCE[0]#/proc/self/fd/} ;;
*) SELF=$(readlink -f -- "${BASH_SOURCE[0]}") SELF_FD='' ;;
esac
readonly SELF

NS_NAMES=(pid uts mnt net ipc user cgroup time)
V1_CONTROLLERS=(blkio cpu cpuacct cpuset devices freezer memory net_cls pids)

# ===================================================================== messages

rt_error() { printf 'runtime error: %s\n' "$*" >&2; }

# A runtime failure (also bad usage): one line, exit status 125, nothing left
# behind once the container has been started (see cleanup).
die() {
	rt_error "$*"
	[ -n "${CLEANUP_ARMED:-}" ] && cleanup
	exit 125
}

usage() {
	cat <<'EOF'
usage: runtime.sh run [OPTIONS] -- COMMAND [ARG...]
       runtime.sh pause NAME | resume NAME | stats NAME

run options (see exercises/CONTRACT.md):
  --ns LIST                 comma list of pid,uts,mnt,net,ipc,user,cgroup,time
  --rootfs DIR              root file system (needs mnt; not with --layer)
  --layer DIR               overlay layer, bottom first (repeatable; needs mnt, --upper, --work)
  --layer-tar TAR           OCI layer tarball above the layers (repeatable; needs --layer-store)
  --layer-store DIR         where layer tarballs are unpacked, once each, by digest
  --upper DIR               overlay upper directory (needs --layer)
  --work DIR                overlay work directory (needs --layer)
  --hostname NAME           host name inside (needs uts)
  --uid-map IN:OUT:COUNT    one uid_map line (repeatable; needs user)
  --gid-map IN:OUT:COUNT    one gid_map line (repeatable; needs user)
  --veth HOSTIF=HOSTIP/PFX,CONTIF=CONTIP/PFX   a veth pair (needs net)
  --time-offset monotonic=SECS,boottime=SECS  clock offsets (needs time)
  --cgroup NAME             the container's cgroup, under $LAB_CGROUP_PARENT
  --memory BYTES            memory limit, K/M/G accepted (needs --cgroup)
  --cpus QUOTA_US/PERIOD_US CPU quota (needs --cgroup)
  --cpu-weight W            CPU weight 1..10000 when cgroups compete (needs --cgroup)
  --memory-low BYTES        memory protected from reclaim, K/M/G accepted (needs --cgroup)
  --io-weight W             block I/O weight 1..1000 when cgroups compete (needs --cgroup)
  --pids N                  maximum number of tasks (needs --cgroup)
  --io-wbps MAJ:MIN:BPS     write limit (repeatable; needs --cgroup)
  --io-rbps MAJ:MIN:BPS     read limit (repeatable; needs --cgroup)
  --cpuset CPUS             cpu list, e.g. 0-1 (needs --cgroup)
  --deny-device c|b:MAJ:MIN deny a device (repeatable; needs --cgroup)
  --net-classid ID          net_cls class id, cgroup v1 only (needs --cgroup)
  --pid-file PATH           write the host PID of the first process here
EOF
}

# ===================================================================== parsing

# Options of `run`, filled by parse_run_args. Sizes are in bytes, ids decimal.
reset_options() {
	NS_LIST=()            # requested namespaces, e.g. (pid uts)
	ROOTFS=''
	LAYERS=()             # bottom layer first, as given
	LAYER_TARS=()         # OCI layer tarballs, bottom first, above LAYERS
	LAYER_STORE=''
	UPPER='' WORK=''
	HOSTNAME_OPT=''
	UID_MAPS=() GID_MAPS=() # one "IN OUT COUNT" line each
	VETH='' VETH_HOST_IF='' VETH_HOST_ADDR='' VETH_CONT_IF='' VETH_CONT_ADDR='' # ADDR = IP/PFX
	TIME_OFFSET='' TIME_MONOTONIC='' TIME_BOOTTIME='' # seconds, empty when not given
	CGROUP=''
	MEMORY=''             # bytes
	CPU_QUOTA='' CPU_PERIOD=''
	CPU_WEIGHT=''         # 1..10000, v2's scale
	MEMORY_LOW=''         # bytes
	IO_WEIGHT=''          # 1..1000, BFQ's scale
	PIDS_MAX=''
	IO_WBPS=() IO_RBPS=() # "MAJ:MIN BPS" each, BPS in bytes
	CPUSET=''
	DENY_DEVICES=()       # "c MAJ:MIN" or "b MAJ:MIN" each
	NET_CLASSID=''        # decimal
	PID_FILE=''
	CMD=()
	declare -gA SEEN=()   # flag -> 1, for "given twice"
}

# has_ns NAME: was NAME requested with --ns?
has_ns() {
	local n
	for n in "${NS_LIST[@]}"; do [ "$n" = "$1" ] && return 0; done
	return 1
}

is_uint() { [[ $1 =~ ^[0-9]{1,18}$ ]]; }
dec() { echo $((10#$1)); } # "007" -> 7

# parse_size FLAG TEXT VAR: bytes, or a number with K, M or G (powers of 1024, any case).
parse_size() {
	local flag=$1 text=$2 n mult=1
	[[ $text =~ ^([0-9]{1,19})([kKmMgG]?)$ ]] || die "$flag: size must be bytes or a number with K, M or G, got \"$text\""
	n=$((10#${BASH_REMATCH[1]}))
	case ${BASH_REMATCH[2]} in
	k | K) mult=1024 ;;
	m | M) mult=$((1024 * 1024)) ;;
	g | G) mult=$((1024 * 1024 * 1024)) ;;
	esac
	((n <= 9223372036854775807 / mult)) || die "$flag: size \"$text\" is too large"
	printf -v "$3" '%d' $((n * mult))
}

parse_ns() {
	local list=$1 n k known
	local -a names=()
	[[ -n $list && $list != ,* && $list != *, && $list != *,,* ]] || die "--ns: empty namespace name in \"$list\""
	IFS=, read -r -a names <<<"$list"
	for n in "${names[@]}"; do
		known=''
		for k in "${NS_NAMES[@]}"; do [ "$k" = "$n" ] && known=1; done
		[ -n "$known" ] || die "--ns: unknown namespace \"$n\" (known: pid,uts,mnt,net,ipc,user,cgroup,time)"
		has_ns "$n" || NS_LIST+=("$n")
	done
}

parse_id_map() { # FLAG TEXT -> appends "IN OUT COUNT" to the array named by $3
	local flag=$1 text=$2 a b c
	[[ $text =~ ^([0-9]{1,10}):([0-9]{1,10}):([0-9]{1,10})$ ]] || die "$flag: expected IN:OUT:COUNT, got \"$text\""
	a=$(dec "${BASH_REMATCH[1]}") b=$(dec "${BASH_REMATCH[2]}") c=$(dec "${BASH_REMATCH[3]}")
	((c >= 1)) || die "$flag: COUNT must be at least 1 in \"$text\""
	((a + c <= 4294967296 && b + c <= 4294967296)) || die "$flag: range \"$text\" runs past 4294967295"
	local -n maps=$3
	maps+=("$a $b $c")
}

is_ipv4() {
	local IFS=. o
	[[ $1 =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || return 1
	for o in $1; do ((10#$o <= 255)) || return 1; done
}

parse_veth_end() { # FLAG TEXT(IF=IP/PFX) IFVAR ADDRVAR
	local flag=$1 text=$2
	[[ $text =~ ^([^=]*)=([^/]*)/([0-9]{1,2})$ ]] || die "$flag: expected IF=IP/PFX, got \"$text\""
	local ifname=${BASH_REMATCH[1]} ip=${BASH_REMATCH[2]} pfx=${BASH_REMATCH[3]}
	[[ $ifname =~ ^[^/:[:space:]]{1,15}$ ]] || die "$flag: interface name \"$ifname\" must be 1 to 15 characters without '/', ':' or spaces"
	is_ipv4 "$ip" || die "$flag: \"$ip\" is not an IPv4 address"
	((10#$pfx <= 32)) || die "$flag: prefix $pfx is larger than 32"
	printf -v "$3" '%s' "$ifname"
	printf -v "$4" '%s/%d' "$ip" $((10#$pfx))
}

parse_veth() {
	local text=$1
	[[ $text == *,* ]] || die "--veth: expected HOSTIF=HOSTIP/PFX,CONTIF=CONTIP/PFX, got \"$text\""
	parse_veth_end --veth "${text%%,*}" VETH_HOST_IF VETH_HOST_ADDR
	parse_veth_end --veth "${text#*,}" VETH_CONT_IF VETH_CONT_ADDR
	[ "$VETH_HOST_IF" != "$VETH_CONT_IF" ] || die "--veth: host and container interfaces are both named \"$VETH_HOST_IF\""
	VETH=$text
}

parse_time_offset() {
	local text=$1 item key val
	[ -n "$text" ] || die "--time-offset: empty"
	local IFS=,
	for item in $text; do
		[[ $item =~ ^([a-z]+)=(-?[0-9]{1,12})$ ]] || die "--time-offset: expected monotonic=SECS,boottime=SECS (whole seconds), got \"$text\""
		key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
		val=$((${val%%[0-9]*}10#${val#-}))
		case $key in
		monotonic) [ -z "$TIME_MONOTONIC" ] || die "--time-offset: monotonic given twice"; TIME_MONOTONIC=$val ;;
		boottime) [ -z "$TIME_BOOTTIME" ] || die "--time-offset: boottime given twice"; TIME_BOOTTIME=$val ;;
		*) die "--time-offset: unknown clock \"$key\" (known: monotonic, boottime)" ;;
		esac
	done
	TIME_OFFSET=$text
}

check_cgroup_name() { # FLAG NAME
	[[ $2 =~ ^[A-Za-z0-9_.-]{1,64}$ ]] && [ "$2" != . ] && [ "$2" != .. ] ||
		die "$1: cgroup name \"$2\" must be 1 to 64 of A-Z a-z 0-9 _ . - (not . or ..)"
}

parse_io() { # FLAG TEXT ARRAYNAME
	local flag=$1 text=$2 bps
	[[ $text =~ ^([0-9]{1,10}):([0-9]{1,10}):(.+)$ ]] || die "$flag: expected MAJ:MIN:BPS, got \"$text\""
	local maj=$((10#${BASH_REMATCH[1]})) min=$((10#${BASH_REMATCH[2]}))
	parse_size "$flag" "${BASH_REMATCH[3]}" bps
	((bps > 0)) || die "$flag: BPS must be greater than 0 in \"$text\""
	local -n arr=$3
	arr+=("$maj:$min $bps")
}

parse_cpuset() {
	local text=$1 part a b
	[[ $text =~ ^[0-9]{1,5}(-[0-9]{1,5})?(,[0-9]{1,5}(-[0-9]{1,5})?)*$ ]] || die "--cpuset: expected a cpu list such as 0, 0-1 or 0,2, got \"$text\""
	local IFS=,
	for part in $text; do
		if [[ $part == *-* ]]; then
			a=$((10#${part%-*})) b=$((10#${part#*-}))
			((a <= b)) || die "--cpuset: cpu range \"$part\" runs backwards"
		fi
	done
	CPUSET=$text
}

parse_classid() {
	local text=$1 v
	if [[ $text =~ ^0[xX]([0-9a-fA-F]{1,8})$ ]]; then
		v=$((16#${BASH_REMATCH[1]}))
	elif [[ $text =~ ^[0-9]{1,10}$ ]] && ((10#$text <= 4294967295)); then
		v=$((10#$text))
	else
		die "--net-classid: expected a 32-bit class id, decimal or 0x hex, got \"$text\""
	fi
	NET_CLASSID=$v
}

# parse_run_args ARGS...: fills the option variables and CMD. Bad usage dies (125).
parse_run_args() {
	reset_options
	local arg flag val has_val
	while [ $# -gt 0 ]; do
		arg=$1
		case $arg in
		--) shift; break ;;
		--*=*) flag=${arg%%=*} val=${arg#*=} has_val=1; shift ;;
		--*) flag=$arg val='' has_val=''; shift ;;
		-*) die "unknown option $arg" ;;
		*) break ;; # COMMAND without `--` (checks always write the `--`)
		esac
		case $flag in
		--ns | --rootfs | --layer | --layer-tar | --layer-store | --upper | --work | --hostname | --uid-map | --gid-map | --veth | \
			--time-offset | --cgroup | --memory | --cpus | --cpu-weight | --memory-low | --io-weight | --pids | --io-wbps | --io-rbps | --cpuset | \
			--deny-device | --net-classid | --pid-file) ;;
		*) die "unknown option $flag" ;;
		esac
		if [ -z "$has_val" ]; then
			[ $# -gt 0 ] || die "$flag needs a value"
			val=$1
			shift
		fi
		case $flag in
		--layer | --layer-tar | --uid-map | --gid-map | --io-wbps | --io-rbps | --deny-device) ;; # repeatable
		*) [ -z "${SEEN[$flag]:-}" ] || die "$flag given twice" ;;
		esac
		SEEN[$flag]=1
		case $flag in
		--ns) parse_ns "$val" ;;
		--rootfs) [ -n "$val" ] || die "--rootfs: empty path"; ROOTFS=$val ;;
		--layer) [ -n "$val" ] || die "--layer: empty path"; LAYERS+=("$val") ;;
		--layer-tar) [ -f "$val" ] || die "--layer-tar $val: not a file"; LAYER_TARS+=("$val") ;;
		--layer-store) [ -d "$val" ] || die "--layer-store $val: not a directory"; LAYER_STORE=$val ;;
		--upper) [ -n "$val" ] || die "--upper: empty path"; UPPER=$val ;;
		--work) [ -n "$val" ] || die "--work: empty path"; WORK=$val ;;
		--hostname)
			local LC_ALL=C # ${#val} counts bytes
			((${#val} >= 1 && ${#val} <= 64)) || die "--hostname: \"$val\" must be 1 to 64 bytes"
			HOSTNAME_OPT=$val
			;;
		--uid-map) parse_id_map "$flag" "$val" UID_MAPS ;;
		--gid-map) parse_id_map "$flag" "$val" GID_MAPS ;;
		--veth) parse_veth "$val" ;;
		--time-offset) parse_time_offset "$val" ;;
		--cgroup) check_cgroup_name "$flag" "$val"; CGROUP=$val ;;
		--memory) parse_size "$flag" "$val" MEMORY ;;
		--cpus)
			[[ $val =~ ^([0-9]{1,12})/([0-9]{1,12})$ ]] || die "--cpus: expected QUOTA_US/PERIOD_US, got \"$val\""
			CPU_QUOTA=$((10#${BASH_REMATCH[1]})) CPU_PERIOD=$((10#${BASH_REMATCH[2]}))
			((CPU_PERIOD >= 1000 && CPU_PERIOD <= 1000000)) || die "--cpus: PERIOD_US must be from 1000 to 1000000, got $CPU_PERIOD"
			((CPU_QUOTA >= 1000)) || die "--cpus: QUOTA_US must be at least 1000, got $CPU_QUOTA"
			;;
		--cpu-weight)
			[[ $val =~ ^[0-9]{1,5}$ ]] && ((10#$val >= 1 && 10#$val <= 10000)) ||
				die "--cpu-weight: expected a weight from 1 to 10000, got \"$val\""
			CPU_WEIGHT=$((10#$val))
			;;
		--memory-low) parse_size "$flag" "$val" MEMORY_LOW ;;
		--io-weight)
			[[ $val =~ ^[0-9]{1,4}$ ]] && ((10#$val >= 1 && 10#$val <= 1000)) ||
				die "--io-weight: expected a weight from 1 to 1000, got \"$val\""
			IO_WEIGHT=$((10#$val))
			;;
		--pids) is_uint "$val" || die "--pids: expected a number of tasks, got \"$val\""; PIDS_MAX=$((10#$val)) ;;
		--io-wbps) parse_io "$flag" "$val" IO_WBPS ;;
		--io-rbps) parse_io "$flag" "$val" IO_RBPS ;;
		--cpuset) parse_cpuset "$val" ;;
		--deny-device)
			[[ $val =~ ^([cb]):([0-9]{1,10}):([0-9]{1,10})$ ]] || die "--deny-device: expected c|b:MAJ:MIN, got \"$val\""
			DENY_DEVICES+=("${BASH_REMATCH[1]} $((10#${BASH_REMATCH[2]})):$((10#${BASH_REMATCH[3]}))")
			;;
		--net-classid) parse_classid "$val" ;;
		--pid-file) [ -n "$val" ] || die "--pid-file: empty path"; PID_FILE=$val ;;
		esac
	done
	CMD=("$@")
}

# The "Needs" column of the contract, and the checks that are not about syntax.
validate_run() {
	[ ${#CMD[@]} -gt 0 ] && [ -n "${CMD[0]}" ] || die "COMMAND: missing: give it after \`--\`"
	if [ ${#LAYER_TARS[@]} -gt 0 ]; then
		[ -n "$LAYER_STORE" ] || die "--layer-tar needs --layer-store DIR"
		ufs_unpack_layer_tars # appends to LAYERS
	fi
	if [ -n "$ROOTFS" ] && [ ${#LAYERS[@]} -gt 0 ]; then die "--rootfs and --layer exclude each other"; fi
	if [ -n "$ROOTFS" ]; then has_ns mnt || die "--rootfs needs --ns mnt"; fi
	if [ ${#LAYERS[@]} -gt 0 ]; then
		has_ns mnt || die "--layer needs --ns mnt"
		[ -n "$UPPER" ] && [ -n "$WORK" ] || die "--layer needs --upper and --work"
	fi
	if [ -n "$UPPER" ] && [ ${#LAYERS[@]} -eq 0 ]; then die "--upper needs --layer"; fi
	if [ -n "$WORK" ] && [ ${#LAYERS[@]} -eq 0 ]; then die "--work needs --layer"; fi
	if [ -n "$HOSTNAME_OPT" ]; then has_ns uts || die "--hostname needs --ns uts"; fi
	if [ ${#UID_MAPS[@]} -gt 0 ]; then has_ns user || die "--uid-map needs --ns user"; fi
	if [ ${#GID_MAPS[@]} -gt 0 ]; then has_ns user || die "--gid-map needs --ns user"; fi
	if [ -n "$VETH" ]; then has_ns net || die "--veth needs --ns net"; fi
	if [ -n "$TIME_OFFSET" ]; then has_ns time || die "--time-offset needs --ns time"; fi
	local f
	for f in --memory --cpus --cpu-weight --memory-low --io-weight --pids --io-wbps --io-rbps --cpuset --deny-device --net-classid; do
		if [ -n "${SEEN[$f]:-}" ] && [ -z "$CGROUP" ]; then die "$f needs --cgroup NAME"; fi
	done
	# With a root file system, root inside creates the files of /dev: id 0 must be mapped.
	if has_ns user && { [ -n "$ROOTFS" ] || [ ${#LAYERS[@]} -gt 0 ]; }; then
		maps_zero "${UID_MAPS[@]}" && maps_zero "${GID_MAPS[@]}" ||
			die "--ns user with a root file system needs --uid-map and --gid-map that map id 0"
	fi
	local d
	for d in ${ROOTFS:+"$ROOTFS"} "${LAYERS[@]}" ${UPPER:+"$UPPER"} ${WORK:+"$WORK"}; do
		[ -e "$d" ] || die "$(flag_of "$d") $d: No such file or directory (ENOENT)"
		[ -d "$d" ] || die "$(flag_of "$d") $d: Not a directory (ENOTDIR)"
	done
	for d in "${LAYERS[@]}" "$UPPER" "$WORK"; do
		case $d in *[,:\\]*) die "$(flag_of "$d") $d: a path holding ',', ':' or '\\' cannot be passed in overlay options" ;; esac
	done
	return 0
}

maps_zero() { # "IN OUT COUNT"...: does one line map id 0?
	local m
	for m in "$@"; do [ "${m%% *}" = 0 ] && return 0; done
	return 1
}

flag_of() { # the flag that named directory $1, for messages
	local l
	[ "$1" = "$ROOTFS" ] && { echo --rootfs; return; }
	[ "$1" = "$UPPER" ] && { echo --upper; return; }
	[ "$1" = "$WORK" ] && { echo --work; return; }
	echo --layer
}

# ===================================================================== cgroup paths (given)

# cg_find_parent: where containers' cgroups go, as the contract says
# (LAB_CGROUP_PARENT: relative to the caller's own cgroup in each hierarchy,
# absolute from each hierarchy's root, unset = the caller's own cgroup).
# Sets CG_VERSION (1 or 2), CG_PARENT[controller] = parent directory
# (v2: the same directory for every controller) and CG_PARENT_DIRS (each
# directory once). Dies if the parent does not exist. Use it from the cgroup
# steps and from pause/resume/stats; `cg_dir CONTROLLER` gives NAME's directory.
cg_find_parent() {
	local parent=${LAB_CGROUP_PARENT:-} line left right fstype opts key point root rel c
	local -a f
	local -A mpoint=() mroot=() own=()
	while IFS= read -r line; do
		left=${line%% - *} right=${line#* - }
		read -r -a f <<<"$left"
		read -r fstype _ opts <<<"$right"
		case $fstype in
		cgroup2) key=unified ;;
		cgroup) key=$(cg_v1_key "$opts") ;;
		*) continue ;;
		esac
		[ -n "$key" ] && [ -z "${mpoint[$key]:-}" ] || continue
		printf -v point '%b' "${f[4]}"
		printf -v root '%b' "${f[3]}"
		mpoint[$key]=$point mroot[$key]=$root
	done </proc/self/mountinfo
	while IFS=: read -r _ c rel; do
		if [ -z "$c" ]; then key=unified; else key=$(cg_v1_key "$c"); fi
		[ -n "$key" ] && [ -n "${mpoint[$key]:-}" ] || continue
		if [ -z "$parent" ]; then
			rel=${rel#"${mroot[$key]}"}
		elif [ "${parent#/}" = "$parent" ]; then
			rel=${rel#"${mroot[$key]}"}/$parent
		else
			rel=${parent#"${mroot[$key]}"}
		fi
		rel=/${rel#/}
		own[$key]=${mpoint[$key]%/}${rel%/}
	done </proc/self/cgroup
	declare -gA CG_PARENT=()
	CG_PARENT_DIRS=()
	CG_VERSION=1
	local v1=''
	for key in "${!own[@]}"; do [ "$key" != unified ] && v1=1; done
	if [ -n "${own[unified]:-}" ]; then
		local ctrls=''
		read -r ctrls <"${mpoint[unified]}/cgroup.controllers" 2>/dev/null || :
		if [ -z "$v1" ] || [[ " $ctrls " =~ \ (memory|cpu|pids|io)\  ]]; then
			CG_VERSION=2
			for c in cgroup memory cpu cpuset io pids freezer devices; do CG_PARENT[$c]=${own[unified]}; done
			CG_PARENT_DIRS=("${own[unified]}")
		fi
	fi
	if [ "$CG_VERSION" = 1 ]; then
		[ -n "$v1" ] || die "no cgroup hierarchy with a resource controller is mounted"
		for key in "${!own[@]}"; do
			[ "$key" = unified ] && continue
			CG_PARENT_DIRS+=("${own[$key]}")
			IFS=, read -r -a f <<<"$key"
			for c in "${f[@]}"; do CG_PARENT[$c]=${own[$key]}; done
		done
	fi
	local d
	for d in "${CG_PARENT_DIRS[@]}"; do
		[ -d "$d" ] || die "LAB_CGROUP_PARENT=${LAB_CGROUP_PARENT:-}: parent cgroup $d: No such file or directory (ENOENT)"
	done
}

cg_v1_key() { # "rw,cpu,cpuacct" -> "cpu,cpuacct" (known controllers, fixed order)
	local c out=''
	for c in "${V1_CONTROLLERS[@]}"; do
		case ",$1," in *",$c,"*) out=${out:+$out,}$c ;; esac
	done
	echo "$out"
}

# cg_dir CONTROLLER: NAME's directory in CONTROLLER's hierarchy (empty if not mounted).
cg_dir() { [ -n "${CG_PARENT[$1]:-}" ] && echo "${CG_PARENT[$1]}/$CGROUP"; }

# ===================================================================== the steps
#
# Each step is one function. A step that is not done yet does nothing, so the
# runtime still works: it just does not isolate. Fill them in exercise by
# exercise. Read the man pages named in each TODO (man 1 unshare, man 7
# pid_namespaces, ...) and exercises/CONTRACT.md.

# ------------------------------------------------------------------- ns-pid
# TODO(ns-pid): host side, before the start. When `pid` is requested, add the
# unshare(1) options for a new PID namespace to UNSHARE_ARGS. unshare(2) does
# not move the caller: only its child is in the new namespace, so unshare must
# fork (--fork); --kill-child kills that child if unshare dies. With `mnt` too,
# a fresh /proc of the new namespace is needed (--mount-proc).
# Read: unshare(1), pid_namespaces(7).
# Careful: util-linux `unshare --fork` turns a child's death by signal N into
# exit status 1, not 128+N. Make sure the process unshare waits for always
# exits normally (see pid_become_init).
#
# 호스트 쪽, 시작 전. `pid`를 요청하면 새 PID 네임스페이스를 만드는 unshare(1)
# 옵션을 UNSHARE_ARGS에 더하세요. unshare(2)는 호출한 프로세스를 옮기지 않고 그
# 자식만 새 네임스페이스에 넣으므로 unshare는 fork해야 합니다(--fork).
# --kill-child는 unshare가 죽으면 그 자식을 죽입니다. `mnt`도 있으면 새
# 네임스페이스의 /proc이 필요합니다(--mount-proc).
# 읽을거리: unshare(1), pid_namespaces(7).
# 주의: util-linux의 `unshare --fork`는 자식이 시그널 N으로 죽으면 128+N이 아니라
# 종료 상태 1을 돌려줍니다. unshare가 기다리는 프로세스가 늘 정상 종료하게
# 하세요(pid_become_init 참고).
pid_unshare_args() {
	: # nothing yet
}

# TODO(ns-pid): host side, after the start. With --fork, the first process of
# the container (FIRST_PID) is not the launched process ($CHILD, which became
# unshare) but unshare's child: PID 1 of the new namespace. Find its host PID
# (for example in /proc/$CHILD/task/$CHILD/children, waiting until it shows up)
# and set FIRST_PID to it: --pid-file and the signal forwarding use FIRST_PID.
# Pitfall: that file has no trailing newline, so `read x <file` sets x and yet
# returns 1 (a loop `until read ...` never ends, `read ... || fail` fails): use
# `x=$(cat file)` or `read -r x <file || [ -n "$x" ]`.
# Read: proc(5) (/proc/PID/task/TID/children).
#
# 호스트 쪽, 시작 뒤. --fork를 쓰면 컨테이너의 첫 프로세스(FIRST_PID)는 시작한
# 프로세스($CHILD, unshare가 된 것)가 아니라 unshare의 자식, 곧 새 네임스페이스의
# PID 1입니다. 그 호스트 PID를 찾아서(예: /proc/$CHILD/task/$CHILD/children에
# 나타날 때까지 기다림) FIRST_PID에 넣으세요. --pid-file과 시그널 전달이
# FIRST_PID를 씁니다. 함정: 그 파일은 끝에 줄바꿈이 없어서 `read x <file`은 x를
# 채우고도 1을 돌려줍니다(`until read ...` 반복은 끝나지 않고 `read ... || fail`은
# 실패합니다). `x=$(cat file)`이나 `read -r x <file || [ -n "$x" ]`를 쓰세요.
# 읽을거리: proc(5) (/proc/PID/task/TID/children).
pid_find_init() {
	: # nothing yet
}

# TODO(ns-pid): container side. With `pid`, this bash process is PID 1 of the
# new namespace. PID 1 must be a small init:
#   - run the rest of the start (container_setup_and_exec) in a child (`&`);
#     (pitfall: `wait` on a child killed by a signal makes bash print a "Killed"
#     job notice on stderr; `wait "$pid" 2>/dev/null` keeps stderr clean);
#     reset SIGINT/SIGQUIT in it (`trap - INT QUIT`): bash makes background
#     commands ignore them, and an ignored signal stays ignored after exec;
#   - forward SIGTERM, SIGINT and SIGHUP to that child (`trap`); PID 1 gets no
#     signal it has no handler for, so install the traps before forking;
#   - reap orphans: they are re-parented to PID 1 and stay zombies until it
#     waits for them (bash reaps every child while it runs `wait`);
#   - exit with the child's status, 128+N for death by signal N (`wait` gives
#     that), and never return from this function.
# A `wait` interrupted by a trapped signal returns early: wait again.
# Read: pid_namespaces(7) ("The namespace init process"), bash(1) (trap, wait).
#
# 컨테이너 쪽. `pid`가 있으면 이 bash 프로세스가 새 네임스페이스의 PID 1입니다.
# PID 1은 작은 init이어야 합니다.
#   - 나머지 시작 과정(container_setup_and_exec)을 자식에서(`&`) 실행합니다.
#     (함정: 시그널로 죽은 자식을 `wait`하면 bash가 stderr에 "Killed" 작업 알림을
#     찍습니다. `wait "$pid" 2>/dev/null`로 stderr를 깨끗하게 두세요.) 그 자식에서
#     SIGINT/SIGQUIT를 되돌리세요(`trap - INT QUIT`). bash는 백그라운드 명령이
#     그것들을 무시하게 만들고, 무시된 시그널은 exec 뒤에도 무시됩니다.
#   - SIGTERM, SIGINT, SIGHUP을 그 자식에게 전달합니다(`trap`). PID 1은 핸들러가
#     없는 시그널을 받지 않으니 fork 전에 trap을 거세요.
#   - 고아를 거둡니다. 고아는 PID 1의 자식이 되고 PID 1이 wait할 때까지 좀비로
#     남습니다(bash는 `wait`를 실행하는 동안 모든 자식을 거둡니다).
#   - 자식의 상태로, 시그널 N으로 죽었으면 128+N으로 종료하고(`wait`가 그 값을
#     줍니다) 이 함수에서 절대 돌아오지 않습니다.
# trap을 건 시그널이 오면 `wait`가 일찍 돌아옵니다. 다시 wait 하세요.
# 읽을거리: pid_namespaces(7) ("The namespace init process"), bash(1) (trap, wait).
pid_become_init() {
	: # nothing yet: the command runs as PID 1 itself (no reaping)
}

# ------------------------------------------------------------------- ns-uts
# TODO(ns-uts): host side, before the start. When `uts` is requested, add the
# unshare(1) option for a new UTS namespace to UNSHARE_ARGS.
# Read: unshare(1), uts_namespaces(7).
#
# 호스트 쪽, 시작 전. `uts`를 요청하면 새 UTS 네임스페이스를 만드는 unshare(1)
# 옵션을 UNSHARE_ARGS에 더하세요.
# 읽을거리: unshare(1), uts_namespaces(7).
uts_unshare_args() {
	: # nothing yet
}

# TODO(ns-uts): container side. With --hostname NAME, set the host name of the
# new UTS namespace to NAME (the host's name must stay unchanged).
# Read: hostname(1), sethostname(2).
#
# 컨테이너 쪽. --hostname NAME이 있으면 새 UTS 네임스페이스의 호스트 이름을
# NAME으로 정하세요(호스트의 이름은 바뀌면 안 됩니다).
# 읽을거리: hostname(1), sethostname(2).
uts_set_hostname() {
	: # nothing yet
}

# ------------------------------------------------------------------- ns-mount
# TODO(ns-mount): host side, before the start. When `mnt` is requested, add the
# unshare(1) options for a new mount namespace whose mounts do not propagate
# back to the host (--propagation).
# Read: unshare(1), mount_namespaces(7) (shared subtrees).
#
# 호스트 쪽, 시작 전. `mnt`를 요청하면 마운트가 호스트로 전파되지 않는 새 마운트
# 네임스페이스를 만드는 unshare(1) 옵션을 UNSHARE_ARGS에 더하세요(--propagation).
# 읽을거리: unshare(1), mount_namespaces(7) (shared subtrees).
mnt_unshare_args() {
	: # nothing yet
}

# TODO(ns-mount): container side. Make every mount private, recursively, so no
# mount made from here on is seen on the host, and so pivot_root(2) accepts
# the new root (it fails with EINVAL on a shared mount).
# Read: mount(8) (--make-rprivate), mount_namespaces(7).
#
# 컨테이너 쪽. 모든 마운트를 재귀적으로 private으로 만드세요. 그래야 여기서부터
# 만드는 마운트가 호스트에 보이지 않고, pivot_root(2)가 새 루트를 받아들입니다
# (공유 마운트에서는 EINVAL로 실패합니다).
# 읽을거리: mount(8) (--make-rprivate), mount_namespaces(7).
mnt_make_private() {
	: # nothing yet
}

# TODO(ns-mount): container side. Prepare the new root in NEW_ROOT (set it):
# with --rootfs DIR, bind-mount DIR onto itself (pivot_root needs a mount
# point) and use it. Without --rootfs there is no new root: do nothing.
# (--layer is exercise ufs-layers: the host side's ufs_mount_overlay mounts
# the overlay on "$LAB_RT_DIR/root", and the given line below takes it as
# NEW_ROOT; ns-mount needs only --rootfs.)
# Read: mount(8) (--bind).
#
# 컨테이너 쪽. 새 루트를 준비해 NEW_ROOT에 넣으세요. --rootfs DIR이 있으면 DIR을
# 자기 자신 위에 bind 마운트하고(pivot_root는 마운트 지점을 요구합니다) 그것을
# 씁니다. --rootfs가 없으면 새 루트도 없으니 아무것도 하지 않습니다. (--layer는
# ufs-layers 실습입니다. 호스트 쪽의 ufs_mount_overlay가 "$LAB_RT_DIR/root"에
# overlay를 마운트하고, 아래의 주어진 줄이 그것을 NEW_ROOT로 씁니다.
# ns-mount에는 --rootfs만 있으면 됩니다.)
# 읽을거리: mount(8) (--bind).
mnt_prepare_root() {
	NEW_ROOT=''
	: # nothing yet
	# Given: with --layer, the overlay that ufs_mount_overlay mounted (until
	# it does, there is no new root).
	if [ ${#LAYERS[@]} -gt 0 ] && mountpoint -q -- "$LAB_RT_DIR/root"; then
		NEW_ROOT=$LAB_RT_DIR/root
	fi
}

# TODO(ns-mount): container side, with a new root only. Before pivoting,
# while the host's tools are still reachable, mount into NEW_ROOT:
#   - a fresh /proc (mount -t proc), of the container's PID namespace. With
#     `user` but without `pid` the kernel refuses it (EPERM: the PID namespace
#     is the host's, not owned by the new user namespace): then bind the
#     host's /proc instead (mount --rbind /proc NEW_ROOT/proc), as the
#     reference runtime does;
#   - /dev as a small tmpfs holding null, zero, full, random and urandom, each
#     bind-mounted from the host's /dev onto an empty file (no mknod), /dev/shm
#     (a tmpfs), and the symlinks fd -> /proc/self/fd, stdin -> /proc/self/fd/0,
#     stdout -> /proc/self/fd/1, stderr -> /proc/self/fd/2;
#   - then sec_mask_kernel_files (exercise sec-escape) and ipc_mount_mqueue
#     (exercise ns-ipc).
# Read: mount(8), proc(5), tmpfs(5), CONTRACT.md section 2.2.
#
# 컨테이너 쪽, 새 루트가 있을 때만. pivot 전에, 호스트의 도구를 아직 쓸 수 있을
# 때 NEW_ROOT 안에 마운트하세요.
#   - 컨테이너의 PID 네임스페이스의 새 /proc(mount -t proc). `user`는 있고
#     `pid`가 없으면 커널이 거부합니다(EPERM: PID 네임스페이스가 호스트의
#     것이라 새 user 네임스페이스의 소유가 아닙니다). 그때는 참조 런타임처럼
#     호스트의 /proc을 bind 마운트합니다(mount --rbind /proc NEW_ROOT/proc).
#   - /dev: 작은 tmpfs에 null, zero, full, random, urandom을 두는데, 각각 빈
#     파일 위에 호스트의 /dev에서 bind 마운트합니다(mknod 아님). /dev/shm(tmpfs),
#     그리고 심볼릭 링크 fd -> /proc/self/fd, stdin -> /proc/self/fd/0,
#     stdout -> /proc/self/fd/1, stderr -> /proc/self/fd/2.
#   - 그다음 sec_mask_kernel_files(sec-escape 실습)와 ipc_mount_mqueue
#     (ns-ipc 실습)를 부릅니다.
# 읽을거리: mount(8), proc(5), tmpfs(5), CONTRACT.ko.md 2.2절.
mnt_populate_root() {
	: # nothing yet
	sec_mask_kernel_files
	ipc_mount_mqueue
}

# TODO(sec-escape): container side, with a new root, after its /proc is
# mounted (contract 1.2): hide what shows the host's kernel, as runc does.
#   - NEW_ROOT/proc/kcore, keys, timer_list, sched_debug, latency_stats: bind
#     /dev/null over each (mount --bind /dev/null FILE);
#   - NEW_ROOT/proc/acpi and scsi: an empty read-only tmpfs over each;
#   - NEW_ROOT/proc/sysrq-trigger, sys, irq, bus, fs: read-only, a bind mount
#     onto itself, then mount -o remount,bind,ro,nosuid,nodev,noexec.
# Skip a path this kernel has not got. Until you write it, nothing is hidden
# (and the earlier exercises still run).
# Read: proc(5) (kcore, keys, sysrq-trigger), mount(8) (--bind, remount,bind,ro).
#
# 컨테이너 쪽, 새 루트가 있고 그 /proc이 마운트된 뒤(계약 1.2): runc처럼 호스트의
# 커널을 보여 주는 것을 가리세요.
#   - NEW_ROOT/proc/kcore, keys, timer_list, sched_debug, latency_stats: 각각 위에
#     /dev/null을 bind 마운트합니다(mount --bind /dev/null FILE).
#   - NEW_ROOT/proc/acpi, scsi: 각각 위에 비어 있는 읽기 전용 tmpfs.
#   - NEW_ROOT/proc/sysrq-trigger, sys, irq, bus, fs: 읽기 전용. 자기 자신 위에
#     bind 마운트한 뒤 mount -o remount,bind,ro,nosuid,nodev,noexec.
# 이 커널에 없는 경로는 건너뜁니다. 쓰기 전까지는 아무것도 가리지 않습니다(앞의
# 실습은 그대로 돕니다).
# 읽을거리: proc(5) (kcore, keys, sysrq-trigger), mount(8) (--bind, remount,bind,ro).
sec_mask_kernel_files() {
	: # nothing yet
}

# TODO(sec-escape): container side, before init and COMMAND: close every
# descriptor above 2. Whatever started the runtime may have left some open
# (the check passes a directory of the host), and a descriptor of a host
# directory is a way out of any root file system (CVE-2024-21626: runc leaked
# one, and /proc/self/fd/N led to the host's files). In bash: for each
# /proc/self/fd/N with N > 2, `exec {fd}<&-` with fd=N, but keep two that are
# the runtime's and go anyway:
#   - 255: bash reads this script through it (close-on-exec, so COMMAND never
#     gets it; closed early, bash cannot read the rest of the script);
#   - "$SELF_FD": the script again, which user_become_root executes (see
#     launch); exec_command closes it before COMMAND.
# Skip an N that is no longer open when you reach it ([ -e "$f" ]): the
# glob's own directory descriptor is in the list. The given code opens
# nothing else that reaches COMMAND, so whatever is left was inherited.
# Read: proc(5) (/proc/PID/fd), bash(1) (REDIRECTION, {varname}).
#
# 컨테이너 쪽, init과 COMMAND 전. 2보다 큰 디스크립터를 모두 닫으세요. 런타임을
# 시작한 쪽이 무언가를 열어 둔 채 넘겼을 수 있고(검사는 호스트의 디렉터리를
# 넘깁니다), 호스트 디렉터리의 디스크립터는 어떤 루트 파일 시스템에서도 빠져나갈
# 길입니다(CVE-2024-21626: runc가 하나를 흘렸고 /proc/self/fd/N이 호스트의
# 파일로 이어졌습니다). bash에서는 2보다 큰 /proc/self/fd/N마다 fd=N으로
# `exec {fd}<&-` 합니다. 단 런타임의 것이고 어차피 사라지는 둘은 두세요.
#   - 255: bash가 이 스크립트를 그것으로 읽습니다(exec 때 닫히도록 표시되어
#     있어서 COMMAND는 받지 않습니다. 일찍 닫으면 bash가 스크립트의 나머지를
#     읽지 못합니다).
#   - "$SELF_FD": user_become_root가 다시 실행하는 이 스크립트입니다(launch
#     참고). exec_command가 COMMAND 전에 닫습니다.
# 차례가 왔을 때 이미 닫혀 있는 N은 건너뛰세요([ -e "$f" ]). glob이 연
# 디렉터리 디스크립터가 목록에 들어 있습니다. 주어진 코드는 COMMAND까지 가는
# 다른 디스크립터를 열지 않으므로 남은 것은 모두 물려받은 것입니다.
# 읽을거리: proc(5) (/proc/PID/fd), bash(1) (REDIRECTION, {varname}).
sec_close_fds() {
	: # nothing yet
}

# TODO(ns-mount): container side, with a new root only. Enter NEW_ROOT with
# pivot_root, not chroot; then detach the old root (umount -l) so that it is
# in no mountinfo and no path leads to it; the working directory is `/`.
# After the pivot every path is looked up in the new root, where the host's
# umount is not (and on Debian even the loader's path /lib64/ld-linux-... is
# an absolute symlink that now points into the new root). The given helpers
# old_root_tool_prepare and old_root_tool run the host's umount all the same:
#   exec {OLD_ROOT_FD}</            # the old root, reachable after the pivot
#   old_root_tool_prepare umount    # its real path, loader, libraries: now
#   cd "$NEW_ROOT" && pivot_root . .  # pivot_root(2) NOTES: old root stacked on top
#   old_root_tool "/proc/self/fd/$OLD_ROOT_FD" umount -l .   # detach it
#   exec {OLD_ROOT_FD}<&-           # never let COMMAND inherit the host's root
#   cd /
# (/proc/self/fd works because mnt_populate_root mounted NEW_ROOT/proc.)
# Read: pivot_root(8), pivot_root(2) (the NOTES on put_old and "."), umount(8),
# ld.so(8) (--library-path).
#
# 컨테이너 쪽, 새 루트가 있을 때만. chroot가 아니라 pivot_root로 NEW_ROOT에
# 들어가고, 옛 루트를 떼어 내서(umount -l) 어느 mountinfo에도 없고 어떤 경로로도
# 닿지 않게 하세요. 작업 디렉터리는 `/`입니다. pivot 뒤에는 모든 경로를 새
# 루트에서 찾기 때문에 호스트의 umount가 없습니다(Debian에서는 로더의 경로
# /lib64/ld-linux-...조차 절대 경로 심볼릭 링크라서 이제 새 루트 안을
# 가리킵니다). 주어진 도우미 old_root_tool_prepare와 old_root_tool로 호스트의
# umount를 그래도 실행할 수 있습니다. 위의 여섯 줄이 그 방법입니다. 옛 루트를
# 가리키는 디스크립터는 COMMAND에 물려주면 안 되니 반드시 닫으세요.
# (/proc/self/fd를 쓸 수 있는 것은 mnt_populate_root가 NEW_ROOT/proc을 마운트해
# 두었기 때문입니다.)
# 읽을거리: pivot_root(8), pivot_root(2) (put_old와 "."에 관한 NOTES), umount(8),
# ld.so(8) (--library-path).
mnt_pivot_root() {
	: # nothing yet
}

# ------------------------------------------------------------------- ns-ipc
# TODO(ns-ipc): host side, before the start. When `ipc` is requested, add the
# unshare(1) option for a new IPC namespace to UNSHARE_ARGS.
# Read: unshare(1), ipc_namespaces(7).
#
# 호스트 쪽, 시작 전. `ipc`를 요청하면 새 IPC 네임스페이스를 만드는 unshare(1)
# 옵션을 UNSHARE_ARGS에 더하세요.
# 읽을거리: unshare(1), ipc_namespaces(7).
ipc_unshare_args() {
	: # nothing yet
}

# TODO(ns-ipc): container side, with a new root and `ipc` only: mount an
# mqueue file system of the new IPC namespace on NEW_ROOT/dev/mqueue.
# Read: mq_overview(7) ("Mounting the message queue file system").
#
# 컨테이너 쪽, 새 루트와 `ipc`가 있을 때만: 새 IPC 네임스페이스의 mqueue 파일
# 시스템을 NEW_ROOT/dev/mqueue에 마운트하세요.
# 읽을거리: mq_overview(7) ("Mounting the message queue file system").
ipc_mount_mqueue() {
	: # nothing yet
}

# ------------------------------------------------------------------- ns-net
# TODO(ns-net): host side, before the start. When `net` is requested, add the
# unshare(1) option for a new network namespace to UNSHARE_ARGS.
# Read: unshare(1), network_namespaces(7).
#
# 호스트 쪽, 시작 전. `net`을 요청하면 새 네트워크 네임스페이스를 만드는
# unshare(1) 옵션을 UNSHARE_ARGS에 더하세요.
# 읽을거리: unshare(1), network_namespaces(7).
net_unshare_args() {
	: # nothing yet
}

# TODO(ns-net): host side, after the start. First wait until FIRST_PID is in
# its new network namespace (/proc/FIRST_PID/ns/net differs from yours, as in
# user_write_maps): unshare makes it a moment after the start, and until then
# "inside" is the host (lo stays down inside, the veth end lands on the host;
# a racy runtime passes alone and fails under load). With `net`: bring `lo` up
# inside: this runs before "go", so lo is up before COMMAND starts. With
# --veth: create the pair with its container end made directly in the network
# namespace of FIRST_PID:
#   ip link add "$VETH_HOST_IF" type veth peer name "$VETH_CONT_IF" netns "$FIRST_PID"
# (not on the host and moved afterwards: VETH_CONT_IF is often a name the host
# has already, such as eth0, and then `ip link add` fails with "RTNETLINK
# answers: File exists"). Give each end its address (VETH_HOST_ADDR,
# VETH_CONT_ADDR) and bring both up. A VETH_HOST_IF that already exists is an
# error (abort_started), and not yours: set VETH_CREATED=1 only once
# `ip link add` succeeded, so net_cleanup deletes only a pair this run made.
# The host's `ip` acts inside through nsenter(1) -t "$FIRST_PID" -n ip ....
# Read: ip-link(8) (type veth, netns), ip-address(8), veth(4), nsenter(1).
#
# 호스트 쪽, 시작 뒤. 먼저 FIRST_PID가 새 네트워크 네임스페이스에 들어갈
# 때까지 기다리세요(user_write_maps처럼 /proc/FIRST_PID/ns/net이 내 것과 달라질
# 때까지). unshare는 시작하고 조금 뒤에 네임스페이스를 만들고, 그 전까지
# "안"은 호스트입니다(안의 lo는 내려간 채로 남고 veth 끝은 호스트에 놓입니다.
# 경쟁 상태가 있는 런타임은 혼자 돌 때는 통과하고 부하가 있을 때 실패합니다).
# `net`이면 안에서 `lo`를 올립니다. 이 함수는 "go" 전에 실행되므로 COMMAND가
# 시작하기 전에 lo가 올라가 있습니다. --veth가 있으면 쌍을 만드는데, 컨테이너
# 끝은 처음부터 FIRST_PID의 네트워크 네임스페이스 안에 만드세요(위의 `ip link add
# ... netns "$FIRST_PID"` 줄). 호스트에 만든 뒤 옮기면 안 됩니다. VETH_CONT_IF는
# eth0처럼 호스트에 이미 있는 이름인 경우가 많고, 그러면 `ip link add`가
# "RTNETLINK answers: File exists"로 실패합니다. 양 끝에 주소(VETH_HOST_ADDR,
# VETH_CONT_ADDR)를 주고 둘 다 올립니다. VETH_HOST_IF가 이미 있으면
# 오류(abort_started)이고, 그것은 여러분의 것이 아닙니다. `ip link add`가 성공한
# 뒤에만 VETH_CREATED=1로 두어서 net_cleanup이 이 실행이 만든 쌍만 지우게 하세요.
# 호스트의 `ip`는 nsenter(1) -t "$FIRST_PID" -n ip ...로 안에서 일합니다.
# 읽을거리: ip-link(8) (type veth, netns), ip-address(8), veth(4), nsenter(1).
net_setup() {
	: # nothing yet
}

# TODO(ns-net): host side, at the end (also after a failure: die calls it).
# The pair must be gone once `run` returns: if VETH_CREATED is set (this run
# made the pair), delete VETH_HOST_IF if it is still there (it goes with the
# namespace, but not always at once). Never delete an interface this run did
# not create: a VETH_HOST_IF that existed before is someone else's.
#
# 호스트 쪽, 끝에서(실패한 뒤에도: die가 부릅니다). `run`이 돌아올 때 쌍은
# 없어야 합니다. VETH_CREATED가 설정되어 있으면(이 실행이 쌍을 만들었으면)
# VETH_HOST_IF가 아직 있을 때 지우세요(네임스페이스와 함께 사라지지만 늘 바로
# 사라지지는 않습니다). 이 실행이 만들지 않은 인터페이스는 절대 지우지 마세요.
# 전부터 있던 VETH_HOST_IF는 다른 누군가의 것입니다.
net_cleanup() {
	: # nothing yet
}

# ------------------------------------------------------------------- ns-user
# TODO(ns-user): host side, before the start. When `user` is requested, add
# the unshare(1) options for a new user namespace to UNSHARE_ARGS: --user and
# --keep-caps. Not --map-root-user: the maps are written from outside, by
# user_write_maps, after unshare has executed this script; and at that exec
# the process is nobody inside (no map yet), so the kernel drops every
# capability unless --keep-caps keeps them (as ambient capabilities). Without
# them user_become_root's setpriv fails ("setresuid failed: Operation not
# permitted") and so do the mounts.
# Read: unshare(1) (--keep-caps), user_namespaces(7), capabilities(7)
# ("Capabilities and execution of programs by root", ambient).
#
# 호스트 쪽, 시작 전. `user`를 요청하면 새 user 네임스페이스를 만드는 unshare(1)
# 옵션 --user와 --keep-caps를 UNSHARE_ARGS에 더하세요. --map-root-user는 쓰지
# 않습니다. 맵은 unshare가 이 스크립트를 실행한 뒤에 user_write_maps가 밖에서
# 씁니다. 그 exec 시점에 프로세스는 안에서 아무도 아니므로(아직 맵이 없음)
# --keep-caps로 (ambient capability로) 지키지 않으면 커널이 capability를 모두
# 버립니다. 그러면 user_become_root의 setpriv가 실패하고("setresuid failed:
# Operation not permitted") 마운트도 실패합니다.
# 읽을거리: unshare(1) (--keep-caps), user_namespaces(7), capabilities(7).
user_unshare_args() {
	: # nothing yet
}

# TODO(ns-user): host side, after the start. Wait until the launched process
# is in its new user namespace (/proc/$CHILD/ns/user differs from yours), then
# write UID_MAPS to /proc/PID/uid_map and GID_MAPS to /proc/PID/gid_map, all
# lines of a file in ONE write (printf '%s\n' "${UID_MAPS[@]}" > file). An
# unprivileged runtime writes `deny` to /proc/PID/setgroups before gid_map.
# Read: user_namespaces(7) ("User and group ID mappings").
#
# 호스트 쪽, 시작 뒤. 시작한 프로세스가 새 user 네임스페이스에 들어갈 때까지
# 기다린 뒤(/proc/$CHILD/ns/user가 내 것과 달라질 때까지) UID_MAPS를
# /proc/PID/uid_map에, GID_MAPS를 /proc/PID/gid_map에 쓰세요. 한 파일의 모든 줄을
# 한 번의 write로 씁니다(printf '%s\n' "${UID_MAPS[@]}" > file). 권한 없는
# 런타임은 gid_map 전에 /proc/PID/setgroups에 `deny`를 씁니다.
# 읽을거리: user_namespaces(7) ("User and group ID mappings").
user_write_maps() {
	: # nothing yet
}

# TODO(ns-user): container side, after "go" (the maps are written). If id 0
# is mapped, switch to uid 0 and gid 0 inside (and drop supplementary groups):
# a process that keeps its host root credentials could still write root's
# files on the host. setpriv(1) must exec a program: exec it on this script's
# `__inside-root` entry point, which goes on with the next steps:
#   exec setpriv --reuid 0 --regid 0 --clear-groups --inh-caps=-all \
#     --pdeathsig KILL -- "$BASH" "$SELF" __inside-root "${RUN_ARGS[@]}"
# It works because user_unshare_args kept the capabilities (--keep-caps), and
# because "$SELF" is this script's descriptor (/proc/self/fd/N, see launch),
# which the new root opens whatever directory the script lies in.
# --inh-caps=-all empties the ambient set that --keep-caps filled (root inside
# gets its capabilities back at the exec anyway); changing credentials clears
# the parent-death signal, hence --pdeathsig again. Without id 0 mapped, do
# nothing. Read: setpriv(1) (--reuid, --regid, --clear-groups, --inh-caps),
# user_namespaces(7).
#
# 컨테이너 쪽, "go" 뒤(맵이 쓰여 있음). id 0이 맵에 있으면 안에서 uid 0, gid 0으로
# 바꾸고 보조 그룹을 버리세요. 호스트의 root 자격 증명을 그대로 가진 프로세스는
# 호스트에서 root의 파일을 쓸 수 있기 때문입니다. setpriv(1)은 프로그램을
# exec해야 하므로 이 스크립트의 `__inside-root` 진입점을 exec하면 다음 단계가
# 이어집니다(위의 두 줄). user_unshare_args가 capability를 지켰기(--keep-caps)
# 때문에 되고, "$SELF"가 이 스크립트의 디스크립터(/proc/self/fd/N, launch
# 참고)라서 스크립트가 어느 디렉터리에 있든 새 root가 열 수 있기 때문에 됩니다. --inh-caps=-all은 --keep-caps가 채운 ambient 집합을 비웁니다
# (안의 root는 exec 때 capability를 어차피 다시 받습니다). 자격 증명을 바꾸면
# 부모가 죽을 때의 시그널이 지워지므로 --pdeathsig를 다시 줍니다. id 0이 맵에
# 없으면 아무것도 하지 않습니다.
# 읽을거리: setpriv(1) (--reuid, --regid, --clear-groups, --inh-caps),
# user_namespaces(7).
user_become_root() {
	: # nothing yet
}

# ------------------------------------------------------------------- ns-cgroup-time
# TODO(ns-cgroup-time): host side, before the start. With `cgroup`, add the
# unshare(1) option for a new cgroup namespace (the process joined --cgroup
# NAME before: cg_join below, called from launch; so inside,
# /proc/self/cgroup shows `/`). With `time`, add the option for a new time
# namespace and the offsets (TIME_MONOTONIC, TIME_BOOTTIME). The offsets only apply to children of the
# process that made the namespace, so unshare must --fork: then what your
# ns-pid steps do for `pid` is needed for `time` too (pid_find_init: FIRST_PID
# is unshare's child; pid_become_init: an init that waits and returns
# 128+N), so make them act for `time` as well. `time` needs Linux 5.6.
# Read: unshare(1) (--cgroup, --time, --monotonic, --boottime),
# cgroup_namespaces(7), time_namespaces(7).
#
# 호스트 쪽, 시작 전. `cgroup`이 있으면 새 cgroup 네임스페이스를 만드는 unshare(1)
# 옵션을 더하세요(프로세스는 그 전에 --cgroup NAME에 들어가 있습니다: launch가
# 부르는 아래의 cg_join. 그래서 안에서는 /proc/self/cgroup이 `/`를 보여
# 줍니다). `time`이 있으면 새 time 네임스페이스 옵션과 오프셋(TIME_MONOTONIC,
# TIME_BOOTTIME)을 더하세요.
# 오프셋은 네임스페이스를 만든 프로세스의 자식에게만 적용되므로 unshare는
# --fork해야 합니다. 그러면 ns-pid 단계들이 `pid`에 하는 일이 `time`에도
# 필요하니(pid_find_init: FIRST_PID는 unshare의 자식, pid_become_init: 기다렸다가
# 128+N을 돌려주는 init), `time`일 때도 동작하게 하세요.
# `time`에는 Linux 5.6 이상이 필요합니다.
# 읽을거리: unshare(1) (--cgroup, --time, --monotonic, --boottime),
# cgroup_namespaces(7), time_namespaces(7).
cgroup_time_unshare_args() {
	: # nothing yet
}

# ------------------------------------------------------------------- ns-cgroup-time (the container's cgroup)
# TODO(ns-cgroup-time): host side, before the start, with --cgroup NAME. A
# cgroup namespace needs a cgroup of its own, so the container's cgroup comes
# with this exercise (no limits yet: the cg-* exercises write them). Call
# cg_find_parent, then create NAME in every parent directory
# (CG_PARENT_DIRS). A NAME that already exists is an error: never reuse or
# write to a cgroup you did not create. v1: a new cpuset cgroup has empty
# cpuset.cpus and cpuset.mems: fill them from the parent before anyone joins,
# or the join fails with "No space left on device" (ENOSPC). v2: nothing to
# enable yet; each limit of the cg-* exercises enables its own controller
# (+memory, +cpu, +pids, +cpuset, +io) in the parent's cgroup.subtree_control.
# Read: cgroups(7), Documentation/admin-guide/cgroup-v2.rst (kernel.org).
#
# 호스트 쪽, 시작 전, --cgroup NAME이 있을 때. cgroup 네임스페이스에는 자기
# cgroup이 있어야 하므로 컨테이너의 cgroup은 이 실습에서 만듭니다(제한은 아직
# 없습니다. cg-* 실습에서 씁니다). cg_find_parent를 부르고 모든 부모
# 디렉터리(CG_PARENT_DIRS)에 NAME을 만드세요. NAME이 이미 있으면 오류입니다.
# 여러분이 만들지 않은 cgroup은 절대 다시 쓰거나 거기에 쓰지 마세요. v1: 새
# cpuset cgroup은 cpuset.cpus와 cpuset.mems가 비어 있으니 누가 들어가기 전에
# 부모의 값으로 채우세요. 그러지 않으면 들어갈 때 "No space left on
# device"(ENOSPC)로 실패합니다. v2: 아직 켤 것은 없습니다. cg-* 실습의 제한이
# 저마다 자기 컨트롤러(+memory, +cpu, +pids, +cpuset, +io)를 부모의
# cgroup.subtree_control에서 켭니다.
# 읽을거리: cgroups(7), Documentation/admin-guide/cgroup-v2.rst (kernel.org).
cg_create() {
	: # nothing yet
}

# TODO(ns-cgroup-time): called in the launched subshell, with its own PID,
# before anything is executed: join NAME in every hierarchy (write the PID to
# cgroup.procs), so every process of the container is in the cgroup, and the
# cgroup namespace made after it has NAME as its root.
#
# 시작한 서브셸에서 자기 PID로, 무엇이든 실행하기 전에 불립니다. 모든 계층에서
# NAME에 들어가세요(cgroup.procs에 PID를 씀). 그러면 컨테이너의 모든 프로세스가
# 그 cgroup에 있고, 그 뒤에 만드는 cgroup 네임스페이스의 루트가 NAME이 됩니다.
cg_join() {
	: # nothing yet
}

# TODO(ns-cgroup-time): at the end (also after a failure once NAME exists):
# kill the processes left in NAME (v2: cgroup.kill where it exists), wait
# until cgroup.procs is empty, then rmdir NAME in every hierarchy. Only the
# directories this run made (let cg_create record them): a NAME that already
# existed made cg_create fail, and the cleanup after that failure must not
# kill or remove someone else's cgroup. A cgroup left behind is a leftover,
# and costs points.
#
# 끝에서(NAME을 만든 뒤라면 실패한 뒤에도). NAME에 남은 프로세스를 죽이고
# (v2: cgroup.kill이 있으면 그것), cgroup.procs가 빌 때까지 기다린 뒤 모든
# 계층에서 NAME을 rmdir 하세요. 단, 이 실행이 만든 디렉터리만입니다(cg_create가
# 기록해 두게 하세요). NAME이 이미 있으면 cg_create가 실패하는데, 그 실패 뒤의
# 정리가 남의 cgroup을 죽이거나 지워서는 안 됩니다. 남겨 둔 cgroup은 잔여물이고,
# 감점됩니다.
cg_remove() {
	: # nothing yet
}

# ------------------------------------------------------------------- cg-memory
# TODO(cg-memory): with --memory, the first limit on the cgroup of
# ns-cgroup-time. v2: enable +memory in the parent's cgroup.subtree_control
# if it is not listed there, then memory.max = MEMORY, memory.swap.max = 0.
# v1: memory.limit_in_bytes = MEMORY, then memory.memsw.limit_in_bytes =
# MEMORY where that file exists. Use cg_dir memory.
# Read: cgroup-v2.rst ("Memory"), cgroup-v1/memory.rst.
#
# --memory가 있을 때. ns-cgroup-time의 cgroup에 거는 첫 제한입니다. v2: 부모의
# cgroup.subtree_control에 memory가 없으면 +memory를 켜고, memory.max = MEMORY,
# memory.swap.max = 0. v1: memory.limit_in_bytes = MEMORY, 그다음 그 파일이
# 있으면 memory.memsw.limit_in_bytes = MEMORY. cg_dir memory를 쓰세요.
# 읽을거리: cgroup-v2.rst ("Memory"), cgroup-v1/memory.rst.
cg_limit_memory() {
	: # nothing yet
}

# TODO(cg-cpu): with --cpus. v2: cpu.max = "CPU_QUOTA CPU_PERIOD".
# v1: cpu.cfs_period_us and cpu.cfs_quota_us, in an order that never passes
# through an invalid pair. Read: Documentation/scheduler/sched-bwc.rst.
#
# --cpus가 있을 때. v2: cpu.max = "CPU_QUOTA CPU_PERIOD".
# v1: cpu.cfs_period_us와 cpu.cfs_quota_us를, 잘못된 쌍을 한 번도 거치지 않는
# 순서로 쓰세요. 읽을거리: Documentation/scheduler/sched-bwc.rst.
cg_limit_cpu() {
	: # nothing yet
}

# TODO(cg-guarantee): with --cpu-weight, --memory-low and --io-weight:
# guarantees, not limits. v2: cpu.weight = CPU_WEIGHT, memory.low = MEMORY_LOW,
# io.bfq.weight = IO_WEIGHT. v1: cpu.shares = CPU_WEIGHT * 1024 / 100
# (systemd's conversion; it keeps ratios), memory.soft_limit_in_bytes =
# MEMORY_LOW (another mechanism: see the lab), blkio.bfq.weight = IO_WEIGHT.
# Without the bfq weight file (BFQ not loaded), die naming --io-weight.
# Read: cgroup-v2.rst ("Weights", "Protections", "CPU", "Memory", "IO"),
# Documentation/block/bfq-iosched.rst.
#
# --cpu-weight, --memory-low, --io-weight가 있을 때: 제한이 아니라 보장입니다.
# v2: cpu.weight = CPU_WEIGHT, memory.low = MEMORY_LOW, io.bfq.weight = IO_WEIGHT.
# v1: cpu.shares = CPU_WEIGHT * 1024 / 100(systemd의 변환, 비율을 지킵니다),
# memory.soft_limit_in_bytes = MEMORY_LOW(다른 방식입니다: 실습 문서 참고),
# blkio.bfq.weight = IO_WEIGHT. bfq 가중치 파일이 없으면(BFQ가 로드되지 않음)
# --io-weight를 밝히며 die 하세요.
# 읽을거리: cgroup-v2.rst ("Weights", "Protections", "CPU", "Memory", "IO"),
# Documentation/block/bfq-iosched.rst.
cg_guarantee() {
	: # nothing yet
}

# TODO(cg-pids): with --pids. pids.max = PIDS_MAX (v1 and v2).
# Read: cgroup-v1/pids.rst, cgroup-v2.rst ("PID").
#
# --pids가 있을 때. pids.max = PIDS_MAX(v1과 v2).
# 읽을거리: cgroup-v1/pids.rst, cgroup-v2.rst ("PID").
cg_limit_pids() {
	: # nothing yet
}

# TODO(cg-cpuset): with --cpuset. cpuset.cpus = CPUSET (v1: cpuset.mems
# copied from the parent). Read: cgroup-v1/cpusets.rst, cgroup-v2.rst ("Cpuset").
#
# --cpuset이 있을 때. cpuset.cpus = CPUSET(v1: cpuset.mems는 부모에서 복사).
# 읽을거리: cgroup-v1/cpusets.rst, cgroup-v2.rst ("Cpuset").
cg_limit_cpuset() {
	: # nothing yet
}

# TODO(cg-io): with --io-wbps / --io-rbps. v2: io.max "MAJ:MIN wbps=BPS" /
# "MAJ:MIN rbps=BPS". v1: blkio.throttle.write_bps_device /
# read_bps_device "MAJ:MIN BPS". Read: cgroup-v2.rst ("IO"),
# cgroup-v1/blkio-controller.rst.
#
# --io-wbps / --io-rbps가 있을 때. v2: io.max "MAJ:MIN wbps=BPS" /
# "MAJ:MIN rbps=BPS". v1: blkio.throttle.write_bps_device / read_bps_device
# "MAJ:MIN BPS". 읽을거리: cgroup-v2.rst ("IO"), cgroup-v1/blkio-controller.rst.
cg_limit_io() {
	: # nothing yet
}

# TODO(cg-devices): with --deny-device. v1: devices.deny "c MAJ:MIN rwm".
# v2 has no device files: it needs a BPF_PROG_TYPE_CGROUP_DEVICE program,
# which bash cannot load on its own (die with a clear runtime error, or use
# bpftool). Read: cgroup-v1/devices.rst, cgroup-v2.rst ("Device controller").
#
# --deny-device가 있을 때. v1: devices.deny "c MAJ:MIN rwm".
# v2에는 장치 파일이 없고 BPF_PROG_TYPE_CGROUP_DEVICE 프로그램이 필요한데, bash는
# 혼자 그것을 올릴 수 없습니다(분명한 런타임 오류로 die 하거나 bpftool을 쓰세요).
# 읽을거리: cgroup-v1/devices.rst, cgroup-v2.rst ("Device controller").
cg_limit_devices() {
	: # nothing yet
}

# TODO(cg-net-cls): with --net-classid. v1: net_cls.classid = NET_CLASSID.
# v2 has no net_cls controller: a runtime error.
# Read: cgroup-v1/net_cls.rst, tc(8).
#
# --net-classid가 있을 때. v1: net_cls.classid = NET_CLASSID.
# v2에는 net_cls 컨트롤러가 없으니 런타임 오류입니다.
# 읽을거리: cgroup-v1/net_cls.rst, tc(8).
cg_limit_net_classid() {
	: # nothing yet
}

# ------------------------------------------------------------------- ufs-*
# TODO(ufs-layers): HOST side, after the start, before "go", with --layer.
# Mount the overlay into the container's mount namespace from here, with the
# runtime's own (host root's) privileges, on "$LAB_RT_DIR/root" (make it:
# the runtime's scratch directory, which cleanup removes; mnt_prepare_root
# takes it as NEW_ROOT on the container side). Why not on the container side:
# with --ns user, the container side is root of the new user namespace, and
# that root cannot mount it: metacopy=on is refused (EPERM), it may not create
# the work directory in a --work owned by host root, so the overlay comes up
# read-only (EROFS), and it cannot even reach "$LAB_RT_DIR". The reference
# runtime does the same (setns(2) into the child's mount namespace).
#   1. Wait until FIRST_PID is in its new mount namespace
#      (/proc/FIRST_PID/ns/mnt differs from yours, as in net_setup): unshare
#      makes it a moment after the start, and until then nsenter would mount
#      on the host.
#   2. nsenter -t "$FIRST_PID" -m -- mount --make-rprivate /  (so that the
#      overlay cannot propagate to the host even if unshare has not made its
#      mounts private yet), then
#      nsenter -t "$FIRST_PID" -m -- mount -t overlay overlay -o OPTIONS "$LAB_RT_DIR/root"
#      with OPTIONS lowerdir = the layers top-most first (LAYERS is bottom
#      first), upperdir = UPPER, workdir = WORK. nsenter -m starts at the
#      namespace's / : give absolute paths (readlink -f each one first).
#   3. On failure: abort_started "...", which kills the container and cleans up.
# The reference runtime also mounts it `volatile` and removes
# WORK/work/incompat at the end (ufs_cleanup), so the same directories can be
# used again.
# TODO(ufs-copy-up): add metacopy=on where the kernel has it
# (/sys/module/overlay/parameters/metacopy exists): a chmod copies up
# metadata only.
# TODO(ufs-whiteout), TODO(ufs-sharing): no new code: a real overlay mount
# passes them. Read about whiteouts, opaque directories and redirect_dir to
# understand what the checks observe.
# Read: mount(8) ("Mount options for overlay"), nsenter(1), setns(2),
# Documentation/filesystems/overlayfs.rst.
#
# 호스트 쪽, 시작 뒤 "go" 전, --layer가 있을 때. 런타임 자신의(호스트 root의)
# 권한으로 여기서 컨테이너의 마운트 네임스페이스 안에 overlay를 마운트하세요.
# 마운트 지점은 "$LAB_RT_DIR/root"입니다(직접 만드세요. cleanup이 지우는 런타임의
# 작업 디렉터리이고, 컨테이너 쪽에서는 mnt_prepare_root가 그것을 NEW_ROOT로
# 씁니다). 컨테이너 쪽에서 하지 않는 까닭: --ns user가 있으면 컨테이너 쪽은 새
# user 네임스페이스의 root이고, 그 root는 overlay를 마운트하지 못합니다.
# metacopy=on은 거부되고(EPERM), 호스트 root 소유의 --work 안에 work 디렉터리를
# 만들 수 없어서 overlay가 읽기 전용(EROFS)으로 올라오며, "$LAB_RT_DIR"에 닿지도
# 못합니다. 참조 런타임도 이렇게 합니다(자식의 마운트 네임스페이스로 setns(2)).
#   1. FIRST_PID가 새 마운트 네임스페이스에 들어갈 때까지 기다리세요
#      (net_setup처럼 /proc/FIRST_PID/ns/mnt가 내 것과 달라질 때까지). unshare는
#      시작하고 조금 뒤에 네임스페이스를 만들고, 그 전에는 nsenter가 호스트에
#      마운트합니다.
#   2. nsenter -t "$FIRST_PID" -m -- mount --make-rprivate / (unshare가 아직
#      마운트를 private으로 바꾸지 않았어도 overlay가 호스트로 전파되지 않게),
#      그다음 위의 nsenter ... mount -t overlay 줄입니다. OPTIONS의 lowerdir은
#      레이어를 맨 위부터(LAYERS는 맨 아래부터입니다), upperdir은 UPPER, workdir은
#      WORK입니다. nsenter -m은 네임스페이스의 /에서 시작하니 절대 경로를 주세요
#      (먼저 각각 readlink -f).
#   3. 실패하면 abort_started "..."를 부르세요. 컨테이너를 죽이고 정리합니다.
# 참조 런타임은 `volatile`로도 마운트하고 끝에 WORK/work/incompat을
# 지웁니다(ufs_cleanup). 그래야 같은 디렉터리를 다시 쓸 수 있습니다.
# ufs-copy-up: 커널에 있으면(/sys/module/overlay/parameters/metacopy가 있으면)
# metacopy=on을 더하세요. 그러면 chmod는 메타데이터만 copy-up합니다.
# ufs-whiteout, ufs-sharing: 새 코드는 없습니다. 진짜 overlay 마운트면 통과합니다.
# 읽을거리: mount(8) ("Mount options for overlay"), nsenter(1), setns(2),
# Documentation/filesystems/overlayfs.rst.
ufs_mount_overlay() {
	: # nothing yet
}

# TODO(ufs-images): host side, before anything else, with --layer-tar. For each
# tarball of LAYER_TARS (bottom first): HEX=$(sha256sum < TAR | cut -d' ' -f1);
# unless LAYER_STORE/sha256/HEX exists, unpack it to a temporary directory
# (tar -xf, as root: owners and modes kept), turn every `.wh.NAME` into a
# whiteout for NAME (rm it, then `mknod NAME c 0 0`) and every `.wh..wh..opq`
# into `setfattr -n trusted.overlay.opaque -v y DIR` (remove the markers), then
# rename it to LAYER_STORE/sha256/HEX. Append each HEX directory to LAYERS
# (the given code passes them to the container side as --layer options).
# Unpack into a temporary directory inside LAYER_STORE (mktemp -d
# "$LAYER_STORE/tmp.XXXXXX": rename(2) needs the same file system) and remove
# it if anything fails: a failed run leaves nothing behind. Refuse a tarball
# with an absolute path or `..` (tar -t lists them). setfattr(1) comes in the
# `attr` package.
# Read: the OCI image spec, layer.md ("Whiteouts"), setfattr(1).
#
# 호스트 쪽, 다른 무엇보다 먼저, --layer-tar가 있을 때. LAYER_TARS의 tarball마다
# (맨 아래부터) HEX=$(sha256sum < TAR | cut -d' ' -f1)을 구하고,
# LAYER_STORE/sha256/HEX가 없으면 임시 디렉터리에 풀고(tar -xf, root로: 소유자와
# 모드 유지), `.wh.NAME`마다 NAME의 whiteout으로 바꾸고(지운 뒤 `mknod NAME c 0 0`),
# `.wh..wh..opq`마다 `setfattr -n trusted.overlay.opaque -v y DIR`로 바꾼 뒤
# (표시 파일은 지움) LAYER_STORE/sha256/HEX로 이름을 바꾸세요. HEX 디렉터리는
# 모두 LAYERS에 더합니다(주어진 코드가 --layer 옵션으로 컨테이너 쪽에
# 넘깁니다). 임시 디렉터리는 LAYER_STORE 안에 만들고(mktemp -d
# "$LAYER_STORE/tmp.XXXXXX": rename(2)은 같은 파일 시스템이어야 합니다) 무엇이든
# 실패하면 지우세요. 실패한 실행도 아무것도 남기지 않습니다. 절대 경로나 `..`가
# 든 tarball은 거부하세요(tar -t로 볼 수 있습니다). setfattr(1)은 `attr`
# 패키지에 있습니다.
# 읽을거리: OCI image spec의 layer.md ("Whiteouts"), setfattr(1).
ufs_unpack_layer_tars() {
	: # nothing yet
}

# TODO(ufs-layers): host side, at the end: remove WORK/work/incompat if your
# mount left it (volatile), so the directories can be used again.
#
# 호스트 쪽, 끝에서: 마운트(volatile)가 WORK/work/incompat을 남겼으면 지우세요.
# 그래야 같은 디렉터리를 다시 쓸 수 있습니다.
ufs_cleanup() {
	: # nothing yet
}

# ------------------------------------------------------------------- cg-freezer, cg-monitoring
# TODO(cg-freezer): `pause NAME`: cg_find_parent, then freeze NAME. v2: write 1
# to cgroup.freeze and wait until cgroup.events shows `frozen 1`. v1: write
# FROZEN to freezer.state and wait until it reads FROZEN. `resume NAME`: v2
# cgroup.freeze = 0, v1 THAWED. A missing NAME is `runtime error: pause NAME:
# no such cgroup` (125). Read: cgroup-v2.rst ("Core Interface Files":
# cgroup.freeze), cgroup-v1/freezer-subsystem.rst.
#
# `pause NAME`: cg_find_parent를 부른 뒤 NAME을 얼리세요. v2: cgroup.freeze에
# 1을 쓰고 cgroup.events가 `frozen 1`을 보일 때까지 기다립니다. v1: freezer.state에
# FROZEN을 쓰고 FROZEN으로 읽힐 때까지 기다립니다. `resume NAME`: v2는
# cgroup.freeze = 0, v1은 THAWED. NAME이 없으면 `runtime error: pause NAME: no such
# cgroup`(125)입니다. 읽을거리: cgroup-v2.rst ("Core Interface Files":
# cgroup.freeze), cgroup-v1/freezer-subsystem.rst.
cmd_pause() {
	check_name_args pause "$@"
	die "pause $1: not implemented (TODO cg-freezer)"
}

# TODO(cg-freezer): `resume NAME`, the other half of cmd_pause's text above.
#
# `resume NAME`: 위 cmd_pause 설명의 나머지 절반입니다.
cmd_resume() {
	check_name_args resume "$@"
	die "resume $1: not implemented (TODO cg-freezer)"
}

# TODO(cg-monitoring): `stats NAME`: print ONE line of JSON with the fourteen
# keys of CONTRACT.md section 3 (name, cgroup_version, memory_current_bytes,
# memory_peak_bytes, cpu_usage_usec, cpu_nr_periods, cpu_nr_throttled,
# cpu_throttled_usec, pids_current, oom_kills, memory_max_bytes, pids_max,
# io_read_bytes, io_write_bytes), each an integer or null when the file is
# missing (a limit of "max" is null too). Read: cgroup-v2.rst (memory.current,
# memory.peak, memory.max, cpu.stat, pids.current, pids.max, memory.events,
# io.stat), cgroup-v1/memory.rst, cgroup-v1/blkio-controller.rst.
#
# `stats NAME`: CONTRACT.ko.md 3절의 열네 키(name, cgroup_version,
# memory_current_bytes, memory_peak_bytes, cpu_usage_usec, cpu_nr_periods,
# cpu_nr_throttled, cpu_throttled_usec, pids_current, oom_kills, memory_max_bytes,
# pids_max, io_read_bytes, io_write_bytes)를 가진 JSON 한 줄을 출력하세요. 각 값은
# 정수이고, 파일이 없으면 null입니다("max"인 제한도 null). 읽을거리:
# cgroup-v2.rst (memory.current, memory.peak, memory.max, cpu.stat, pids.current,
# pids.max, memory.events, io.stat), cgroup-v1/memory.rst,
# cgroup-v1/blkio-controller.rst.
cmd_stats() {
	check_name_args stats "$@"
	die "stats $1: not implemented (TODO cg-monitoring)"
}

check_name_args() { # VERB ARGS...: exactly one valid NAME
	local verb=$1
	shift
	[ $# -eq 1 ] || die "$verb: expected exactly one NAME, got $# arguments"
	check_cgroup_name "$verb" "$1"
}

# ===================================================================== host side (given)

# Sets the limits, one step per limit (each does nothing until it is done).
cg_set_limits() {
	[ -n "$CGROUP" ] || return 0
	[ -n "$MEMORY" ] && cg_limit_memory
	[ -n "$CPU_QUOTA" ] && cg_limit_cpu
	[ -n "$CPU_WEIGHT$MEMORY_LOW$IO_WEIGHT" ] && cg_guarantee
	[ -n "$PIDS_MAX" ] && cg_limit_pids
	[ -n "$CPUSET" ] && cg_limit_cpuset
	[ ${#IO_WBPS[@]} -gt 0 ] || [ ${#IO_RBPS[@]} -gt 0 ] && cg_limit_io
	[ ${#DENY_DEVICES[@]} -gt 0 ] && cg_limit_devices
	[ -n "$NET_CLASSID" ] && cg_limit_net_classid
	return 0
}

# Starts the container side in the background: CHILD is its host PID.
launch() {
	local -a pre=()
	if command -v setpriv >/dev/null; then
		pre=(setpriv --pdeathsig KILL --) # if the runtime dies, the container is killed
	fi
	if [ ${#UNSHARE_ARGS[@]} -gt 0 ]; then
		pre+=(unshare "${UNSHARE_ARGS[@]}" --)
	fi
	# The script goes as a descriptor of its own (see SELF at the top), open
	# until exec_command closes it: the container side never needs its path.
	local self_fd
	exec {self_fd}<"$SELF" || die "$SELF: cannot open this script"
	(
		trap - INT QUIT # undo bash's "background commands ignore SIGINT"
		exec {GO_FD}>&- # the container only reads the FIFO, by its path
		if [ -n "$CGROUP" ]; then cg_join "$BASHPID"; fi
		exec "${pre[@]}" "$BASH" "/proc/self/fd/$self_fd" __inside "${RUN_ARGS[@]}"
		rt_error "starting the container: ${pre[0]:-$BASH}: exec failed"
		exit 125
	) 0<&0 &
	CHILD=$!
	FIRST_PID=$CHILD
	exec {self_fd}<&- # the host side reads nothing more from it
}

forward() { # SIGNAL: forward to the container's first process
	GOT_SIGNAL=1
	kill -s "$1" "$FIRST_PID" 2>/dev/null
}

cleanup() {
	CLEANUP_ARMED=''
	net_cleanup
	[ -n "$CGROUP" ] && cg_remove
	[ ${#LAYERS[@]} -gt 0 ] && ufs_cleanup
	# --one-file-system: should a mount of the container ever be visible here,
	# rm skips it rather than deleting what is mounted there.
	[ -n "${LAB_RT_DIR:-}" ] && rm -rf --one-file-system -- "$LAB_RT_DIR"
	return 0
}

# After the start, before "go": a failure kills what was started.
abort_started() {
	rt_error "$*"
	kill -s KILL "$FIRST_PID" "$CHILD" 2>/dev/null
	wait "$CHILD" 2>/dev/null
	cleanup
	exit 125
}

cmd_run() {
	parse_run_args "$@"
	local given_layers=${#LAYERS[@]}
	validate_run
	# The container side parses these options again: the layers that
	# ufs_unpack_layer_tars appended on this side go with them, as --layer
	# options above the given ones (LAYERS is bottom first).
	local -a opts=("${@:1:$# - ${#CMD[@]}}") extra=()
	[ "${opts[-1]:-}" = -- ] && unset 'opts[-1]'
	local l
	for l in "${LAYERS[@]:given_layers}"; do extra+=(--layer "$l"); done
	RUN_ARGS=("${opts[@]}" "${extra[@]}" -- "${CMD[@]}")
	VETH_CREATED='' # set by net_setup once it made the pair: cleanup deletes only that

	# A scratch directory with the "go" FIFO: the container side waits on it
	# until the host side has done its part. Opened read-write here, so that
	# neither side ever blocks on open(2).
	LAB_RT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/runtime-sh.XXXXXX") || die "mktemp: cannot create a scratch directory"
	# Searchable by all (not listable): root of a user namespace is "others"
	# here and must still reach the overlay mounted on $LAB_RT_DIR/root. The
	# FIFO stays the host's alone (mode 600).
	chmod 711 "$LAB_RT_DIR" || die "chmod 711 $LAB_RT_DIR failed"
	export LAB_RT_DIR
	CLEANUP_ARMED=1
	mkfifo -m 600 "$LAB_RT_DIR/go" || die "mkfifo $LAB_RT_DIR/go failed"
	exec {GO_FD}<>"$LAB_RT_DIR/go"

	# Before the start.
	if [ -n "$CGROUP" ]; then cg_create; fi
	cg_set_limits
	UNSHARE_ARGS=()
	pid_unshare_args
	uts_unshare_args
	mnt_unshare_args
	ipc_unshare_args
	net_unshare_args
	user_unshare_args
	cgroup_time_unshare_args

	launch
	trap 'forward TERM' TERM
	trap 'forward INT' INT
	trap 'forward HUP' HUP

	# After the start, before the command runs.
	pid_find_init
	user_write_maps
	if [ ${#LAYERS[@]} -gt 0 ]; then ufs_mount_overlay; fi
	net_setup
	if [ -n "$PID_FILE" ]; then
		printf '%s\n' "$FIRST_PID" >"$PID_FILE" || abort_started "--pid-file $PID_FILE: cannot write it"
	fi
	printf 'go\n' >&"$GO_FD"

	# Wait for the end; a trapped signal interrupts `wait`, so wait again.
	local st
	while :; do
		GOT_SIGNAL=''
		wait "$CHILD" 2>/dev/null # no "Killed" job notice on stderr
		st=$?
		[ -n "$GOT_SIGNAL" ] || break
	done
	exec {GO_FD}>&-
	cleanup
	exit "$st"
}

# ===================================================================== container side (given)

# `__inside ARGS`: run by `launch` (through unshare when namespaces are asked
# for). ARGS are the options of `run` again, already validated.
cmd_inside() {
	parse_run_args "$@"
	RUN_ARGS=("$@")
	local go
	read -r go <"$LAB_RT_DIR/go" || :
	[ "$go" = go ] || { rt_error "the runtime went away before the start"; exit 125; }
	user_become_root
	inside_rest
}

# `__inside-root ARGS`: where user_become_root's setpriv comes back.
cmd_inside_root() {
	parse_run_args "$@"
	RUN_ARGS=("$@")
	inside_rest
}

inside_rest() {
	sec_close_fds
	uts_set_hostname
	pid_become_init # with `pid`, once done: PID 1 runs the next function in a child
	container_setup_and_exec
}

container_setup_and_exec() {
	if has_ns mnt; then
		mnt_make_private
		mnt_prepare_root
		if [ -n "$NEW_ROOT" ]; then
			mnt_populate_root
			mnt_pivot_root
		fi
	fi
	exec_command "${CMD[@]}"
}

# Life after pivot_root: the host's tools through the old root.
#
# old_root_tool_prepare TOOL: before the pivot, while the host's files are
# reachable, remembers TOOL's real path, the dynamic loader it needs and the
# directories of its libraries (ldd(1)). After the pivot, paths are looked up
# in the new root, which need not hold any of them (a busybox or probe-only
# root file system), and the loader's usual path (/lib64/ld-linux-x86-64.so.2
# on Debian) is an absolute symlink that would resolve there: hence
# readlink -f now. A statically linked TOOL needs no loader.
old_root_tool_prepare() {
	local path dirs='' loader=''
	path=$(type -P -- "$1") || die "$1: not found on the host (needed after pivot_root)"
	path=$(readlink -f -- "$path")
	local kind lib
	while read -r kind lib; do
		lib=$(readlink -f -- "$lib")
		if [ "$kind" = loader ]; then
			loader=$lib
		elif [[ ":$dirs:" != *":${lib%/*}:"* ]]; then
			dirs+=${dirs:+:}${lib%/*}
		fi
	done < <(ldd "$path" 2>/dev/null | awk '$1 ~ /^\// {print "loader", $1} $2 == "=>" && $3 ~ /^\// {print "lib", $3}')
	declare -gA OLD_ROOT_TOOL OLD_ROOT_LOADER OLD_ROOT_LIBS
	OLD_ROOT_TOOL[$1]=$path OLD_ROOT_LOADER[$1]=$loader OLD_ROOT_LIBS[$1]=$dirs
}

# old_root_tool OLD TOOL ARGS...: after the pivot, runs the host's TOOL (made
# ready by old_root_tool_prepare) from the old root, reached as OLD (for
# example /proc/self/fd/N, a descriptor of the old / opened before the pivot),
# through the host's loader and libraries (ld.so(8) --library-path).
old_root_tool() {
	local old=$1 tool=$2 lp='' d
	shift 2
	local -a libdirs=()
	IFS=: read -r -a libdirs <<<"${OLD_ROOT_LIBS[$tool]}"
	for d in "${libdirs[@]}"; do lp+=${lp:+:}$old$d; done
	if [ -n "${OLD_ROOT_LOADER[$tool]}" ]; then
		"$old${OLD_ROOT_LOADER[$tool]}" --library-path "$lp" "$old${OLD_ROOT_TOOL[$tool]}" "$@"
	else
		"$old${OLD_ROOT_TOOL[$tool]}" "$@"
	fi
}

# Executes COMMAND: 127 if it is not found, 126 if it cannot be executed.
exec_command() {
	local cmd=$1 path
	unset LAB_RT_DIR
	# The script's descriptor (see launch) is the runtime's, never COMMAND's.
	if [ -n "$SELF_FD" ]; then exec {SELF_FD}<&-; fi
	if [[ $cmd == */* ]]; then path=$cmd; else path=$(type -P -- "$cmd") || path=''; fi
	if [ -z "$path" ] || [ ! -e "$path" ]; then
		rt_error "$cmd: No such file or directory (ENOENT)"
		exit 127
	fi
	if [ -d "$path" ] || [ ! -x "$path" ]; then
		rt_error "$cmd: Permission denied (EACCES)"
		exit 126
	fi
	exec "$@"
	rt_error "$cmd: cannot be executed (ENOEXEC or EACCES)"
	exit 126
}

# ===================================================================== main

main() {
	[ $# -gt 0 ] || die "missing subcommand: run, pause, resume or stats (see --help)"
	local sub=$1
	shift
	case $sub in
	run) cmd_run "$@" ;;
	pause) cmd_pause "$@" ;;
	resume) cmd_resume "$@" ;;
	stats) cmd_stats "$@" ;;
	__inside) cmd_inside "$@" ;;
	__inside-root) cmd_inside_root "$@" ;;
	-h | --help | help) usage; exit 0 ;;
	*) die "unknown subcommand \"$sub\" (run, pause, resume or stats)" ;;
	esac
}

main "$@"
