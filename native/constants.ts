// native/constants.ts — Linux constants used by ctr, by their C names.
//
// Plain numbers (bigint where a value does not fit in 53 bits) taken from the kernel's
// uapi headers and glibc. Nothing here loads koffi: importing this file is free.
// Values are the same on x86_64 and aarch64 unless `ARCH` is consulted below
// (a few O_* flags and all syscall numbers differ).
//
// The `*_FLAGS` / `*_NAMES` tables at the end feed `flagNames()` / `enumName()` in
// native/format.ts, so `--trace`, error messages and `ctr explain` render
// `CLONE_NEWUTS|CLONE_NEWPID` the same way everywhere.

/** "x64" | "arm64" | other — the architecture the tables below were chosen for. */
export const ARCH: string = process.arch;
const ARM64 = ARCH === "arm64";

// ---------------------------------------------------------------------------
// Namespaces: clone(2) / unshare(2) / setns(2) flags (linux/sched.h)
export const CLONE_VM = 0x00000100;
export const CLONE_FS = 0x00000200;
export const CLONE_FILES = 0x00000400;
export const CLONE_SIGHAND = 0x00000800;
export const CLONE_PIDFD = 0x00001000;
export const CLONE_PTRACE = 0x00002000;
export const CLONE_VFORK = 0x00004000;
export const CLONE_PARENT = 0x00008000;
export const CLONE_THREAD = 0x00010000;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_SYSVSEM = 0x00040000;
export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

// ---------------------------------------------------------------------------
// mount(2) flags (linux/mount.h)
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_SILENT = 32768;
export const MS_POSIXACL = 1 << 16;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_KERNMOUNT = 1 << 22;
export const MS_I_VERSION = 1 << 23;
export const MS_STRICTATIME = 1 << 24;
export const MS_LAZYTIME = 1 << 25;

// umount2(2) flags
export const MNT_FORCE = 1;
export const MNT_DETACH = 2;
export const MNT_EXPIRE = 4;
export const UMOUNT_NOFOLLOW = 8;

// ---------------------------------------------------------------------------
// prctl(2) options (linux/prctl.h)
export const PR_SET_PDEATHSIG = 1;
export const PR_GET_PDEATHSIG = 2;
export const PR_GET_DUMPABLE = 3;
export const PR_SET_DUMPABLE = 4;
export const PR_GET_KEEPCAPS = 7;
export const PR_SET_KEEPCAPS = 8;
export const PR_SET_NAME = 15;
export const PR_GET_NAME = 16;
export const PR_GET_SECCOMP = 21;
export const PR_SET_SECCOMP = 22;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_GET_SECUREBITS = 27;
export const PR_SET_SECUREBITS = 28;
export const PR_SET_CHILD_SUBREAPER = 36;
export const PR_GET_CHILD_SUBREAPER = 37;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_GET_NO_NEW_PRIVS = 39;
export const PR_CAP_AMBIENT = 47;
// second argument of PR_CAP_AMBIENT
export const PR_CAP_AMBIENT_IS_SET = 1;
export const PR_CAP_AMBIENT_RAISE = 2;
export const PR_CAP_AMBIENT_LOWER = 3;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

// ---------------------------------------------------------------------------
// setrlimit(2) resources (asm-generic/resource.h; same on x86_64 and aarch64)
export const RLIMIT_CPU = 0;
export const RLIMIT_FSIZE = 1;
export const RLIMIT_DATA = 2;
export const RLIMIT_STACK = 3;
export const RLIMIT_CORE = 4;
export const RLIMIT_RSS = 5;
export const RLIMIT_NPROC = 6;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_AS = 9;
export const RLIMIT_LOCKS = 10;
export const RLIMIT_SIGPENDING = 11;
export const RLIMIT_MSGQUEUE = 12;
export const RLIMIT_NICE = 13;
export const RLIMIT_RTPRIO = 14;
export const RLIMIT_RTTIME = 15;
/** "no limit" for setrlimit/getrlimit (all ones, 64 bits). */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

// ---------------------------------------------------------------------------
// Signals (same numbers on x86_64 and aarch64)
export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGUSR1 = 10;
export const SIGSEGV = 11;
export const SIGUSR2 = 12;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGSTKFLT = 16;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const SIGTSTP = 20;
export const SIGTTIN = 21;
export const SIGTTOU = 22;
export const SIGURG = 23;
export const SIGXCPU = 24;
export const SIGXFSZ = 25;
export const SIGVTALRM = 26;
export const SIGPROF = 27;
export const SIGWINCH = 28;
export const SIGIO = 29;
export const SIGPWR = 30;
export const SIGSYS = 31;

