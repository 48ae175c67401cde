// Capabilities of the container's commands: `cap drop` and `cap add`.
//
// The kernel's rules (capabilities(7)) that decide how they are applied:
//   - at execve, a process of uid 0 gets as permitted and effective every
//     capability of its bounding set, plus what its inheritable set holds
//     (root's files count as having every file capability): so for root, what
//     counts is the bounding set and the inheritable set, and both must lose a
//     dropped capability;
//   - a process of another uid gets only its ambient set (for a file without
//     capabilities): so a capability added for a non-root `user` must be raised
//     in the ambient set, which needs it permitted and inheritable;
//   - changing uid away from 0 clears the permitted set unless PR_SET_KEEPCAPS;
//   - PR_CAPBSET_DROP needs CAP_SETPCAP, so the bounding set is cut while the
//     process still has every capability, capset comes after.
// In a user namespace the same holds for the capabilities it gives.

import { CAP_LAST_CAP, CAP_NAMES, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_RAISE, PR_CAPBSET_DROP, PR_SET_KEEPCAPS, SysError, type Sys } from "../../../native/index.ts";

/** What `cap` statements left for later commands: the capabilities kept, and those `cap add` named. */
export interface CapSetting {
  /** CAP_* names the commands keep. */
  keep: string[];
  /** CAP_* names added by `cap add` (raised in the ambient set for a non-root user). */
  added: string[];
}

/** Every capability this build knows, as CAP_* names. */
export const ALL_CAPS: readonly string[] = CAP_NAMES.slice(0, CAP_LAST_CAP + 1);

/** `net_raw`, `CAP_NET_RAW` -> CAP_NET_RAW; `all` stays `all`. */
export function capName(text: string): string {
  const t = text.toLowerCase();
  return t === "all" ? "all" : `CAP_${t.replace(/^cap_/, "").toUpperCase()}`;
}

/** The setting after one `cap drop|add` (names as capName gives them). */
export function capChange(cur: CapSetting | undefined, form: "drop" | "add", names: readonly string[]): CapSetting {
  const keep = new Set(cur?.keep ?? ALL_CAPS);
  const added = new Set(cur?.added ?? []);
  const list = names.includes("all") ? ALL_CAPS : names;
  for (const n of list) {
    if (form === "drop") {
      keep.delete(n);
      added.delete(n);
    } else {
      keep.add(n);
      added.add(n);
    }
  }
  const order = (s: Set<string>) => ALL_CAPS.filter((c) => s.has(c));
  return { keep: order(keep), added: order(added) };
}

export function capMaskOf(names: readonly string[]): bigint {
  let m = 0n;
  for (const n of names) {
    const i = CAP_NAMES.indexOf(n);
    if (i >= 0) m |= 1n << BigInt(i);
  }
  return m;
}

/**
 * Step 5 of the spec (runtime/features/process/spec.ts), first part, before
 * the ids: cut the bounding set (PR_CAPBSET_DROP needs CAP_SETPCAP in the
 * effective set, which a change of uid away from 0 clears).
 */
export function dropBounding(sys: Sys, caps: CapSetting): void {
  const keep = capMaskOf(caps.keep);
  for (let cap = 0; cap <= CAP_LAST_CAP; cap++) {
    if ((keep >> BigInt(cap)) & 1n) continue;
    try {
      sys.prctl(PR_CAPBSET_DROP, cap);
    } catch (e) {
      // EINVAL: a capability this kernel does not have; there is nothing to drop.
      if (!(e instanceof SysError && e.code === "EINVAL")) throw e;
    }
  }
}

/**
 * Step 5, last part, after the ids: effective and permitted, then for a
 * non-root uid the inheritable and ambient sets of what `cap add` named (uid 0
 * gets its bounding set at execve: the ambient set would add nothing). capset
 * needs no effective capability to choose within the permitted set.
 */
export function setCapSets(sys: Sys, caps: CapSetting, uid: number): void {
  const mask = capMaskOf(caps.keep) & sys.capget().permitted;
  const ambient = uid === 0 ? 0n : capMaskOf(caps.added) & mask;
  sys.capset({ effective: mask, permitted: mask, inheritable: ambient });
  sys.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
  for (let cap = 0; cap <= CAP_LAST_CAP; cap++) if ((ambient >> BigInt(cap)) & 1n) sys.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap);
}

/** Around a change of uid: keep the permitted set (PR_SET_KEEPCAPS) so that capset can choose from it. */
export function keepCapsAcrossSetuid(sys: Sys, on: boolean): void {
  sys.prctl(PR_SET_KEEPCAPS, on ? 1 : 0);
}
