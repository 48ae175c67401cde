/**
 * Issue 9, item 4: the rootless state directory. Without XDG_RUNTIME_DIR an
 * ordinary user's ctr keeps its per-container directories in /tmp/ctr-UID, a
 * name any other local user can take first. Two ordinary users, made for
 * these tests and removed after them (ctrtest-victim, ctrtest-attacker), play
 * the three attacks:
 *  (a) the attacker made /tmp/ctr-VICTIM a directory of theirs: the victim's
 *      ctr refuses it with a message saying whose it is and what to do (not a
 *      bare EACCES), and runs with XDG_RUNTIME_DIR set as the message says;
 *  (b) a symlink to a directory of the attacker's, who swaps in their own
 *      hostname and resolv.conf as soon as the victim's ctr has made its own:
 *      refused, nothing of the victim's lands there, the container never sees
 *      the attacker's files;
 *  (c) a symlink to the victim's home: the stale-directory sweep deletes
 *      nothing there (on the old code it deleted `~/precious-9999999`).
 * And the sweep itself: it still removes a stale directory that proves to be
 * ctr's (marker, owner), unlinking a symlink inside without following it, and
 * leaves an unmarked one alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { type Host, onHost, probe } from "../integration/host-state.ts";
import { ctrAsUser, freshenBundle, rootlessSkipReason, SETPRIV, skipping, USERNS_BLOCKER } from "./helpers.ts";

const USERADD = ["/usr/sbin/useradd", "/sbin/useradd"].find((p) => existsSync(p));
const USERDEL = ["/usr/sbin/userdel", "/sbin/userdel"].find((p) => existsSync(p));

const skip = skipping(
  rootlessSkipReason() ??
    (USERNS_BLOCKER ? `this machine forbids unprivileged user namespaces (${USERNS_BLOCKER}): an ordinary user's container cannot be made` : null) ??
    (USERADD && USERDEL ? null : "useradd/userdel (package passwd) are not installed: cannot make the two test users"),
);

interface User {
  name: string;
  uid: number;
  gid: number;
  /** Made by this file (and so removed by it). */
  made: boolean;
}

