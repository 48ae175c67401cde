// native/error.ts — SysError, the one error type of the whole project, and errno names.
//
// Every native wrapper throws SysError when the C call reports failure (-1 and errno).
// The runtime reuses the same type for its own setup failures (errno 0, code "",
// a custom message, often a `hint` and a source `span`), so callers catch one type.
// Pure JavaScript: the errno table below is built in (asm-generic numbering, which
// x86_64 and aarch64 share), so reporting errors never needs koffi.

import { formatCall } from "./format.ts";

/** A source location, structurally compatible with the language's spans (lang/ owns the real type). */
export interface SpanLike {
  file: string;
  line: number;
  column: number;
  offset: number;
  length: number;
}

/** Fields accepted by `new SysError(...)`. All optional. */
export interface SysErrorInit {
  /** errno value; 0 (the default) for failures that are not a syscall's. */
  errno?: number;
  /** Symbolic errno ("EPERM"); derived from `errno` when omitted. */
  code?: string;
  /** Name of the failed call ("mount"); "" when not a syscall failure. */
  syscall?: string;
  /** The call's arguments as given to the wrapper (rendered like strace in the message). */
  args?: unknown[];
  /** Overrides the generated message. Required in spirit when there is no syscall. */
  message?: string;
  span?: SpanLike;
  hint?: string;
  /** Exit status the runtime should relay for this failure (e.g. 126, 127). */
  status?: number;
  cause?: unknown;
}

/**
 * The failure of a system call, or a setup failure reported the same way.
 *
 * Syscall failures have a short lowercase message naming the call with its arguments:
 *   mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV): EPERM (operation not permitted)
 */
export class SysError extends Error {
  errno: number;
  code: string;
  syscall: string;
  args: unknown[];
  // `declare`: absent unless given (no own `undefined` properties cluttering inspection).
  declare span?: SpanLike;
  declare hint?: string;
  /** Exit status to relay for this failure, when the runtime decided one (126, 127…). */
  declare status?: number;

  constructor(init: SysErrorInit) {
    const errno = init.errno ?? 0;
    const code = init.code ?? (errno ? errnoName(errno) : "");
    const syscall = init.syscall ?? "";
    const args = init.args ?? [];
    let message = init.message;
    if (message === undefined) {
      const what = syscall ? formatCall(syscall, args) : "error";
      message = errno ? `${what}: ${code} (${strerror(errno)})` : code ? `${what}: ${code}` : what;
    }
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "SysError";
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    this.args = args;
    if (init.span) this.span = init.span;
    if (init.hint) this.hint = init.hint;
    if (init.status !== undefined) this.status = init.status;
  }

  /** The usual constructor for a failed call: SysError.fromErrno("chdir", ["/x"], 2). */
  static fromErrno(syscall: string, args: unknown[], errno: number): SysError {
    return new SysError({ syscall, args, errno });
  }
}

/** True if `e` is a SysError, optionally with the given code: isSysError(e, "ENOENT"). */
export function isSysError(e: unknown, code?: string): e is SysError {
  return e instanceof SysError && (code === undefined || e.code === code);
}

