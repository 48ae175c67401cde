// `ctr image import`: real archives from podman in both formats, a multi-layer
// image with a whiteout and an opaque directory built here, and bad archives,
// each refused with its entry named and nothing left in the store or outside it.
// Every test has a store of its own (CTR_STORE, or Store(dir) in process).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { lgetxattr } from "../../native/xattr.ts";
import { imageCommand } from "../../runtime/features/image/commands.ts";
import { importImage } from "../../runtime/features/image/import.ts";
import { Store } from "../../runtime/features/image/store.ts";
import { dockerArchive, ociArchive, podmanArchives, sha, tarOf } from "./archives.ts";

const REPO = resolve(import.meta.dir, "../..");
const CTR = join(REPO, "bin", "ctr");
const IS_ROOT = process.getuid?.() === 0;
let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ctr-image-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A fresh, empty store. */
function newStore(): Store {
  return new Store(join(dir, `store-${n++}`));
}

/** What a store holds: image records, layer directories, leftovers in tmp/. */
function contents(s: Store): { images: number; layers: string[]; tmp: string[] } {
  const ls = (d: string) => (existsSync(d) ? readdirSync(d) : []);
  return { images: ls(`${s.root}/images`).length, layers: ls(`${s.root}/layers`), tmp: ls(`${s.root}/tmp`) };
}

const BASE = [
  { name: "a/", type: "directory" as const },
  { name: "a/keep", body: "keep\n" },
  { name: "a/gone", body: "gone\n" },
  { name: "d/", type: "directory" as const },
  { name: "d/old", body: "old\n" },
  { name: "bin/", type: "directory" as const },
  { name: "bin/tool", body: "#!/bin/sh\n", mode: 0o4755 },
  { name: "hard", type: "link" as const, linkname: "a/keep" },
  { name: "soft", type: "symlink" as const, linkname: "a/keep" },
  { name: "pipe", type: "fifo" as const },
];
const TOP = [
  { name: "a/.wh.gone" },
  { name: "d/", type: "directory" as const },
  { name: "d/.wh..wh..opq" },
  { name: "d/new", body: "new\n" },
];

describe("image import", () => {
  test.skipIf(!IS_ROOT)("a two-layer OCI image: whiteout, opaque directory, hard link, symlink, fifo, setuid mode", async () => {
    const s = newStore();
    const base = await tarOf(BASE);
    const top = await tarOf(TOP);
    const file = await ociArchive(join(dir, "two.tar"), { layers: [base, top], gzip: true, name: "localhost/two:1", config: { Cmd: ["/bin/sh"], Env: ["A=1"] } });
    const r = await importImage(file, undefined, s);
    expect(r.image.names).toEqual(["localhost/two:1"]);
    expect(r.image.layers).toEqual([sha(base), sha(top)]);
    expect(r.image.config).toEqual({ Cmd: ["/bin/sh"], Env: ["A=1"] });
    const low = s.layerDiff(sha(base));
    const up = s.layerDiff(sha(top));
    expect(readFileSync(`${low}/a/keep`, "utf8")).toBe("keep\n");
    expect(statSync(`${low}/hard`).ino).toBe(statSync(`${low}/a/keep`).ino);
    expect(lstatSync(`${low}/soft`).isSymbolicLink()).toBe(true);
    expect(lstatSync(`${low}/pipe`).isFIFO()).toBe(true);
    expect(statSync(`${low}/bin/tool`).mode & 0o7777).toBe(0o4755);
    const wh = lstatSync(`${up}/a/gone`);
    expect(wh.isCharacterDevice()).toBe(true);
    expect(wh.rdev).toBe(0);
    expect(existsSync(`${up}/a/.wh.gone`)).toBe(false);
    expect(new TextDecoder().decode(lgetxattr(`${up}/d`, "trusted.overlay.opaque")!)).toBe("y");
    expect(readFileSync(`${up}/d/new`, "utf8")).toBe("new\n");
    expect(contents(s).tmp).toEqual([]);
  });

  test.skipIf(!IS_ROOT)("a layer already in the store is kept once; rm removes names, then the image and its unused layers", async () => {
    const s = newStore();
    const base = await tarOf(BASE.filter((e) => e.type !== "fifo"));
    const other = await tarOf([{ name: "x", body: "x" }]);
    await importImage(await dockerArchive(join(dir, "one.tar"), { layers: [base], name: "one:1" }), undefined, s);
    const r = await importImage(await ociArchive(join(dir, "onetwo.tar"), { layers: [base, other] }), "onetwo", s);
    expect(r.layers.map((l) => l.added)).toEqual([false, true]);
    expect(contents(s).layers.length).toBe(2);
    expect(await imageCommand(["ls"], s)).toContain("onetwo:latest");
    expect(await imageCommand(["rm", "onetwo"], s)).toContain("and 1 layer no other image uses");
    expect(contents(s).layers).toEqual([sha(base).slice(7)]);
    expect(await imageCommand(["rm", "one:1"], s)).toContain("removed");
    expect(contents(s)).toEqual({ images: 0, layers: [], tmp: [] });
  });
});

