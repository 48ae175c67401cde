// native/libc.ts — loads koffi and libc once, and declares the C functions we call.
//
// Everything here is lazy, because container start-up latency is a headline figure:
//  * koffi itself is loaded on the first C call, not at import: importing native/ for
//    its constants, SysError or formatCall (the front end, `ctr explain`) never loads it.
//  * koffi's native addon is required directly (@koromix/koffi-<os>-<arch>/…/koffi.node):
//    the first call costs ~2 ms, against 8–10 ms for importing the "koffi" package entry,
//    which first loads node:util/fs/path and parses ELF headers to pick the addon (its
//    ESM entry also starts a thread under Bun). If the direct path fails (another libc
//    such as musl, another layout, no node_modules next to a bundle) we fall back to
//    the regular `require("koffi")`, which knows every case.
//  * each C function is declared on first use and cached (~15 µs each; all 55: <1 ms).
//
// The wrappers in sys.ts use `C.<name>(...)` and `errno()`; nothing else of ours should.

import type koffiModule from "koffi";

export type Koffi = typeof koffiModule;
/** A declared C function, as koffi returns it. */
export type CFunction = (...args: any[]) => any;

let koffi: Koffi | null = null;
let libc: ReturnType<Koffi["load"]> | null = null;

/** The koffi module, loaded on first use. */
export function getKoffi(): Koffi {
  return koffi ?? (koffi = loadKoffi());
}

function loadKoffi(): Koffi {
  // Bun defines `require` in ES modules too; unlike import.meta.require it also exists in
  // CommonJS bundles (`bun build --format=cjs --bytecode`). Specifiers are computed so a
  // bundler leaves them to run time instead of inlining koffi's loader.
  const req = require;
  const { platform, arch } = process;
  if (platform === "linux" && (arch === "x64" || arch === "arm64")) {
    try {
      // glibc build of the addon; koffi's own entry would pick musl_<arch> on musl.
      const addon = req(`@koromix/koffi-linux-${arch}/linux_${arch}/koffi.node`);
      if (addon && typeof addon.load === "function" && typeof addon.errno === "function") return addon as Koffi;
    } catch {
      // fall through to the package entry
    }
  }
  const pkg = "koffi";
  return req(pkg) as Koffi;
}

function getLibc(): ReturnType<Koffi["load"]> {
  return libc ?? (libc = getKoffi().load("libc.so.6"));
}

/** True once koffi has been loaded (for tests and benchmarks). */
export function isLoaded(): boolean {
  return koffi !== null;
}

/**
 * errno of the last C call on this thread. koffi saves errno right after the call and
 * restores it after converting the result, so read it first thing after the call returns.
 */
export function errno(): number {
  return koffi!.errno();
}

