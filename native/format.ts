// native/format.ts — strace-like rendering of calls and their arguments.
//
// One renderer for `--trace`, SysError messages and `ctr explain`:
//   formatCall("mount", ["proc", "/proc", "proc", MS_NOSUID | MS_NODEV, null])
//     -> mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV)
// Strings are quoted with JSON escapes, flag arguments rendered symbolically from the
// tables in constants.ts, trailing null (omitted optional) arguments dropped.
// Pure JavaScript; importing this file does not load koffi.

import {
  AF_NAMES, CLONE_FLAGS, FCNTL_NAMES, type FlagTable, IOCTL_NAMES, MOUNT_FLAGS, OPEN_FLAGS,
  O_ACCMODE, P_NAMES, PR_CAP_AMBIENT, PR_CAP_AMBIENT_NAMES, PR_CAPBSET_DROP, PR_CAPBSET_READ, PR_NAMES,
  PR_GET_NAME, PR_SET_NAME, PR_SET_PDEATHSIG, RLIM_INFINITY, RLIMIT_NAMES, S_IF_NAMES, S_IFMT, SIGNAL_NAMES,
  SOCK_FLAGS, SOCK_TYPES, UMOUNT_FLAGS, WAIT_FLAGS, CAP_NAMES, FD_CLOEXEC, F_SETFD, AT_FLAGS, AT_FDCWD,
  OPEN_TREE_FLAGS, MOVE_MOUNT_FLAGS, FSCONFIG_NAMES, RESOLVE_FLAGS, FSOPEN_CLOEXEC, FSMOUNT_CLOEXEC, MOUNT_ATTR_FLAGS,
  MOUNT_SETATTR_FLAGS, BPF_CMDS, BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI,
} from "./constants.ts";

/**
 * Render a bit set symbolically: flagNames(MS_REC | MS_PRIVATE, MOUNT_FLAGS) -> "MS_REC|MS_PRIVATE".
 * Names come out in table order; unknown bits are appended in hex ("MS_BIND|0x80000000");
 * 0 renders as "0". Negative numbers are read as 32-bit unsigned (C `int` flags).
 */
export function flagNames(value: number | bigint, table: FlagTable): string {
  // explain renders flags for every call it records (tens of thousands for a long
  // script): a value and a table that fit in 32 bits take plain number arithmetic.
  if (typeof value === "number" && Number.isInteger(value) && value >= -0x80000000 && value <= 0xffffffff && fits32(table)) return flagNames32(value >>> 0, table);
  let rest = toU64(value);
  if (rest === 0n) return "0";
  const parts: string[] = [];
  for (const [name, bit] of table) {
    const b = toU64(bit);
    if (b !== 0n && (rest & b) === b) {
      parts.push(name);
      rest &= ~b;
    }
  }
  if (rest !== 0n) parts.push("0x" + rest.toString(16));
  return parts.join("|");
}

const FITS32 = new WeakMap<FlagTable, boolean>();

/** Every bit of the table is a non-negative number below 2^32. */
function fits32(table: FlagTable): boolean {
  let f = FITS32.get(table);
  if (f === undefined) {
    f = table.every(([, bit]) => typeof bit === "number" && Number.isInteger(bit) && bit >= 0 && bit <= 0xffffffff);
    FITS32.set(table, f);
  }
  return f;
}

/** flagNames for an unsigned 32-bit value and a table of such bits. */
function flagNames32(value: number, table: FlagTable): string {
  if (value === 0) return "0";
  let rest = value;
  let out = "";
  for (const [name, bit] of table) {
    const b = bit as number;
    if (b !== 0 && (rest & b) >>> 0 === b) {
      out = out ? `${out}|${name}` : name;
      rest = (rest & ~b) >>> 0;
    }
  }
  if (rest !== 0) out = out ? `${out}|0x${rest.toString(16)}` : `0x${rest.toString(16)}`;
  return out;
}

