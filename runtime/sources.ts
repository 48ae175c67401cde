// Which sources a build was made from: dist/<stamp>/sources.json, written with
// the build (runtime/bundle.ts), and the check that they are still what they
// were, which lets runtime/main.ts use the build dist/current names before it
// has looked at every source (the direct start: runtime/direct-start.ts).
//
// A build's stamp is the newest modification time of its sources (bundle.ts,
// newestSource; main.ts finds it the same way). Instead of listing the source
// trees again (Bun.Glob: ~1.3 ms), the check looks at what the manifest names:
//   - every source file: none may be newer than the stamp, and the newest must
//     be exactly the stamp (an edit moves a file's time forward; the newest one
//     set back would make another stamp);
//   - every directory of the source trees, with its time at the build: a file
//     added, removed or renamed changes its directory's time, and a directory
//     added its parent's. So a source the manifest does not name cannot exist
//     unnoticed.
// Times as Bun.file reports them (ms); a file Bun cannot stat reports 2^52-1,
// and counts for nothing, as in main.ts's scan (its directory tells).

/** The source trees and the files of each that make the stamp (bundle.ts and main.ts scan the same). */
export const SOURCE_TREES: readonly (readonly [string, string])[] = [
  ["runtime", "**/*.ts"],
  ["native", "**/*.ts"],
  ["lang", "**/*.ts"],
  ["stdlib", "**/*.ctr"],
];

/** dist/<stamp>/sources.json. Paths are relative to the package's root. */
export interface SourcesManifest {
  stamp: number;
  files: string[];
  /** Each directory of the trees (the trees' own too) and its modification time. */
  dirs: [string, number][];
}

/** What Bun.file reports for a path it cannot stat. */
const UNSTATABLE = 2 ** 52 - 1;

/**
 * The stamp of the build `m` describes, if the sources under `root` are still
 * the ones it was made from; else 0. `mtime` is Bun.file(path).lastModified.
 */
export function unchangedStamp(m: SourcesManifest, root: string, mtime: (path: string) => number): number {
  for (const [dir, t] of m.dirs) if (mtime(`${root}/${dir}`) !== t) return 0;
  let newest = 0;
  for (const f of m.files) {
    const t = mtime(`${root}/${f}`);
    if (t === UNSTATABLE) continue;
    if (Math.floor(t) > m.stamp) return 0;
    if (t > newest) newest = t;
  }
  return Math.floor(newest) === m.stamp ? m.stamp : 0;
}

/** Parses a manifest's text; null when it is not one (a build of an older ctr has none). */
export function parseManifest(text: string): SourcesManifest | null {
  try {
    const m = JSON.parse(text) as SourcesManifest;
    const ok = Number.isInteger(m.stamp) && Array.isArray(m.files) && m.files.every((f) => typeof f === "string") && Array.isArray(m.dirs) && m.dirs.every((d) => Array.isArray(d) && typeof d[0] === "string" && typeof d[1] === "number");
    return ok && m.dirs.length > 0 ? m : null;
  } catch {
    return null;
  }
}
