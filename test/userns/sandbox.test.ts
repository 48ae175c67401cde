// Issue 16, Acceptance, as uid 65534 (`ns user`): every hardening statement
// observed from inside, for `run`, `exec` and `ctr exec`, as
// test/integration/sandbox.test.ts does as root. The capabilities are those of
// the container's user namespace; with 100000..165535 granted (newuidmap) the
// container has a nobody to switch to, with only the user's own id it has root.

import { describe, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { onHost, type Host } from "../integration/host-state.ts";
import { DENY_SETHOSTNAME, expectHardened, expectHostnameDenied, hardenedScript, HOSTNAME_PROBE, PROBE, probeDetached, seccompScript, type Userns } from "../integration/sandbox.ts";
import { ctrAsUser, freshenBundle, grantFiles, rootlessSkipReason, skipping, uidmapSkipReason, USERNS_BLOCKER, userDir } from "./helpers.ts";

const skip = skipping(rootlessSkipReason() ?? (USERNS_BLOCKER ? `this machine forbids unprivileged user namespaces (${USERNS_BLOCKER})` : null));
const rangeSkip = skip || skipping(uidmapSkipReason());

let seq = 0;
const uniq = (what: string) => `rl-sb-${what}-${process.pid}-${seq++}`;

async function asUser(h: Host, userns: Userns, runtime = true): Promise<{ ctr: (args: string[]) => ReturnType<typeof ctrAsUser>; home: string }> {
  await freshenBundle(h);
  const home = userDir(h);
  const runtimeDir = runtime ? userDir(h) : undefined;
  const grants = userns === "range" ? grantFiles(h, 100000, 100000) : undefined;
  return { ctr: (args) => ctrAsUser(h, args, { home, runtimeDir, grants }), home };
}

describe("rootless: the process spec inside a new root for run, exec and ctr exec", () => {
  test.skipIf(skip)("read-only root, a masked file, cap, no_new_privs, rlimit, seccomp default (root inside: the user's own id)", () =>
    onHost(async (h) => {
      const { ctr } = await asUser(h, "own");
      expectHardened(await probeDetached(ctr, uniq("own"), hardenedScript("own", false), PROBE), false);
    }), 60_000);

  // Without a rootfs: with a range map the container's root (uid 100000) cannot read the
  // per-container files in the user's 0700 state directory that a rootfs binds in.
  test.skipIf(rangeSkip)("the same and user nobody groups=100, with 100000..165535 granted (no rootfs: the host's files, read-only)", () =>
    onHost(async (h) => {
      const { ctr } = await asUser(h, "range");
      expectHardened(await probeDetached(ctr, uniq("range"), hardenedScript("range", true, null), PROBE), true);
    }), 60_000);

  test.skipIf(skip)("a profile that denies sethostname: `hostname x` fails with EPERM as root of the user namespace", () =>
    onHost(async (h) => {
      const { ctr, home } = await asUser(h, "own");
      const file = join(home, "deny.json");
      writeFileSync(file, DENY_SETHOSTNAME, { mode: 0o644 });
      expectHostnameDenied(await probeDetached(ctr, uniq("sec"), seccompScript("own", file), HOSTNAME_PROBE));
    }), 60_000);
});
