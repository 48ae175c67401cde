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

/** "0-1,3" (or its items) -> sorted unique CPU indices; undefined when malformed. */
export function parseCpuList(text: string): number[] | undefined {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const p = part.trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 65536) return undefined;
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
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
