// `ctr explain` against the executors. explain's lines are derived for every op kind
// (runtime/explain.ts DERIVATION: each op alone, on a small tree, once per variant; the
// host side's and stage 1's by runtime/explain-host.ts); here every example and two
// scripts of the statements no example has go through the real `ctr explain`, and
// through the executors one op after the other on a single RecordingSys, as PID 1 would
// run them (the host's and stage 1's once per plan, as the session and stage 1 call
// them), in eight scenes: mount points present, absent, mknod refused (a user
// namespace), a rootfs without its /etc files, the paths `readonly` and `mask` name being
// files, ctr rootless, setgroups denied, the v2 controllers enabled already. For every op,
// the explain lines that apply to the scene (by their `# ...` notes) must be the calls
// made, in order (the host's: the same calls, as a multiset over the ops of the kind),
// written by the rules of runtime/explain.ts's header; every explain line must be made in
// some scene; an op of a kind that makes no call has comments only. Every op kind must be
// derived and met by some script. Any difference fails.

import { sysctlFile } from "../../runtime/features/sysctl/sysctl.ts";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile, type Command } from "../../lang/index.ts";
import { execute, newAgentState } from "../../runtime/agent.ts";
import { answerLinks, cgroupStandIn, DERIVATION, DERIVED } from "../../runtime/explain.ts";
import { cgroupCalls, cgroupSys, hostNetSys, idMapCalls, joinCalls, joinFiles, netHostCalls, stage1Calls, STAGE1_PID, TARGET_PID, type HostScene } from "../../runtime/explain-host.ts";
import { machineCgroups } from "../../runtime/features/cgroup/detect.ts";
import { applyStateSteps, execStateSteps, runNeedsExecStage } from "../../runtime/features/process/spec.ts";
import { defaultCommand } from "../../runtime/features/image/root.ts";
import { lookupStandIns } from "../../runtime/features/security/user.ts";
import { callerEnvironment } from "../../runtime/features/process/process.ts";
import { OP_TRAITS, type OpKind } from "../../runtime/ops.ts";
import { ExecveCalled } from "../../native/recording.ts";
import { AF_INET, decode, RTM_GETLINK, RTM_NAMES } from "../../runtime/features/net/codec.ts";
import { NETLINK_TEXT } from "../../runtime/features/net/link.ts";
import { defaultCacheDir } from "../../runtime/features/rootfs/cache.ts";
import { INIT_FILES, type Op } from "../../runtime/ops.ts";
import { stateRoot } from "../../runtime/paths.ts";
import { makePlan } from "../../runtime/plan.ts";
import { findStatement, statements } from "../../runtime/registry.ts";
import { formatCall } from "../../native/format.ts";
import { RecordingSys, type FakeNode, type RecordedCall } from "../../native/recording.ts";

