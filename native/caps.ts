// native/caps.ts — prctl, capabilities, seccomp, resource limits.
//
// Capabilities are per thread: effective (checked now), permitted (the ceiling),
// inheritable and ambient (kept across execve), bounded by the bounding set. no_new_privs
// and the seccomp filter are inherited by every child and never undone. capset and most
// prctl options act on the calling thread only (glibc does not apply them to the other
// threads as it does setuid). Conventions (errors, tracing) are in trace.ts.

import {
  LINUX_CAPABILITY_VERSION_3, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_IS_SET,
  PR_CAP_AMBIENT_LOWER, PR_CAP_AMBIENT_RAISE, PR_CAPBSET_DROP, PR_CAPBSET_READ, PR_GET_NAME,
  PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, PR_SET_KEEPCAPS, PR_SET_NAME, PR_SET_NO_NEW_PRIVS,
  PR_SET_PDEATHSIG, RLIM_INFINITY, SECCOMP_SET_MODE_FILTER,
} from "./constants.ts";
import { formatCapMask, formatValue } from "./format.ts";
import { C, errno, sockFprogPtr } from "./libc.ts";
import { cString, emit, en, fail, int, pushVarArg, sysno, t0, tracer, type VarArg } from "./trace.ts";

// ---------------------------------------------------------------------------
// prctl and capabilities

/** prctl(2) with up to four further arguments (numbers, bigints, strings or buffers). */
export function prctl(option: number, arg2: VarArg = 0, arg3: VarArg = 0, arg4: VarArg = 0, arg5: VarArg = 0): number {
  const s = t0();
  const va: unknown[] = [];
  pushVarArg(va, arg2);
  pushVarArg(va, arg3);
  pushVarArg(va, arg4);
  pushVarArg(va, arg5);
  const r: number = C.prctl(option, ...va);
  return int("prctl", r, en(r), trimZeros([option, arg2, arg3, arg4, arg5]), s);
}

// prctl's unused trailing zero arguments are noise in traces and messages.
function trimZeros(a: unknown[]): unknown[] {
  let n = a.length;
  while (n > 1 && a[n - 1] === 0) n--;
  return n === a.length ? a : a.slice(0, n);
}

/** PR_SET_NO_NEW_PRIVS: execve can no longer grant privileges (needed for seccomp without CAP_SYS_ADMIN). */
export function setNoNewPrivs(): void {
  prctl(PR_SET_NO_NEW_PRIVS, 1);
}

/** PR_GET_NO_NEW_PRIVS. */
export function getNoNewPrivs(): boolean {
  return prctl(PR_GET_NO_NEW_PRIVS) === 1;
}

/**
 * PR_SET_DUMPABLE: when off, this process's /proc/PID files (environ, mem,
 * map_files, fd...) belong to root and need CAP_SYS_PTRACE, even for its own
 * uid; execve turns it back on.
 */
export function setDumpable(on: boolean): void {
  prctl(PR_SET_DUMPABLE, on ? 1 : 0);
}

/** PR_GET_DUMPABLE. */
export function getDumpable(): boolean {
  return prctl(PR_GET_DUMPABLE) === 1;
}

/** PR_SET_PDEATHSIG: signal this process gets when its parent *thread* exits (0 = none). */
export function setPdeathsig(sig: number): void {
  prctl(PR_SET_PDEATHSIG, sig);
}

/** PR_SET_CHILD_SUBREAPER: adopt orphaned descendants. */
export function setChildSubreaper(on = true): void {
  prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0);
}

/** PR_SET_KEEPCAPS: keep permitted capabilities across a setuid away from 0. */
export function setKeepCaps(on: boolean): void {
  prctl(PR_SET_KEEPCAPS, on ? 1 : 0);
}

/** PR_SET_NAME: the calling thread's name (comm), truncated by the kernel to 15 bytes. */
export function setName(name: string): void {
  prctl(PR_SET_NAME, name);
}

/** PR_GET_NAME: the calling thread's name. */
export function getName(): string {
  const buf = new Uint8Array(17);
  prctl(PR_GET_NAME, buf);
  return cString(buf);
}

/** PR_CAPBSET_DROP: remove `cap` from the bounding set (needs CAP_SETPCAP). */
export function capBsetDrop(cap: number): void {
  prctl(PR_CAPBSET_DROP, cap);
}

/** PR_CAPBSET_READ: whether `cap` is in the bounding set. */
export function capBsetRead(cap: number): boolean {
  return prctl(PR_CAPBSET_READ, cap) === 1;
}

/** PR_CAP_AMBIENT_CLEAR_ALL: empty the ambient set. */
export function capAmbientClearAll(): void {
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
}

/** PR_CAP_AMBIENT_RAISE (the cap must be permitted and inheritable). */
export function capAmbientRaise(cap: number): void {
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap);
}

