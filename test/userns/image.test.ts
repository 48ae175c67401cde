/**
 * Issue 14, rootless: `ctr image import` and `rootfs image` as uid 65534 with
 * `ns user`. The import marks the opaque directory with user.overlay.opaque,
 * the overlay is mounted with `userxattr` (so the mark hides the lower files:
 * without it the lower file shows through), a deletion in the container stays
 * in its upper layer, and the unprivileged teardown removes the upper and work
 * directories (overlayfs makes work/work mode 000; the container makes a mode
 * 000 directory of its own). A store imported as root is refused rootless at
 * check time, before anything is made.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTR, hostMountinfo, onHost, type Host } from "../integration/host-state.ts";
import { ociArchive, tarOf } from "../image/archives.ts";
import { ctrAsUser, freshenBundle, rootlessSkipReason, skipping, USER, USERNS_BLOCKER, userDir, userLeftovers, userStateBefore } from "./helpers.ts";

const skip = skipping(rootlessSkipReason() ?? (USERNS_BLOCKER ? `this machine forbids unprivileged user namespaces (${USERNS_BLOCKER})` : null));

let dir = "";
let archive = "";

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "ctr-userns-image-"));
  chmodSync(dir, 0o755);
  const rootfs = join(dir, "bb");
  const b = Bun.spawnSync([CTR, "rootfs", "busybox", rootfs], { stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr.toString()}`);
  const tar = join(dir, "base.tar");
  Bun.spawnSync(["tar", "-C", rootfs, "-cf", tar, "."]);
  const base = Buffer.from(readFileSync(tar));
  const mid = await tarOf([{ name: "a/", type: "directory" }, { name: "a/keep", body: "k" }, { name: "d/", type: "directory" }, { name: "d/old", body: "o" }]);
  const top = await tarOf([{ name: "d/", type: "directory" }, { name: "d/.wh..wh..opq" }, { name: "d/new", body: "n" }]);
  archive = await ociArchive(join(dir, "opaque.tar"), { layers: [base, mid, top], gzip: true, config: { Cmd: ["/bin/ls", "/a", "/d"] } });
  chmodSync(archive, 0o644);
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A store in the user's own HOME, with the image imported by the user. */
async function userStore(h: Host, home: string): Promise<string> {
  const store = join(home, "store");
  const r = await ctrAsUser(h, ["image", "import", archive, "opaque"], { home, env: { CTR_STORE: store } });
  expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
  return store;
}

/** A test as the user: a HOME of its own, and nothing of the user's ctr left behind afterwards. */
function asUser(body: (h: Host, home: string) => Promise<void>): Promise<void> {
  return onHost(async (h) => {
    await freshenBundle(h);
    const home = userDir(h);
    const state = userStateBefore();
    await body(h, home);
    expect(userLeftovers(h, state, home)).toEqual([]);
  });
}

const SCRIPT = ["ns user, mnt, pid", "rootfs image opaque", "mount proc", "run /bin/sh -c 'grep -c \" / / .* overlay .*userxattr\" /proc/self/mountinfo; rm /a/keep; mkdir -m 0 /z; ls /a /d'", "exec default"];

describe("rootless rootfs image (uid 65534)", () => {
  test.skipIf(skip)("imported and run as the user: the overlay has userxattr, the opaque directory hides the lower file, upper and work are removed", () =>
    asUser(async (h, home) => {
      const mounts = hostMountinfo();
      const store = await userStore(h, home);
      const r = await ctrAsUser(h, ["-e", SCRIPT.join("\n")], { home, env: { CTR_STORE: store } });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      // one root overlay with userxattr; /a/keep deleted, /d only has the top layer's file; then the image's Cmd
      expect(r.stdout).toBe("1\n/a:\n\n/d:\nnew\n/a:\n\n/d:\nnew\n");
      // the layer is untouched, owned by the user
      const layers = readdirSync(join(store, "layers"));
      const mid = layers.map((l) => join(store, "layers", l, "diff", "a", "keep")).find((p) => existsSync(p));
      expect(mid).toBeDefined();
      expect(statSync(mid!).uid).toBe(USER);
      expect(hostMountinfo()).toBe(mounts);
    }), 90_000);

  test.skipIf(skip)("keep: the upper layer is left in the user's store, with the container's whiteout", () =>
    asUser(async (h, home) => {
      const store = await userStore(h, home);
      const r = await ctrAsUser(h, ["-e", "ns user, mnt, pid\nrootfs image opaque keep\nexec /bin/rm /a/keep"], { home, env: { CTR_STORE: store } });
      expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
      const ids = readdirSync(join(store, "containers"));
      expect(ids.length).toBe(1);
      const wh = join(store, "containers", ids[0]!, "upper", "a", "keep");
      const st = Bun.spawnSync(["stat", "-c", "%F %t:%T %u", wh]).stdout.toString().trim();
      expect(st).toBe(`character special file 0:0 ${USER}`);
    }), 90_000);

  test.skipIf(skip)("a store imported as root is refused at check time, naming the reason; nothing is made", () =>
    asUser(async (h, home) => {
      const store = join(dir, `root-store-${process.pid}`);
      const imp = await h.ctr(["image", "import", archive, "opaque"], { env: { CTR_STORE: store } });
      expect({ code: imp.code, err: imp.stderr }).toEqual({ code: 0, err: "" });
      chmodSync(store, 0o755);
      const r = await ctrAsUser(h, ["-e", "ns user, mnt, pid\nrootfs image opaque\nexec /bin/true"], { home, env: { CTR_STORE: store } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('image "opaque" was imported as root: its opaque directories are marked with trusted.* xattrs');
      expect(existsSync(join(store, "containers"))).toBe(false);
    }), 90_000);
});