// ---------------------------------------------------------------------------
// open(2) flags. O_DIRECTORY, O_NOFOLLOW, O_DIRECT, O_LARGEFILE differ on aarch64.
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_ASYNC = 0o20000;
export const O_DIRECT = ARM64 ? 0o200000 : 0o40000;
export const O_LARGEFILE = ARM64 ? 0o400000 : 0o100000;
export const O_DIRECTORY = ARM64 ? 0o40000 : 0o200000;
export const O_NOFOLLOW = ARM64 ? 0o100000 : 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_SYNC = 0o4010000;
export const O_PATH = 0o10000000;
export const O_TMPFILE = 0o20000000 | O_DIRECTORY;

/** dirfd meaning "the current directory" for the *at() calls. */
export const AT_FDCWD = -100;
// Flags of the *at() calls (fcntl.h): the same values on every architecture.
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_NO_AUTOMOUNT = 0x800;
export const AT_EMPTY_PATH = 0x1000;
// statx(2) mask bits (linux/stat.h).
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_MNT_ID = 0x1000;

// ---------------------------------------------------------------------------
// File types and permission bits for mknod(2) (sys/stat.h)
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

// ---------------------------------------------------------------------------
// waitpid(2) options
export const WNOHANG = 1;
export const WUNTRACED = 2;
export const WCONTINUED = 8;
// waitid(2) options and id types
export const WSTOPPED = 2;
export const WEXITED = 4;
export const WNOWAIT = 0x01000000;
export const P_ALL = 0;
export const P_PID = 1;
export const P_PGID = 2;
export const P_PIDFD = 3;
// si_code values of a SIGCHLD siginfo (waitid)
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;
export const CLD_DUMPED = 3;
export const CLD_TRAPPED = 4;
export const CLD_STOPPED = 5;
export const CLD_CONTINUED = 6;
export const __WNOTHREAD = 0x20000000;
export const __WALL = 0x40000000;
export const __WCLONE = 0x80000000 | 0; // negative as a C int

// ---------------------------------------------------------------------------
// fcntl(2)
export const F_DUPFD = 0;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_DUPFD_CLOEXEC = 1030;
export const FD_CLOEXEC = 1;

// flock(2)
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

// ---------------------------------------------------------------------------
// Sockets (socketpair for the init pipe; netlink for `net`)
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const NETLINK_ROUTE = 0;
export const MSG_DONTWAIT = 0x40;
export const MSG_PEEK = 0x02;
export const MSG_TRUNC = 0x20;

// ---------------------------------------------------------------------------
// Terminal ioctls (asm-generic/ioctls.h; same on x86_64 and aarch64)
export const TIOCSCTTY = 0x540e;
export const TIOCNOTTY = 0x5422;
export const TIOCGWINSZ = 0x5413;
export const TIOCSWINSZ = 0x5414;
export const TIOCSPTLCK = 0x40045431;
export const TIOCGPTN = 0x80045430;

// ---------------------------------------------------------------------------
// Capabilities (linux/capability.h)
export const CAP_CHOWN = 0;
export const CAP_DAC_OVERRIDE = 1;
export const CAP_DAC_READ_SEARCH = 2;
export const CAP_FOWNER = 3;
export const CAP_FSETID = 4;
export const CAP_KILL = 5;
export const CAP_SETGID = 6;
export const CAP_SETUID = 7;
export const CAP_SETPCAP = 8;
export const CAP_LINUX_IMMUTABLE = 9;
export const CAP_NET_BIND_SERVICE = 10;
export const CAP_NET_BROADCAST = 11;
export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;
export const CAP_IPC_LOCK = 14;
export const CAP_IPC_OWNER = 15;
export const CAP_SYS_MODULE = 16;
export const CAP_SYS_RAWIO = 17;
export const CAP_SYS_CHROOT = 18;
export const CAP_SYS_PTRACE = 19;
export const CAP_SYS_PACCT = 20;
export const CAP_SYS_ADMIN = 21;
export const CAP_SYS_BOOT = 22;
export const CAP_SYS_NICE = 23;
export const CAP_SYS_RESOURCE = 24;
export const CAP_SYS_TIME = 25;
export const CAP_SYS_TTY_CONFIG = 26;
export const CAP_MKNOD = 27;
export const CAP_LEASE = 28;
export const CAP_AUDIT_WRITE = 29;
export const CAP_AUDIT_CONTROL = 30;
export const CAP_SETFCAP = 31;
export const CAP_MAC_OVERRIDE = 32;
export const CAP_MAC_ADMIN = 33;
export const CAP_SYSLOG = 34;
export const CAP_WAKE_ALARM = 35;
export const CAP_BLOCK_SUSPEND = 36;
export const CAP_AUDIT_READ = 37;
export const CAP_PERFMON = 38;
export const CAP_BPF = 39;
export const CAP_CHECKPOINT_RESTORE = 40;
/** Highest capability this file knows. The running kernel's is /proc/sys/kernel/cap_last_cap. */
export const CAP_LAST_CAP = 40;
/** capget/capset header version (64-bit sets, two u32 words per set). */
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