/** Render an enumerated value: enumName(15, SIGNAL_NAMES) -> "SIGTERM"; unknown -> the number. */
export function enumName(value: number, table: FlagTable): string {
  for (const [name, v] of table) if (v === value) return name;
  return String(value);
}

function toU64(v: number | bigint): bigint {
  if (typeof v === "bigint") return BigInt.asUintN(64, v);
  if (v < 0) return BigInt(v >>> 0);
  return BigInt(Math.trunc(v));
}

/** JSON-quoted string, like strace's "..." (control characters escaped). */
export function quote(s: string): string {
  return JSON.stringify(s);
}

/** open(2)-style flags: access mode first, then the rest. "O_RDONLY|O_CLOEXEC". */
export function formatOpenFlags(flags: number): string {
  const acc = flags & O_ACCMODE;
  const mode = acc === 0 ? "O_RDONLY" : acc === 1 ? "O_WRONLY" : acc === 2 ? "O_RDWR" : "O_ACCMODE";
  const rest = flags & ~O_ACCMODE;
  return rest === 0 ? mode : mode + "|" + flagNames(rest, OPEN_FLAGS);
}

/** Octal with a leading 0 as strace prints modes: 0o755 -> "0755", 0 -> "0". */
export function formatOctal(n: number): string {
  return n === 0 ? "0" : "0" + n.toString(8);
}

/** mknod mode: "S_IFCHR|0666". */
export function formatMode(mode: number): string {
  const type = mode & S_IFMT;
  const perm = mode & ~S_IFMT;
  if (type === 0) return formatOctal(perm);
  return enumName(type, S_IF_NAMES) + "|" + formatOctal(perm);
}

/** Device number as makedev(major, minor) (glibc encoding). */
export function formatDev(dev: number | bigint): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n);
  const minor = (d & 0xffn) | ((d >> 12n) & 0xffffff00n);
  return `makedev(${major}, ${minor})`;
}

/** A 64-bit capability mask as hex, e.g. 0x1ffffffffff. */
export function formatCapMask(mask: bigint): string {
  return "0x" + mask.toString(16);
}

/** Names of the capabilities set in a mask: [ "CAP_CHOWN", ... ]. */
export function capNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; i < 64; i++) if ((mask >> BigInt(i)) & 1n) out.push(CAP_NAMES[i] ?? `CAP_${i}`);
  return out;
}

const BUF_MAX = 32;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A buffer as a quoted string (UTF-8 when valid, else \xNN escapes), cut after 32 bytes like strace. */
export function formatBytes(v: Uint8Array): string {
  const shown = v.subarray(0, BUF_MAX);
  const more = v.length > BUF_MAX ? "..." : "";
  try {
    return quote(utf8.decode(shown)) + more;
  } catch {
    let s = "";
    for (const b of shown) {
      if (b === 0x22 || b === 0x5c) s += "\\" + String.fromCharCode(b);
      else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
      else if (b === 10) s += "\\n";
      else s += "\\x" + b.toString(16).padStart(2, "0");
    }
    return '"' + s + '"' + more;
  }
}

/** Generic rendering of one argument value (no knowledge of its C meaning). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  switch (typeof v) {
    case "string":
      return quote(v);
    case "number":
      return String(v);
    case "bigint":
      return v === RLIM_INFINITY ? "RLIM_INFINITY" : v.toString();
    case "boolean":
      return v ? "1" : "0";
  }
  if (v instanceof Uint8Array) return formatBytes(v);
  if (ArrayBuffer.isView(v)) return "[" + Array.from(v as unknown as ArrayLike<number>).join(", ") + "]";
  if (Array.isArray(v)) return "[" + v.map(formatValue).join(", ") + "]";
  if (typeof v === "object") {
    return "{" + Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${formatValue(x)}`).join(", ") + "}";
  }
  return String(v);
}

/** How to render one argument: a kind name, or a flag/enum table. */
type Kind =
  | "v" // generic (formatValue)
  | "oct" // octal permissions / umask
  | "mode" // S_IF*|perm
  | "open" // open(2) flags with access mode
  | "sock" // socket type with SOCK_* flags
  | "dev" // device number as makedev(major, minor)
  | "dirfd" // a dirfd of the *at() calls (AT_FDCWD by name)
  | { flags: FlagTable }
  | { enum: FlagTable };