// [number, name, lowercase text]; Linux asm-generic numbering (x86_64, aarch64).
// Texts are glibc's strerror() with the first letter lowercased.
const TABLE: ReadonlyArray<readonly [number, string, string]> = [
  [1, "EPERM", "operation not permitted"],
  [2, "ENOENT", "no such file or directory"],
  [3, "ESRCH", "no such process"],
  [4, "EINTR", "interrupted system call"],
  [5, "EIO", "input/output error"],
  [6, "ENXIO", "no such device or address"],
  [7, "E2BIG", "argument list too long"],
  [8, "ENOEXEC", "exec format error"],
  [9, "EBADF", "bad file descriptor"],
  [10, "ECHILD", "no child processes"],
  [11, "EAGAIN", "resource temporarily unavailable"],
  [12, "ENOMEM", "cannot allocate memory"],
  [13, "EACCES", "permission denied"],
  [14, "EFAULT", "bad address"],
  [15, "ENOTBLK", "block device required"],
  [16, "EBUSY", "device or resource busy"],
  [17, "EEXIST", "file exists"],
  [18, "EXDEV", "invalid cross-device link"],
  [19, "ENODEV", "no such device"],
  [20, "ENOTDIR", "not a directory"],
  [21, "EISDIR", "is a directory"],
  [22, "EINVAL", "invalid argument"],
  [23, "ENFILE", "too many open files in system"],
  [24, "EMFILE", "too many open files"],
  [25, "ENOTTY", "inappropriate ioctl for device"],
  [26, "ETXTBSY", "text file busy"],
  [27, "EFBIG", "file too large"],
  [28, "ENOSPC", "no space left on device"],
  [29, "ESPIPE", "illegal seek"],
  [30, "EROFS", "read-only file system"],
  [31, "EMLINK", "too many links"],
  [32, "EPIPE", "broken pipe"],
  [33, "EDOM", "numerical argument out of domain"],
  [34, "ERANGE", "numerical result out of range"],
  [35, "EDEADLK", "resource deadlock avoided"],
  [36, "ENAMETOOLONG", "file name too long"],
  [37, "ENOLCK", "no locks available"],
  [38, "ENOSYS", "function not implemented"],
  [39, "ENOTEMPTY", "directory not empty"],
  [40, "ELOOP", "too many levels of symbolic links"],
  [42, "ENOMSG", "no message of desired type"],
  [43, "EIDRM", "identifier removed"],
  [44, "ECHRNG", "channel number out of range"],
  [45, "EL2NSYNC", "level 2 not synchronized"],
  [46, "EL3HLT", "level 3 halted"],
  [47, "EL3RST", "level 3 reset"],
  [48, "ELNRNG", "link number out of range"],
  [49, "EUNATCH", "protocol driver not attached"],
  [50, "ENOCSI", "no CSI structure available"],
  [51, "EL2HLT", "level 2 halted"],
  [52, "EBADE", "invalid exchange"],
  [53, "EBADR", "invalid request descriptor"],
  [54, "EXFULL", "exchange full"],
  [55, "ENOANO", "no anode"],
  [56, "EBADRQC", "invalid request code"],
  [57, "EBADSLT", "invalid slot"],
  [59, "EBFONT", "bad font file format"],
  [60, "ENOSTR", "device not a stream"],
  [61, "ENODATA", "no data available"],
  [62, "ETIME", "timer expired"],
  [63, "ENOSR", "out of streams resources"],
  [64, "ENONET", "machine is not on the network"],
  [65, "ENOPKG", "package not installed"],
  [66, "EREMOTE", "object is remote"],
  [67, "ENOLINK", "link has been severed"],
  [68, "EADV", "advertise error"],
  [69, "ESRMNT", "srmount error"],
  [70, "ECOMM", "communication error on send"],
  [71, "EPROTO", "protocol error"],
  [72, "EMULTIHOP", "multihop attempted"],
  [73, "EDOTDOT", "RFS specific error"],
  [74, "EBADMSG", "bad message"],
  [75, "EOVERFLOW", "value too large for defined data type"],
  [76, "ENOTUNIQ", "name not unique on network"],
  [77, "EBADFD", "file descriptor in bad state"],
  [78, "EREMCHG", "remote address changed"],
  [79, "ELIBACC", "can not access a needed shared library"],
  [80, "ELIBBAD", "accessing a corrupted shared library"],
  [81, "ELIBSCN", ".lib section in a.out corrupted"],
  [82, "ELIBMAX", "attempting to link in too many shared libraries"],
  [83, "ELIBEXEC", "cannot exec a shared library directly"],
  [84, "EILSEQ", "invalid or incomplete multibyte or wide character"],
  [85, "ERESTART", "interrupted system call should be restarted"],
  [86, "ESTRPIPE", "streams pipe error"],
  [87, "EUSERS", "too many users"],
  [88, "ENOTSOCK", "socket operation on non-socket"],
  [89, "EDESTADDRREQ", "destination address required"],
  [90, "EMSGSIZE", "message too long"],
  [91, "EPROTOTYPE", "protocol wrong type for socket"],
  [92, "ENOPROTOOPT", "protocol not available"],
  [93, "EPROTONOSUPPORT", "protocol not supported"],
  [94, "ESOCKTNOSUPPORT", "socket type not supported"],
  [95, "EOPNOTSUPP", "operation not supported"],
  [96, "EPFNOSUPPORT", "protocol family not supported"],
  [97, "EAFNOSUPPORT", "address family not supported by protocol"],
  [98, "EADDRINUSE", "address already in use"],
  [99, "EADDRNOTAVAIL", "cannot assign requested address"],
  [100, "ENETDOWN", "network is down"],
  [101, "ENETUNREACH", "network is unreachable"],
  [102, "ENETRESET", "network dropped connection on reset"],
  [103, "ECONNABORTED", "software caused connection abort"],
  [104, "ECONNRESET", "connection reset by peer"],
  [105, "ENOBUFS", "no buffer space available"],
  [106, "EISCONN", "transport endpoint is already connected"],
  [107, "ENOTCONN", "transport endpoint is not connected"],
  [108, "ESHUTDOWN", "cannot send after transport endpoint shutdown"],
  [109, "ETOOMANYREFS", "too many references: cannot splice"],
  [110, "ETIMEDOUT", "connection timed out"],
  [111, "ECONNREFUSED", "connection refused"],
  [112, "EHOSTDOWN", "host is down"],
  [113, "EHOSTUNREACH", "no route to host"],
  [114, "EALREADY", "operation already in progress"],
  [115, "EINPROGRESS", "operation now in progress"],
  [116, "ESTALE", "stale file handle"],
  [117, "EUCLEAN", "structure needs cleaning"],
  [118, "ENOTNAM", "not a XENIX named type file"],
  [119, "ENAVAIL", "no XENIX semaphores available"],
  [120, "EISNAM", "is a named type file"],
  [121, "EREMOTEIO", "remote I/O error"],
  [122, "EDQUOT", "disk quota exceeded"],
  [123, "ENOMEDIUM", "no medium found"],
  [124, "EMEDIUMTYPE", "wrong medium type"],
  [125, "ECANCELED", "operation canceled"],
  [126, "ENOKEY", "required key not available"],
  [127, "EKEYEXPIRED", "key has expired"],
  [128, "EKEYREVOKED", "key has been revoked"],
  [129, "EKEYREJECTED", "key was rejected by service"],
  [130, "EOWNERDEAD", "owner died"],
  [131, "ENOTRECOVERABLE", "state not recoverable"],
  [132, "ERFKILL", "operation not possible due to RF-kill"],
  [133, "EHWPOISON", "memory page has hardware error"],
];

const NAMES: string[] = [];
const TEXTS: string[] = [];
const NUMBERS = new Map<string, number>();
for (const [n, name, text] of TABLE) {
  NAMES[n] = name;
  TEXTS[n] = text;
  NUMBERS.set(name, n);
}
// Aliases glibc defines to the same numbers.
NUMBERS.set("EWOULDBLOCK", 11);
NUMBERS.set("EDEADLOCK", 35);
NUMBERS.set("ENOTSUP", 95);

/** errnoName(1) -> "EPERM"; an unknown number -> "E<n>" (e.g. "E41"). */
export function errnoName(n: number): string {
  return NAMES[n] ?? `E${n}`;
}

/** strerror(1) -> "operation not permitted"; an unknown number -> "unknown error <n>". */
export function strerror(n: number): string {
  return TEXTS[n] ?? `unknown error ${n}`;
}

/** errnoNumber("ENOENT") -> 2 (aliases such as EWOULDBLOCK accepted); undefined if unknown. */
export function errnoNumber(name: string): number | undefined {
  return NUMBERS.get(name);
}