// ---------------------------------------------------------------------------
// seccomp(2) (linux/seccomp.h, linux/audit.h). Filter *contents* are the runtime's job.
export const SECCOMP_MODE_STRICT = 1;
export const SECCOMP_MODE_FILTER = 2;
export const SECCOMP_SET_MODE_STRICT = 0;
export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_FILTER_FLAG_TSYNC = 1;
export const SECCOMP_FILTER_FLAG_LOG = 2;
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
/** AUDIT_ARCH_* of this machine (what seccomp_data.arch holds), 0 if unknown. */
export const AUDIT_ARCH: number = ARCH === "x64" ? AUDIT_ARCH_X86_64 : ARM64 ? AUDIT_ARCH_AARCH64 : 0;

// ---------------------------------------------------------------------------
// Syscall numbers for the calls glibc does not wrap (or wraps only in recent versions).
// x86_64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64: asm-generic/unistd.h.
// From 424 on (pidfd_open, the new mount API, openat2) the numbers are the same on every architecture.
const SYS_COMMON = { pidfd_send_signal: 424, open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, pidfd_open: 434, openat2: 437, mount_setattr: 442 } as const;
const SYS_X64 = { pivot_root: 155, gettid: 186, mknodat: 259, seccomp: 317, bpf: 321, ...SYS_COMMON } as const;
const SYS_ARM64 = { pivot_root: 41, gettid: 178, mknodat: 33, seccomp: 277, bpf: 280, ...SYS_COMMON } as const;
export type SyscallName = keyof typeof SYS_X64;
/** Syscall numbers for this architecture; undefined members on unsupported ones. */
export const SYS: Partial<Record<SyscallName, number>> =
  ARCH === "x64" ? SYS_X64 : ARM64 ? SYS_ARM64 : {};

// ===========================================================================
// Name tables: value -> symbolic name, in rendering order (ascending bit).
// A FlagTable is an ordered list of [name, value]; used by flagNames()/enumName().
export type FlagTable = ReadonlyArray<readonly [string, number]>;

/** Namespace and other unshare(2)/setns(2) flags. */
export const CLONE_FLAGS: FlagTable = [
  ["CLONE_NEWTIME", CLONE_NEWTIME],
  ["CLONE_VM", CLONE_VM],
  ["CLONE_FS", CLONE_FS],
  ["CLONE_FILES", CLONE_FILES],
  ["CLONE_SIGHAND", CLONE_SIGHAND],
  ["CLONE_PIDFD", CLONE_PIDFD],
  ["CLONE_PTRACE", CLONE_PTRACE],
  ["CLONE_VFORK", CLONE_VFORK],
  ["CLONE_PARENT", CLONE_PARENT],
  ["CLONE_THREAD", CLONE_THREAD],
  ["CLONE_NEWNS", CLONE_NEWNS],
  ["CLONE_SYSVSEM", CLONE_SYSVSEM],
  ["CLONE_NEWCGROUP", CLONE_NEWCGROUP],
  ["CLONE_NEWUTS", CLONE_NEWUTS],
  ["CLONE_NEWIPC", CLONE_NEWIPC],
  ["CLONE_NEWUSER", CLONE_NEWUSER],
  ["CLONE_NEWPID", CLONE_NEWPID],
  ["CLONE_NEWNET", CLONE_NEWNET],
];

