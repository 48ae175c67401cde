// Shared helpers of the user-namespace tests: run ctr as an ordinary user
// (uid 65534, through setpriv), and what such a run may leave behind that
// test/integration/host-state.ts does not look at (the state directories of an
// unprivileged ctr, the user's own rootfs cache).

import { chmodSync, chownSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CTR, IS_ROOT, REPO, type CtrResult, type Host } from "../integration/host-state.ts";
import { idMapHelper, unprivilegedUsernsBlocker, userName } from "../../runtime/features/userns/userns.ts";

/** The ordinary user of the rootless tests: nobody/nogroup. */
export const USER = 65534;
export const SETPRIV = Bun.which("setpriv");

/** Why rootless runs cannot be tested here, or null. */
export function rootlessSkipReason(): string | null {
  if (!IS_ROOT) return "the user-namespace tests switch users and write id maps: run them as root";
  if (!SETPRIV) return "setpriv (util-linux) is not installed: cannot switch to an ordinary user";
  return null;
}

/**
 * Why the tests of ranges written by newuidmap/newgidmap cannot run here, or
 * null: the helpers come with the `uidmap` package, which a fresh machine may
 * lack (CI installs it, so CI runs them).
 */
export function uidmapSkipReason(find: (helper: "newuidmap" | "newgidmap") => string | null = idMapHelper): string | null {
  const missing = (["newuidmap", "newgidmap"] as const).filter((h) => find(h) === null);
  return missing.length > 0 ? `${missing.join(" and ")} not installed (package uidmap): ranges beyond your own id are not tested` : null;
}

/** Print why a group of tests is skipped (once), and say whether it is. */
const noted = new Set<string>();
export function skipping(reason: string | null): boolean {
  if (reason && !noted.has(reason)) {
    noted.add(reason);
    console.log(`skip: ${reason}`);
  }
  return reason !== null;
}

/** Why the machine forbids unprivileged user namespaces (the sysctl), or null. */
export const USERNS_BLOCKER = unprivilegedUsernsBlocker();

/** A scratch directory owned by the ordinary user, mode 0700 (a HOME, a runtime dir). */
export function userDir(h: Host): string {
  const dir = h.scratch();
  chownSync(dir, USER, USER);
  chmodSync(dir, 0o700);
  return dir;
}

export interface AsUserOptions {
  home: string;
  /** XDG_RUNTIME_DIR for ctr; unset when omitted (ctr then uses /tmp/ctr-UID). */
  runtimeDir?: string;
  cwd?: string;
  /** The ctr launcher to run (default: this checkout's bin/ctr). */
  ctr?: string;
  /**
   * Files to see as /etc/subuid and /etc/subgid: bound over them in a mount
   * namespace of this run only (`unshare -m`, private propagation), so the
   * real files are neither edited nor hidden from anyone else.
   */
  grants?: { subuid: string; subgid: string };
  /** More environment for ctr. */
  env?: Record<string, string>;
  /** Another ordinary user to run as (default: uid/gid 65534). */
  as?: { uid: number; gid: number };
  /** Text for ctr's standard input (default: none). */
  stdin?: string;
}

export const UNSHARE = Bun.which("unshare");

/**
 * Run ctr as uid/gid 65534 (or `opts.as`) with no supplementary groups, a minimal environment
 * (nothing of root's: HOME and TMPDIR are the user's own), and the host's
 * TMPDIR check of `h` (its TMPDIR is handed over to the user).
 */
