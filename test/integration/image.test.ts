// `rootfs image`: real containers on an overlay of imported layers. podman's own
// archives (both formats) run `/bin/sh -c` and `exec default`; a three-layer image
// built here shows a whiteout and an opaque directory hiding lower files; a file
// deleted in the container leaves the layers alone; the host's mount table is the
// same after every run (onHost). Each test imports into a store of its own.

import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTR, IS_ROOT, itest, onHost, type Host } from "./host-state.ts";
import { dockerArchive, ociArchive, podmanArchives, tarOf } from "../image/archives.ts";

let dir = "";
let rootfs = "";
let archives: { docker: string; oci: string } | string = "";

beforeAll(() => {
  if (!IS_ROOT) return;
  dir = mkdtempSync(join(tmpdir(), "ctr-it-image-"));
  rootfs = join(dir, "bb");
  const b = Bun.spawnSync([CTR, "rootfs", "busybox", rootfs], { stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr.toString()}`);
  archives = podmanArchives(dir, rootfs);
  if (typeof archives === "string") console.log(`skip: podman archives: ${archives}`);
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** `ctr image import` into a fresh store; returns the env that names it. */
async function imported(h: Host, file: string, name: string): Promise<Record<string, string>> {
  const env = { CTR_STORE: join(dir, `store-${n++}`) };
  const r = await h.ctr(["image", "import", file, name], { env });
  expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
  return env;
}

async function run(h: Host, env: Record<string, string>, script: string[]): Promise<string> {
  const r = await h.ctr(["-e", script.join("\n")], { env });
  expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
  return r.stdout;
}

describe("rootfs image", () => {
  for (const format of ["docker", "oci"] as const) {
    itest(`podman's ${format} archive: /bin/sh -c runs, the config's Env and WorkingDir are the defaults, exec default runs its Cmd`, () =>
      onHost(async (h) => {
        if (typeof archives === "string") return;
        const env = await imported(h, archives[format], "bb:1");
        const out = await run(h, env, ["ns mnt, pid, uts", "rootfs image bb:1", "run /bin/sh -c 'echo $GREETING in $(pwd); rm /bin/ls; test -e /bin/ls || echo gone'", 'expect output == "hello in /tmp\\ngone"', "exec default"]);
        expect(out).toBe("hello in /tmp\ngone\nfrom-cmd\n");
        // The container's deletion stayed in its upper layer, which went with it.
        const layers = join(env.CTR_STORE!, "layers");
        const diff = Bun.spawnSync(["sh", "-c", `ls ${layers}/*/diff/bin/ls`]).stdout.toString().trim();
        expect(existsSync(diff)).toBe(true);
      }), 60_000);
  }

  itest("three layers: a whiteout and an opaque directory hide the lower files; keep leaves the upper layer", () =>
    onHost(async (h) => {
      const tar = join(dir, "base.tar");
      Bun.spawnSync(["tar", "-C", rootfs, "-cf", tar, "."]);
      const base = Buffer.from(readFileSync(tar));
      const mid = await tarOf([{ name: "a/", type: "directory" }, { name: "a/keep", body: "k" }, { name: "a/gone", body: "g" }, { name: "d/", type: "directory" }, { name: "d/old", body: "o" }]);
      const top = await tarOf([{ name: "a/.wh.gone" }, { name: "d/", type: "directory" }, { name: "d/.wh..wh..opq" }, { name: "d/new", body: "n" }]);
      const file = await ociArchive(join(dir, "three.tar"), { layers: [base, mid, top], gzip: true, config: { Cmd: ["/bin/ls", "/a", "/d"] } });
      const env = await imported(h, file, "three");
      const out = await run(h, env, ["ns mnt, pid", "rootfs image three keep", "run /bin/sh -c 'rm /a/keep'", "exec default"]);
      expect(out).toBe("/a:\n\n/d:\nnew\n");
      const kept = join(env.CTR_STORE!, "containers");
      const ids = Bun.spawnSync(["ls", kept]).stdout.toString().trim().split("\n");
      expect(ids.length).toBe(1);
      // the container's deletion of a/keep: a whiteout in its kept upper layer
      const st = Bun.spawnSync(["stat", "-c", "%F %t:%T", join(kept, ids[0]!, "upper/a/keep")]).stdout.toString().trim();
      expect(st).toBe("character special file 0:0");
    }), 60_000);

  itest("the config's User is the default user: names from the image's /etc/passwd; a `user` before or after it wins", () =>
    onHost(async (h) => {
      const tar = join(dir, "base.tar");
      Bun.spawnSync(["tar", "-C", rootfs, "-cf", tar, "."]);
      const passwd = await tarOf([{ name: "etc/passwd", body: "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\ndaemon:x:2:3::/:/bin/false\n" }]);
      const echo = "echo $(busybox id -u):$(busybox id -g)";
      const file = await ociArchive(join(dir, "user.tar"), { layers: [Buffer.from(readFileSync(tar)), passwd], config: { User: "nobody", Cmd: ["/bin/sh", "-c", echo] } });
      const env = await imported(h, file, "who");
      const ids = `/bin/sh -c '${echo}'`;
      expect(await run(h, env, ["ns mnt, pid", "rootfs image who", "exec default"])).toBe("65534:65534\n");
      expect(await run(h, env, ["ns mnt, pid", "user 1000:1000", "rootfs image who", `exec ${ids}`])).toBe("1000:1000\n");
      expect(await run(h, env, ["ns mnt, pid", "rootfs image who", "user daemon", `exec ${ids}`])).toBe("2:3\n");
      expect(await run(h, env, ["ns mnt, pid", "rootfs image who", "user 0", `exec ${ids}`])).toBe("0:0\n");
      // a `run` inside the new root runs as the image's user too (the exec stage, runtime/features/process/stage.ts)
      expect(await run(h, env, ["ns mnt, pid", "rootfs image who", `run ${ids}`, "user 0", `run ${ids}`])).toBe("65534:65534\n0:0\n");
    }), 60_000);

  itest("a docker-archive with many layers mounts (the layers go to the kernel one at a time)", () =>
    onHost(async (h) => {
      const tar = join(dir, "base.tar");
      Bun.spawnSync(["tar", "-C", rootfs, "-cf", tar, "."]);
      const layers: Buffer[] = [Buffer.from(readFileSync(tar))];
      for (let i = 0; i < 60; i++) layers.push(await tarOf([{ name: `layer-${String(i).padStart(2, "0")}`, body: `${i}` }]));
      const file = await dockerArchive(join(dir, "many.tar"), { layers });
      const env = await imported(h, file, "many");
      const out = await run(h, env, ["ns mnt, pid", "rootfs image many", "run /bin/sh -c 'ls / | grep -c layer-'"]);
      expect(out).toBe("60\n");
    }), 90_000);
});
