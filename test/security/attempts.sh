# The escape attempts, one line each: "@@ KEY escaped|blocked|skip DETAIL".
# Run as PID 1 of the container (test/security/escape.test.ts), by busybox sh.
# Arguments: DISK (MAJOR MINOR of the host root's device) HANDLE (the host root's file
# handle, or -) MARKER (a host file, as a path from the host's root) PID WORD (a host
# process and a word of its command line). /esc/esc is the helper (escape-helper.c), if built.
# A write that succeeds writes back the value just read: nothing changes on the host.
set -f # the helper's words are printed unquoted: no globbing
maj=$1 min=$2 handle=$3 marker=$4 hostpid=$5 word=$6
say() { k=$1 w=$2; shift 2; echo "@@ $k $w $*"; }
err() { tr '\n' ' ' < /dev/shm/err | sed 's/ *$//'; }
try() { # KEY COMMAND...: escaped when COMMAND succeeds
  key=$1; shift
  if ( "$@" ) > /dev/shm/out 2> /dev/shm/err; then say "$key" escaped "$(head -c 80 /dev/shm/out | tr '\n' ' ')"; else say "$key" blocked "$(err)"; fi
}
helper() { # KEY ARGS...: the helper's own verdict
  if [ -x /esc/esc ]; then say "$1" $(shift; /esc/esc "$@" 2>&1); else say "$1" skip "no helper binary (gcc was not found when the test ran)"; fi
}
mkdir -p /dev/shm/esc

if [ -e /proc/sysrq-trigger ]; then try sysrq sh -c 'exec 3> /proc/sysrq-trigger'; else say sysrq skip "no /proc/sysrq-trigger (the kernel has none: CONFIG_MAGIC_SYSRQ)"; fi
try sysctl sh -c 'v=$(cat /proc/sys/kernel/panic) && echo "$v" > /proc/sys/kernel/panic'
try sys-rw mount -o remount,rw /sys
try tmpfs sh -c 'mkdir -p /dev/shm/esc/t && mount -t tmpfs none /dev/shm/esc/t'
try cgroupfs sh -c 'mkdir -p /dev/shm/esc/cg && { mount -t cgroup2 none /dev/shm/esc/cg 2>/dev/null || mount -t cgroup -o pids none /dev/shm/esc/cg; }'
try disk sh -c "mknod /dev/esc-disk b $maj $min && test \$(head -c 512 /dev/esc-disk | wc -c) = 512"
try mem sh -c 'mknod /dev/esc-mem c 1 1 && test $(head -c 1 /dev/esc-mem | wc -c) = 1'
try unshare-U unshare -U true
try unshare-m unshare -m true
helper clock clock
if [ -e /proc/kcore ]; then try kcore sh -c 'test $(head -c 1 /proc/kcore | wc -c) = 1'; else say kcore skip "no /proc/kcore in the container's /proc (the kernel has none: CONFIG_PROC_KCORE)"; fi
helper ptrace ptrace "$hostpid" "$word"
if [ "$handle" = - ]; then say handle skip "no file handle of the host's root"; else helper handle obh "$handle" "$marker"; fi
helper chroot chroot /dev/shm/esc/jail "/$marker"
try core_pattern sh -c 'v=$(cat /proc/sys/kernel/core_pattern) && echo "$v" > /proc/sys/kernel/core_pattern'
helper map_files mapfiles
helper pidfd_getfd getfd
# Leave the container's cgroup: into the root of each of its cgroup trees, mounted anew
# (cgroup2, or a v1 hierarchy by its controllers) or as the container finds it mounted.
try cgroup-leave sh -c '
  before=$(cat /proc/self/cgroup)
  i=0
  for ctrls in $(sed "s/^[0-9]*:\([^:]*\):.*/\1/; s/^$/-/" /proc/self/cgroup); do
    i=$((i + 1)); mkdir -p /dev/shm/esc/leave$i
    if [ "$ctrls" = - ]; then mount -t cgroup2 none /dev/shm/esc/leave$i; else mount -t cgroup -o "$ctrls" none /dev/shm/esc/leave$i; fi
  done 2>/dev/null
  for d in $(awk "\$3 == \"cgroup\" || \$3 == \"cgroup2\" { print \$2 }" /proc/mounts); do echo $$ > $d/cgroup.procs; done
  test "$(cat /proc/self/cgroup)" != "$before" || { echo "still in its cgroups" >&2; exit 1; }'