const F = (t: FlagTable): Kind => ({ flags: t });
const E = (t: FlagTable): Kind => ({ enum: t });

function formatKind(v: unknown, k: Kind): string {
  if (typeof v !== "number" && typeof v !== "bigint") return formatValue(v);
  if (k === "v") return formatValue(v);
  const n = Number(v);
  if (k === "oct") return formatOctal(n);
  if (k === "mode") return formatMode(n);
  if (k === "open") return formatOpenFlags(n);
  if (k === "dev") return formatDev(v);
  if (k === "dirfd") return n === AT_FDCWD ? "AT_FDCWD" : String(n);
  if (k === "sock") {
    const flags = n & (SOCK_FLAGS[0][1] | SOCK_FLAGS[1][1]);
    const base = enumName(n & ~flags, SOCK_TYPES);
    return flags ? base + "|" + flagNames(flags, SOCK_FLAGS) : base;
  }
  if ("flags" in k) return flagNames(v, k.flags);
  return enumName(n, k.enum);
}

/** Argument kinds per call, by the name wrappers report (the C function's name). */
const SIGNATURES: Record<string, Kind[] | ((args: readonly unknown[]) => string[])> = {
  unshare: [F(CLONE_FLAGS)],
  setns: ["v", F(CLONE_FLAGS)],
  mount: ["v", "v", "v", F(MOUNT_FLAGS), "v"],
  umount2: ["v", F(UMOUNT_FLAGS)],
  open_tree: ["dirfd", "v", F(OPEN_TREE_FLAGS)],
  move_mount: ["dirfd", "v", "dirfd", "v", F(MOVE_MOUNT_FLAGS)],
  fsopen: ["v", F([["FSOPEN_CLOEXEC", FSOPEN_CLOEXEC]])],
  fsmount: ["v", F([["FSMOUNT_CLOEXEC", FSMOUNT_CLOEXEC]]), F(MOUNT_ATTR_FLAGS)],
  fsconfig: ["v", E(FSCONFIG_NAMES), "v", "v", "v"],
  openat2: ["dirfd", "v", "open", F(RESOLVE_FLAGS)],
  mount_setattr: ["dirfd", "v", F(MOUNT_SETATTR_FLAGS), F(MOUNT_ATTR_FLAGS), F(MOUNT_ATTR_FLAGS)],
  mknod: ["v", "mode", "dev"],
  open: ["v", "open", "oct"],
  openat: ["dirfd", "v", "open", "oct"],
  mkdirat: ["dirfd", "v", "oct"],
  mknodat: ["dirfd", "v", "mode", "dev"],
  symlinkat: ["v", "dirfd", "v"],
  fchmodat: ["dirfd", "v", "oct", F(AT_FLAGS)],
  fchownat: ["dirfd", "v", "v", "v", F(AT_FLAGS)],
  readlinkat: ["dirfd", "v"],
  mkdir: ["v", "oct"],
  chmod: ["v", "oct"],
  unlinkat: ["dirfd", "v", F(AT_FLAGS)],
  fchmod: ["v", "oct"],
  statx: ["dirfd", "v", F(AT_FLAGS), "v"],
  umask: ["oct"],
  kill: ["v", E(SIGNAL_NAMES)],
  waitpid: ["v", F(WAIT_FLAGS)],
  waitid: [E(P_NAMES), "v", F(WAIT_FLAGS)],
  pipe2: [F(OPEN_FLAGS)],
  dup3: ["v", "v", F(OPEN_FLAGS)],
  socket: [E(AF_NAMES), "sock", "v"],
  socketpair: [E(AF_NAMES), "sock", "v"],
  ioctl: ["v", E(IOCTL_NAMES), "v"],
  getrlimit: [E(RLIMIT_NAMES)],
  setrlimit: (a) => [enumName(Number(a[0]), RLIMIT_NAMES), `{rlim_cur=${formatValue(a[1])}, rlim_max=${formatValue(a[2])}}`],
  fcntl: (a) => [
    formatValue(a[0]),
    enumName(Number(a[1]), FCNTL_NAMES),
    ...(a.length > 2 ? [a[1] === F_SETFD && a[2] === FD_CLOEXEC ? "FD_CLOEXEC" : formatValue(a[2])] : []),
  ],
  prctl: (a) => {
    const opt = Number(a[0]);
    const out = [enumName(opt, PR_NAMES)];
    const rest = a.slice(1);
    if (rest.length === 0) return out;
    if (opt === PR_SET_PDEATHSIG) out.push(enumName(Number(rest[0]), SIGNAL_NAMES));
    else if (opt === PR_CAPBSET_DROP || opt === PR_CAPBSET_READ) out.push(CAP_NAMES[Number(rest[0])] ?? formatValue(rest[0]));
    else if (opt === PR_CAP_AMBIENT) {
      out.push(enumName(Number(rest[0]), PR_CAP_AMBIENT_NAMES));
      if (rest.length > 1) out.push(CAP_NAMES[Number(rest[1])] ?? formatValue(rest[1]));
      return out.concat(rest.slice(2).map(formatValue));
    } else if (opt === PR_GET_NAME && rest[0] instanceof Uint8Array) {
      const end = rest[0].indexOf(0);
      out.push(formatBytes(end < 0 ? rest[0] : rest[0].subarray(0, end)));
    } else if (opt === PR_SET_NAME) out.push(formatValue(rest[0]));
    else out.push(formatValue(rest[0]));
    return out.concat(rest.slice(1).map(formatValue));
  },
  capset: (a) => [formatCapSets(a[0])],
  bpf: (a) =>
    a[0] === BPF_PROG_LOAD
      ? ["BPF_PROG_LOAD", `{prog_type=${a[1] === BPF_PROG_TYPE_CGROUP_DEVICE ? "BPF_PROG_TYPE_CGROUP_DEVICE" : formatValue(a[1])}, insn_cnt=${formatValue(a[2])}, license=${formatValue(a[3])}}`]
      : [
          enumName(Number(a[0]), BPF_CMDS),
          `{target_fd=${formatValue(a[1])}, attach_bpf_fd=${formatValue(a[2])}, attach_type=${a[3] === BPF_CGROUP_DEVICE ? "BPF_CGROUP_DEVICE" : formatValue(a[3])}, attach_flags=${a[4] === BPF_F_ALLOW_MULTI ? "BPF_F_ALLOW_MULTI" : formatValue(a[4])}}`,
        ],
};