/** PR_CAP_AMBIENT_LOWER. */
export function capAmbientLower(cap: number): void {
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, cap);
}

/** PR_CAP_AMBIENT_IS_SET. */
export function capAmbientIsSet(cap: number): boolean {
  return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap) === 1;
}

/** The three capability sets of a thread, as 64-bit masks (bit n = capability n). */
export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** capget(2) (version 3 header): the sets of `pid` (0 = the calling thread). */
export function capget(pid = 0): CapSets {
  const s = t0();
  const hdr = new Uint32Array([LINUX_CAPABILITY_VERSION_3, pid >>> 0]);
  const d = new Uint32Array(6); // [eff0, perm0, inh0, eff1, perm1, inh1]
  const r: number = C.capget(hdr, d);
  if (r === -1) fail(errno(), "capget", [pid], s);
  const sets = {
    effective: join64(d[0]!, d[3]!),
    permitted: join64(d[1]!, d[4]!),
    inheritable: join64(d[2]!, d[5]!),
  };
  if (tracer !== null) {
    emit("capget", [pid], `{effective=${formatCapMask(sets.effective)}, permitted=${formatCapMask(sets.permitted)}, inheritable=${formatCapMask(sets.inheritable)}}`, s);
  }
  return sets;
}

/** capset(2) (version 3 header): set the calling thread's sets (glibc: this thread only). */
export function capset(sets: CapSets): void {
  const s = t0();
  const hdr = new Uint32Array([LINUX_CAPABILITY_VERSION_3, 0]);
  const d = new Uint32Array([
    lo32(sets.effective), lo32(sets.permitted), lo32(sets.inheritable),
    hi32(sets.effective), hi32(sets.permitted), hi32(sets.inheritable),
  ]);
  const r: number = C.capset(hdr, d);
  int("capset", r, en(r), [sets], s);
}

/** capget, replace the given sets, capset. */
export function capUpdate(change: Partial<CapSets>): void {
  capset({ ...capget(), ...change });
}

/** Mask with the given capabilities set: capMask([CAP_CHOWN, CAP_KILL]) -> 0x21n. */
export function capMask(caps: readonly number[]): bigint {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(c);
  return m;
}

function join64(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}
function lo32(m: bigint): number {
  return Number(m & 0xffffffffn);
}
function hi32(m: bigint): number {
  return Number((m >> 32n) & 0xffffffffn);
}

// ---------------------------------------------------------------------------
// seccomp

/**
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog): install a classic BPF program, given as
 * its raw `struct sock_filter` array (8 bytes per instruction, native endian). Needs
 * no_new_privs or CAP_SYS_ADMIN. Building the filter is the runtime's business.
 */
export function seccompSetFilter(filter: Uint8Array, flags = 0): void {
  const s = t0();
  if (filter.byteLength % 8 !== 0 || filter.byteLength === 0 || filter.byteLength / 8 > 0xffff) {
    fail(22 /* EINVAL */, "seccomp", [SECCOMP_SET_MODE_FILTER, flags, filter], s);
  }
  const prog = { len: filter.byteLength / 8, filter };
  const r = Number(C.syscall(sysno("seccomp"), "unsigned int", SECCOMP_SET_MODE_FILTER, "unsigned int", flags, sockFprogPtr(), prog));
  int("seccomp", r, en(r), [SECCOMP_SET_MODE_FILTER, flags, `{len=${prog.len}, filter=...}`], s);
}

// ---------------------------------------------------------------------------
// Resource limits

/** setrlimit(2). A number or Infinity, or a bigint; RLIM_INFINITY (or Infinity) = unlimited. */
export function setrlimit(resource: number, soft: bigint | number, hard: bigint | number): void {
  const s = t0();
  const lim = new BigUint64Array([toRlim(soft), toRlim(hard)]);
  const r: number = C.setrlimit(resource, lim);
  int("setrlimit", r, en(r), [resource, lim[0], lim[1]], s);
}

function toRlim(v: bigint | number): bigint {
  if (typeof v === "bigint") return BigInt.asUintN(64, v);
  if (v === Infinity) return RLIM_INFINITY;
  return BigInt(Math.trunc(v));
}

/** getrlimit(2): the limits as bigints (RLIM_INFINITY when unlimited). */
export function getrlimit(resource: number): { soft: bigint; hard: bigint } {
  const s = t0();
  const lim = new BigUint64Array(2);
  const r: number = C.getrlimit(resource, lim);
  if (r === -1) fail(errno(), "getrlimit", [resource], s);
  const out = { soft: lim[0]!, hard: lim[1]! };
  if (tracer !== null) emit("getrlimit", [resource], `{rlim_cur=${formatValue(out.soft)}, rlim_max=${formatValue(out.hard)}}`, s);
  return out;
}
