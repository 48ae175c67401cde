// native/seccomp.ts — libseccomp through koffi: building and loading a seccomp filter.
//
// libseccomp (libseccomp.so.2, which apt itself depends on) turns rules into the classic
// BPF program the kernel runs, for each architecture asked for; runc, crun and podman
// use it. This file only binds its calls; which rules a container gets is the runtime's
// business (runtime/features/security/).
//
// libseccomp's calls return a negative errno instead of setting errno. The library is
// opened on the first call: a process that has entered a container's root must have
// called loadSeccomp() before, while the host's library was still reachable.
// seccomp_load() sets no_new_privs itself unless SCMP_FLTATR_CTL_NNP is 0: filterInit()
// turns that off, so no_new_privs stays what the script asked for.

import { getKoffi, type CFunction } from "./libc.ts";
import { emit, fail, t0, tracer } from "./trace.ts";

export const SCMP_ACT_KILL_PROCESS = 0x80000000;
export const SCMP_ACT_KILL_THREAD = 0x00000000;
export const SCMP_ACT_TRAP = 0x00030000;
export const SCMP_ACT_LOG = 0x7ffc0000;
export const SCMP_ACT_ALLOW = 0x7fff0000;
export const SCMP_ACT_ERRNO = (errno: number): number => (0x00050000 | (errno & 0xffff)) >>> 0;
export const SCMP_ACT_TRACE = (msg: number): number => (0x7ff00000 | (msg & 0xffff)) >>> 0;

/** enum scmp_compare. */
export const SCMP_CMP = { SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7 } as const;
export type ScmpCompare = keyof typeof SCMP_CMP;

/** enum scmp_filter_attr: SCMP_FLTATR_CTL_NNP. */
const SCMP_FLTATR_CTL_NNP = 3;
/** __NR_SCMP_ERROR: the name is not a system call libseccomp knows on any architecture. */
const NR_SCMP_ERROR = -1;

/** One argument condition (struct scmp_arg_cmp). */
export interface ScmpArg {
  index: number;
  op: ScmpCompare;
  value: bigint;
  valueTwo: bigint;
}

const PROTOS = {
  seccomp_init: "void *seccomp_init(uint32_t def_action)",
  seccomp_release: "void seccomp_release(void *ctx)",
  seccomp_attr_set: "int seccomp_attr_set(void *ctx, int attr, uint32_t value)",
  seccomp_arch_add: "int seccomp_arch_add(void *ctx, uint32_t arch_token)",
  seccomp_arch_exist: "int seccomp_arch_exist(void *ctx, uint32_t arch_token)",
  seccomp_arch_resolve_name: "uint32_t seccomp_arch_resolve_name(const char *name)",
  seccomp_syscall_resolve_name: "int seccomp_syscall_resolve_name(const char *name)",
  seccomp_rule_add_array: "int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int arg_cnt, const void *arg_array)",
  seccomp_load: "int seccomp_load(void *ctx)",
} as const;

type Fns = { -readonly [K in keyof typeof PROTOS]: CFunction };
let fns: Fns | null = null;

/** Open libseccomp and declare its calls now (throws ENOENT-like SysError if it is missing). */
export function loadSeccomp(): void {
  if (fns) return;
  const s = t0();
  let lib;
  try {
    lib = getKoffi().load("libseccomp.so.2");
  } catch {
    fail(2 /* ENOENT */, "dlopen", ["libseccomp.so.2"], s);
  }
  const out = {} as Fns;
  for (const [k, proto] of Object.entries(PROTOS)) out[k as keyof typeof PROTOS] = lib.func(proto) as CFunction;
  fns = out;
}

function lib(): Fns {
  loadSeccomp();
  return fns!;
}

function check(name: string, r: number, args: unknown[], s: number): void {
  if (r < 0) fail(-r, name, args, s);
  if (tracer !== null) emit(name, args, r, s);
}