function formatCapSets(v: unknown): string {
  if (v && typeof v === "object" && "effective" in v) {
    const s = v as { effective: bigint; permitted: bigint; inheritable: bigint };
    return `{effective=${formatCapMask(s.effective)}, permitted=${formatCapMask(s.permitted)}, inheritable=${formatCapMask(s.inheritable)}}`;
  }
  return formatValue(v);
}

/** Render each argument of a call as strace would (trailing null arguments dropped). */
export function formatArgs(syscall: string, args: readonly unknown[]): string[] {
  let n = args.length;
  while (n > 0 && (args[n - 1] === null || args[n - 1] === undefined)) n--;
  const a = n === args.length ? args : args.slice(0, n);
  const sig = SIGNATURES[syscall];
  if (typeof sig === "function") return sig(a);
  const out: string[] = new Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = sig && sig[i] ? formatKind(a[i], sig[i]) : formatValue(a[i]);
  return out;
}

/**
 * Render a call like strace: formatCall("umount2", ["/old", MNT_DETACH]) -> umount2("/old", MNT_DETACH).
 * `args` are the raw values the wrapper was given (the same array a trace event carries).
 */
export function formatCall(syscall: string, args: readonly unknown[]): string {
  return syscall + "(" + formatArgs(syscall, args).join(", ") + ")";
}
