// JSON with places: a config.json parsed into plain values plus, for every
// JSON pointer (RFC 6901: `/linux/namespaces/2/type`), where its value and,
// for an object member, its key stand in the text. Diagnostics of a bundle
// point there (runtime/features/oci/translate.ts), as a script's point at a
// line and column. JSON.parse gives no positions, hence this small parser;
// it follows RFC 8259 (no comments, no trailing commas) and refuses what
// JSON.parse refuses, with the line and column of the problem.

export interface Place {
  /** Offset of the value's first character, and its length. */
  offset: number;
  length: number;
  /** For an object member: the offset and length of its key (with the quotes). */
  keyOffset?: number;
  keyLength?: number;
}

export interface Located {
  value: unknown;
  places: Map<string, Place>;
  /** 1-based line and column of an offset. */
  lineColumn(offset: number): { line: number; column: number };
}

export class JsonError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** A pointer's next token: `~` and `/` escaped as `~0` and `~1`. */
export function pointer(parent: string, key: string | number): string {
  return `${parent}/${String(key).replaceAll("~", "~0").replaceAll("/", "~1")}`;
}

/** Parse `text`; throws JsonError at the first problem. */
export function parseLocated(text: string): Located {
  const places = new Map<string, Place>();
  let i = 0;
  const ws = (): void => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const fail = (what: string): never => {
    throw new JsonError(i >= text.length ? `unexpected end of JSON: ${what}` : `unexpected ${JSON.stringify(text[i])}: ${what}`, Math.min(i, text.length));
  };
  /** After a member or element: true at `,` (another follows), false at `close`. */
  const more = (close: string, what: string): boolean => {
    ws();
    if (text[i] === "," || text[i] === close) return text[i++] === ",";
    return fail(`\`,\` or \`${close}\` in ${what}`);
  };
  const str = (): string => {
    const start = i;
    i++; // the opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      else if (text.charCodeAt(i) < 0x20) fail("a control character in a string");
      i++;
    }
    if (i >= text.length) fail("an unterminated string");
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      i = start;
      return fail("a malformed escape in a string");
    }
  };
  const value = (at: string, key?: { offset: number; length: number }): unknown => {
    ws();
    const start = i;
    let v: unknown;
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === "}") i++;
      else
        for (;;) {
          ws();
          if (text[i] !== '"') fail("a member name in double quotes");
          const ko = i;
          const k = str();
          const kl = i - ko;
          ws();
          if (text[i] !== ":") fail("`:` after a member name");
          i++;
          obj[k] = value(pointer(at, k), { offset: ko, length: kl });
          if (!more("}", "an object")) break;
        }
      v = obj;
    } else if (c === "[") {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === "]") i++;
      else
        for (;;) {
          arr.push(value(pointer(at, arr.length)));
          if (!more("]", "an array")) break;
        }
      v = arr;
    } else if (c === '"') v = str();
    else {
      const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
      if (!m) fail("a JSON value");
      i += m![0].length;
      v = JSON.parse(m![0]);
    }
    places.set(at, { offset: start, length: i - start, ...(key ? { keyOffset: key.offset, keyLength: key.length } : {}) });
    return v;
  };
  const v = value("");
  ws();
  if (i < text.length) fail("the end of the document");
  let lines: number[] | null = null;
  return {
    value: v,
    places,
    lineColumn(offset: number) {
      lines ??= [0, ...[...text.matchAll(/\n/g)].map((m) => m.index! + 1)];
      let lo = 0;
      let hi = lines.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (lines[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      return { line: lo + 1, column: offset - lines[lo]! + 1 };
    },
  };
}
