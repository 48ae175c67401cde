// Issue 15, rootless: a detached container of an ordinary user (uid 65534,
// `ns user`), with and without XDG_RUNTIME_DIR: ps, exec (the user namespace
// joined first: root inside, its hostname, its PID 1 in its /proc), logs,
// `join` of its namespaces (user first; refused without it), `exec -t`, stop with the
// status recorded, rm leaving no state directory, and two containers' shared monitor SIGKILLed. test/integration/lifecycle.test.ts has the root side.

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { onHost, type Host } from "../integration/host-state.ts";
import { sameProcess } from "../../runtime/features/lifecycle/procstat.ts";
import { ctrAsUser, freshenBundle, rootlessSkipReason, skipping, USERNS_BLOCKER, userDir, userLeftovers, userStateBefore, userStateRoot } from "./helpers.ts";
import type { ContainerState } from "../../runtime/features/lifecycle/store.ts";

const skip = skipping(rootlessSkipReason() ?? (USERNS_BLOCKER ? `this machine forbids unprivileged user namespaces (${USERNS_BLOCKER})` : null));

const SCRIPT = `ns user, uts, pid, mnt
hostname rl-box
rootfs default
mount proc
mount devpts
run echo rootless-log
exec sleep 1000`;

/** A container's record (state.json), as the tests read it. */
type State = ContainerState;

async function lifecycle(h: Host, runtimeDir: "xdg" | "none"): Promise<void> {
  await freshenBundle(h);
  const home = userDir(h);
  const runtime = runtimeDir === "xdg" ? userDir(h) : undefined;
  const before = userStateBefore(runtime);
  const as = (args: string[]) => ctrAsUser(h, args, { home, runtimeDir: runtime });
  const name = `rl-${runtimeDir}-${process.pid}`;
  const started = await as(["-d", "--name", name, "-e", SCRIPT]);
  expect(started).toMatchObject({ code: 0, stdout: `${name}\n`, stderr: "" });
  const s = JSON.parse((await as(["inspect", name])).stdout) as State;
  expect(s.status).toBe("running");
  expect(sameProcess(s.pid1)).toBe(true);
  expect(readFileSync(`/proc/${s.pid1!.pid}/status`, "utf8")).toMatch(/^Uid:\s+65534\s/m);
  expect((await as(["ps"])).stdout).toMatch(new RegExp(`^${name}\\s+Up `, "m"));
  const r = await as(["exec", name, "sh", "-c", "hostname; id -u; cat /proc/1/comm; readlink /proc/self/ns/user"]);
  expect(r.stderr).toBe("");
  expect(r.stdout.trim().split("\n")).toEqual(["rl-box", "0", "sleep", readlinkSync(`/proc/${s.pid1!.pid}/ns/user`)]);
  // `join`: the user namespace first, then its uts; a mount and PID namespace of its own
  const j = await as(["-e", `join ${name} user, uts\nns mnt, pid\nmount proc\nshow ns\nrun sh -c 'hostname; id -u; cat /proc/1/comm'`]);
  expect(j.stderr).toBe("");
  expect(j.code).toBe(0);
  expect(j.stdout).toContain("rl-box\n0\nctr-init\n");
  // its PID namespace: only with a cgroup of our own to end our orphans, which an ordinary user has none of here
  const pid = await as(["-e", `join ${name} user, pid\nns mnt\nrun true`]);
  expect(pid.code).toBe(125);
  expect(pid.stderr).toContain("PID namespace needs a cgroup of this container's own");
  for (const ns of ["user", "uts"]) expect(j.stdout).toMatch(new RegExp(`^${ns}\\s+${readlinkSync(`/proc/${s.pid1!.pid}/ns/${ns}`).replace(/[[\]]/g, "\\$&")}\\s.*joined: container ${name}'s$`, "m"));
  const without = await as(["-e", `join ${name} uts\nrun true`]);
  expect(without.code).toBe(125);
  expect(without.stderr).toContain("or its user namespace joined first");
  // -t: a terminal of its own devpts (output through it: CR LF)
  const t = await as(["exec", "-t", name, "sh", "-c", "readlink /proc/self/fd/0; id -u"]);
  expect(t).toMatchObject({ code: 0, stderr: "" });
  expect(t.stdout).toMatch(/^\/dev\/pts\/\d+\r\n0\r\n$/);
  expect((await as(["logs", name])).stdout).toBe("rootless-log\n");
  expect(await as(["stop", "-t", "0", name])).toMatchObject({ code: 0, stdout: `${name}\n` });
  expect(JSON.parse((await as(["inspect", name])).stdout)).toMatchObject({ status: "stopped", exitStatus: 137 });
  expect((await as(["rm", name])).code).toBe(0);
  // two containers, one shared monitor (runtime/features/lifecycle/monitor.ts), the user's, their PID 1s its children;
  // the monitor killed: both end (their parent-death signal), the next ctr sweeps
  const [name2, name3] = [`${name}-k`, `${name}-l`];
  for (const n of [name2, name3]) expect((await as(["-d", "--name", n, "-e", SCRIPT])).code).toBe(0);
  const [s2, s3] = await Promise.all([name2, name3].map(async (n) => JSON.parse((await as(["inspect", n])).stdout) as State));
  const monitor = s2!.supervisor!.pid;
  expect(s3!.supervisor).toEqual(s2!.supervisor);
  expect(readFileSync(`/proc/${monitor}/cmdline`, "utf8")).toContain("/runtime/monitor-main.ts");
  expect(readFileSync(`/proc/${monitor}/status`, "utf8")).toMatch(/^Uid:\s+65534\s/m);
  for (const st of [s2!, s3!]) expect(readFileSync(`/proc/${st.pid1!.pid}/status`, "utf8")).toMatch(new RegExp(`^PPid:\\s+${monitor}$`, "m"));
  process.kill(monitor, "SIGKILL"); // a process this test started (through ctr)
  for (let i = 0; i < 200 && (sameProcess(s2!.pid1) || sameProcess(s3!.pid1)); i++) await Bun.sleep(20);
  expect(sameProcess(s2!.pid1)).toBe(false);
  expect(sameProcess(s3!.pid1)).toBe(false);
  for (const n of [name2, name3]) expect(JSON.parse((await as(["inspect", n])).stdout)).toMatchObject({ status: "stopped", exitStatus: null });
  expect((await as(["rm", name2, name3])).code).toBe(0);
  const root = userStateRoot(runtime);
  for (const n of [name, name2, name3, s.id, s2!.id, s3!.id, "monitor.sock"]) expect(existsSync(join(root, n))).toBe(false);
  for (let i = 0; i < 250 && sameProcess(s.supervisor); i++) await Bun.sleep(20); // the first container's monitor: gone once it ended
  for (const p of [s.supervisor, s2!.supervisor]) expect(sameProcess(p)).toBe(false);
  for (const p of [s.pid1, s2!.pid1, s3!.pid1]) expect(sameProcess(p)).toBe(false);
  expect(userLeftovers(h, before, home)).toEqual([]);
}

describe("rootless named containers", () => {
  test.skipIf(skip)("detached, exec, logs, stop, rm; the shared monitor killed (XDG_RUNTIME_DIR)", () => onHost((h) => lifecycle(h, "xdg")), 60_000);
  test.skipIf(skip)("the same in /tmp/ctr-65534 (no XDG_RUNTIME_DIR)", () => onHost((h) => lifecycle(h, "none")), 60_000);
});
