// The RENAME_EXCHANGE race on a mount target (CVE-2021-30465's class), against ctr and runc.
//
// Two containers on one rootfs R. The attacker (test/security/swap.ts, in a ctr container
// with `ns mnt, pid` that sees R) swaps R/mnt/t, a directory, with R/mnt/link, a symlink to
// the host directory H (outside R), in a loop. The victim starts 200 times with a tmpfs on
// /mnt/t/sub and a file bound on /mnt/t/f. A runtime that looks the target up by path and
// then mounts or mkdirs by path lands, whenever the swap falls in between, on H: the mount
// point (sub, f) is created in the host's H. ctr resolves each target once with
// openat2(RESOLVE_IN_ROOT) and mounts on the descriptor (runtime/features/mount/target.ts),
// so H must never gain anything; a start may fail (the target moved under it), it must not
// escape. The same 200 attempts against `runc run` (a config.json with the same two mounts)
// give the comparison column; both are printed. Starts go AT_ONCE at a time, each with
// target names of its own (sub0, f0, ...), so that each one's escape is seen apart.
//
// Needs root (and, for the runc column, /usr/sbin/runc and a static busybox for its /bin/true).

import { describe, expect } from "bun:test";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AT_FDCWD, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from "../../native/constants.ts";
import { close, openat } from "../../native/index.ts";
import { children, hostMountinfo, IS_ROOT, itest, onHost, REPO } from "../integration/host-state.ts";

const TRIES = Number(process.env.CTR_RACE_TRIES ?? 200);
const RUNC = "/usr/sbin/runc";
const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));

/** Starts at once: the machine's cores are shared, and each start is an attempt of its own (its own target names). */
const AT_ONCE = 8;

/** Whether slot `j`'s mount points reached the host directory H (or any host mount is under H: ctr's live in private namespaces). */
function escaped(host: string, j: number, mounts: string): boolean {
  const names = new Set(readdirSync(host));
  return names.has(`sub${j}`) || names.has(`f${j}`) || mounts.split("\n").some((l) => l.split(" ")[4]?.startsWith(host));
}

/** Empty H and the victims' traces inside R (the directory, under whichever name it has now, by its descriptor). */
function reset(host: string, root: string, dirFd: number): void {
  for (const n of readdirSync(host)) rmSync(join(host, n), { recursive: true, force: true });
  for (const n of readdirSync(`/proc/self/fd/${dirFd}`)) rmSync(`/proc/self/fd/${dirFd}/${n}`, { recursive: true, force: true });
  rmSync(join(root, host), { recursive: true, force: true }); // where the symlink leads inside R
}

interface Column {
  blocked: number;
  started: number;
  seconds: number;
}

/** TRIES starts of `start(slot)`, AT_ONCE at a time, H checked for each. */
async function attempt(host: string, root: string, dirFd: number, start: (slot: number) => Promise<boolean>): Promise<Column> {
  const col = { blocked: 0, started: 0, seconds: 0 };
  const t0 = performance.now();
  for (let i = 0; i < TRIES; i += AT_ONCE) {
    const slots = [...Array(Math.min(AT_ONCE, TRIES - i)).keys()];
    const ok = await Promise.all(slots.map(start));
    const mounts = hostMountinfo();
    for (const j of slots) {
      if (ok[j]) col.started++;
      if (!escaped(host, j, mounts)) col.blocked++;
    }
    reset(host, root, dirFd);
  }
  col.seconds = (performance.now() - t0) / 1000;
  return col;
}

function runcBundle(dir: string, root: string, file: string, slot: number): string {
  const bundle = join(dir, `bundle${slot}`);
  mkdirSync(bundle);
  const config = {
    ociVersion: "1.0.2",
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ["/bin/true"], env: ["PATH=/bin"], cwd: "/" },
    root: { path: root, readonly: false },
    hostname: "race",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" }, // runc's init reads /proc/self/fd
      { destination: `/mnt/t/sub${slot}`, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"] },
      { destination: `/mnt/t/f${slot}`, type: "bind", source: file, options: ["bind"] },
    ],
    linux: { namespaces: [{ type: "mount" }, { type: "pid" }, { type: "uts" }] },
  };
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
  return bundle;
}

