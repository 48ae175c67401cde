/**
 * Issue 5, bad input: each case one clear message with the documented exit
 * status (2: found before anything runs; 125: the container could not be set
 * up), and nothing half-built. "Nothing" is measured: the script runs a
 * statement that would leave a marker file before the bad line, and the host
 * is checked as in test/integration/host-state.ts (mounts, processes, state
 * and temporary directories), plus the unprivileged state root and cache.
 * A control run of each script without its bad line proves the marker would
 * have been made.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { itest, onHost, probe, REPO, type Host } from "../integration/host-state.ts";
import { subordinateRanges, userName } from "../../runtime/features/userns/userns.ts";
import { ctrAsUser, freshenBundle, grantFiles, normaliseMap, rootlessSkipReason, skipping, uidmapSkipReason, UNSHARE, USER, USERNS_BLOCKER, userDir, userLeftovers, userStateBefore } from "./helpers.ts";

const ROOTLESS_SKIP = rootlessSkipReason();
const NAME = userName(USER);

/** A directory every id may write, for the marker file. */
function markerDir(h: Host): string {
  const dir = h.scratch();
  chmodSync(dir, 0o777);
  return dir;
}

describe("bad maps, found before anything runs (exit 2)", () => {
  const cases = [
    // `at`: where the diagnostic points (line 4 is the bad line; the count's column for a count of 0)
    { name: "a uid map that overlaps itself (inside ids)", bad: "map uid 5 200000 10", good: "map uid 0 100000 10", at: "4:1", message: "this uid map overlaps the one on line 3 (inside ids)" },
    { name: "a gid map that overlaps itself (outside ids)", bad: "map gid 20 100005 10", good: "map gid 0 100000 10", at: "4:1", message: "this gid map overlaps the one on line 3 (outside ids)" },
    { name: "a count of 0", bad: "map uid 10 100010 0", good: "map uid 0 100000 10", at: "4:19", message: "COUNT must be at least 1" },
  ];
  for (const c of cases) {
    itest(`${c.name}: the planner's message, and nothing ran`, () =>
      onHost(async (h) => {
        const dir = markerDir(h);
        const lines = (bad: boolean) => ["ns user, uts", `run touch ${dir}/ran`, c.good, ...(bad ? [c.bad] : []), "run true"].join("\n");
        const r = await h.ctr(["-e", lines(true)]);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`-e:${c.at}: error: ${c.message}\n`);
        expect(r.stdout).toBe("");
        expect(existsSync(`${dir}/ran`)).toBe(false);
        // Control: without the bad line, the same script runs and makes the marker.
        const ok = await h.ctr(["-e", lines(false)]);
        expect(ok.stderr).toBe("");
        expect(ok.code).toBe(0);
        expect(existsSync(`${dir}/ran`)).toBe(true);
      }),
    );
  }

  itest("`map` without `ns user`: exit 2, and the message names the fix", () =>
    onHost(async (h) => {
      const dir = markerDir(h);
      const r = await h.ctr(["-e", `ns uts, pid\nrun touch ${dir}/ran\nmap uid 0 100000 65536\nrun true`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("-e:3:1: error: `map uid` needs `ns user`");
      expect(r.stderr).toContain("help: add `user` to the `ns` statement");
      expect(r.stdout).toBe("");
      expect(existsSync(`${dir}/ran`)).toBe(false);
    }),
  );
});

/** An outside range of `count` ids granted to nobody in FILE by no line (starting at 100000 or after the grants). */
function ungrantedRange(file: string, count: number): number {
  let start = 100000;
  for (const g of subordinateRanges(file, NAME, USER).sort((a, b) => a.start - b.start)) {
    if (start < g.start + g.count && g.start < start + count) start = g.start + g.count;
  }
  return start;
}

describe("rootless errors (as uid 65534)", () => {
  const skip = skipping(ROOTLESS_SKIP);

  for (const [which, file] of [["uid", "/etc/subuid"], ["gid", "/etc/subgid"]] as const) {
    test.skipIf(skip || skipping(uidmapSkipReason()))(`an outside ${which} range not granted in ${file}: exit 125 naming ${file}, and nothing left of the half-made container`, () =>
      onHost(async (h) => {
        await freshenBundle(h);
        const home = userDir(h);
        const dir = markerDir(h);
        const state = userStateBefore();
        const start = ungrantedRange(file, 65536);
        const granted = subordinateRanges(file, NAME, USER);
        expect(granted.some((g) => start < g.start + g.count && g.start < start + 65536)).toBe(false);
        // The map is written once stage 1 has unshared and the state directory exists: a real half-made container.
        const script = (map: string) => ["ns user, uts, pid, mnt", "hostname x", "rootfs default", "mount proc", map, `mount bind ${dir} /marker`, "run touch /marker/ran"].join("\n");
        const r = await ctrAsUser(h, ["-e", script(`map ${which} 0 ${start} 65536`)], { home });
        expect(r.code).toBe(125);
        expect(r.stderr).toContain(`-e:5:1: error: ${which}s ${start}..${start + 65535} are not granted to ${NAME} in ${file}`);
        expect(r.stderr).toContain(`  5 | map ${which} 0 ${start} 65536`); // the span is the map line
        expect(r.stderr).toMatch(new RegExp(`help: .*${file.replaceAll("/", "\\/")}`));
        expect(r.stdout).toBe("");
        expect(existsSync(`${dir}/ran`)).toBe(false);
        expect(userLeftovers(h, state, home)).toEqual([]);
        // Control: with the user's own id (no helper needed), the same script runs.
        const ok = await ctrAsUser(h, ["-e", script(`map ${which} 0 ${USER} 1`)], { home });
        expect(ok.stderr).toBe("");
        expect(ok.code).toBe(0);
        expect(existsSync(`${dir}/ran`)).toBe(true);
        expect(userLeftovers(h, state, home)).toEqual([]);
      }),
    60_000);
  }

  // The helpers' path needs grants. The machine's files grant nobody nothing
  // (usually): the grants are then bound over them in a mount namespace of the
  // one ctr run (helpers.ts), and the real files stay as they are.
  const GRANT_SKIP = ROOTLESS_SKIP ?? uidmapSkipReason() ?? (UNSHARE ? null : "unshare (util-linux) is not installed: no private /etc/subuid for the newuidmap/newgidmap path (this test does not edit system files)");
  describe("ranges granted in /etc/subuid and /etc/subgid: written by newuidmap/newgidmap", () => {
    const gskip = skipping(GRANT_SKIP);
    const UID_START = 200000;
    const GID_START = 300000;
    const grants = (h: Host) => grantFiles(h, UID_START, GID_START);

    test.skipIf(gskip)("a granted range: the maps say so inside, and the host sees its files owned by the granted ids", () =>
      onHost(async (h) => {
        await freshenBundle(h);
        const home = userDir(h);
        const dir = markerDir(h);
        const subuidBefore = readFileSync("/etc/subuid", "utf8");
        const script = [
          "ns user, uts, mnt",
          `map uid 0 ${UID_START} 65536`,
          `map gid 0 ${GID_START} 65536`,
          "show ids",
          `exec sh -c 'echo "@@uid=$(id -u)"; echo "@@uidmap=$(cat /proc/self/uid_map)"; echo "@@gidmap=$(cat /proc/self/gid_map)"; touch ${dir}/granted && chown 7:9 ${dir}/granted && echo @@chown=ok'`,
        ].join("\n");
        const r = await ctrAsUser(h, ["-e", script], { home, grants: grants(h) });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const p = probe(r.stdout);
        expect(p.uid).toBe("0");
        expect(normaliseMap(p.uidmap ?? "")).toBe(`0 ${UID_START} 65536`);
        expect(normaliseMap(p.gidmap ?? "")).toBe(`0 ${GID_START} 65536`);
        expect(r.stdout).toContain(`uid: 0 inside, ${UID_START} outside\n`);
        expect(p.chown).toBe("ok"); // more than one id inside: root inside may give files away within the range
        const st = statSync(join(dir, "granted"));
        expect([st.uid, st.gid]).toEqual([UID_START + 7, GID_START + 9]);
        expect(readFileSync("/etc/subuid", "utf8")).toBe(subuidBefore); // the real file was never touched
      }),
    60_000);

    test.skipIf(gskip)("a range beyond the grant: exit 125, and the hint lists what is granted", () =>
      onHost(async (h) => {
        await freshenBundle(h);
        const home = userDir(h);
        const r = await ctrAsUser(h, ["-e", `ns user, uts\nmap uid 0 ${UID_START} 65537\nexec true`], { home, grants: grants(h) });
        expect(r.code).toBe(125);
        expect(r.stderr).toContain(`-e:2:1: error: uids ${UID_START}..${UID_START + 65536} are not granted to ${NAME} in /etc/subuid`);
        expect(r.stderr).toContain(`help: /etc/subuid grants ${UID_START}..${UID_START + 65535}`);
      }),
    60_000);
  });

  test.skipIf(skip)("in the REPL, the same refusals with the same hints: namespaces without `user`, `limit` and `show cgroup` without a delegated cgroup", () =>
    onHost(async (h) => {
      await freshenBundle(h);
      const home = userDir(h);
      const state = userStateBefore();
      const input = ["ns uts, pid, mnt", "ns user, uts, mnt", "limit memory 64m", "show cgroup", "run echo still-up", ""].join("\n");
      const r = await ctrAsUser(h, ["repl", "-q"], { home, stdin: input });
      expect(r.stderr).toContain("<repl:1>:1:1: error: creating namespaces needs root\n");
      expect(r.stderr).toContain("help: add `user` to the `ns` statement");
      expect(r.stderr).not.toContain("EPERM (operation not permitted)");
      if (!cgroupWritable()) {
        expect(r.stderr).toMatch(/<repl:3>:1:1: error: `limit` needs a cgroup delegated to you, but .* is not writable\n/);
        expect(r.stderr).toMatch(/<repl:4>:1:1: error: `show cgroup` needs a cgroup delegated to you/);
        expect(r.stderr).not.toContain("EACCES (permission denied)");
      }
      expect(r.stdout).toContain("still-up\n"); // the errors did not end the session
      expect(userLeftovers(h, state, home)).toEqual([]);
    }),
  60_000);

  test.skipIf(skip)("namespaces without `user`: exit 125, and the message names the fix", () =>
    onHost(async (h) => {
      await freshenBundle(h);
      const home = userDir(h);
      const dir = markerDir(h);
      const state = userStateBefore();
      const r = await ctrAsUser(h, ["-e", `ns uts, pid, mnt\nhostname x\nrootfs default\nmount proc\nrun touch ${dir}/ran`], { home });
      expect(r.code).toBe(125);
      expect(r.stderr).toContain("-e:1:1: error: creating namespaces needs root");
      expect(r.stderr).toContain("help: add `user` to the `ns` statement to run without root (rootless), or run ctr as root");
      expect(r.stdout).toBe("");
      expect(existsSync(`${dir}/ran`)).toBe(false);
      expect(userLeftovers(h, state, home)).toEqual([]);
    }),
  60_000);

  test.skipIf(skipping(ROOTLESS_SKIP ?? (USERNS_BLOCKER ? null : "unprivileged user namespaces are allowed here: the message naming the sysctl that forbids them is not tested")))(
    "a machine that forbids unprivileged user namespaces: exit 125 naming the setting",
    () =>
      onHost(async (h) => {
        await freshenBundle(h);
        const home = userDir(h);
        const r = await ctrAsUser(h, ["-e", "ns user, uts\nexec true"], { home });
        expect(r.code).toBe(125);
        expect(r.stderr).toContain(`this machine forbids unprivileged user namespaces: ${USERNS_BLOCKER}`);
      }),
    60_000,
  );

  test.skipIf(skip)("a stale init bundle that the user cannot rebuild: exit 125 saying so (in a copy of the checkout)", () =>
    onHost(async (h) => {
      const home = userDir(h);
      // A copy of the sources with a bundle older than them, in a dist/ owned by root.
      const copy = h.scratch();
      chmodSync(copy, 0o755);
      for (const d of ["bin", "runtime", "native", "lang", "stdlib", "dist", "package.json", "tsconfig.json"]) {
        if (existsSync(join(REPO, d))) cpSync(join(REPO, d), join(copy, d), { recursive: true });
      }
      symlinkSync(join(REPO, "node_modules"), join(copy, "node_modules"));
      mkdirSync(join(copy, "dist"), { recursive: true });
      const old = new Date(Date.now() - 3600_000);
      utimesSync(join(copy, "dist"), old, old);
      if (existsSync(join(copy, "dist", "init.js"))) utimesSync(join(copy, "dist", "init.js"), old, old);
      const r = await ctrAsUser(h, ["-e", "ns user, uts\nexec true"], { home, cwd: home, ctr: join(copy, "bin", "ctr") });
      expect(r.code).toBe(125);
      // The message names the directory, the user and the reason (its exact wording belongs to runtime/bundle.ts).
      expect(r.stderr).toContain(join(copy, "dist"));
      expect(r.stderr).toMatch(/cannot be (re)?built by this user/);
      expect(r.stderr).toContain("EACCES");
      expect(r.stdout).toBe("");
    }),
  60_000);
});

/** Whether uid 65534 could write the caller's memory cgroup (a delegated one): then `limit` is allowed. */
function cgroupWritable(): boolean {
  const r = Bun.spawnSync({ cmd: ["setpriv", `--reuid=${USER}`, `--regid=${USER}`, "--clear-groups", "sh", "-c", `test -w "/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)" || test -w "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)"`] });
  return r.exitCode === 0;
}
