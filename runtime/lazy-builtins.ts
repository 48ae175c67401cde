// A build plugin for ctr's bundles (runtime/bundle.ts): node:fs, node:path and
// node:os are loaded on their first use, not when a bundle loads.
//
// Why: a Bun process pays ~2.5 ms of CPU the first time it loads any `node:`
// module (Node's compatibility layer) and ~3 ms more for node:fs (measured for
// issue 17, JIT off, as every stage runs). A bundle evaluates all its modules'
// imports as it loads, so one module that imports node:fs made every process
// of that bundle pay, although PID 1 of a plain run and the host's direct start
// (runtime/direct-start.ts) call nothing of it: their calls go through libc
// (native/files.ts, runtime/fdio.ts). The sources keep their ordinary imports;
// in a bundle each import of these three resolves to a stand-in with the same
// exports: each function forwards to the real module, loaded on the first call
// (process.getBuiltinModule, which the bundler leaves alone); plain data (the
// constants, path.sep) is copied at build time, the same machine's values;
// objects of functions (path.posix, fs.promises) forward each property.
// `instanceof` against a class of these modules would not hold: ctr has none.

import type { BunPlugin } from "bun";

const NAMES = ["fs", "path", "os"] as const;

/** Plain data: numbers, strings, booleans, null, and objects or arrays of them. */
function isPlain(v: unknown): boolean {
  if (v === null || ["number", "string", "boolean"].includes(typeof v)) return true;
  if (typeof v !== "object") return false;
  return Object.values(v as object).every(isPlain);
}

/** The stand-in module's source for `node:name`. */
export function standIn(name: (typeof NAMES)[number]): string {
  const real = process.getBuiltinModule(`node:${name}`) as Record<string, unknown>;
  const lines = [`let m;`, `const get = () => (m ??= process.getBuiltinModule("node:${name}"));`];
  for (const [key, value] of Object.entries(real)) {
    if (!/^[A-Za-z_$][\w$]*$/.test(key) || key === "default") continue;
    if (typeof value === "function") lines.push(`export function ${key}(...a) { return get().${key}(...a); }`);
    else if (isPlain(value)) lines.push(`export const ${key} = ${JSON.stringify(value)};`);
    else if (typeof value === "object") lines.push(`export const ${key} = /* @__PURE__ */ new Proxy({}, { get: (_, k) => get().${key}[k] });`);
    // undefined (e.g. fs.lchmod on Linux): left out, as a missing export
  }
  lines.push(`export default /* @__PURE__ */ new Proxy({}, { get: (_, k) => get()[k] });`);
  return lines.join("\n");
}

/** An import or require of node:fs, node:path or node:os (with or without the prefix) in a source's text. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(["'])(?:node:)?(fs|path|os)\2/g;

/**
 * Bun's bundler resolves built-in modules before any plugin sees them, so the
 * plugin rewrites the specifiers of ctr's own sources (not node_modules') as it
 * loads them, to a name of its own, which it resolves to the stand-in.
 */
export const lazyBuiltins: BunPlugin = {
  name: "ctr-lazy-builtins",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await Bun.file(args.path).text();
      if (args.path.includes("/node_modules/")) return { contents: text, loader: "ts" };
      return { contents: text.replace(SPECIFIER, (_, lead: string, q: string, name: string) => `${lead}${q}ctr-lazy-builtin:${name}${q}`), loader: "ts" };
    });
    build.onResolve({ filter: /^ctr-lazy-builtin:/ }, (args) => ({ path: args.path.slice("ctr-lazy-builtin:".length), namespace: "ctr-lazy-builtin" }));
    build.onLoad({ filter: /.*/, namespace: "ctr-lazy-builtin" }, (args) => ({ contents: standIn(args.path as (typeof NAMES)[number]), loader: "js" }));
  },
};
