// Parsing of the value kinds (shared by the checker and the runtime).

import { NAMESPACES, type Arg } from "./spec.ts";

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** 4096, 4k, 64m, 1.5g, 1t (binary units, case-insensitive) -> bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kmgtKMGT]?)$/.exec(text);
  if (!m) return undefined;
  const bytes = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  return Number.isFinite(bytes) ? Math.floor(bytes) : undefined;
}

/** A size as messages say it: 256 KiB, 1 MiB (whole units when they divide it, else bytes). */
export function formatSize(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20} MiB`;
  if (bytes >= 1 << 10 && bytes % (1 << 10) === 0) return `${bytes >> 10} KiB`;
  return `${bytes} bytes`;
}

/** 500ms, 2s, 1.5s, 1m, 1h, or plain seconds -> milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) return undefined;
  const unit = m[2] ?? "s";
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000;
  const v = Number(m[1]) * factor;
  return Number.isFinite(v) ? v : undefined;
}

/** 20% -> 20 (may be fractional). */
export function parsePercent(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** A non-negative integer written in decimal. */
export function parseInt10(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * The largest CPU number any kernel accepts, plus one: NR_CPUS is at most 8192
 * (x86 MAXSMP); cpuset.cpus refuses anything from nr_cpu_ids up (ERANGE).
 */
export const MAX_CPUS = 8192;
/** The same for memory nodes: MAX_NUMNODES is 1 << NODES_SHIFT, and NODES_SHIFT is at most 10. */
export const MAX_NODES = 1024;

/** Why a CPU list is refused (malformed, or naming a number from `bound` up), or undefined when it is fine. */
export function cpuListProblem(text: string, bound = MAX_CPUS): { malformed: true } | { tooLarge: string } | undefined {
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return { malformed: true };
    // Compared as numbers only once the digits are few enough: 2^53 and up no longer count by one.
    for (const d of [m[1]!, m[2]]) if (d !== undefined && (d.replace(/^0+(?=\d)/, "").length > 6 || Number(d) >= bound)) return { tooLarge: d };
    if (m[2] !== undefined && Number(m[2]) < Number(m[1])) return { malformed: true };
  }
  return undefined;
}

/**
 * "0-1,3" (or its items) -> sorted unique CPU indices; undefined when
 * malformed or when a number is `bound` or more. The bound is checked before
 * any range is walked, and overlapping ranges are merged first, so the work
 * is bounded by the list's length plus `bound`.
 */
export function parseCpuList(text: string, bound = MAX_CPUS): number[] | undefined {
  if (cpuListProblem(text, bound)) return undefined;
  const ranges = text.split(",").map((part) => {
    const [a, b = a] = part.trim().split("-").map(Number) as [number, number?];
    return [a, b!] as const;
  });
  ranges.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  let next = 0; // the first number not yet output
  for (const [a, b] of ranges) for (let i = Math.max(a, next); i <= b; i++) out.push(i), (next = i + 1);
  return out;
}

/** "10.0.0.1/24" -> parts; undefined when malformed. */
export function parseCidr(text: string): { address: string; prefix: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  return { address: octets.join("."), prefix };
}

/** 755, 0755, 1777 -> number. */
export function parseMode(text: string): number | undefined {
  return /^0?[0-7]{3,4}$/.test(text) ? parseInt(text, 8) : undefined;
}

export const MAX_ID = 2 ** 32 - 1;

/** Items of an argument that may be a comma list. */
export function itemsOf(arg: Arg): Arg[] {
  return arg.kind === "list" ? (arg.items ?? []) : [arg];
}

/** The namespace names in `ns`/`join` arguments (lists flattened). */
export function namespacesOf(args: readonly Arg[]): string[] {
  const out: string[] = [];
  for (const a of args) for (const it of itemsOf(a)) out.push(it.text);
  return out;
}

export function isNamespace(name: string): name is (typeof NAMESPACES)[number] {
  return (NAMESPACES as readonly string[]).includes(name);
}
