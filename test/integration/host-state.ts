// Shared helpers of the integration tests: run `ctr` for real, and prove that it
// left nothing behind on the host.
//
// What "nothing behind" means, and how each part is observed:
//   mounts     the test process's /proc/self/mountinfo is identical before
//              and after. The test process first moves into a mount namespace
//              of its own whose "/" is re-marked shared (MS_REC|MS_SHARED), as
//              on every systemd machine: a machine whose "/" is private would
//              hide a container's mount leaking out (ctr's children inherit
//              this namespace, and its own tree stands in for the host's);
//   cgroups    no directory named for a ctr the test started is left in any
//              cgroup hierarchy (every container has cgroups of its own, and
//              one cannot be removed while a process is in it);
//   processes  the test process is a child subreaper (PR_SET_CHILD_SUBREAPER),
//              so any process a ctr left running is re-parented to it instead
//              of to init: after the test, the test process has no children;
//   state      nothing under /run/ctr (ctr's per-container directories) is
//              named after a ctr process the test started, and /run/ctr is gone
//              if it was not there before;
//   temp files every ctr runs with TMPDIR set to a fresh directory, which must
//              be empty afterwards; ctr's own temporaries elsewhere (dist/.build-PID,
//              the rootfs cache's .tmp-PID-/.old-PID-) carry the creator's PID
//              and must not exist for any ctr the test started.
// Names are matched by PID rather than by "anything new" because other ctr
// processes (other engineers, other test files) may run on the machine at the
// same time.

import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { hostname as osHostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CLONE_NEWNS, MS_PRIVATE, MS_REC, MS_SHARED, mount, setChildSubreaper, unshare, waitpid, WNOHANG } from "../../native/index.ts";
import { allHierarchies, callerDir, detectCgroups } from "../../runtime/features/cgroup/detect.ts";
import { defaultCacheDir } from "../../runtime/features/rootfs/cache.ts";

export const REPO = resolve(import.meta.dir, "../..");
export const CTR = join(REPO, "bin", "ctr");
export const EXAMPLES = join(REPO, "examples");
export const IS_ROOT = process.getuid?.() === 0;
const STATE_ROOT = "/run/ctr";

let skipNoted = false;
/** An integration test: real containers need root; others get a printed reason and a skip. */
export function itest(name: string, fn: () => Promise<void> | void, timeout = 30_000): void {
  if (!IS_ROOT && !skipNoted) {
    skipNoted = true;
    console.log("skip: the integration tests start real containers and need root (run them as root)");
  }
  test.skipIf(!IS_ROOT)(name, fn, timeout);
}

/**
 * A private copy of the host's mount tree whose "/" propagates like a systemd
 * machine's. Private first: on a host whose "/" is already shared, this cuts
 * the copy's ties with the real host's mounts, so nothing a test does reaches
 * them; then shared within the copy. Bun runs the tests on its main thread,
 * which is the thread unshare moves and the one Bun.spawn's children inherit.
 */
function sharedRoot(): void {
  unshare(CLONE_NEWNS);
  mount(null, "/", null, MS_REC | MS_PRIVATE, null);
  mount(null, "/", null, MS_REC | MS_SHARED, null);
}

if (IS_ROOT) {
  setChildSubreaper(true);
  sharedRoot();
}

/** The directories below which ctr makes containers' cgroups: this process's own cgroup in each hierarchy. */
export const CGROUP_PARENTS: string[] = (() => {
  try {
    return [...new Set(allHierarchies(detectCgroups()).map(callerDir))];
  } catch {
    return [];
  }
})();

export interface HostState {
  mountinfo: string;
  hostname: string;
  stateRootExisted: boolean;
  /** Released OCI containers' directories and cgroups (ctr-oci-XXXXXX-held: no owner pid in the name), to tell new ones. */
  released: Set<string>;
}

/** The state directories and cgroups of released OCI containers (runtime/features/oci/supervise.ts) there now. */
function releasedNow(): Set<string> {
  const out = new Set<string>();
  for (const dir of [STATE_ROOT, ...CGROUP_PARENTS]) for (const n of listDir(dir)) if (/^ctr-oci-.*-held$/.test(n)) out.add(join(dir, n));
  return out;
}

