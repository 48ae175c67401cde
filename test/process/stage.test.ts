// Starting the exec stage from inside a new root (runtime/features/process/stage.ts),
// without root: the calls PID 1 makes around the spawn, on a recorder, in order,
// and that it is back in the container's root and working directory whatever
// the spawn does.

import { describe, expect, test } from "bun:test";
import { RecordingSys } from "../../native/recording.ts";
import { enterStageRoot, fromHostRoot, STAGE_ROOT_FD } from "../../runtime/features/process/stage.ts";
import type { ProcessSpec } from "../../runtime/features/process/spec.ts";

const HOST_TREE = 7;

describe("fromHostRoot", () => {
  test("the host's tree is the root for the spawn alone; the container's root and cwd come back by descriptor", () => {
    const sys = new RecordingSys();
    let during: string[] = [];
    const got = fromHostRoot(sys, HOST_TREE, (root) => {
      during = sys.effectNames();
      return root;
    });
    const [root, cwd] = sys.calls.filter((c) => c.name === "open").map((c) => c.result as number);
    expect(got).toBe(root!);
    expect(during).toEqual(["open", "open", "fchdir", "chroot"]);
    expect(sys.calls.filter((c) => c.name !== "open").map((c) => `${c.name}(${c.args.join(", ")})`)).toEqual([
      `fchdir(${HOST_TREE})`,
      "chroot(.)",
      `fchdir(${root})`,
      "chroot(.)",
      `fchdir(${cwd})`,
      `close(${cwd})`,
      `close(${root})`,
    ]);
    expect(sys.calls.filter((c) => c.name === "open").map((c) => c.args[0])).toEqual(["/", "."]);
  });

  test("a spawn that throws still ends in the container's root", () => {
    const sys = new RecordingSys();
    expect(() =>
      fromHostRoot(sys, HOST_TREE, () => {
        throw new Error("spawn failed");
      }),
    ).toThrow("spawn failed");
    expect(sys.effectNames().slice(-5)).toEqual(["fchdir", "chroot", "fchdir", "close", "close"]);
  });

  test("without a copy of the host's tree it refuses before changing anything", () => {
    const sys = new RecordingSys();
    expect(() => fromHostRoot(sys, -1, () => 0)).toThrow("no copy of the host's mount tree");
    expect(sys.calls).toEqual([]);
  });
});

describe("enterStageRoot", () => {
  test("the exec stage enters the root on its fd 4 and closes it, before any step of the spec", () => {
    const sys = new RecordingSys();
    const spec: ProcessSpec = { path: "/bin/true", argv: ["true"], env: {}, cwd: "/", rlimits: [], noNewPrivs: false, security: {} };
    enterStageRoot(sys, spec);
    expect(sys.calls.map((c) => `${c.name}(${c.args.join(", ")})`)).toEqual([`fchdir(${STAGE_ROOT_FD})`, "chroot(.)", `close(${STAGE_ROOT_FD})`]);
  });
});
