// The compiled-plan cache (issue 11 item 9): used only in a directory of the
// user's that no one else can write, each entry bound to the script's text and
// ctr's version, and bounded in count, size and age. In a fresh
// XDG_CACHE_HOME: no container is started.

import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as cache from "../../runtime/plancache.ts";
import type { Plan } from "../../runtime/ops.ts";

const ROOT = mkdtempSync(join(tmpdir(), "ctr-plancache-"));
const savedXdg = process.env.XDG_CACHE_HOME;
let home = "";
let dir = "";
let n = 0;

beforeEach(() => {
  home = join(ROOT, `home-${n++}`);
  mkdirSync(home, { mode: 0o700 });
  process.env.XDG_CACHE_HOME = home;
  dir = join(home, "ctr", "plans");
});
afterEach(() => {
  if (savedXdg === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedXdg;
});
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

const STAMP = "/repo/dist/123";
const VERSION = "0.1.0";

function planFor(host: string): Plan {
  return { namespaces: ["uts"], ops: [{ kind: "hostname", name: host, side: "pid1", span: { file: "s.ctr", line: 2, column: 1, offset: 7, length: 10 }, source: `hostname ${host}` } as unknown as Plan["ops"][number]], needsDefaultRootfs: false };
}

function stored(text: string, host = "x", version = VERSION): cache.PlanKey {
  const k = cache.planKey("s.ctr", text, [], STAMP, version)!;
  cache.storePlan(k, planFor(`${host}-@CTR-ID@`));
  return k;
}

const entries = (): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")).sort() : []);

describe("plan cache", () => {
  test("a stored plan comes back with the container id filled in; the directory is made 0700", () => {
    const k = stored("ns uts\nhostname x\n");
    expect(cache.loadPlan(k, "ctr-abc")?.ops[0]).toMatchObject({ kind: "hostname", name: "x-ctr-abc" });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, entries()[0]!)).mode & 0o777).toBe(0o600);
  });

  test("a directory writable by its group or others, or a symbolic link, is not used at all", () => {
    const k = stored("ns uts\nhostname x\n");
    for (const mode of [0o777, 0o770, 0o722]) {
      chmodSync(dir, mode);
      expect(cache.cacheProblem()).toContain(`writable by ${mode & 0o002 ? "others" : "its group"}`);
      expect(cache.loadPlan(k, "id")).toBeNull();
      const other = cache.planKey("s.ctr", "ns uts\nhostname y\n", [], STAMP, VERSION)!;
      cache.storePlan(other, planFor("y"));
      expect(entries()).toEqual([`${k.key}.json`]); // nothing stored there either
    }
    chmodSync(dir, 0o700);
    expect(cache.loadPlan(k, "id")).not.toBeNull();
    renameSync(dir, `${dir}.real`);
    symlinkSync(`${dir}.real`, dir);
    expect(cache.cacheProblem()).toBe("it is a symbolic link");
    expect(cache.loadPlan(k, "id")).toBeNull();
  });

  test("a directory of another user is not used (as root under `sudo -E`, HOME is the user's)", () => {
    if (process.geteuid?.() !== 0) {
      console.log("skipped: needs root to give the cache directory to another user");
      return;
    }
    const k = stored("ns uts\nhostname x\n");
    chownSync(dir, 65534, 65534);
    expect(cache.cacheProblem()).toBe("it belongs to uid 65534, not to 0");
    expect(cache.loadPlan(k, "id")).toBeNull();
    chownSync(dir, 0, 0);
    // An entry of another user's in our directory is not trusted either.
    chownSync(join(dir, `${k.key}.json`), 65534, 65534);
    expect(cache.loadPlan(k, "id")).toBeNull();
  });

  test("an entry is bound to the script's text, ctr's version and its own plan: copied, stale or edited, it is not used and goes", () => {
    const a = stored("ns uts\nhostname a\n", "a");
    const b = stored("ns uts\nhostname b\n", "b");
    const pathA = join(dir, `${a.key}.json`);
    const pathB = join(dir, `${b.key}.json`);
    // A's plan under B's key: B's script would run A's plan.
    copyFileSync(pathA, pathB);
    expect(cache.loadPlan(b, "id")).toBeNull();
    expect(existsSync(pathB)).toBe(false);
    // The plan edited in place (a bind of the host's / instead): the digest no longer matches.
    const entry = JSON.parse(readFileSync(pathA, "utf8"));
    writeFileSync(pathA, JSON.stringify({ ...entry, plan: entry.plan.replace('"hostname"', '"mount"') }), { mode: 0o600 });
    expect(cache.loadPlan(a, "id")).toBeNull();
    // Another version's entry.
    const c = stored("ns uts\nhostname c\n", "c");
    const pathC = join(dir, `${c.key}.json`);
    writeFileSync(pathC, JSON.stringify({ ...JSON.parse(readFileSync(pathC, "utf8")), version: "0.0.9" }), { mode: 0o600 });
    expect(cache.loadPlan(c, "id")).toBeNull();
    // An entry anyone may write.
    const d = stored("ns uts\nhostname d\n", "d");
    chmodSync(join(dir, `${d.key}.json`), 0o666);
    expect(cache.loadPlan(d, "id")).toBeNull();
    // The key itself depends on ctr's version.
    expect(cache.planKey("s.ctr", "ns uts\n", [], STAMP, "0.2.0")!.key).not.toBe(cache.planKey("s.ctr", "ns uts\n", [], STAMP, VERSION)!.key);
  });

  test(`bounded: at most ${cache.MAX_ENTRIES} entries, the most recently used kept; unused for ${cache.MAX_AGE_DAYS} days they go; at most ${cache.MAX_BYTES >> 20} MiB`, () => {
    const first = stored("echo 0\n");
    const keys: cache.PlanKey[] = [first];
    const past = Date.now() / 1000 - 3600;
    utimesSync(join(dir, `${first.key}.json`), past, past);
    for (let i = 1; i < cache.MAX_ENTRIES + 40; i++) keys.push(stored(`echo ${i}\n`));
    expect(entries().length).toBe(cache.MAX_ENTRIES);
    expect(existsSync(join(dir, `${first.key}.json`))).toBe(false); // the oldest went first
    expect(cache.loadPlan(keys[keys.length - 1]!, "id")).not.toBeNull();

    const old = Date.now() / 1000 - (cache.MAX_AGE_DAYS + 1) * 86400;
    for (const k of keys.slice(-10)) utimesSync(join(dir, `${k.key}.json`), old, old);
    cache.evict(dir);
    expect(entries().length).toBe(cache.MAX_ENTRIES - 10);

    for (let i = 0; i < 12; i++) writeFileSync(join(dir, `big${i}.json`), "x".repeat(1 << 20), { mode: 0o600 });
    cache.evict(dir);
    const total = entries().reduce((s, f) => s + statSync(join(dir, f)).size, 0);
    expect(total).toBeLessThanOrEqual(cache.MAX_BYTES);
  });

  test("which scripts get a key: imports of the standard library written out, yes; any other import, a profile file, an image, no", () => {
    const key = (text: string) => cache.planKey("s.ctr", text, [], STAMP, VERSION);
    for (const text of ['import "std/docker"\nns uts\ndocker_security\n', 'import "std/docker.ctr"; ns uts\n', "ns uts\nseccomp default\n"]) expect(key(text)).not.toBeNull();
    for (const text of [
      'import "./mine.ctr"\nns uts\n',
      'import "std/docker"\nimport "/etc/x.ctr"\nns uts\n',
      'let d = docker\nimport "std/${d}"\nns uts\n',
      'import "std/../x"\nns uts\n',
      "ns uts\nseccomp /etc/profile.json\n",
      "ns uts\nrootfs image busybox\n",
      "# an import in a comment counts too: the rule is read off the text, not parsed\nns uts\n",
    ])
      expect(key(text)).toBeNull();
  });

  // A cached plan of a script that imports the standard library holds what the library said
  // when it was planned: only the code stamp, which counts stdlib/ (runtime/bundle.ts), tells
  // that it changed. So nothing in it may depend on anything else.
  test("the standard library depends on nothing the code stamp does not cover: no other import, profile file, image or environment variable", () => {
    const std = join(import.meta.dir, "..", "..", "stdlib");
    const files = readdirSync(std).filter((f) => f.endsWith(".ctr"));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const text = readFileSync(join(std, f), "utf8");
      const code = text.replace(/#.*$/gm, ""); // comments say nothing ctr reads
      expect({ f, key: cache.planKey(f, code, [], STAMP, VERSION) === null }).toEqual({ f, key: false });
      expect({ f, env: /\$\{env\./.test(code) }).toEqual({ f, env: false });
    }
  });
});