/** mount(2) flags. */
export const MOUNT_FLAGS: FlagTable = [
  ["MS_RDONLY", MS_RDONLY],
  ["MS_NOSUID", MS_NOSUID],
  ["MS_NODEV", MS_NODEV],
  ["MS_NOEXEC", MS_NOEXEC],
  ["MS_SYNCHRONOUS", MS_SYNCHRONOUS],
  ["MS_REMOUNT", MS_REMOUNT],
  ["MS_MANDLOCK", MS_MANDLOCK],
  ["MS_DIRSYNC", MS_DIRSYNC],
  ["MS_NOSYMFOLLOW", MS_NOSYMFOLLOW],
  ["MS_NOATIME", MS_NOATIME],
  ["MS_NODIRATIME", MS_NODIRATIME],
  ["MS_BIND", MS_BIND],
  ["MS_MOVE", MS_MOVE],
  ["MS_REC", MS_REC],
  ["MS_SILENT", MS_SILENT],
  ["MS_POSIXACL", MS_POSIXACL],
  ["MS_UNBINDABLE", MS_UNBINDABLE],
  ["MS_PRIVATE", MS_PRIVATE],
  ["MS_SLAVE", MS_SLAVE],
  ["MS_SHARED", MS_SHARED],
  ["MS_RELATIME", MS_RELATIME],
  ["MS_KERNMOUNT", MS_KERNMOUNT],
  ["MS_I_VERSION", MS_I_VERSION],
  ["MS_STRICTATIME", MS_STRICTATIME],
  ["MS_LAZYTIME", MS_LAZYTIME],
];

/** umount2(2) flags. */
export const UMOUNT_FLAGS: FlagTable = [
  ["MNT_FORCE", MNT_FORCE],
  ["MNT_DETACH", MNT_DETACH],
  ["MNT_EXPIRE", MNT_EXPIRE],
  ["UMOUNT_NOFOLLOW", UMOUNT_NOFOLLOW],
];

// The new mount API (open_tree, move_mount, fsopen, fsconfig, fsmount) and openat2.
export const OPEN_TREE_CLONE = 1;
export const OPEN_TREE_CLOEXEC = O_CLOEXEC;
export const AT_RECURSIVE = 0x8000;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x04;
/** move_mount(2): the destination is the fd `toDirfd` itself (path ""). */
export const MOVE_MOUNT_T_EMPTY_PATH = 0x40;
export const FSOPEN_CLOEXEC = 1;
export const FSMOUNT_CLOEXEC = 1;
// fsmount(2) and mount_setattr(2) attributes (linux/mount.h).
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
/** The atime mode "strict" (a value of the MOUNT_ATTR__ATIME field, 0x70), as fsmount takes it. */
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const FSCONFIG_SET_FLAG = 0;
export const FSCONFIG_SET_STRING = 1;
export const FSCONFIG_SET_FD = 5;
export const FSCONFIG_CMD_CREATE = 6;
// bpf(2): the commands, program and attach types ctr uses (include/uapi/linux/bpf.h).
export const BPF_PROG_LOAD = 5;
export const BPF_PROG_ATTACH = 8;
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_MULTI = 2;
export const BPF_CMDS: FlagTable = [["BPF_PROG_LOAD", BPF_PROG_LOAD], ["BPF_PROG_ATTACH", BPF_PROG_ATTACH]];
/** openat2's resolve flag: resolve the path as if the directory fd were "/" (symlinks and ".." stay inside). */
export const RESOLVE_IN_ROOT = 0x10;
/** openat2's resolve flag: fail with ELOOP on any symlink in the path. */
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_FLAGS: FlagTable = [
  ["RESOLVE_NO_SYMLINKS", RESOLVE_NO_SYMLINKS],
  ["RESOLVE_IN_ROOT", RESOLVE_IN_ROOT],
];
/** renameat2's flag: swap the two names atomically. */
export const RENAME_EXCHANGE = 2;

export const MOUNT_ATTR_FLAGS: FlagTable = [
  ["MOUNT_ATTR_RDONLY", MOUNT_ATTR_RDONLY],
  ["MOUNT_ATTR_NOSUID", MOUNT_ATTR_NOSUID],
  ["MOUNT_ATTR_NODEV", MOUNT_ATTR_NODEV],
  ["MOUNT_ATTR_NOEXEC", MOUNT_ATTR_NOEXEC],
  ["MOUNT_ATTR_STRICTATIME", MOUNT_ATTR_STRICTATIME],
];