export async function ctrAsUser(h: Host, args: string[], opts: AsUserOptions): Promise<CtrResult> {
  const { uid, gid } = opts.as ?? { uid: USER, gid: USER };
  chownSync(h.tmp, uid, gid);
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: opts.home, TMPDIR: h.tmp, NO_COLOR: "1", LANG: "C" };
  if (opts.runtimeDir) env.XDG_RUNTIME_DIR = opts.runtimeDir;
  Object.assign(env, opts.env);
  const asUser = [SETPRIV!, `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", opts.ctr ?? CTR, ...args];
  const withGrants = opts.grants
    ? [UNSHARE!, "--mount", "--propagation", "private", "sh", "-c", 'mount --bind "$1" /etc/subuid && mount --bind "$2" /etc/subgid && shift 2 && exec "$@"', "sh", opts.grants.subuid, opts.grants.subgid, ...asUser]
    : asUser;
  const proc = Bun.spawn({
    // unshare (without --fork), sh, setpriv and the launcher all exec: the PID is
    // ctr's own (its state directories are named after it).
    cmd: withGrants,
    cwd: opts.cwd ?? REPO,
    env,
    stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  h.pids.push(proc.pid);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, pid: proc.pid };
}

/**
 * Bring dist/init.js up to date as root: an ordinary user cannot write dist/,
 * and ctr rebuilds the bundle whenever a source file is newer. Any script
 * does (stage 1 is launched before the script is even parsed).
 */
export async function freshenBundle(h: Host): Promise<void> {
  const r = await h.ctr(["-e", "echo bundle-ok"]);
  if (r.code !== 0 || r.stdout !== "bundle-ok\n") throw new Error(`a root run of ctr failed (exit ${r.code}): ${r.stderr}`);
}

/**
 * /etc/subuid and /etc/subgid texts granting the user uids and gids from
 * `uidStart` and `gidStart` (65536 each; another user's line first), written
 * into a scratch directory, for AsUserOptions.grants.
 */
export function grantFiles(h: Host, uidStart: number, gidStart: number): { subuid: string; subgid: string } {
  const dir = h.scratch();
  const name = userName(USER);
  writeFileSync(join(dir, "subuid"), `someone:100000:65536\n${name}:${uidStart}:65536\n`);
  writeFileSync(join(dir, "subgid"), `${name}:${gidStart}:65536\n`);
  return { subuid: join(dir, "subuid"), subgid: join(dir, "subgid") };
}

/** Where an unprivileged ctr keeps its per-container directories. */
export function userStateRoot(runtimeDir?: string): string {
  return runtimeDir ? join(runtimeDir, "ctr") : `/tmp/ctr-${USER}`;
}

/** What exists of an unprivileged state root before a test: to tell what the test's ctr made. */
export interface UserStateBefore {
  root: string;
  existed: boolean;
}

export function userStateBefore(runtimeDir?: string): UserStateBefore {
  const root = userStateRoot(runtimeDir);
  return { root, existed: existsSync(root) };
}

/**
 * What the test's unprivileged ctr runs left: entries of the state root named
 * after one of their PIDs, the state root itself if it was not there before,
 * and the rootfs cache's temporaries (.tmp-PID, .old-PID) under HOME.
 */
export function userLeftovers(h: Host, before: UserStateBefore, home: string): string[] {
  const found: string[] = [];
  const mine = new RegExp(`-(${h.pids.join("|") || "none"})(?:-|$)`);
  if (existsSync(before.root)) {
    const names = readdirSync(before.root);
    for (const n of names) if (mine.test(n)) found.push(`left behind: ${join(before.root, n)}`);
    if (!before.existed) found.push(`left behind: ${before.root} (${names.length} entries)`);
  }
  const cache = join(home, ".cache", "ctr", "rootfs");
  if (existsSync(cache)) {
    for (const n of readdirSync(cache)) if (/\.(tmp|old)-/.test(n)) found.push(`left behind: ${join(cache, n)}`);
  }
  return found;
}

/** The normalised text of an id map ("0 100000 65536"; lines, split at newlines or ";", joined by "; "). */
export function normaliseMap(text: string): string {
  return text
    .split(/[\n;]/)
    .map((l) => l.trim().split(/\s+/).join(" "))
    .filter(Boolean)
    .join("; ");
}
