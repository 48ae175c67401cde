// Source text with a line index: turns offsets into Spans (1-based line/column).

import type { Span } from "./spec.ts";

export class SourceText {
  private starts: number[] | undefined;
  /** Line index of the last lookup: spans are mostly made in source order. */
  private last = 0;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  private lineStarts(): number[] {
    if (this.starts) return this.starts;
    const starts = [0];
    const t = this.text;
    let i = t.indexOf("\n");
    while (i !== -1) {
      starts.push(i + 1);
      i = t.indexOf("\n", i + 1);
    }
    this.starts = starts;
    return starts;
  }

  /** 1-based line and column of an offset (clamped to the text). */
  position(offset: number): { line: number; column: number } {
    if (!(offset >= 0)) offset = this.text.length;
    if (offset > this.text.length) offset = this.text.length;
    const starts = this.lineStarts();
    const n = starts.length;
    const l = this.last;
    if (starts[l]! <= offset) {
      // Fast path: same line or one of the next two.
      if (l + 1 >= n || offset < starts[l + 1]!) return { line: l + 1, column: offset - starts[l]! + 1 };
      if (l + 2 >= n || offset < starts[l + 2]!) {
        this.last = l + 1;
        return { line: l + 2, column: offset - starts[l + 1]! + 1 };
      }
    }
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    this.last = lo;
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  }

  /** The line of the last span (1-based), where it starts, and where the next one starts (past the text on the last line). */
  private curLine = 0;
  private curStart = 0;
  private nextStart = -1;

  span(offset: number, length: number): Span {
    // Fast path: spans are mostly made in source order, many on the line of the one before.
    if (offset >= this.curStart && offset < this.nextStart) {
      return { file: this.file, line: this.curLine, column: offset - this.curStart + 1, offset, length: length > 0 ? length : 0 };
    }
    if (!(offset >= 0) || offset > this.text.length) offset = this.text.length;
    const p = this.position(offset);
    const starts = this.starts!;
    this.curLine = p.line;
    this.curStart = starts[p.line - 1]!;
    this.nextStart = p.line < starts.length ? starts[p.line]! : this.text.length + 1;
    return { file: this.file, line: p.line, column: p.column, offset, length: length > 0 ? length : 0 };
  }

  /** The span from `start` to `end` (exclusive), both offsets. */
  range(start: number, end: number): Span {
    return this.span(start, Math.max(0, end - start));
  }
}

/** Span covering a and b (same file, a first). */
export function joinSpans(a: Span, b: Span): Span {
  const end = Math.max(a.offset + a.length, b.offset + b.length);
  return { ...a, length: end - a.offset };
}

export function spanEnd(s: Span): number {
  return s.offset + s.length;
}
