// PID 1's process executors (env, cwd, rlimit, no-new-privs, exec, run) against a
// RecordingSys: `exec` applies the process spec (runtime/features/process/spec.ts) through the
// seam, so the recorder sees setrlimit, prctl(PR_SET_NO_NEW_PRIVS), the signals reset and
// execve, in the order the spec's header gives, and execve throws ExecveCalled instead of
// replacing the test. Step 1 (the working directory) is process.chdir: the tests keep the
// test's own. `run` starts its command with Bun.spawn (no seam: Bun has no pre-exec hook),
// so its tests run a real command, root-free, and check that the recorder saw nothing.

import { describe, expect, test } from "bun:test";
import { SysError } from "../../native/index.ts";
import { ExecveCalled, type RecordingSys } from "../../native/recording.ts";
import { execute } from "../../runtime/agent.ts";
import type { AgentState, Op } from "../../runtime/ops.ts";
import { applyAndExec, processSpec } from "../../runtime/features/process/spec.ts";
import { planOps, recordingState } from "./helpers.ts";

/** PID 1's state after the setup ops of `text` (everything but run/exec), on a recorder; the test's cwd kept. */
async function setUp(text: string): Promise<{ st: AgentState; sys: RecordingSys; ops: Op[] }> {
  const { st, sys } = recordingState();
  const ops = planOps(text).filter((op) => op.side === "pid1");
  for (const op of ops) if (op.kind !== "run" && op.kind !== "exec") await execute(st, op);
  st.cwd = process.cwd();
  return { st, sys, ops };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => null, (e: unknown) => e);
}

describe("env, cwd, rlimit, no_new_privs: PID 1's state, no call yet", () => {
  test("each goes into the spec of the next command; the kernel is not called", async () => {
    const { st, sys } = await setUp("ns pid\nenv A=1 B=two\ncwd /tmp\nrlimit nofile 64\nrlimit nofile 128\nno_new_privs\nexec /bin/true");
    expect(st.env).toMatchObject({ A: "1", B: "two" });
    expect(st.rlimits).toEqual([{ name: "nofile", soft: "128", hard: "128" }]); // the last one of a resource wins
    expect(st.noNewPrivs).toBe(true);
    expect(sys.calls).toEqual([]);
  });

  test("a cwd that does not exist is refused when the command starts, before any call", async () => {
    const { st, sys } = await setUp("ns pid\nexec /bin/true");
    st.cwd = "/nonexistent-ctr-dir";
    const err = (await failure(Promise.resolve().then(() => processSpec(st, ["/bin/true"])))) as SysError;
    expect(err.message).toBe('working directory "/nonexistent-ctr-dir" does not exist');
    expect(sys.calls).toEqual([]);
  });
});

describe("exec: the process spec applied, then execve", () => {
  test("rlimit, then no_new_privs, then the signals, then execve with the container's environment", async () => {
    const { st, sys, ops } = await setUp("ns pid\nenv A=1\nrlimit nofile 64:128\nno_new_privs\nexec /bin/sh -c 'exit 0'");
    const err = await failure(execute(st, ops.find((o) => o.kind === "exec")!));
    expect(err).toBeInstanceOf(ExecveCalled);
    const env = Object.entries(st.env).map(([k, v]) => `${k}=${v}`);
    expect(sys.effectNames()).toEqual(["setrlimit", "prctl", "resetSignals", "execve"]);
    expect(sys.effects().slice(0, 2)).toEqual(["setrlimit(RLIMIT_NOFILE, {rlim_cur=64, rlim_max=128})", "prctl(PR_SET_NO_NEW_PRIVS, 1)"]);
    expect(sys.calls.at(-1)!.args).toEqual(["/bin/sh", ["/bin/sh", "-c", "exit 0"], env]);
    expect(env).toContain("A=1");
  });

  test("a refused setrlimit stops the spec there: status 126, a hint, no execve", async () => {
    const { st, sys, ops } = await setUp("ns pid\nrlimit nofile 64:128\nno_new_privs\nexec /bin/true");
    sys.fail("setrlimit", "EPERM");
    const err = (await failure(execute(st, ops.find((o) => o.kind === "exec")!))) as SysError;
    expect(err).toBeInstanceOf(SysError);
    expect(err.message).toBe("setrlimit(RLIMIT_NOFILE, 64:128) failed: EPERM");
    expect(err.status).toBe(126);
    expect(err.hint).toBe("raising a hard limit needs CAP_SYS_RESOURCE");
    expect(sys.effectNames()).toEqual(["setrlimit"]);
  });

  test("an execve that finds nothing is `command not found`, status 127", () => {
    const { sys } = recordingState();
    sys.fail("execve", "ENOENT");
    const spec = { path: "/bin/true", argv: ["true"], env: {}, cwd: process.cwd(), rlimits: [], noNewPrivs: false, security: {} };
    let err: unknown;
    try {
      applyAndExec(spec, { sys, takeScore: () => {} });
    } catch (e) {
      err = e;
    }
    expect((err as SysError).message).toBe('command not found: "true"');
    expect((err as SysError).status).toBe(127);
    expect(sys.effects()).toEqual(["resetSignals()", 'execve("/bin/true", ["true"], [])']);
  });
});

describe("run: Bun.spawn, outside the seam", () => {
  test("a command runs and its status comes back; the recorder sees no call", async () => {
    const { st, sys, ops } = await setUp("ns pid\nrun /bin/sh -c 'exit 3'");
    expect(await execute(st, ops.find((o) => o.kind === "run")!)).toMatchObject({ exitCode: 3, signal: null });
    expect(sys.calls).toEqual([]);
  });

  test("a command that cannot be found is status 127 with the reason, nothing started", async () => {
    const { st, sys, ops } = await setUp("ns pid\nrun no-such-command-ctr");
    expect(await execute(st, ops.find((o) => o.kind === "run")!)).toMatchObject({ exitCode: 127, error: 'command not found: "no-such-command-ctr"' });
    expect(sys.calls).toEqual([]);
  });
});
