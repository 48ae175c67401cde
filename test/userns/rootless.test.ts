/**
 * Issue 5, rootless: ctr run by an ordinary user (uid 65534, switched to with
 * setpriv, no supplementary groups, HOME and TMPDIR of its own). With
 * `ns user, uts, pid, mnt`, a rootfs, `mount proc` and `hostname` the container
 * runs, `id -u` inside prints 0, the host sees uid 65534 on what the container
 * makes, the host's hostname and mounts are unchanged, and nothing is left
 * behind: no state directory (/tmp/ctr-65534 or $XDG_RUNTIME_DIR/ctr), no
 * process, no temporary file (test/integration/host-state.ts, plus helpers.ts
 * for what only an unprivileged ctr makes).
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { example, hostMountinfo, onHost, probe } from "../integration/host-state.ts";
import { ctrAsUser, freshenBundle, grantFiles, normaliseMap, UNSHARE, rootlessSkipReason, skipping, uidmapSkipReason, USER, USERNS_BLOCKER, userDir, userLeftovers, userStateBefore } from "./helpers.ts";

const skip = skipping(rootlessSkipReason() ?? (USERNS_BLOCKER ? `this machine forbids unprivileged user namespaces (${USERNS_BLOCKER}); errors.test.ts checks that ctr says so` : null));

/** The probe every rootless container prints: who and where it is. */
const PROBE = [
  'echo "@@uid=$(id -u)"',
  'echo "@@gid=$(id -g)"',
  'echo "@@hostname=$(hostname)"',
  'echo "@@uidmap=$(cat /proc/self/uid_map)"',
  'echo "@@userns=$(readlink /proc/self/ns/user)"',
  'echo "@@pid=$$"',
  "set -- /proc/[0-9]*",
  'echo "@@procs=$*"',
  "touch /share/made-inside && echo @@wrote=yes",
  // where /etc/hostname is bound from: the per-container state directory on the host
  'while read -r id parent dev root point rest; do if [ "$point" = /etc/hostname ]; then echo "@@hostnamesrc=$root"; fi; done < /proc/self/mountinfo',
].join("; ");

function script(name: string, share: string): string {
  return ["ns user, uts, pid, mnt", `hostname ${name}`, "rootfs default", "mount proc", `mount bind ${share} /share`, "show ids", `exec sh -c '${PROBE}'`].join("\n");
}

async function rootlessRun(runtimeDir: "none" | "xdg"): Promise<void> {
  await onHost(async (h) => {
    await freshenBundle(h);
    const home = userDir(h);
    const runtime = runtimeDir === "xdg" ? userDir(h) : undefined;
    const share = join(home, "share");
    mkdirSync(share);
    chownSync(share, USER, USER);
    chmodSync(home, 0o711); // the user's own HOME; the bind source must be reachable
    const state = userStateBefore(runtime);
    const hostName = osHostname();
    const mountsBefore = hostMountinfo();
    const name = `rootless${process.pid}`;
    expect(hostName).not.toBe(name);
    const hostUserNs = readlinkSync("/proc/self/ns/user");

    const r = await ctrAsUser(h, ["-e", script(name, share)], { home, runtimeDir: runtime });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const p = probe(r.stdout);
    expect(p.uid).toBe("0");
    expect(p.gid).toBe("0");
    expect(p.hostname).toBe(name);
    expect(normaliseMap(p.uidmap ?? "")).toBe(`0 ${USER} 1`); // its own uid, nothing else: no /etc/subuid needed
    expect(p.userns).not.toBe(hostUserNs);
    expect(p.pid).toBe("1");
    expect(p.procs).toBe("/proc/1"); // the container's own /proc
    expect(p.wrote).toBe("yes");
    // The container's state directory was under the user's state root, named after this ctr...
    expect(p.hostnamesrc).toMatch(new RegExp(`^${state.root}/ctr-[a-z0-9]+-${r.pid}/hostname$`));
    // `show ids`: root inside, the ordinary uid outside.
    expect(r.stdout).toContain(`uid: 0 inside, ${USER} outside\n`);
    // The host sees the ordinary user on what root inside made.
    const st = statSync(join(share, "made-inside"));
    expect([st.uid, st.gid]).toEqual([USER, USER]);
    // The host is as it was.
    expect(osHostname()).toBe(hostName);
    expect(hostMountinfo()).toBe(mountsBefore);
    // ...and is gone, with the state root itself when this test made it.
    expect(userLeftovers(h, state, home)).toEqual([]);
  });
}