// C prototypes, in koffi's C-like syntax. Pointers to out-parameters are `void *` and
// receive typed arrays (koffi passes their memory in place). Variadic functions are
// declared with `...` and called with (type, value) pairs for the extra arguments.
const PROTOS = {
  unshare: "int unshare(int flags)",
  setns: "int setns(int fd, int nstype)",
  mount: "int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)",
  umount2: "int umount2(const char *target, int flags)",
  chroot: "int chroot(const char *path)",
  chdir: "int chdir(const char *path)",
  fchdir: "int fchdir(int fd)",
  sethostname: "int sethostname(const char *name, size_t len)",
  setdomainname: "int setdomainname(const char *name, size_t len)",
  gethostname: "int gethostname(void *buf, size_t len)",
  getdomainname: "int getdomainname(void *buf, size_t len)",
  execve: "int execve(const char *path, const char **argv, const char **envp)",
  prctl: "int prctl(int option, ...)",
  setrlimit: "int setrlimit(int resource, const void *rlim)",
  getrlimit: "int getrlimit(int resource, void *rlim)",
  getpid: "int getpid()",
  getppid: "int getppid()",
  getuid: "uint32_t getuid()",
  geteuid: "uint32_t geteuid()",
  getgid: "uint32_t getgid()",
  getegid: "uint32_t getegid()",
  setuid: "int setuid(uint32_t uid)",
  setgid: "int setgid(uint32_t gid)",
  setgroups: "int setgroups(size_t size, const void *list)",
  setresuid: "int setresuid(uint32_t ruid, uint32_t euid, uint32_t suid)",
  setresgid: "int setresgid(uint32_t rgid, uint32_t egid, uint32_t sgid)",
  kill: "int kill(int pid, int sig)",
  waitpid: "int waitpid(int pid, void *status, int options)",
  waitid: "int waitid(int idtype, uint32_t id, void *infop, int options)",
  setsid: "int setsid()",
  setpgid: "int setpgid(int pid, int pgid)",
  getpgid: "int getpgid(int pid)",
  tcsetpgrp: "int tcsetpgrp(int fd, int pgrp)",
  tcgetpgrp: "int tcgetpgrp(int fd)",
  ioctl: "int ioctl(int fd, unsigned long request, ...)",
  isatty: "int isatty(int fd)",
  close: "int close(int fd)",
  dup2: "int dup2(int oldfd, int newfd)",
  dup3: "int dup3(int oldfd, int newfd, int flags)",
  pipe2: "int pipe2(void *fds, int flags)",
  socketpair: "int socketpair(int domain, int type, int protocol, void *sv)",
  socket: "int socket(int domain, int type, int protocol)",
  bind: "int bind(int fd, const void *addr, uint32_t len)",
  connect: "int connect(int fd, const void *addr, uint32_t len)",
  listen: "int listen(int fd, int backlog)",
  accept4: "int accept4(int fd, void *addr, void *len, int flags)",
  send: "long send(int fd, const void *buf, size_t len, int flags)",
  recv: "long recv(int fd, void *buf, size_t len, int flags)",
  fcntl: "int fcntl(int fd, int cmd, ...)",
  flock: "int flock(int fd, int operation)",
  read: "long read(int fd, void *buf, size_t count)",
  pread: "long pread(int fd, void *buf, size_t count, long offset)",
  pwrite: "long pwrite(int fd, const void *buf, size_t count, long offset)",
  write: "long write(int fd, const void *buf, size_t count)",
  open: "int open(const char *path, int flags, ...)",
  openat: "int openat(int dirfd, const char *path, int flags, ...)",
  mkdirat: "int mkdirat(int dirfd, const char *path, uint32_t mode)",
  faccessat: "int faccessat(int dirfd, const char *path, int mode, int flags)",
  utimensat: "int utimensat(int dirfd, const char *path, const void *times, int flags)",
  realpath: "void *realpath(const char *path, void *resolved)",
  unlinkat: "int unlinkat(int dirfd, const char *path, int flags)",
  fchmod: "int fchmod(int fd, uint32_t mode)",
  fchmodat: "int fchmodat(int dirfd, const char *path, uint32_t mode, int flags)",
  fchownat: "int fchownat(int dirfd, const char *path, uint32_t owner, uint32_t group, int flags)",
  readlinkat: "long readlinkat(int dirfd, const char *path, void *buf, size_t size)",
  symlinkat: "int symlinkat(const char *target, int dirfd, const char *path)",
  renameat2: "int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, uint32_t flags)",
  statx: "int statx(int dirfd, const char *path, int flags, uint32_t mask, void *buf)",
  getdents64: "long getdents64(int fd, void *buf, size_t count)",
  umask: "uint32_t umask(uint32_t mask)",
  capget: "int capget(void *header, void *data)",
  capset: "int capset(void *header, const void *data)",
  syscall: "long syscall(long number, ...)",
  posix_spawn: "int posix_spawn(_Out_ int *pid, const char *path, const void *file_actions, const void *attrp, const char **argv, const char **envp)",
  posix_spawnattr_init: "int posix_spawnattr_init(void *attr)",
  posix_spawnattr_destroy: "int posix_spawnattr_destroy(void *attr)",
  posix_spawnattr_setflags: "int posix_spawnattr_setflags(void *attr, short flags)",
  posix_spawnattr_setsigdefault: "int posix_spawnattr_setsigdefault(void *attr, const void *sigset)",
  posix_spawnattr_setsigmask: "int posix_spawnattr_setsigmask(void *attr, const void *sigset)",
  posix_spawn_file_actions_init: "int posix_spawn_file_actions_init(void *actions)",
  posix_spawn_file_actions_destroy: "int posix_spawn_file_actions_destroy(void *actions)",
  posix_spawn_file_actions_addopen: "int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int oflag, uint32_t mode)",
  posix_spawn_file_actions_adddup2: "int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)",
  sigprocmask: "int sigprocmask(int how, const void *set, void *oldset)",
  signalfd: "int signalfd(int fd, const void *mask, int flags)",
  signal: "void *signal(int sig, void *handler)",
  poll: "int poll(void *fds, unsigned long nfds, int timeout)",
  lsetxattr: "int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)",
  lgetxattr: "long lgetxattr(const char *path, const char *name, void *value, size_t size)",
} as const;

export type CName = keyof typeof PROTOS;

/**
 * The declared C functions: `C.chdir("/")`. Each property is a getter that declares the
 * function on first access and then replaces itself with the function (a plain property).
 */
export const C = {} as { readonly [K in CName]: CFunction };

for (const name of Object.keys(PROTOS) as CName[]) {
  Object.defineProperty(C, name, {
    configurable: true,
    enumerable: true,
    get(): CFunction {
      const f = getLibc().func(PROTOS[name]) as CFunction;
      Object.defineProperty(C, name, { value: f, enumerable: true, writable: false, configurable: false });
      return f;
    },
  });
}

/**
 * Load koffi and libc and declare every function now, instead of on first use: lets a
 * caller move this cost (~3 ms) off a latency-critical path, or fail early.
 */
export function preload(): void {
  for (const name of Object.keys(PROTOS) as CName[]) void C[name];
}

let fprogType: unknown = null;
/** koffi pointer type to `struct sock_fprog { unsigned short len; struct sock_filter *filter; }`. */
export function sockFprogPtr(): unknown {
  if (fprogType === null) {
    const k = getKoffi();
    fprogType = k.pointer(k.struct({ len: "uint16_t", filter: "const void *" }));
  }
  return fprogType;
}
