// The REPL's `:detach` as an ordinary user (uid 65534, `ns user`, its root
// mapped to that user): the container runs on under its name, its stage 1 its
// supervisor, which reaches the user's state store by the descriptors the REPL
// opened (runtime/features/lifecycle/repl-detach.ts); ps, exec (the user
// namespace joined first), stop with the status recorded, rm leaving nothing.
// With and without XDG_RUNTIME_DIR. test/repl/detach.test.ts has the root side.

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { onHost, type Host } from "../integration/host-state.ts";
import { sameProcess } from "../../runtime/features/lifecycle/procstat.ts";
import { ctrAsUser, freshenBundle, rootlessSkipReason, skipping, USERNS_BLOCKER, userDir, userLeftovers, userStateBefore, userStateRoot } from "./helpers.ts";
import type { ContainerState } from "../../runtime/features/lifecycle/store.ts";

const skip = skipping(rootlessSkipReason() ?? (USERNS_BLOCKER ? `this machine forbids unprivileged user namespaces (${USERNS_BLOCKER})` : null));

/** A container's record (state.json), as the tests read it. */
type State = ContainerState;

async function detachAsUser(h: Host, runtimeDir: "xdg" | "none"): Promise<void> {
  await freshenBundle(h);
  const home = userDir(h);
  const runtime = runtimeDir === "xdg" ? userDir(h) : undefined;
  const before = userStateBefore(runtime);
  const as = (args: string[], stdin?: string) => ctrAsUser(h, args, { home, runtimeDir: runtime, ...(stdin === undefined ? {} : { stdin }) });
  const name = `rl-detach-${runtimeDir}-${process.pid}`;
  try {
    const r = await as(["repl", "-q"], `ns user, uts, pid, mnt\nhostname "rl-kept"\nmount proc\n:detach ${name}\nrun echo not-reached\n`);
    expect(r).toMatchObject({ code: 0, stdout: `${name}\n`, stderr: "" }); // the session ended at :detach
    const s = JSON.parse((await as(["inspect", name])).stdout) as State;
    expect(s.status).toBe("running");
    expect(sameProcess(s.supervisor)).toBe(true);
    expect(readFileSync(`/proc/${s.supervisor!.pid}/status`, "utf8")).toMatch(/^Uid:\s+65534\s/m);
    expect((await as(["ps"])).stdout).toMatch(new RegExp(`^${name}\\s+Up `, "m"));
    const ex = await as(["exec", name, "sh", "-c", "hostname; id -u; readlink /proc/self/ns/user"]);
    expect(ex).toMatchObject({ code: 0, stderr: "" });
    expect(ex.stdout.trim().split("\n")).toEqual(["rl-kept", "0", readlinkSync(`/proc/${s.pid1!.pid}/ns/user`)]);
    expect(await as(["stop", name])).toMatchObject({ code: 0, stdout: `${name}\n` });
    expect(JSON.parse((await as(["inspect", name])).stdout)).toMatchObject({ status: "stopped", exitStatus: 143 });
    const root = userStateRoot(runtime);
    expect(existsSync(join(root, s.id))).toBe(false); // removed by stage 1, through its descriptor of the state root
    expect((await as(["rm", name])).code).toBe(0);
    expect(existsSync(join(root, name))).toBe(false);
    for (const p of [s.supervisor, s.pid1]) expect(sameProcess(p)).toBe(false);
  } finally {
    await as(["rm", "-f", name]);
  }
  expect(userLeftovers(h, before, home)).toEqual([]);
}

describe("REPL :detach, rootless", () => {
  test.skipIf(skip)("the container runs on: ps, exec, stop with its status, rm (XDG_RUNTIME_DIR)", () => onHost((h) => detachAsUser(h, "xdg")), 60_000);
  test.skipIf(skip)("the same in /tmp/ctr-65534 (no XDG_RUNTIME_DIR)", () => onHost((h) => detachAsUser(h, "none")), 60_000);
});