export const OPEN_TREE_FLAGS: FlagTable = [
  ["OPEN_TREE_CLONE", OPEN_TREE_CLONE],
  ["AT_EMPTY_PATH", AT_EMPTY_PATH],
  ["AT_RECURSIVE", AT_RECURSIVE],
  ["OPEN_TREE_CLOEXEC", OPEN_TREE_CLOEXEC],
];
export const MOVE_MOUNT_FLAGS: FlagTable = [["MOVE_MOUNT_F_EMPTY_PATH", MOVE_MOUNT_F_EMPTY_PATH], ["MOVE_MOUNT_T_EMPTY_PATH", MOVE_MOUNT_T_EMPTY_PATH]];
/** mount_setattr(2) flags: open_tree's AT_* ones. */
export const MOUNT_SETATTR_FLAGS: FlagTable = OPEN_TREE_FLAGS.filter(([name]) => name.startsWith("AT_"));
export const FSCONFIG_NAMES: FlagTable = [
  ["FSCONFIG_SET_FLAG", FSCONFIG_SET_FLAG],
  ["FSCONFIG_SET_STRING", FSCONFIG_SET_STRING],
  ["FSCONFIG_SET_FD", FSCONFIG_SET_FD],
  ["FSCONFIG_CMD_CREATE", FSCONFIG_CMD_CREATE],
];

/** open(2)/pipe2(2)/dup3(2) flags other than the access mode (see formatOpenFlags). */
export const OPEN_FLAGS: FlagTable = ([
  ["O_CREAT", O_CREAT],
  ["O_EXCL", O_EXCL],
  ["O_NOCTTY", O_NOCTTY],
  ["O_TRUNC", O_TRUNC],
  ["O_APPEND", O_APPEND],
  ["O_NONBLOCK", O_NONBLOCK],
  ["O_DSYNC", O_DSYNC],
  ["O_ASYNC", O_ASYNC],
  ["O_DIRECT", O_DIRECT],
  ["O_LARGEFILE", O_LARGEFILE],
  ["O_DIRECTORY", O_DIRECTORY],
  ["O_NOFOLLOW", O_NOFOLLOW],
  ["O_NOATIME", O_NOATIME],
  ["O_CLOEXEC", O_CLOEXEC],
  ["__O_SYNC", 0o4000000],
  ["O_PATH", O_PATH],
  ["__O_TMPFILE", 0o20000000],
] as Array<readonly [string, number]>).sort((a, b) => a[1] - b[1]);

