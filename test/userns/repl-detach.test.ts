// The REPL's `:detach` as an ordinary user (uid 65534, `ns user`): refused with
// the reason (its stage 1, which would supervise the container, is inside the
// user namespace: runtime/repl-detach-host.ts), the session going on, nothing
// left behind. test/repl/detach.test.ts has the root side, where it works.

import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { onHost } from "../integration/host-state.ts";
import { ctrAsUser, freshenBundle, rootlessSkipReason, skipping, USERNS_BLOCKER, userDir, userLeftovers, userStateBefore, userStateRoot } from "./helpers.ts";

const skip = skipping(rootlessSkipReason() ?? (USERNS_BLOCKER ? `this machine forbids unprivileged user namespaces (${USERNS_BLOCKER})` : null));

describe("REPL :detach, rootless", () => {
  test.skipIf(skip)("refused, saying why; the session and its container go on", () =>
    onHost(async (h) => {
      await freshenBundle(h);
      const home = userDir(h);
      const runtime = userDir(h);
      const state = userStateBefore(runtime);
      const name = `rl-detach-${process.pid}`;
      const input = ["ns user, uts, pid", 'hostname "rl-kept"', `:detach ${name}`, "run hostname", ""].join("\n");
      const r = await ctrAsUser(h, ["repl", "-q"], { home, runtimeDir: runtime, stdin: input });
      expect(r.stderr).toContain("`:detach` is not supported yet for this container: it has a user namespace, and its stage 1, which would supervise it, is inside that namespace");
      expect(r.stderr).toContain("help: `:save FILE`, then run it detached: ctr -d --name NAME FILE");
      expect(r.stdout.split("\n")).toContain("rl-kept"); // the statement after it ran in the same container
      expect(r.code).toBe(2);
      expect(existsSync(join(userStateRoot(runtime), name))).toBe(false);
      expect(userLeftovers(h, state, home)).toEqual([]);
    }),
  60_000);
});