describe("bad archives: refused whole, the entry named, nothing written", () => {
  /** Import `file` into a fresh store: it must fail with `message`, and leave nothing anywhere. */
  async function refused(file: string, message: string | RegExp): Promise<void> {
    const s = newStore();
    let err: unknown = null;
    try {
      await importImage(file, "bad", s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(message);
    expect(contents(s)).toEqual({ images: 0, layers: [], tmp: [] });
  }

  test("an entry that climbs out with ../", async () => {
    const layer = await tarOf([{ name: "ok", body: "1" }, { name: "../../etc/x-ctr-test", body: "evil" }]);
    await refused(await ociArchive(join(dir, "dotdot.tar"), { layers: [layer] }), /entry "\.\.\/\.\.\/etc\/x-ctr-test": climbs out/);
    expect(existsSync(join(dir, "etc"))).toBe(false);
  });

  test("an absolute entry", async () => {
    const out = join(dir, "abs-target");
    const layer = await tarOf([{ name: `${out}/x`, body: "evil" }]);
    await refused(await dockerArchive(join(dir, "abs.tar"), { layers: [layer] }), new RegExp(`entry "${out}/x": is an absolute path`));
    expect(existsSync(out)).toBe(false);
  });

  test("a symlink pointing out, then a file written through it", async () => {
    const out = join(dir, "outside");
    const layer = await tarOf([{ name: "link", type: "symlink", linkname: out }, { name: "link/evil", body: "evil" }]);
    await refused(await ociArchive(join(dir, "through.tar"), { layers: [layer] }), /entry "link\/evil": its parent "link" is a symlink/);
    expect(existsSync(out)).toBe(false);
  });

  test("a layer whose content does not have its digest", async () => {
    const good = await tarOf([{ name: "f", body: "good" }]);
    const evil = await tarOf([{ name: "f", body: "evil" }]);
    const file = await ociArchive(join(dir, "digest.tar"), {
      layers: [good],
      tamper: (files) => files.set(`blobs/sha256/${sha(good).slice(7)}`, evil),
    });
    await refused(file, new RegExp(`layer 1 \\(blobs/sha256/${sha(good).slice(7)}\\): its blob has the digest ${sha(evil)}`));
  });

  test("a docker-archive layer whose content is not its diff ID", async () => {
    const good = await tarOf([{ name: "f", body: "good" }]);
    const evil = await tarOf([{ name: "f", body: "evil" }]);
    const file = await dockerArchive(join(dir, "diffid.tar"), { layers: [good], tamper: (files) => files.set(`${sha(good).slice(7)}/layer.tar`, evil) });
    await refused(file, /the uncompressed layer has the digest .* the config's diff ID is/);
  });

  test("a truncated archive", async () => {
    const layer = await tarOf([{ name: "big", body: "x".repeat(200_000) }]);
    const file = await dockerArchive(join(dir, "trunc.tar"), { layers: [layer] });
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await refused(file, /truncated|cannot be read|has no/);
  });

  test("not an image archive", async () => {
    const file = join(dir, "plain.tar");
    writeFileSync(file, await tarOf([{ name: "hello", body: "hi" }]));
    await refused(file, /neither a docker-archive .* nor an OCI image layout/);
  });

  test("the CLI says it on stderr with status 125, and usage mistakes get 2", () => {
    const env = { ...process.env, CTR_STORE: join(dir, "cli-store") };
    const r = Bun.spawnSync([CTR, "image", "import", join(dir, "missing.tar")], { env, stderr: "pipe" });
    expect(r.exitCode).toBe(125);
    expect(r.stderr.toString()).toMatch(/^ctr: .*missing\.tar/);
    const u = Bun.spawnSync([CTR, "image", "frob"], { env, stderr: "pipe" });
    expect(u.exitCode).toBe(2);
    expect(u.stderr.toString()).toContain("unknown image command `frob`");
  });
});

describe("archives written by podman", () => {
  let archives: { docker: string; oci: string } | string = "";
  beforeAll(() => {
    const rootfs = join(dir, "bb-rootfs");
    const b = Bun.spawnSync([CTR, "rootfs", "busybox", rootfs], { stderr: "pipe" });
    archives = b.exitCode !== 0 ? `no busybox rootfs: ${b.stderr.toString().trim()}` : podmanArchives(dir, rootfs);
    if (typeof archives === "string") console.log(`skip: podman archives: ${archives}`);
  }, 60_000);

  test("docker-archive and oci-archive import to the same image, with the config podman wrote", async () => {
    if (typeof archives === "string") return;
    const s = newStore();
    const a = await importImage(archives.docker, undefined, s);
    const b = await importImage(archives.oci, "bb:oci", s);
    expect(a.image.id).toBe(b.image.id);
    expect(a.image.names).toEqual(["localhost/ctrtest-bb:1"]);
    expect(b.layers[0]!.added).toBe(false);
    expect(a.image.config).toMatchObject({ Cmd: ["/bin/sh", "-c", "echo from-cmd"], WorkingDir: "/tmp" });
    expect(a.image.config.Env).toContain("GREETING=hello");
    expect(existsSync(`${s.layerDiff(a.image.layers[0]!)}/bin/busybox`)).toBe(true);
    const inspect = JSON.parse(await imageCommand(["inspect", "bb:oci"], s));
    expect(inspect.layers[0].size).toBeGreaterThan(1000);
  }, 60_000);
});