describe("the RENAME_EXCHANGE race on a mount target", () => {
  if (IS_ROOT && !BUSYBOX) console.log("skip: the runc column needs a static busybox for the container's /bin/true (apt-get install busybox-static)");
  if (IS_ROOT && !existsSync(RUNC)) console.log(`skip: the runc column needs ${RUNC} (apt-get install runc)`);

  itest(
    `ctr never mounts or makes a mount point on the host in ${TRIES} starts while another container swaps the target for a symlink to a host path`,
    () =>
      onHost(async (h) => {
        const dir = h.scratch();
        const root = join(dir, "root");
        const host = join(dir, "host"); // H: outside the rootfs
        const file = join(dir, "source-file");
        mkdirSync(join(root, "mnt", "t"), { recursive: true });
        mkdirSync(host);
        writeFileSync(file, "bound\n");
        symlinkSync(host, join(root, "mnt", "link"));
        for (const d of ["bin", "proc", "dev", "etc"]) mkdirSync(join(root, d));
        if (BUSYBOX) {
          copyFileSync(BUSYBOX, join(root, "bin", "busybox"));
          chmodSync(join(root, "bin", "busybox"), 0o755);
          symlinkSync("busybox", join(root, "bin", "true"));
        }
        // The real directory, whatever its name: the test cleans it through this descriptor.
        const dirFd = openat(AT_FDCWD, join(root, "mnt", "t"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const attacker = h.spawn(["-e", `ns mnt, pid\nexec ${process.execPath} ${join(REPO, "test", "security", "swap.ts")} ${join(root, "mnt")}`]);
        try {
          const reader = attacker.stdout.getReader();
          const first = await reader.read();
          reader.releaseLock();
          expect(new TextDecoder().decode(first.value ?? new Uint8Array())).toContain("swapping");
          // Swapping: the name t is a symlink at some instants and a directory at others.
          const kinds = new Set<boolean>();
          for (const until = Date.now() + 5000; Date.now() < until && kinds.size < 2; ) {
            kinds.add(lstatSync(join(root, "mnt", "t"), { throwIfNoEntry: false })?.isSymbolicLink() ?? false);
            await Bun.sleep(1);
          }
          expect(kinds.size).toBe(2);

          const script = (j: number) => `ns mnt\nrootfs ${root}\nmount tmpfs /mnt/t/sub${j}\nmount bind ${file} /mnt/t/f${j}`;
          const ctr = await attempt(host, root, dirFd, async (j) => (await h.ctr(["-e", script(j)])).code === 0);

          let runc: Column | null = null;
          if (BUSYBOX && existsSync(RUNC)) {
            const bundles = [...Array(AT_ONCE).keys()].map((j) => runcBundle(dir, root, file, j));
            const state = join(dir, "runc-state");
            let n = 0;
            runc = await attempt(host, root, dirFd, async (j) => {
              const id = `ctrtest-race-${process.pid}-${n++}`;
              const p = Bun.spawn([RUNC, "--root", state, "run", "--bundle", bundles[j]!, id], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
              const code = await p.exited;
              if (code !== 0) Bun.spawnSync([RUNC, "--root", state, "delete", "--force", id], { stdout: "ignore", stderr: "ignore" });
              return code === 0;
            });
          }
          const col = (c: Column) => `blocked ${c.blocked}/${TRIES} (started ${c.started}, ${c.seconds.toFixed(1)} s)`;
          console.log(`rename race, ${TRIES} starts each, ${AT_ONCE} at a time: ctr ${col(ctr)}` + (runc ? `, runc ${col(runc)}` : ", runc not run (see the skip above)"));
          expect(ctr.blocked).toBe(TRIES);
          // Most starts must get through: a target that moved is refused or followed inside the root, not a reason for every start to fail.
          expect(ctr.started).toBeGreaterThan(TRIES / 4);
        } finally {
          attacker.kill("SIGKILL"); // ctr's stage 1 kills the attacker's PID 1 when ctr dies
          await attacker.exited;
          close(dirFd);
          // stage 1 notices through its pidfd, kills PID 1, removes what it made and exits
          for (let i = 0; i < 100 && children().length > 0; i++) await Bun.sleep(30);
        }
      }),
    120_000,
  );
});