/** Flags of the *at() calls (unlinkat, statx…). */
export const AT_FLAGS: FlagTable = [
  ["AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW],
  ["AT_REMOVEDIR", AT_REMOVEDIR],
  ["AT_NO_AUTOMOUNT", AT_NO_AUTOMOUNT],
  ["AT_EMPTY_PATH", AT_EMPTY_PATH],
];

/** waitpid(2) options. */
export const WAIT_FLAGS: FlagTable = [
  ["WNOHANG", WNOHANG],
  ["WUNTRACED", WUNTRACED],
  ["WEXITED", WEXITED],
  ["WCONTINUED", WCONTINUED],
  ["WNOWAIT", WNOWAIT],
  ["__WNOTHREAD", __WNOTHREAD],
  ["__WALL", __WALL],
  ["__WCLONE", __WCLONE],
];

/** socket(2) type flags (the base type is rendered from SOCK_TYPES). */
export const SOCK_FLAGS: FlagTable = [
  ["SOCK_NONBLOCK", SOCK_NONBLOCK],
  ["SOCK_CLOEXEC", SOCK_CLOEXEC],
];

/** mknod(2) file types (the mode's S_IFMT part). */
export const S_IF_NAMES: FlagTable = [
  ["S_IFIFO", S_IFIFO],
  ["S_IFCHR", S_IFCHR],
  ["S_IFDIR", S_IFDIR],
  ["S_IFBLK", S_IFBLK],
  ["S_IFREG", S_IFREG],
  ["S_IFLNK", S_IFLNK],
  ["S_IFSOCK", S_IFSOCK],
];

/** Enumerations (exact values, not bit sets). */
export const SIGNAL_NAMES: FlagTable = [
  ["SIGHUP", 1], ["SIGINT", 2], ["SIGQUIT", 3], ["SIGILL", 4], ["SIGTRAP", 5], ["SIGABRT", 6],
  ["SIGBUS", 7], ["SIGFPE", 8], ["SIGKILL", 9], ["SIGUSR1", 10], ["SIGSEGV", 11], ["SIGUSR2", 12],
  ["SIGPIPE", 13], ["SIGALRM", 14], ["SIGTERM", 15], ["SIGSTKFLT", 16], ["SIGCHLD", 17],
  ["SIGCONT", 18], ["SIGSTOP", 19], ["SIGTSTP", 20], ["SIGTTIN", 21], ["SIGTTOU", 22],
  ["SIGURG", 23], ["SIGXCPU", 24], ["SIGXFSZ", 25], ["SIGVTALRM", 26], ["SIGPROF", 27],
  ["SIGWINCH", 28], ["SIGIO", 29], ["SIGPWR", 30], ["SIGSYS", 31],
];
export const RLIMIT_NAMES: FlagTable = [
  ["RLIMIT_CPU", 0], ["RLIMIT_FSIZE", 1], ["RLIMIT_DATA", 2], ["RLIMIT_STACK", 3],
  ["RLIMIT_CORE", 4], ["RLIMIT_RSS", 5], ["RLIMIT_NPROC", 6], ["RLIMIT_NOFILE", 7],
  ["RLIMIT_MEMLOCK", 8], ["RLIMIT_AS", 9], ["RLIMIT_LOCKS", 10], ["RLIMIT_SIGPENDING", 11],
  ["RLIMIT_MSGQUEUE", 12], ["RLIMIT_NICE", 13], ["RLIMIT_RTPRIO", 14], ["RLIMIT_RTTIME", 15],
];
export const P_NAMES: FlagTable = [["P_ALL", 0], ["P_PID", 1], ["P_PGID", 2], ["P_PIDFD", 3]];
export const PR_NAMES: FlagTable = [
  ["PR_SET_PDEATHSIG", 1], ["PR_GET_PDEATHSIG", 2], ["PR_GET_DUMPABLE", 3], ["PR_SET_DUMPABLE", 4],
  ["PR_GET_KEEPCAPS", 7], ["PR_SET_KEEPCAPS", 8], ["PR_SET_NAME", 15], ["PR_GET_NAME", 16],
  ["PR_GET_SECCOMP", 21], ["PR_SET_SECCOMP", 22], ["PR_CAPBSET_READ", 23], ["PR_CAPBSET_DROP", 24],
  ["PR_GET_SECUREBITS", 27], ["PR_SET_SECUREBITS", 28], ["PR_SET_CHILD_SUBREAPER", 36],
  ["PR_GET_CHILD_SUBREAPER", 37], ["PR_SET_NO_NEW_PRIVS", 38], ["PR_GET_NO_NEW_PRIVS", 39],
  ["PR_CAP_AMBIENT", 47],
];
export const PR_CAP_AMBIENT_NAMES: FlagTable = [
  ["PR_CAP_AMBIENT_IS_SET", 1], ["PR_CAP_AMBIENT_RAISE", 2], ["PR_CAP_AMBIENT_LOWER", 3],
  ["PR_CAP_AMBIENT_CLEAR_ALL", 4],
];
export const AF_NAMES: FlagTable = [
  ["AF_UNSPEC", 0], ["AF_UNIX", 1], ["AF_INET", 2], ["AF_INET6", 10], ["AF_NETLINK", 16], ["AF_PACKET", 17],
];
export const SOCK_TYPES: FlagTable = [
  ["SOCK_STREAM", 1], ["SOCK_DGRAM", 2], ["SOCK_RAW", 3], ["SOCK_SEQPACKET", 5],
];
export const FCNTL_NAMES: FlagTable = [
  ["F_DUPFD", 0], ["F_GETFD", 1], ["F_SETFD", 2], ["F_GETFL", 3], ["F_SETFL", 4], ["F_DUPFD_CLOEXEC", 1030],
];
export const IOCTL_NAMES: FlagTable = [
  ["TIOCSCTTY", TIOCSCTTY], ["TIOCNOTTY", TIOCNOTTY], ["TIOCGWINSZ", TIOCGWINSZ],
  ["TIOCSWINSZ", TIOCSWINSZ], ["TIOCSPTLCK", TIOCSPTLCK], ["TIOCGPTN", TIOCGPTN],
];
/** Capability names by number: CAP_NAMES[21] === "CAP_SYS_ADMIN". */
export const CAP_NAMES: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

/** Capability number by name ("CAP_SYS_ADMIN" or "sys_admin", any case); undefined if unknown. */
export function capNumber(name: string): number | undefined {
  let n = name.toUpperCase();
  if (!n.startsWith("CAP_")) n = "CAP_" + n;
  const i = CAP_NAMES.indexOf(n);
  return i < 0 ? undefined : i;
}

/** Signal number by name ("SIGTERM", "TERM", any case); undefined if unknown. */
export function signalNumber(name: string): number | undefined {
  let n = name.toUpperCase();
  if (!n.startsWith("SIG")) n = "SIG" + n;
  for (const [k, v] of SIGNAL_NAMES) if (k === n) return v;
  return undefined;
}