export function snapshot(): HostState {
  return { mountinfo: hostMountinfo(), hostname: osHostname(), stateRootExisted: existsSync(STATE_ROOT), released: releasedNow() };
}

/** The host's mount table, as the test process (in the host's mount namespace) sees it. */
export function hostMountinfo(): string {
  return readFileSync("/proc/self/mountinfo", "utf8");
}

/** Mount points of a mountinfo text (field 5, octal escapes decoded). */
export function mountPoints(mountinfo: string): string[] {
  return mountinfo
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
  pid: number;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** The ctr to run (default CTR, this checkout's): another checkout's bin/ctr. */
  ctr?: string;
  /** Text for ctr's standard input (default: none, /dev/null). */
  stdin?: string;
}

/** One test's view of the host: runs ctr, then checks the host is as it was. */
export class Host {
  /**
   * A mount that is not ctr's and comes and goes on its own (a client's, in
   * the test's own directory): left out of the mountinfo comparison.
   */
  ignoreMount: (finding: string) => boolean = () => false;
  readonly before = snapshot();
  /** PIDs of every ctr this test started. */
  readonly pids: number[] = [];
  /** TMPDIR of the ctr processes: must be empty at the end. */
  readonly tmp = mkdtempSync(join(tmpdir(), "ctr-it-tmpdir-"));
  private readonly own: string[] = [];

  /** A scratch directory for the test itself (removed before the checks). */
  scratch(): string {
    const dir = mkdtempSync(join(tmpdir(), "ctr-it-"));
    this.own.push(dir);
    return dir;
  }

  /** Start ctr with ARGS, its output piped. */
  spawn(args: string[], opts: SpawnOptions = {}) {
    const proc = Bun.spawn({
      cmd: [opts.ctr ?? CTR, ...args],
      cwd: opts.cwd ?? REPO,
      // CTR_TEACHING=1: the containers of these tests are teaching containers on purpose; the
      // note it silences has tests of its own (test/security/note.test.ts).
      env: { ...process.env, NO_COLOR: "1", CTR_TEACHING: "1", TMPDIR: this.tmp, ...opts.env },
      stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
    this.pids.push(proc.pid);
    return proc;
  }

  /** Run ctr with ARGS to the end. */
  async ctr(args: string[], opts: SpawnOptions = {}): Promise<CtrResult> {
    const proc = this.spawn(args, opts);
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr, pid: proc.pid };
  }

  /** Everything ctr left behind: a list of human-readable findings, empty when clean. */
  async leftovers(): Promise<string[]> {
    const found: string[] = [];
    const after = hostMountinfo();
    if (after !== this.before.mountinfo) found.push(...mountDiff(this.before.mountinfo, after).filter((l) => !this.ignoreMount(l)));
    if (osHostname() !== this.before.hostname) found.push(`the host's hostname changed: ${this.before.hostname} -> ${osHostname()}`);
    for (const p of await strays()) found.push(`stray process ${p}`);
    const mine = new RegExp(`-(${this.pids.join("|") || "none"})(?:-|$)`);
    const places: [string, (n: string) => boolean][] = [
      [STATE_ROOT, (n) => mine.test(n)],
      [join(REPO, "dist"), (n) => n.startsWith(".build-") && mine.test(n)],
      [join(defaultCacheDir(), ".."), (n) => /\.(tmp|old)-/.test(n) && mine.test(n.replace(/\.(tmp|old)/, ""))],
      ...CGROUP_PARENTS.map((d): [string, (n: string) => boolean] => [d, (n) => n.startsWith("ctr-") && mine.test(n)]),
    ];
    for (const [dir, isMine] of places) {
      for (const n of listDir(dir)) if (isMine(n)) found.push(`left behind: ${join(dir, n)}`);
    }
    for (const p of releasedNow()) if (!this.before.released.has(p)) found.push(`left behind: ${p}`);
    if (!this.before.stateRootExisted && existsSync(STATE_ROOT) && listDir(STATE_ROOT).length === 0) found.push(`left behind: an empty ${STATE_ROOT}`);
    for (const n of listDir(this.tmp)) found.push(`left behind in TMPDIR: ${join(this.tmp, n)}`);
    return found;
  }

  /** Remove the test's own directories, then assert that the host is clean. */
  async assertClean(): Promise<void> {
    const found = await this.cleanUp();
    expect(found).toEqual([]);
  }

  /**
   * Remove the test's own directories and list what ctr left behind; then kill
   * stray processes, so that one failure does not spill into the next tests.
   */
  async cleanUp(): Promise<string[]> {
    for (const d of this.own) rmSync(d, { recursive: true, force: true });
    const found = await this.leftovers();
    rmSync(this.tmp, { recursive: true, force: true });
    for (const c of children()) {
      try {
        process.kill(c.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    return found;
  }
}

/**
 * Run `fn` with a fresh Host, then check that the host is as it was. When fn
 * fails, its error is the one reported (with whatever was left behind).
 */
export async function onHost(fn: (h: Host) => Promise<void>): Promise<void> {
  const h = new Host();
  try {
    await fn(h);
  } catch (e) {
    const found = await h.cleanUp();
    if (found.length > 0 && e instanceof Error) e.message += `\n(and left behind: ${found.join("; ")})`;
    throw e;
  }
  await h.assertClean();
}

/** The children of `pid` (its main thread's: orphans re-parented to it too), by PID; none when it is gone. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** The command line of `pid`, each argument followed by a space; "" when it is gone. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** The process runs (a zombie has ended: its parent, the test or a subreaper, reaps it later). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function mountDiff(before: string, after: string): string[] {
  const b = new Set(before.split("\n"));
  const a = new Set(after.split("\n"));
  const out: string[] = [];
  for (const l of after.split("\n")) if (!b.has(l)) out.push(`host mount appeared: ${l}`);
  for (const l of before.split("\n")) if (!a.has(l)) out.push(`host mount disappeared: ${l}`);
  return out.length > 0 ? out : ["the host's mountinfo changed (order only)"];
}

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  cmd: string;
}

function procStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    return { pid, ppid: Number(rest[1]), state: rest[0]!, cmd: cmd || stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) };
  } catch {
    return null;
  }
}

/** Children of the test process: processes re-parented to it (it is a subreaper). */
export function children(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of listDir("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const st = procStat(pid);
    if (st && st.ppid === process.pid) out.push(st);
  }
  return out;
}

/**
 * Processes still alive under the test process, after giving dying ones up to
 * 2 s. Zombies are reaped: they did end (a stray is a process that runs on).
 */
async function strays(): Promise<string[]> {
  let live: ProcStat[] = [];
  for (let i = 0; i < 40; i++) {
    live = [];
    for (const c of children()) {
      if (c.state === "Z") {
        try {
          waitpid(c.pid, WNOHANG);
        } catch {
          // reaped by someone else meanwhile
        }
      } else live.push(c);
    }
    if (live.length === 0) return [];
    await Bun.sleep(50);
  }
  return live.map((p) => `${p.pid} (${p.state}) ${p.cmd} [${describeProcess(p.pid)}]`);
}

/** A few facts about a process, to tell what a stray was doing. */
function describeProcess(pid: number): string {
  const facts: string[] = [];
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    for (const k of ["Threads", "NSpid", "SigBlk", "SigPnd", "ShdPnd"]) facts.push(`${k} ${new RegExp(`^${k}:\\s*(.*)$`, "m").exec(status)?.[1] ?? "?"}`);
    facts.push(`wchan ${readFileSync(`/proc/${pid}/wchan`, "utf8")}`);
    facts.push(`started ${readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]} ticks after boot`);
    facts.push(`fds ${readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return `${fd}->${readlinkSync(`/proc/${pid}/fd/${fd}`)}`; } catch { return fd; } }).join(" ")}`);
  } catch {
    // gone meanwhile
  }
  return facts.join("; ");
}

/** Lines `@@key=value` printed by a probe command, as a map. */
export function probe(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^@@([\w./-]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The host's namespace links (/proc/self/ns/NAME), for comparison with a container's. */
export function hostNamespaces(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of ["uts", "ipc", "pid", "mnt", "net", "cgroup"]) out[n] = readlinkSync(`/proc/self/ns/${n}`);
  return out;
}

/** A POSIX shell snippet that prints the probe lines for the namespaces of the shell. */
export const NS_PROBE = `for n in uts ipc pid mnt net cgroup; do echo "@@ns.$n=$(readlink /proc/self/ns/$n)"; done`;

/** Path of an example. */
export function example(name: string): string {
  return join(EXAMPLES, name);
}
