// Formatting of diagnostics in the compiler convention:
//
//   script.ctr:3:10: error: unknown namespace `utss`
//     3 | ns pid, utss
//       |         ^^^^
//   help: did you mean `uts`?

import type { Diagnostic, Span } from "./spec.ts";

const ANSI = {
  reset: "\x1b[0m",
  bold: "\x1b[1m",
  red: "\x1b[31m",
  yellow: "\x1b[33m",
  blue: "\x1b[34m",
  cyan: "\x1b[36m",
};

export function formatLocation(s: Span): string {
  return `${s.file}:${s.line}:${s.column}`;
}

/** Source lines longer than this are shown as a window of WINDOW characters around the span. */
export const LONG_LINE = 120;
const WINDOW = 100;
/** Messages, help and notes longer than this lose their middle. */
export const LONG_MESSAGE = 300;

/** Where the line of `s` starts in `text`: from the offset when it agrees with the column, else by counting lines. */
function lineStart(text: string, s: Span): number | undefined {
  const start = s.offset - (s.column - 1);
  if (start >= 0 && start <= text.length && (start === 0 || text.charCodeAt(start - 1) === 10)) return start;
  let at = 0;
  for (let l = 1; l < s.line; l++) {
    const nl = text.indexOf("\n", at);
    if (nl === -1) return undefined;
    at = nl + 1;
  }
  return at;
}

/**
 * The source line of a span and a caret line under it (without the gutter).
 * A long line is cut to a window around the span, marked with `…` where it
 * was cut; only the window is read, so this costs the same on any line.
 */
export function excerpt(text: string, s: Span): { line: string; caret: string } | undefined {
  const start = lineStart(text, s);
  if (start === undefined) return undefined;
  const col = Math.max(1, s.column);
  // Read at most what can be shown: the window, or the whole line if it is short.
  let from = 0;
  let chunk = text.slice(start, start + LONG_LINE + 2);
  let nl = chunk.indexOf("\n");
  let line = nl === -1 ? chunk : chunk.slice(0, nl);
  let cutLeft = false;
  let cutRight = false;
  if ((nl === -1 && start + chunk.length < text.length) || line.length > LONG_LINE) {
    // Long: a window starting a little before the column.
    from = Math.max(0, col - 1 - Math.floor(WINDOW / 3));
    chunk = text.slice(start + from, start + from + WINDOW + 1);
    nl = chunk.indexOf("\n");
    line = nl === -1 ? chunk : chunk.slice(0, nl);
    cutLeft = from > 0;
    cutRight = line.length > WINDOW || (nl === -1 && start + from + chunk.length < text.length);
    if (line.length > WINDOW) line = line.slice(0, WINDOW);
  }
  if (line.endsWith("\r") && !cutRight) line = line.slice(0, -1);
  if (col - 1 - from > line.length) return undefined;
  // Keep tabs in the padding so the caret lines up with the source.
  const pad = (cutLeft ? " " : "") + line.slice(0, col - 1 - from).replace(/[^\t]/g, " ");
  const width = Math.max(1, Math.min(s.length, line.length - (col - 1 - from)));
  return { line: (cutLeft ? "…" : "") + line + (cutRight ? "…" : ""), caret: pad + "^".repeat(width) };
}

/** `s` with its middle replaced by `…` when it is longer than `max`. */
export function clip(s: string, max = LONG_MESSAGE): string {
  if (s.length <= max) return s;
  const tail = Math.floor(max / 5);
  return `${s.slice(0, max - tail - 1)}…${s.slice(s.length - tail)}`;
}

/**
 * Formats one diagnostic. `source(file)` returns the text of a file (or
 * undefined when unknown: the excerpt is then left out).
 */
export function formatDiagnostic(d: Diagnostic, source: (file: string) => string | undefined, color = false): string {
  const c = (code: string, s: string): string => (color ? code + s + ANSI.reset : s);
  const sev = d.severity === "error" ? c(ANSI.bold + ANSI.red, "error") : c(ANSI.bold + ANSI.yellow, "warning");
  const out: string[] = [`${c(ANSI.bold, clip(formatLocation(d.span)) + ":")} ${sev}: ${c(ANSI.bold, clip(d.message))}`];
  const text = safeSource(source, d.span.file);
  const ex = text !== undefined ? excerpt(text, d.span) : undefined;
  if (ex) {
    const num = String(d.span.line);
    const gutter = " ".repeat(num.length);
    out.push(`${c(ANSI.blue, `  ${num} |`)} ${ex.line}`);
    out.push(`${c(ANSI.blue, `  ${gutter} |`)} ${c(d.severity === "error" ? ANSI.red : ANSI.yellow, ex.caret)}`);
  }
  if (d.help) out.push(`${c(ANSI.bold + ANSI.cyan, "help")}: ${clip(d.help)}`);
  const notes = d.notes ?? [];
  for (const n of notes.slice(0, MAX_NOTES)) out.push(`${c(ANSI.bold, "note")}: ${clip(n.message)}, at ${clip(formatLocation(n.span))}`);
  if (notes.length > MAX_NOTES) out.push(`${c(ANSI.bold, "note")}: ${notes.length - MAX_NOTES} more notes not shown`);
  return out.join("\n");
}

function safeSource(source: (file: string) => string | undefined, file: string): string | undefined {
  try {
    return source(file);
  } catch {
    return undefined;
  }
}

/** At most this many diagnostics are printed; the rest are counted (as compilers do). */
export const MAX_SHOWN = 50;
/** At most this many notes per diagnostic (a deep call chain has one per call). */
const MAX_NOTES = 10;

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** The first `max` diagnostics, and a line counting the others (undefined when none is left out). */
export function limitDiagnostics(ds: readonly Diagnostic[], max = MAX_SHOWN): { shown: readonly Diagnostic[]; more: string | undefined } {
  if (ds.length <= max) return { shown: ds, more: undefined };
  const rest = ds.slice(max);
  const errors = rest.filter((d) => d.severity === "error").length;
  const warnings = rest.length - errors;
  const what = [errors ? plural(errors, "more error") : "", warnings ? plural(warnings, "more warning") : ""].filter(Boolean).join(" and ");
  return { shown: ds.slice(0, max), more: `${what} not shown` };
}

/** The diagnostics (at most MAX_SHOWN), separated by blank lines, plus a summary line. */
export function formatDiagnostics(ds: readonly Diagnostic[], source: (file: string) => string | undefined, color = false): string {
  if (ds.length === 0) return "";
  const errors = ds.filter((d) => d.severity === "error").length;
  const warnings = ds.length - errors;
  const { shown, more } = limitDiagnostics(ds);
  const parts = shown.map((d) => formatDiagnostic(d, source, color));
  if (more) parts.push(more);
  const summary: string[] = [];
  if (errors) summary.push(plural(errors, "error"));
  if (warnings) summary.push(plural(warnings, "warning"));
  return parts.join("\n\n") + "\n\n" + summary.join(", ") + "\n";
}
