// `sysctl` against the recorder (runtime/features/sysctl/sysctl.ts): a proc of PID 1's own,
// never attached, each key opened from its descriptor and written; and explain's lines,
// which the statement plans, are those calls.

import { describe, expect, test } from "bun:test";
import { compile, type Command } from "../../lang/index.ts";
import { execute } from "../../runtime/agent.ts";
import type { Op } from "../../runtime/ops.ts";
import { makePlan } from "../../runtime/plan.ts";
import { findStatement, statements } from "../../runtime/registry.ts";
import { SysError } from "../../native/index.ts";
import { recordingState, STATE_DIR, DEFAULT_ROOTFS } from "./helpers.ts";

/** The ops of `text`, checked against a host whose /proc/sys files are all there. */
function plan(text: string): Op[] {
  const fe = compile(text, { file: "t.ctr", specs: statements, env: {}, cpus: 4, host: { kind: () => "file", isCommand: () => true } });
  expect(fe.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return makePlan(fe.commands as Command[], findStatement, { stateDir: STATE_DIR, defaultRootfs: DEFAULT_ROOTFS }).plan.ops;
}

// The recorder names a new filesystem's descriptor "fs:TYPE": the files of the private proc live under /fs:proc.
const PROC_FILES = { "/fs:proc/sys/net/ipv4/ip_forward": "file", "/fs:proc/sys/kernel/hostname": "file", "/fs:proc/sys/kernel/sem": "file" } as const;

describe("sysctl", () => {
  test("one private proc for the statement, then per key: openat from its descriptor, one write, close; the proc closed, never attached", async () => {
    const op = plan('ns net, uts, ipc\nsysctl net.ipv4.ip_forward=1 kernel.hostname=box kernel.sem="250 32000 32 128"').find((o) => o.kind === "sysctl")!;
    const { st, sys } = recordingState({ ...PROC_FILES });
    await execute(st, op);
    expect(sys.effects()).toEqual([
      'fsopen("proc", FSOPEN_CLOEXEC)',
      "fsconfig(100, FSCONFIG_CMD_CREATE, NULL, NULL, 0)",
      "fsmount(100, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV|MOUNT_ATTR_NOEXEC)",
      "close(100)",
      'openat(101, "sys/net/ipv4/ip_forward", O_WRONLY|O_NOFOLLOW|O_CLOEXEC, 0)',
      'write(102, "1")',
      "close(102)",
      'openat(101, "sys/kernel/hostname", O_WRONLY|O_NOFOLLOW|O_CLOEXEC, 0)',
      'write(103, "box")',
      "close(103)",
      'openat(101, "sys/kernel/sem", O_WRONLY|O_NOFOLLOW|O_CLOEXEC, 0)',
      'write(104, "250 32000 32 128")',
      "close(104)",
      "close(101)",
    ]);
    expect(sys.effectNames()).not.toContain("move_mount");
    // explain's lines are derived from these calls: test/executors/explain-drift.test.ts
  });

  test("a key the container's namespaces lack: the error names the key and the file, and the proc is still closed", async () => {
    const op = plan("ns net\nsysctl net.ipv4.ip_forward=1").find((o) => o.kind === "sysctl")!;
    const { st, sys } = recordingState({});
    let error: unknown;
    try {
      await execute(st, op);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SysError);
    expect((error as SysError).message).toBe("sysctl net.ipv4.ip_forward: there is no /proc/sys/net/ipv4/ip_forward in the container's namespaces");
    expect(sys.effects().at(-1)).toBe("close(101)");
  });

  test("where the kernel refuses a new proc (a user namespace without ns pid): the /proc PID 1 reaches now, by its descriptor", async () => {
    const op = plan("ns net, user\nsysctl net.ipv4.ip_forward=1").find((o) => o.kind === "sysctl")!;
    const { st, sys } = recordingState({ "/proc/sys/net/ipv4/ip_forward": "file" });
    sys.fail("fsconfig", "EPERM");
    await execute(st, op);
    expect(sys.effects().slice(2)).toEqual([
      'openat2(AT_FDCWD, "/proc", O_RDONLY|O_DIRECTORY|O_CLOEXEC|O_PATH, 0)',
      "close(100)",
      'openat(101, "sys/net/ipv4/ip_forward", O_WRONLY|O_NOFOLLOW|O_CLOEXEC, 0)',
      'write(102, "1")',
      "close(102)",
      "close(101)",
    ]);
  });
});