describe("rootless: ctr as uid 65534", () => {
  test.skipIf(skip)("ns user, uts, pid, mnt + rootfs + mount proc + hostname: root inside, uid 65534 outside, the host untouched (state in /tmp/ctr-65534)", () => rootlessRun("none"), 60_000);

  test.skipIf(skip)("the same with XDG_RUNTIME_DIR: its ctr/ directory is gone afterwards", () => rootlessRun("xdg"), 60_000);

  const exampleSkip = skip || skipping(uidmapSkipReason() ?? (UNSHARE ? null : "unshare (util-linux) is not installed: 09-user.ctr's default map is not run rootless (no private /etc/subuid)"));
  for (const mode of ["own", "range"] as const) {
    test.skipIf(mode === "range" ? exampleSkip : skip)(
      mode === "own"
        ? "examples/09-user.ctr with MAP=own: root inside, uid 65534 outside, its self-checks pass"
        : "examples/09-user.ctr by default, with 100000..165535 granted (a private /etc/subuid): written by newuidmap, its self-checks pass",
      () =>
        onHost(async (h) => {
          await freshenBundle(h);
          const home = userDir(h);
          const state = userStateBefore();
          const r = await ctrAsUser(h, [example("09-user.ctr"), "sh", "-c", 'echo "@@uid=$(id -u)"; echo "@@uidmap=$(cat /proc/self/uid_map)"'], {
            home,
            env: mode === "own" ? { MAP: "own" } : {},
            grants: mode === "range" ? grantFiles(h, 100000, 100000) : undefined,
          });
          expect(r.stderr).toBe("");
          expect(r.code).toBe(0);
          const p = probe(r.stdout);
          expect(p.uid).toBe("0");
          const outside = mode === "own" ? USER : 100000;
          expect(normaliseMap(p.uidmap ?? "")).toBe(mode === "own" ? `0 ${USER} 1` : "0 100000 65536");
          expect(r.stdout).toContain(`uid: 0 inside, ${outside} outside\n`);
          expect(r.stdout).toContain("cat: /etc/shadow: Permission denied\n");
          expect(userLeftovers(h, state, home)).toEqual([]);
        }),
      60_000,
    );
  }

  test.skipIf(skip)("a failing command inside: its status is relayed and nothing is left behind", () =>
    onHost(async (h) => {
      await freshenBundle(h);
      const home = userDir(h);
      const state = userStateBefore();
      const r = await ctrAsUser(h, ["-e", "ns user, uts, pid, mnt\nhostname x\nrootfs default\nmount proc\nmount dev\nexec sh -c 'sleep 30 & sleep 0.1; kill -0 $! && echo @@background=running; exit 7'"], { home });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(7);
      // The background sleep was running when PID 1 exited; it dies with the PID namespace (onHost finds no stray process).
      expect(probe(r.stdout).background).toBe("running");
      expect(userLeftovers(h, state, home)).toEqual([]);
    }),
  60_000);

  test.skipIf(skip)("bind and overlay sources are host paths after the new root is entered (the copy of the host's tree works rootless)", () =>
    onHost(async (h) => {
      await freshenBundle(h);
      const home = userDir(h);
      const state = userStateBefore();
      const dir = h.scratch();
      chmodSync(dir, 0o755);
      writeFileSync(join(dir, "x"), "host\n");
      for (const d of ["lower", "upper", "work"]) {
        mkdirSync(join(dir, d));
        chownSync(join(dir, d), USER, USER);
      }
      writeFileSync(join(dir, "lower", "f"), "low\n");
      const script = ["ns user, pid, mnt", "rootfs default", "run true", `mount bind ${dir}/x /m ro`, "run cat /m", "expect output == host", `mount overlay /o lower=${dir}/lower upper=${dir}/upper work=${dir}/work`, "run cat /o/f", "expect output == low"].join("\n");
      const r = await ctrAsUser(h, ["-e", script], { home });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(userLeftovers(h, state, home)).toEqual([]);
    }),
  60_000);
});
