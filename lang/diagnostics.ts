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

/** The source line of a span and a caret line under it (without the gutter). */
export function excerpt(text: string, s: Span): { line: string; caret: string } | undefined {
  let start = 0;
  for (let l = 1; l < s.line; l++) {
    const nl = text.indexOf("\n", start);
    if (nl === -1) return undefined;
    start = nl + 1;
  }
  let end = text.indexOf("\n", start);
  if (end === -1) end = text.length;
  let line = text.slice(start, end);
  if (line.endsWith("\r")) line = line.slice(0, -1);
  const col = Math.max(1, s.column);
  if (col - 1 > line.length) return undefined;
  // Keep tabs in the padding so the caret lines up with the source.
  const pad = line.slice(0, col - 1).replace(/[^\t]/g, " ");
  const width = Math.max(1, Math.min(s.length, line.length - (col - 1)));
  return { line, caret: pad + "^".repeat(width) };
}

/**
 * Formats one diagnostic. `source(file)` returns the text of a file (or
 * undefined when unknown: the excerpt is then left out).
 */
export function formatDiagnostic(d: Diagnostic, source: (file: string) => string | undefined, color = false): string {
  const c = (code: string, s: string): string => (color ? code + s + ANSI.reset : s);
  const sev = d.severity === "error" ? c(ANSI.bold + ANSI.red, "error") : c(ANSI.bold + ANSI.yellow, "warning");
  const out: string[] = [`${c(ANSI.bold, formatLocation(d.span) + ":")} ${sev}: ${c(ANSI.bold, d.message)}`];
  const text = safeSource(source, d.span.file);
  const ex = text !== undefined ? excerpt(text, d.span) : undefined;
  if (ex) {
    const num = String(d.span.line);
    const gutter = " ".repeat(num.length);
    out.push(`${c(ANSI.blue, `  ${num} |`)} ${ex.line}`);
    out.push(`${c(ANSI.blue, `  ${gutter} |`)} ${c(d.severity === "error" ? ANSI.red : ANSI.yellow, ex.caret)}`);
  }
  if (d.help) out.push(`${c(ANSI.bold + ANSI.cyan, "help")}: ${d.help}`);
  for (const n of d.notes ?? []) out.push(`${c(ANSI.bold, "note")}: ${n.message}, at ${formatLocation(n.span)}`);
  return out.join("\n");
}

function safeSource(source: (file: string) => string | undefined, file: string): string | undefined {
  try {
    return source(file);
  } catch {
    return undefined;
  }
}

/** All diagnostics, separated by blank lines, plus a summary line. */
export function formatDiagnostics(ds: readonly Diagnostic[], source: (file: string) => string | undefined, color = false): string {
  if (ds.length === 0) return "";
  const errors = ds.filter((d) => d.severity === "error").length;
  const warnings = ds.length - errors;
  const parts = ds.map((d) => formatDiagnostic(d, source, color));
  const summary: string[] = [];
  if (errors) summary.push(`${errors} error${errors === 1 ? "" : "s"}`);
  if (warnings) summary.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
  return parts.join("\n\n") + "\n\n" + summary.join(", ") + "\n";
}