const REPO = join(import.meta.dir, "..", "..");
const EXAMPLES = join(REPO, "examples");
const TMP = mkdtempSync(join(tmpdir(), "ctr-explain-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const HOST_ROOT = join(TMP, "root");
const DATA = join(TMP, "data");
for (const d of [HOST_ROOT, DATA]) mkdirSync(d);

/** Statements no example has (and a rootfs entered by pivot_root). */
const INLINE = `ns mnt, uts, net\ndomainname example.org\nnet lo up\nnet veth host=169.254.7.1/24 ctr=169.254.7.2/24\nnet route default via=169.254.7.1\nnet route 169.254.9.0/24 via=169.254.7.1\nsysctl net.ipv4.ip_forward=1 kernel.domainname=example.org\nmount bind ${DATA} /mnt ro nosuid\nmount overlay /m lower=${DATA}:${HOST_ROOT}\nmount tmpfs /t ro strictatime\nmount dev\nmount cgroup /c ro\nrootfs ${HOST_ROOT}\ndevice node /dev/fuse c 10:229 mode=0600 uid=5 gid=6\nrlimit nofile 1024:4096\nrlimit core 0\nno_new_privs\nreadonly /\nreadonly /srv\nmask /opt\nrun true`;

/** The host side's, stage 1's and the process spec's statements no example has (and a limit after a command). */
const INLINE2 = `ns user, uts, pid, mnt, net\nmap uid 0 100000 65536\nmap gid 0 100000 65536\nenv GREETING=hello\ncwd /tmp\nrlimit nofile 512\nno_new_privs\ncap drop all\ncap add net_bind_service, chown\nseccomp default\nuser nobody:nogroup groups=audio\nlimit memory 64m\nlimit cpu 20%\ndevice deny c 1:3\necho ready\nsleep 10ms\nnet veth host=169.254.8.1/30 ctr=169.254.8.2/30\nshow security\nshow cgroup\nrun true\nlimit pids 50\nexec /bin/true`;

/** `mount cgroup` in a cgroup namespace: new cgroup filesystems rather than binds (runtime/features/mount/cgroupfs.ts). */
const INLINE3 = `ns mnt, pid, cgroup\nmount cgroup /c ro\nrun true`;

const RUNS: [file: string, env: Record<string, string>][] = [
  ...readdirSync(EXAMPLES).filter((f) => f.endsWith(".ctr")).sort().map((f): [string, Record<string, string>] => [f, {}]),
  ["06-rootfs.ctr", { ROOT: HOST_ROOT, CHROOT: "yes" }],
  ["-e", {}],
  ["-e2", {}],
  ["-e3", {}],
];

type Scene = "present" | "absent" | "userns" | "bare" | "file" | "rootless" | "deny" | "enabled";
const SCENES: Scene[] = ["present", "absent", "userns", "bare", "file", "rootless", "deny", "enabled"];
const HOST_SCENE: Partial<Record<Scene, HostScene>> = { rootless: { rootless: true }, deny: { deny: true }, enabled: { enabled: true } };

/** `ctr explain`'s lines, one block per op. */
function explainBlocks(file: string, env: Record<string, string>): string[][] {
  const args = file === "-e" ? ["explain", "-e", INLINE] : file === "-e2" ? ["explain", "-e", INLINE2] : file === "-e3" ? ["explain", "-e", INLINE3] : ["explain", join(EXAMPLES, file)];
  const r = Bun.spawnSync([join(REPO, "bin", "ctr"), ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  expect({ file, err: r.stderr.toString(), code: r.exitCode }).toEqual({ file, err: "", code: 0 });
  const blocks: string[][] = [];
  for (const line of r.stdout.toString().split("\n")) {
    if (line === "") continue;
    if (line.startsWith("    ")) blocks.at(-1)!.push(line.slice(4));
    else blocks.push([]);
  }
  return blocks;
}

/** The ops `ctr explain` planned, planned here the same way. */
function plan(file: string, env: Record<string, string>): Op[] {
  const text = file === "-e" ? INLINE : file === "-e2" ? INLINE2 : file === "-e3" ? INLINE3 : readFileSync(join(EXAMPLES, file), "utf8");
  const fe = compile(text, { file, specs: statements, env: { ...process.env, ...env }, cpus: 4, host: { kind: (p: string) => (p.startsWith("/proc/sys/") ? "file" : "dir"), isCommand: () => true }, stdlibDir: join(REPO, "stdlib") });
  expect(fe.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return makePlan(fe.commands as Command[], findStatement, { stateDir: `${stateRoot()}/ID`, defaultRootfs: `${defaultCacheDir()}/rootfs` }).plan.ops;
}

const MOUNT_POINTS = ["proc", "sys", "dev", "dev/pts", "dev/shm", "tmp", "run", "root", "mnt", "m", "t", "c", "lab", "test", "data", "host-etc"];
/** The paths INLINE makes read-only or masks: directories, files in the "file" scene, absent in "absent". */
const PROTECTED = ["srv", "opt"];

/** The calls that return a descriptor. */
const FD_CALLS = ["open_tree", "openat2", "fsopen", "fsmount", "bpf", "open", "openat"];
const HIDDEN = ["exists", "lstat", "stat", "fstat", "readlink", "read", "close", "readFile", "readdir", "pread", "capget"];

/** What the executors made in one scene: PID 1's calls per op, the host's and stage 1's per kind (or the error that stopped them). */
interface Made {
  ops: string[][];
  host: Map<OpKind, string[]>;
  hostError: Map<OpKind, string>;
}

/** The executors' calls for each op, run in order on one recorder in `scene`. */
async function runAll(ops: Op[], scene: Scene): Promise<Made> {
  const files: Record<string, FakeNode> = { [DATA]: "dir", [HOST_ROOT]: "dir" };
  // The host's nodes: mount dev's, and the one device node binds in a user namespace.
  for (const n of ["null", "zero", "full", "random", "urandom", "tty", "fuse"]) files[`/dev/${n}`] = "dev";
  for (const op of ops) {
    // A volume's source is there (the recorder's copy of the host's tree does not see a directory made after it).
    if (op.kind === "volume") files[op.from] = "dir";
    // sysctl's keys in the private proc it makes (the recorder names an fsmount's files /fs:TYPE/...).
    if (op.kind === "sysctl") for (const [key] of op.values) files[`/fs:proc/${sysctlFile(key)}`] = "file";
    if (op.kind !== "rootfs") continue;
    const layer = op.overlay ? op.overlay.lower : op.dir;
    if (op.overlay) files[op.overlay.scratch] = files[op.overlay.merged] = "dir";
    files[`${layer}/etc`] = "dir";
    if (scene !== "bare") for (const f of INIT_FILES) files[`${layer}/etc/${f}`] = "file";
    if (scene !== "absent") for (const d of MOUNT_POINTS) files[`${layer}/${d}`] = "dir";
    if (scene !== "absent") for (const d of PROTECTED) files[`${layer}/${d}`] = scene === "file" ? "file" : "dir";
  }
  // Mounts before `rootfs` land on the host's paths (in the container's mount namespace).
  if (scene !== "absent") for (const d of MOUNT_POINTS) files[`/${d}`] = "dir";
  // readonly and mask run after the root is entered (the recorder's pivot_root keeps its tree).
  if (scene !== "absent") for (const d of PROTECTED) files[`/${d}`] = scene === "file" ? "file" : "dir";
  const sys = new RecordingSys(files);
  if (scene === "userns") sys.fail("mknodat", "EPERM");
  answerLinks(sys);
  cgroupStandIn(sys); // what `mount cgroup` reads, as explain gives it
  const unshareOp = ops.find((o) => o.kind === "unshare");
  const st = newAgentState(unshareOp?.kind === "unshare" && unshareOp.namespaces.length === 0, sys);
  const out: string[][] = [];
  const fds = new Set<number>();
  const calls = (r: RecordedCall[], root: string | null, names = new Map<number, string>()) => {
    for (const c of r) if (typeof c.result === "number" && FD_CALLS.includes(c.name)) fds.add(c.result);
    return r.filter((c) => !HIDDEN.includes(c.name)).map((c) => written(c, root, fds, names));
  };
  for (const op of ops) {
    const lines: string[] = [];
    out.push(lines);
    if (op.side === "host" || op.side === "creator" || op.side === "front") continue;
    const how = DERIVATION[op.kind];
    // No call through the seam (show security reads this process's own sets): nothing to run.
    if (how === "notes") continue;
    const root = ["mount", "mount-dev", "mount-cgroup", "device-node", "volume", "readonly", "mask"].includes(op.kind) && !st.entered ? st.pendingRoot : null;
    if (how === "spec") {
      await execute(st, op);
      // The step this op's part of the spec takes: that part of PID 1's state alone (cap: the capabilities as changed so far).
      const part = { rlimits: op.kind === "rlimit" ? st.rlimits?.filter((r) => r.name === op.name) : undefined, noNewPrivs: op.kind === "no-new-privs" ? st.noNewPrivs : undefined, caps: op.kind === "cap" ? st.caps : undefined, seccomp: op.kind === "seccomp" ? st.seccomp : undefined, user: op.kind === "user" ? st.user : undefined };
      const r = new RecordingSys({});
      const standIns = lookupStandIns(part.user);
      applyStateSteps(part, r, standIns.read);
      lines.push(...calls(r.calls, null, standIns.names));
      continue;
    }
    if (op.kind === "exec" || op.kind === "run") {
      const r = new RecordingSys({});
      const standIns = lookupStandIns(st.user);
      // A `run` without spec steps is Bun.spawn's (no call through the seam); with them, the exec stage's calls.
      if (op.kind === "run" && !runNeedsExecStage(st, standIns.read)) continue;
      try {
        execStateSteps({ ...st, sys: r }, defaultCommand(st, op.argv), r, standIns.read);
      } catch (e) {
        if (!(e instanceof ExecveCalled)) throw e;
      }
      lines.push(...calls(r.calls, null, standIns.names));
      continue;
    }
    const from = sys.calls.length;
    await execute(st, op);
    lines.push(...calls(sys.calls.slice(from), root));
  }
  // The host side and stage 1, once per plan, as the session and stage 1 call them.
  const hs = HOST_SCENE[scene] ?? {};
  const host = new Map<OpKind, string[]>();
  const hostError = new Map<OpKind, string>();
  const hostRun = (kind: OpKind, r: RecordingSys, run: () => void) => {
    if (!ops.some((o) => o.kind === kind)) return;
    const from = r.calls.length;
    try {
      run();
    } catch (e) {
      hostError.set(kind, e instanceof Error ? e.message : String(e));
    }
    host.set(kind, calls(r.calls.slice(from), null));
  };
  const unshare = ops.find((o) => o.kind === "unshare");
  const s1 = new RecordingSys({ "/proc/self/task/1": "dir" });
  s1.text("/proc/self/setgroups", hs.deny ? "deny" : "allow");
  if (unshare?.kind === "unshare") hostRun("unshare", s1, () => stage1Calls(s1, unshare.namespaces, ops));
  const maps = new RecordingSys({});
  hostRun("idmap", maps, () => idMapCalls(maps, ops, hs.rootless === true));
  const net = hostNetSys();
  hostRun("net-host", net, () => netHostCalls(net, ops.filter((o): o is Extract<Op, { kind: "net-host" }> => o.kind === "net-host")));
  const cg = machineCgroups();
  const cgs = cgroupSys(cg, hs);
  if (cg.mode !== "none") hostRun("cgroup-limit", cgs, () => cgroupCalls(cgs, cg, ops, ops.filter((o) => o.kind === "cgroup-limit").length));
  const join = ops.find((o) => o.kind === "join");
  if (join?.kind === "join") {
    const js = new RecordingSys(joinFiles(join));
    hostRun("join", js, () => joinCalls(js, join));
  }
  return { ops: out, host, hostError };
}

/** A recorded call as the test compares it: formatCall, descriptors as FD, the prepared root's paths as container paths. */
function written(c: RecordedCall, root: string | null, fds: Set<number>, standIns = new Map<number, string>()): string {
  let text: string;
  if (c.name === "netlink") text = NETLINK_TEXT(c.args);
  else if (c.name === "netlink-dump") {
    // A dump: its type and the family of its fixed part (struct ifaddrmsg, rtmsg: the first byte).
    const m = decode(c.args[1] as Uint8Array)[0]!;
    text = `${RTM_NAMES[m.type]}${m.type === RTM_GETLINK ? "" : ` family=${m.payload[0] === AF_INET ? "AF_INET" : m.payload[0]}`} (NLM_F_REQUEST|NLM_F_DUMP)`;
  }
  else if (c.name === "write" && typeof c.args[0] === "string") text = `write(${JSON.stringify(c.args[0])}, ${JSON.stringify(String(c.args[1]).trim())})`;
  else if (c.name === "newuidmap" || c.name === "newgidmap") text = `${c.name} ${c.args.join(" ")}`;
  else if (c.name === "execve") {
    // The environment by its names; every variable of this process's own as one (a plain child process).
    const caller = callerEnvironment();
    const env = new Map((c.args[2] as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    const inherited = Object.entries(caller).every(([k, v]) => env.get(k) === v);
    const names = inherited ? ["the caller's environment", ...[...env.keys()].filter((k) => caller[k] !== env.get(k))] : [...env.keys()];
    text = `execve(${JSON.stringify(c.args[0])}, ${JSON.stringify(c.args[1])}, {${names.join(", ")}})`;
  }
  else text = formatCall(c.name, c.args);
  // A link's index (the recorder's answer to RTM_GETLINK), as explain names it.
  text = text.replace(/\b(index|master)=\d+/g, "$1=IDX");
  for (const fd of fds) text = text.replace(new RegExp(`(?<=[(, =])${fd}(?=[,)}])`, "g"), "FD");
  if (root) text = text.replaceAll(`"${root}/`, '"/').replaceAll(`"${root}"`, '"/"');
  text = text.replaceAll(String(STAGE1_PID), "STAGE1").replaceAll(String(TARGET_PID), "TARGET");
  for (const [id, name] of standIns) text = text.replaceAll(String(id), name);
  return text + (c.error ? ` = -1 ${c.error}` : "");
}

/**
 * explain's lines that apply in `scene`, written as `written` writes the calls (shorthands
 * expanded, trailing NULLs dropped); `optional`: those that apply only where a path is
 * absent, which an earlier op of the script may have made (mount dev makes /dev/pts).
 */
function expected(lines: readonly string[], scene: Scene | null): { line: string; optional: boolean }[] {
  const out: { line: string; optional: boolean }[] = [];
  for (const line of lines) {
    if (line.startsWith("#")) continue;
    const at = line.indexOf("  # ");
    const call = at < 0 ? line : line.slice(0, at);
    const notes = at < 0 ? "" : line.slice(at);
    if (scene !== null) {
      // `mkdir -p` lines are optional (below) but not left out: a volume's directory is made in every scene.
      const absentOnly = /unless it exists/.test(notes) && !/in a user namespace/.test(notes);
      if (absentOnly && scene !== "absent") continue;
      if (/(?<!unless )in a user namespace/.test(notes) && scene !== "userns") continue;
      if (/unless in a user namespace/.test(notes) && scene === "userns") continue;
      if (/(?<!unless )if the rootfs has it/.test(notes) && scene === "bare") continue;
      if (/unless the rootfs has it/.test(notes) && scene !== "bare") continue;
      if (/(?<!unless )if it exists/.test(notes) && scene === "absent") continue;
      if (/if it is a file/.test(notes) && scene !== "file") continue;
      if (/if it is a directory/.test(notes) && scene === "file") continue;
      if (/# (.*; )?rootless \(uid \d+\)/.test(notes) && scene !== "rootless") continue;
      if (/as root/.test(notes) && scene === "rootless") continue;
      if (/(?<!unless )if setgroups is denied/.test(notes) && scene !== "deny") continue;
      if (/unless setgroups is denied/.test(notes) && scene === "deny") continue;
      if (/if not enabled yet/.test(notes) && scene === "enabled") continue;
      if (/if enabled already/.test(notes) && scene !== "enabled") continue;
    }
    const optional = (/unless it exists/.test(notes) || call.startsWith("mkdir -p ")) && !/in a user namespace/.test(notes);
    out.push(...expand(call).map((line) => ({ line, optional })));
  }
  return out;
}

/** Whether `made` is `want` less some of its optional lines. */
function matches(want: { line: string; optional: boolean }[], made: readonly string[]): boolean {
  let j = 0;
  for (const w of want) {
    if (made[j] === w.line) j++;
    else if (!w.optional) return false;
  }
  return j === made.length;
}

/** A host block's `write FILE = VALUE` lines name the file of one of its cgroups: each `mkdir DIR` of the block. */
let blockDirs: string[] = [];

function expand(call: string): string[] {
  if (call.startsWith("mkdir -p ")) return [`mkdirp(${JSON.stringify(call.slice(9))})`];
  // The host's cgroups are made 0755, PID 1's directories 0777 (less the umask).
  if (call.startsWith("mkdir ")) return call.slice(6).split(" ").map((p) => `mkdir(${JSON.stringify(p)}, ${blockDirs.length ? "0755" : "0777"})`);
  const w = /^write (\S+) = (.*)$/.exec(call);
  if (w) {
    const value = w[2]!.startsWith('"') ? JSON.parse(w[2]!) : w[2]!;
    const paths = w[1]!.includes("/") ? [w[1]!] : blockDirs.map((d) => `${d}/${w[1]}`);
    return [paths.map((p) => `write(${JSON.stringify(p.replace("STAGE1", String(STAGE1_PID)))}, ${JSON.stringify(value)})`.replaceAll(String(STAGE1_PID), "STAGE1")).join(" | ")];
  }
  const drop = /^prctl\(PR_CAPBSET_DROP, \.\.\.\) for (.*)$/.exec(call);
  if (drop) return drop[1]!.split(", ").map((cap) => `prctl(PR_CAPBSET_DROP, ${cap})`);
  if (call.startsWith("symlink ")) return call.slice(8).split(", ").map((pair) => {
    const [path, target] = pair.split(" -> ");
    return `symlink(${JSON.stringify(target)}, ${JSON.stringify(path)})`;
  });
  let c = call.replace(/\b(index|master)=<index of [^>]*>/g, "$1=IDX").replace(/\b(HOST_TREE|SRC_FD|TREE_FD|FS_FD|MNT_FD|ROOT_FD|TARGET_FD|PROG_FD|CGROUP_FD|NODE_FD|FILE_FD|TARGET_ROOT_FD|[A-Z]+_NS_FD)\b|LAYER_FD\("[^"]*"\)/g, "FD");
  for (let prev = ""; prev !== c; ) {
    prev = c;
    c = c.replace(/, NULL\)( = -1 [A-Z]+)?$/, ")$1");
  }
  return [c];
}

/** Whether `made` holds each wanted line (one of its alternatives, ` | `) once and nothing else, in any order. */
function sameCalls(want: string[], made: readonly string[]): boolean {
  const left = [...made];
  for (const w of want) {
    const at = left.findIndex((m) => w.split(" | ").includes(m));
    if (at < 0) return false;
    left.splice(at, 1);
  }
  return left.length === 0;
}

/** A host block's lines as expected() gives them, its `write FILE` lines read with the block's cgroups. */
function expectedHost(lines: readonly string[], scene: Scene | null): { line: string; optional: boolean }[] {
  blockDirs = lines.filter((l) => l.startsWith("mkdir ")).map((l) => l.replace(/  # .*$/, "").slice(6));
  if (blockDirs.length === 0) blockDirs = [""];
  try {
    return expected(lines, scene);
  } finally {
    blockDirs = [];
  }
}

describe("ctr explain against the executors (RecordingSys)", () => {
  test("every op kind is derived from its executor", () => {
    expect((Object.keys(OP_TRAITS) as OpKind[]).filter((k) => !DERIVED.has(k))).toEqual([]);
  });

  test("every example and the inline statements: each op's explain lines are the calls its executor makes, in every scene", async () => {
    const diffs: string[] = [];
    let checked = 0;
    const kinds = new Set<OpKind>();
    for (const [file, env] of RUNS) {
      const label = `${file}${Object.keys(env).length ? ` (${Object.keys(env).join(", ")})` : ""}`;
      const ops = plan(file, env);
      const blocks = explainBlocks(file, env);
      expect({ label, blocks: blocks.length }).toEqual({ label, blocks: ops.length });
      const made = new Map<number, Set<string>>();
      const hostMade = new Map<OpKind, Set<string>>();
      for (const scene of SCENES) {
        const runs = await runAll(ops, scene);
        ops.forEach((op, i) => {
          kinds.add(op.kind);
          if (DERIVATION[op.kind] === "notes") {
            // No call of ctr's own through the seam: comments only.
            if (blocks[i]!.some((l) => !l.startsWith("#"))) diffs.push(`${label}: ${op.kind} ${op.source}: a line that is not a comment: ${blocks[i]!.join(" / ")}`);
            return;
          }
          if (DERIVATION[op.kind] === "host") return;
          checked++;
          const want = expected(blocks[i]!, scene);
          if (!matches(want, runs.ops[i]!)) diffs.push(`${label}: ${op.kind} ${op.source} [${scene}]\n  explain:  ${want.map((w) => w.line).join("\n            ")}\n  executed: ${runs.ops[i]!.join("\n            ")}`);
          const set = made.get(i) ?? new Set();
          for (const c of runs.ops[i]!) set.add(c);
          made.set(i, set);
        });
        // The host's and stage 1's kinds: the lines of all their ops are the calls made once for the plan.
        for (const [kind, calls] of runs.host) {
          checked++;
          const idx = ops.flatMap((o, i) => (o.kind === kind ? [i] : []));
          const error = runs.hostError.get(kind);
          const said = idx.flatMap((i) => blocks[i]!.filter((l) => /^# .*ctr would stop here: /.test(l)));
          if (error !== undefined) {
            if (!said.some((l) => l.includes(error) && (scene === "rootless") === /^# rootless/.test(l))) diffs.push(`${label}: ${kind} [${scene}]: the executor stops (${error}); explain does not say so: ${said.join(" / ") || "(nothing)"}`);
            continue;
          }
          const want = idx.flatMap((i) => expectedHost(blocks[i]!, scene).map((w) => w.line));
          if (!sameCalls(want, calls)) diffs.push(`${label}: ${kind} [${scene}]\n  explain:  ${want.join("\n            ")}\n  executed: ${calls.join("\n            ")}`);
          const set = hostMade.get(kind) ?? new Set();
          for (const c of calls) set.add(c);
          hostMade.set(kind, set);
        }
      }
      for (const [i, set] of made) for (const { line, optional } of expected(blocks[i]!, null)) if (!optional && !set.has(line)) diffs.push(`${label}: ${ops[i]!.kind} ${ops[i]!.source}: explain's \`${line}\` is made in no scene`);
      ops.forEach((op, i) => {
        if (DERIVATION[op.kind] !== "host") return;
        const set = hostMade.get(op.kind) ?? new Set();
        for (const { line } of expectedHost(blocks[i]!, null)) if (!line.split(" | ").some((l) => set.has(l))) diffs.push(`${label}: ${op.kind} ${op.source}: explain's \`${line}\` is made in no scene`);
      });
    }
    console.log(`explain vs executors: ${checked} op and host runs compared, ${diffs.length} differences`);
    expect(diffs).toEqual([]);
    expect(checked).toBeGreaterThan(100);
    // Every kind is met by some script: a kind no script has would be compared nowhere.
    expect((Object.keys(OP_TRAITS) as OpKind[]).filter((k) => !kinds.has(k))).toEqual([]);
  }, 60_000);
});
