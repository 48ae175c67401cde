// `volume`: host paths, named and anonymous volumes on real containers. What the
// first container writes the second reads; store volumes outlive the container
// until `ctr volume rm|prune`; a target that is a symlink in the image is resolved
// inside the container's root; the host's mount table is the same after every run
// (onHost). Each test has a store of its own (CTR_STORE).

import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTR, IS_ROOT, itest, onHost, type Host } from "./host-state.ts";
import { ociArchive, tarOf } from "../image/archives.ts";

let dir = "";
let base: Buffer = Buffer.alloc(0);

beforeAll(() => {
  if (!IS_ROOT) return;
  dir = mkdtempSync(join(tmpdir(), "ctr-it-volume-"));
  const rootfs = join(dir, "bb");
  const b = Bun.spawnSync([CTR, "rootfs", "busybox", rootfs], { stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr.toString()}`);
  Bun.spawnSync(["tar", "-C", rootfs, "-cf", join(dir, "bb.tar"), "."]);
  base = Buffer.from(readFileSync(join(dir, "bb.tar")));
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function ok(h: Host, env: Record<string, string>, args: string[]): Promise<string> {
  const r = await h.ctr(args, { env });
  expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
  return r.stdout;
}

/** A store with the busybox image (plus `extra` entries on top) imported as `bb`. */
async function storeWithImage(h: Host, extra: Parameters<typeof tarOf>[0] = []): Promise<Record<string, string>> {
  const env = { CTR_STORE: join(dir, `store-${n++}`) };
  const layers = extra.length ? [base, await tarOf(extra)] : [base];
  await ok(h, env, ["image", "import", await ociArchive(join(dir, `img-${n}.tar`), { layers }), "bb"]);
  return env;
}

describe("volume", () => {
  itest("-v /home:/test, a named volume and -v /test: data written in the first run is read in the second", () =>
    onHost(async (h) => {
      const env = await storeWithImage(h);
      const home = h.scratch();
      await ok(h, env, ["-e", ["ns mnt, pid", "rootfs image bb", `volume ${home}:/test`, "volume data:/named", "volume /anon", "run /bin/sh -c 'echo one > /test/f; echo two > /named/f; echo three > /anon/f'"].join("\n")]);
      expect(readFileSync(join(home, "f"), "utf8")).toBe("one\n");
      const out = await ok(h, env, ["-e", ["ns mnt, pid", "rootfs image bb", `volume ${home}:/test ro`, "volume data:/named", "volume /anon", "run /bin/sh -c 'cat /test/f /named/f; ls /anon | wc -l; echo x 2>/dev/null > /test/g || echo read-only'"].join("\n")]);
      expect(out).toMatch(/^one\ntwo\n\s*0\n.*read-only\n$/s);
      const vols = readdirSync(join(env.CTR_STORE!, "volumes")).sort();
      expect(vols.length).toBe(3); // data and two anonymous ones, one per container
      // the first container's anonymous volume kept what it wrote; the second's is empty
      const anon = vols.filter((v) => v.startsWith("anon-")).map((v) => readdirSync(join(env.CTR_STORE!, "volumes", v, "_data")).join(","));
      expect(anon.sort()).toEqual(["", "f"]);
      const ls = await ok(h, env, ["volume", "ls"]);
      expect(ls).toMatch(/^data\s+named\s/m);
      expect(await ok(h, env, ["volume", "prune"])).toContain("removed 2 anonymous volumes");
      expect(await ok(h, env, ["volume", "rm", "data"])).toBe("removed data\n");
      expect(readdirSync(join(env.CTR_STORE!, "volumes"))).toEqual([]);
    }), 60_000);

  itest("a target that is a symlink in the image is resolved inside the container's root, never on the host", () =>
    onHost(async (h) => {
      const hostDir = h.scratch();
      writeFileSync(join(hostDir, "host-file"), "host\n");
      const env = await storeWithImage(h, [{ name: "escape", type: "symlink", linkname: hostDir }]);
      const out = await ok(h, env, ["-e", ["ns mnt, pid", "rootfs image bb", "volume v:/escape", "run /bin/sh -c 'echo in > /escape/f; ls /escape'"].join("\n")]);
      expect(out).toBe("f\n");
      expect(readdirSync(hostDir)).toEqual(["host-file"]);
      expect(readFileSync(join(env.CTR_STORE!, "volumes/v/_data/f"), "utf8")).toBe("in\n");
    }), 60_000);

  itest("rootfs default takes volumes too; a missing host source is refused before anything runs", () =>
    onHost(async (h) => {
      const env = { CTR_STORE: join(dir, `store-${n++}`) };
      const out = await ok(h, env, ["-e", ["ns mnt, pid", "rootfs default", "volume w:/work", "run sh -c 'echo hi > /work/x; cat /work/x'"].join("\n")]);
      expect(out).toBe("hi\n");
      expect(existsSync(join(env.CTR_STORE, "volumes/w/_data/x"))).toBe(true);
      const bad = await h.ctr(["-e", "ns mnt\nvolume /nonexistent-ctr-test:/x"], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('volume source "/nonexistent-ctr-test" does not exist on the host');
    }), 60_000);
});
