// The syscall seam (native/seam.ts) and its recording double (native/recording.ts).

import { describe, expect, test } from "bun:test";
import { RecordingSys } from "../../native/recording.ts";
import { MS_BIND, MS_NOSUID, OPEN_TREE_CLONE, AT_FDCWD, O_PATH, RESOLVE_IN_ROOT } from "../../native/index.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

describe("the seam loads nothing early", () => {
  test("importing realSys, the recorder and PID 1's executors does not load koffi", () => {
    const script = `
      import { isLoaded, realSys } from "${ROOT}native/index.ts";
      import "${ROOT}native/recording.ts";
      import "${ROOT}runtime/agent.ts";
      import "${ROOT}runtime/features/userns/userns.ts";
      console.log(JSON.stringify({ loaded: isLoaded(), mount: typeof realSys.mount }));`;
    const r = Bun.spawnSync({ cmd: [process.execPath, "-e", script], stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(JSON.parse(r.stdout.toString())).toEqual({ loaded: false, mount: "function" });
  });
});

describe("RecordingSys", () => {
  test("records each call with formatCall's rendering; look-ups are calls but not effects", () => {
    const sys = new RecordingSys({ "/a": "dir" });
    expect(sys.exists("/a")).toBe(true);
    sys.mount("/a", "/b", null, MS_BIND, null);
    expect(sys.calls.map((c) => c.name)).toEqual(["exists", "mount"]);
    expect(sys.effects()).toEqual(['mount("/a", "/b", NULL, MS_BIND)']);
  });

  test("scripted failures throw SysError with the errno and are marked on the call", () => {
    const sys = new RecordingSys().fail("chdir", "ENOENT", (a) => a[0] === "/x");
    sys.chdir("/");
    expect(() => sys.chdir("/x")).toThrow('chdir("/x"): ENOENT (no such file or directory)');
    expect(sys.calls.map((c) => c.error)).toEqual([undefined, "ENOENT"]);
  });

  test("the tree: symlinks followed (absolute from /), creations kept, EEXIST and ENOENT as the kernel gives them", () => {
    const sys = new RecordingSys({ "/r/lib": { link: "usr/lib" }, "/r/usr/lib": "dir" });
    expect(sys.lstat("/r/lib").isSymbolicLink()).toBe(true);
    expect(sys.stat("/r/lib").isDirectory()).toBe(true);
    expect(sys.readlink("/r/lib")).toBe("usr/lib");
    sys.mkdir("/r/lib/x");
    expect(sys.exists("/r/usr/lib/x")).toBe(true);
    expect(() => sys.mkdir("/r/usr/lib/x")).toThrow("EEXIST");
    expect(() => sys.mkdir("/r/none/y")).toThrow("ENOENT");
    expect(() => sys.stat("/nothing")).toThrow("ENOENT");
  });

  test("a new filesystem hides what was under its mount point; the copy open_tree takes does not change", () => {
    const sys = new RecordingSys({ "/dev/null": "dev" });
    const tree = sys.openTree(AT_FDCWD, "/", OPEN_TREE_CLONE);
    sys.mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, null);
    expect(sys.exists("/dev")).toBe(true);
    expect(sys.exists("/dev/null")).toBe(false);
    const fd = sys.openat2(tree, "./dev/null", O_PATH, RESOLVE_IN_ROOT);
    expect(sys.fstat(fd).isDirectory()).toBe(false);
    expect(() => sys.openat2(tree, "./dev/zero", O_PATH, RESOLVE_IN_ROOT)).toThrow("ENOENT");
  });

  test("an overlay shows its lower layers, the upper one first", () => {
    const sys = new RecordingSys({ "/lo/etc/hosts": "file", "/lo/bin": "dir", "/hi/bin": "file", "/m": "dir" });
    sys.mount("overlay", "/m", "overlay", 0, "lowerdir=/hi:/lo");
    expect(sys.stat("/m/etc/hosts").isFile()).toBe(true);
    expect(sys.stat("/m/bin").isFile()).toBe(true);
  });
});