/** seccomp_syscall_resolve_name: the native number, a negative pseudo-number for a call of another architecture, or null when unknown. */
export function syscallNumber(name: string): number | null {
  const n: number = lib().seccomp_syscall_resolve_name(name);
  return n === NR_SCMP_ERROR ? null : n;
}

/** seccomp_arch_resolve_name: the architecture token, or null when libseccomp does not know it. */
export function archToken(name: string): number | null {
  const t: number = lib().seccomp_arch_resolve_name(name);
  return t === 0 ? null : t >>> 0;
}

/** A filter being built: seccomp_init with no_new_privs left alone (see the header). */
export class SeccompFilter {
  private ctx: unknown = null;

  constructor(defaultAction: number) {
    const s = t0();
    this.ctx = lib().seccomp_init(defaultAction >>> 0);
    if (this.ctx === null) fail(22 /* EINVAL */, "seccomp_init", [defaultAction], s);
    if (tracer !== null) emit("seccomp_init", [defaultAction], 0, s);
    check("seccomp_attr_set", lib().seccomp_attr_set(this.ctx, SCMP_FLTATR_CTL_NNP, 0), ["SCMP_FLTATR_CTL_NNP", 0], t0());
  }

  /** seccomp_arch_add; an architecture already there is not an error. */
  addArch(token: number): void {
    const s = t0();
    if (lib().seccomp_arch_exist(this.ctx, token >>> 0) === 0) return;
    check("seccomp_arch_add", lib().seccomp_arch_add(this.ctx, token >>> 0), [token], s);
  }

  /** seccomp_rule_add_array: `action` for `syscall` when every condition holds. */
  addRule(action: number, syscall: number, args: readonly ScmpArg[] = []): void {
    const s = t0();
    const buf = new Uint8Array(Math.max(1, args.length) * 24);
    const v = new DataView(buf.buffer);
    args.forEach((a, i) => {
      v.setUint32(i * 24, a.index, true);
      v.setInt32(i * 24 + 4, SCMP_CMP[a.op], true);
      v.setBigUint64(i * 24 + 8, BigInt.asUintN(64, a.value), true);
      v.setBigUint64(i * 24 + 16, BigInt.asUintN(64, a.valueTwo), true);
    });
    check("seccomp_rule_add_array", lib().seccomp_rule_add_array(this.ctx, action >>> 0, syscall, args.length, buf), [action, syscall, args.length], s);
  }

  /** seccomp_load: install the filter on the calling thread (needs no_new_privs or CAP_SYS_ADMIN). */
  load(): void {
    check("seccomp_load", lib().seccomp_load(this.ctx), [], t0());
  }

  release(): void {
    if (this.ctx !== null) lib().seccomp_release(this.ctx);
    this.ctx = null;
  }
}

/** A filter as rules by name: what loadSeccompRules hands to libseccomp. Plain JSON. */
export interface SeccompRules {
  /** The SCMP_ACT_* of a call no rule matches. */
  defaultAction: number;
  /** Architectures besides the native one, by libseccomp's names (x86, x32, ...). */
  archs: string[];
  /** Each: `action` for each of `names` when every condition of `args` holds (values as numbers). */
  rules: { action: number; names: string[]; args: { index: number; op: ScmpCompare; value: number; valueTwo: number }[] }[];
}

/**
 * Build the filter with libseccomp and load it. Names libseccomp does not know on any
 * architecture, and architectures it does not know, are skipped: the runtime checks
 * a profile's names before anything runs.
 */
export function loadSeccompRules(set: SeccompRules): void {
  const f = new SeccompFilter(set.defaultAction);
  try {
    for (const a of set.archs) {
      const t = archToken(a);
      if (t !== null) f.addArch(t);
    }
    for (const r of set.rules) {
      const args = r.args.map((a) => ({ index: a.index, op: a.op, value: BigInt(a.value), valueTwo: BigInt(a.valueTwo) }));
      for (const name of r.names) {
        const nr = syscallNumber(name);
        if (nr !== null) f.addRule(r.action, nr, args);
      }
    }
    f.load();
  } finally {
    f.release();
  }
}
