// `readonly` and `mask` against the recorder (runtime/features/mount/protect.ts), and the
// planner's rule that holds them until the mounts before the next command are made.

import { describe, expect, test } from "bun:test";
import { execute } from "../../runtime/agent.ts";
import { planOps, recordingState } from "./helpers.ts";
import type { FakeNode } from "../../native/recording.ts";

async function effects(text: string, files: Record<string, FakeNode>): Promise<string[]> {
  const { st, sys } = recordingState(files);
  for (const op of planOps(text)) if (op.side === "pid1" && op.kind !== "run" && op.kind !== "exec") await execute(st, op);
  return sys.effects();
}

describe("the planner holds readonly and mask", () => {
  test("written before the mounts and the rootfs, they come after them, after the root is entered, before the command", () => {
    const kinds = planOps("ns mnt, pid\nmask /proc/kcore\nreadonly /\nrootfs /srv/root\nmount proc\nmount sysfs\nrun true\nmount tmpfs /t\nreadonly /t\nexec sh").map((o) => o.kind);
    expect(kinds).toEqual(["unshare", "host-tree", "rootfs", "mount", "mount", "enter-root", "mask", "readonly", "run", "mount", "readonly", "exec"]);
  });

  test("with no command after them they still come, at the end", () => {
    expect(planOps("ns mnt\nreadonly /").map((o) => o.kind)).toEqual(["unshare", "host-tree", "readonly"]);
  });
});

describe("readonly", () => {
  test("readonly /: the root's descriptor, mount_setattr(MOUNT_ATTR_RDONLY) on it alone", async () => {
    const out = await effects("ns mnt\nrootfs /srv/root\nreadonly /\nrun true", { "/srv/root/etc": "dir" });
    expect(out.slice(-5)).toEqual([
      'openat2(AT_FDCWD, "/", O_RDONLY|O_DIRECTORY|O_CLOEXEC|O_PATH, 0)',
      'openat2(104, "./", O_RDONLY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT)', // 101 to 103: the rootfs's /etc files
      "close(104)",
      'mount_setattr(105, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0)',
      "close(105)",
    ]);
  });

  test("readonly PATH before the root is entered: resolved in the prepared root, a copy of its tree made read-only and moved onto it", async () => {
    const out = await effects("ns mnt\nrootfs /srv/root\nreadonly /etc\nmount tmpfs /t", { "/srv/root/etc": "dir", "/srv/root/t": "dir" });
    // The last look-up of the prepared root is readonly's (the /etc files and the tmpfs on /t come first).
    const i = out.lastIndexOf('openat2(AT_FDCWD, "/srv/root", O_RDONLY|O_DIRECTORY|O_CLOEXEC|O_PATH, 0)');
    expect(out.slice(0, i).some((l) => l.startsWith('fsopen("tmpfs"'))).toBe(true);
    expect(out.slice(i)).toEqual([
      'openat2(AT_FDCWD, "/srv/root", O_RDONLY|O_DIRECTORY|O_CLOEXEC|O_PATH, 0)',
      'openat2(108, "./etc", O_RDONLY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT)',
      "close(108)",
      'open_tree(109, "", OPEN_TREE_CLONE|AT_EMPTY_PATH|AT_RECURSIVE|OPEN_TREE_CLOEXEC)',
      'mount_setattr(110, "", AT_EMPTY_PATH|AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0)',
      'move_mount(110, "", 109, "", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH)',
      "close(110)",
      "close(109)",
    ]);
  });

  test("a path that is not there is skipped", async () => {
    const out = await effects("ns mnt\nreadonly /nothing", {});
    expect(out.filter((l) => !l.startsWith("open_tree(AT_FDCWD") && !l.startsWith("openat2") && !l.startsWith("close"))).toEqual([]);
  });

  test("a symlink in the root pointing at a host path is resolved inside the root: here nothing is there, so nothing is mounted", async () => {
    const out = await effects("ns mnt\nrootfs /srv/root\nreadonly /etc", { "/srv/root/etc": { link: "/../../host" }, "/host": "dir" });
    expect(out.some((l) => /^openat2\(\d+, "\.\/etc", /.test(l))).toBe(true);
    expect(out.filter((l) => /^(open_tree\(1|mount_setattr|move_mount)/.test(l))).toEqual([]);
  });
});

describe("mask", () => {
  test("a file: the host's /dev/null from PID 1's copy of the host's tree, moved onto the target's descriptor", async () => {
    const out = await effects("ns mnt\nmask /proc/kcore", { "/proc/kcore": "file", "/dev/null": "dev" });
    expect(out.slice(-9)).toEqual([
      'openat2(AT_FDCWD, "/", O_RDONLY|O_DIRECTORY|O_CLOEXEC|O_PATH, 0)',
      'openat2(101, "./proc/kcore", O_RDONLY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT)',
      "close(101)",
      'openat2(100, "./dev/null", O_RDONLY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT)',
      'open_tree(103, "", OPEN_TREE_CLONE|AT_EMPTY_PATH|OPEN_TREE_CLOEXEC)',
      "close(103)",
      'move_mount(104, "", 102, "", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH)',
      "close(104)",
      "close(102)",
    ]);
  });

  test("a directory: an empty read-only tmpfs (fsopen, fsmount with every MOUNT_ATTR_ bit) moved onto it", async () => {
    const out = await effects("ns mnt\nmask /sys/firmware", { "/sys/firmware": "dir" });
    expect(out.filter((l) => /^(fs|move_mount)/.test(l))).toEqual([
      'fsopen("tmpfs", FSOPEN_CLOEXEC)',
      'fsconfig(103, FSCONFIG_SET_STRING, "size", "4k", 0)',
      "fsconfig(103, FSCONFIG_CMD_CREATE, NULL, NULL, 0)",
      "fsmount(103, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV|MOUNT_ATTR_NOEXEC)",
      'move_mount(104, "", 102, "", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH)',
    ]);
  });
});