function lookUp(name: string): { uid: number; gid: number } | null {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

function makeUser(name: string): User {
  const had = lookUp(name);
  if (had) return { name, ...had, made: false };
  const r = Bun.spawnSync({ cmd: [USERADD!, "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name], stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`useradd ${name} failed: ${r.stderr.toString()}`);
  return { name, ...lookUp(name)!, made: true };
}

let victim: User;
let attacker: User;
beforeAll(() => {
  if (skip) return;
  victim = makeUser("ctrtest-victim");
  attacker = makeUser("ctrtest-attacker");
});
afterAll(() => {
  for (const u of [victim, attacker]) if (u?.made) Bun.spawnSync({ cmd: [USERDEL!, u.name] });
});

const stateRootOf = (u: User) => `/tmp/ctr-${u.uid}`;

/** Run a command as `u` (setpriv, no supplementary groups) to its end. */
function as(u: User, cmd: string[]): void {
  const r = Bun.spawnSync({ cmd: [SETPRIV!, `--reuid=${u.uid}`, `--regid=${u.gid}`, "--clear-groups", ...cmd], stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} as ${u.name} failed: ${r.stderr.toString()}`);
}

/** A directory of `u`'s (mode `mode`) for the test. */
function dirOf(h: Host, u: User, mode: number): string {
  const dir = h.scratch();
  chownSync(dir, u.uid, u.gid);
  chmodSync(dir, mode);
  return dir;
}

/** The victim's ctr, with its own HOME and no XDG_RUNTIME_DIR unless given. */
function victimCtr(h: Host, home: string, script: string, runtimeDir?: string) {
  return ctrAsUser(h, ["-e", script], { home, runtimeDir, as: { uid: victim.uid, gid: victim.gid } });
}

/** A script whose container needs a state directory (a rootfs: /etc/hostname etc. are bound from it). */
const WITH_STATE = ["ns user, uts, mnt", "hostname victimbox", "rootfs default", `run sh -c 'echo "@@hostname=$(cat /etc/hostname)"; echo "@@resolv=$(cat /etc/resolv.conf)"'`].join("\n");
/** A script whose container needs none (the sweep of stale directories still runs). */
const WITHOUT_STATE = "ns user, uts\nrun true";

/**
 * Run `fn` with the victim's state root absent before and removed after
 * (whatever the attacker planted there is the test's own doing).
 */
async function attack(fn: (h: Host) => Promise<void>): Promise<void> {
  const root = stateRootOf(victim);
  expect(existsSync(root) || isLink(root)).toBe(false);
  try {
    await onHost(async (h) => {
      await freshenBundle(h);
      await fn(h);
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The attacker of (b): whenever a container directory of the victim's is
 * complete (its root/ exists) in the attacker's directory, move it aside and
 * put one of the attacker's under its name, with their own hostname, hosts
 * and resolv.conf. On the old code this won the race in 10 of 10 runs.
 */
const SWAPPER = `
D=$1
while :; do
  for d in "$D"/ctr-*; do
    [ -d "$d/root" ] || continue
    [ -e "$d/.evil" ] && continue
    mv "$d" "$D/taken-\${d##*/}" 2>/dev/null || continue
    mkdir -m 777 "$d" "$d/scratch" "$d/root"
    echo evil > "$d/hostname"; echo "nameserver 6.6.6.6" > "$d/resolv.conf"; echo "6.6.6.6 bank.example" > "$d/hosts"
    chmod 644 "$d/hostname" "$d/resolv.conf" "$d/hosts"; touch "$d/.evil"
  done
done`;

describe("issue 9 item 4: a state directory in /tmp that another user prepared", () => {
  test.skipIf(skip)("(a) /tmp/ctr-UID made by another user: a clear refusal, and XDG_RUNTIME_DIR as the way out", () =>
    attack(async (h) => {
      const root = stateRootOf(victim);
      as(attacker, ["mkdir", "-m", "700", root]);
      const home = dirOf(h, victim, 0o711);
      const r = await victimCtr(h, home, WITH_STATE);
      expect(r.stderr).toContain(`refusing the state directory "${root}": it belongs to ctrtest-attacker (uid ${attacker.uid}), not to you (uid ${victim.uid})\n`);
      expect(r.stderr).toContain("help: another user may have put it there to take over your containers: have its owner or root remove it, or set XDG_RUNTIME_DIR to a directory of your own (mode 0700)\n");
      expect(r.stderr).not.toContain("EACCES");
      expect(r.code).toBe(125);
      // A container that needs no state directory still runs (the sweep leaves the directory alone).
      const plain = await victimCtr(h, home, WITHOUT_STATE);
      expect(plain.stderr).toBe("");
      expect(plain.code).toBe(0);
      // What the message says works.
      const runtimeDir = dirOf(h, victim, 0o700);
      const ok = await victimCtr(h, home, WITH_STATE, runtimeDir);
      expect(ok.stderr).toBe("");
      expect(ok.code).toBe(0);
      expect(probe(ok.stdout).hostname).toBe("victimbox");
      expect(readdirSync(runtimeDir)).toEqual([]); // its ctr/ was removed with the container
      // The attacker's directory is as it was: theirs, empty.
      const st = lstatSync(root);
      expect([st.isDirectory(), st.uid, readdirSync(root)]).toEqual([true, attacker.uid, []]);
    }),
  60_000);

  test.skipIf(skip)("(b) /tmp/ctr-UID a symlink to the attacker's directory: refused; the container's files are never the attacker's", () =>
    attack(async (h) => {
      const root = stateRootOf(victim);
      const theirs = dirOf(h, attacker, 0o777);
      as(attacker, ["ln", "-s", theirs, root]);
      const home = dirOf(h, victim, 0o711);
      const swapper = Bun.spawn({ cmd: [SETPRIV!, `--reuid=${attacker.uid}`, `--regid=${attacker.gid}`, "--clear-groups", "sh", "-c", SWAPPER, "sh", theirs], stdout: "ignore", stderr: "ignore" });
      let r;
      try {
        await Bun.sleep(200); // the attacker is watching
        r = await victimCtr(h, home, WITH_STATE);
      } finally {
        swapper.kill("SIGKILL");
        await swapper.exited;
      }
      const p = probe(r.stdout);
      expect(p.resolv ?? "").not.toContain("6.6.6.6");
      expect(p.hostname ?? "").not.toBe("evil");
      expect(readdirSync(theirs)).toEqual([]); // nothing of the victim's went there
      expect(r.stderr).toContain(`refusing the state directory "${root}": it is a symlink (to "${theirs}"), which ctr never follows here\n`);
      expect(r.code).toBe(125);
    }),
  60_000);

  test.skipIf(skip)("(c) /tmp/ctr-UID a symlink to the victim's home: the sweep deletes nothing there", () =>
    attack(async (h) => {
      const root = stateRootOf(victim);
      const home = dirOf(h, victim, 0o711);
      // A name like a container directory's (it ends in a PID that does not run: above any pid_max).
      as(victim, ["sh", "-c", `mkdir "$1/precious-9999999" && echo 'years of work' > "$1/precious-9999999/thesis.txt"`, "sh", home]);
      as(attacker, ["ln", "-s", home, root]);
      const listHome = () => readdirSync(home).filter((n) => n !== ".cache").sort(); // ctr's own plan cache aside
      const before = listHome();
      const plain = await victimCtr(h, home, WITHOUT_STATE);
      expect(readFileSync(join(home, "precious-9999999", "thesis.txt"), "utf8")).toBe("years of work\n");
      expect(plain.stderr).toBe("");
      expect(plain.code).toBe(0);
      const refused = await victimCtr(h, home, WITH_STATE);
      expect(refused.stderr).toContain(`refusing the state directory "${root}": it is a symlink (to "${home}"), which ctr never follows here\n`);
      expect(refused.code).toBe(125);
      expect(listHome()).toEqual(before);
      expect(readFileSync(join(home, "precious-9999999", "thesis.txt"), "utf8")).toBe("years of work\n");
    }),
  60_000);

  test.skipIf(skip)("the sweep removes a stale directory that proves to be ctr's, without following a symlink in it, and nothing else", () =>
    attack(async (h) => {
      const root = stateRootOf(victim);
      const home = dirOf(h, victim, 0o711);
      // Stale directories of the victim's own, as a ctr killed with SIGKILL would leave them (a PID that does not run).
      const stale = "ctr-abc123-9999999";
      const unmarked = "ctr-def456-9999998";
      as(victim, [
        "sh",
        "-c",
        [
          'mkdir -m 711 "$1" "$1/$2" "$1/$2/scratch" "$1/$3" "$4/keep"',
          'printf "%s\\n" "$2" > "$1/$2/.ctr-state"',
          'echo x > "$1/$2/hostname"',
          'echo precious > "$4/keep/file"',
          'ln -s "$4/keep" "$1/$2/scratch/link"',
          'echo mine > "$1/$3/notes"',
        ].join(" && "),
        "sh",
        root,
        stale,
        unmarked,
        home,
      ]);
      const r = await victimCtr(h, home, WITHOUT_STATE);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(existsSync(join(root, stale))).toBe(false); // swept
      expect(readFileSync(join(home, "keep", "file"), "utf8")).toBe("precious\n"); // the symlink was unlinked, not followed
      expect(readFileSync(join(root, unmarked, "notes"), "utf8")).toBe("mine\n"); // no marker: not provably ctr's
    }),
  60_000);
});

describe("the state root's checks (runtime/statedir.ts openStateRoot), as root on a scratch parent", () => {
  const rootSkip = skipping(process.getuid?.() === 0 ? null : "these checks chown files to other users: run them as root");

  function scratchParent(): string {
    const dir = join("/tmp", `ctr-statedir-test-${process.pid}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    return dir;
  }

  function refusal(fn: () => unknown): string {
    try {
      fn();
    } catch (e) {
      return (e as Error).message;
    }
    return "no refusal";
  }

  test.skipIf(rootSkip)("made 0711 and reused; refused as a symlink, another user's, writable by others, or under a non-sticky writable parent", async () => {
    // Imported here: the attacks above also run (and fail) on code without this module.
    const { openStateRoot } = await import("../../runtime/statedir.ts");
    const { close } = await import("../../native/index.ts");
    const parent = scratchParent();
    try {
      const root = join(parent, "ctr");
      const fd = openStateRoot(root, true)!;
      close(fd);
      expect(lstatSync(root).mode & 0o7777).toBe(0o711);
      chmodSync(root, 0o755); // as an older ctr made it: ours, so set right
      close(openStateRoot(root, false)!);
      expect(lstatSync(root).mode & 0o7777).toBe(0o711);
      chmodSync(root, 0o777);
      expect(refusal(() => openStateRoot(root, false))).toBe(`refusing the state directory "${root}": other users can write it (mode 0777)`);
      rmSync(root, { recursive: true });
      mkdirSync(root);
      chownSync(root, 65534, 65534);
      expect(refusal(() => openStateRoot(root, true))).toMatch(new RegExp(`^refusing the state directory "${root}": it belongs to .* \\(uid 65534\\), not to you \\(uid 0\\)$`));
      rmSync(root, { recursive: true });
      mkdirSync(join(parent, "elsewhere"));
      symlinkSync(join(parent, "elsewhere"), root);
      expect(refusal(() => openStateRoot(root, true))).toBe(`refusing the state directory "${root}": it is a symlink (to "${join(parent, "elsewhere")}"), which ctr never follows here`);
      rmSync(root);
      expect(openStateRoot(root, false)).toBeNull(); // absent, not made
      chmodSync(parent, 0o777); // anyone could rename what is made in it
      expect(refusal(() => openStateRoot(root, true))).toBe(`refusing the state directory "${root}": other users can write "${parent}" above it, and it is not sticky`);
      expect(existsSync(root)).toBe(false);
      chmodSync(parent, 0o1777); // as /tmp: fine
      close(openStateRoot(root, true)!);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
