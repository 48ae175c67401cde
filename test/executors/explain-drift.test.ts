// `ctr explain` against the executors. explain's lines for the ops PID 1 performs through
// the seam are derived (runtime/explain.ts: each op alone, on a small tree, once per
// variant); here every example and a script of the statements no example has go through
// the real `ctr explain`, and through the executors one op after the other on a single
// RecordingSys, as PID 1 would run them, in five scenes: mount points present, absent,
// mknod refused (a user namespace), a rootfs without its /etc files, the paths `readonly`
// and `mask` name being files. For every derived op,
// the explain lines that apply to the scene (by their `# ...` notes) must be the calls
// made, in order, written by the rules of runtime/explain.ts's header; and every explain
// line must be made in some scene. Any difference fails.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile, type Command } from "../../lang/index.ts";
import { execute, newAgentState } from "../../runtime/agent.ts";
import { answerLinks, DERIVED, SPEC } from "../../runtime/explain.ts";
import { applyStateSteps } from "../../runtime/features/process/spec.ts";
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
const INLINE = `ns mnt, uts, net\ndomainname example.org\nnet lo up\nnet veth host=169.254.7.1/24 ctr=169.254.7.2/24\nnet route default via=169.254.7.1\nnet route 169.254.9.0/24 via=169.254.7.1\nmount bind ${DATA} /mnt ro nosuid\nmount overlay /m lower=${DATA}:${HOST_ROOT}\nmount tmpfs /t ro\nmount dev\nrootfs ${HOST_ROOT}\nrlimit nofile 1024:4096\nrlimit core 0\nno_new_privs\nreadonly /\nreadonly /srv\nmask /opt\nrun true`;

const RUNS: [file: string, env: Record<string, string>][] = [
  ...readdirSync(EXAMPLES).filter((f) => f.endsWith(".ctr")).sort().map((f): [string, Record<string, string>] => [f, {}]),
  ["06-rootfs.ctr", { ROOT: HOST_ROOT, CHROOT: "yes" }],
  ["-e", {}],
];

type Scene = "present" | "absent" | "userns" | "bare" | "file";
const SCENES: Scene[] = ["present", "absent", "userns", "bare", "file"];

/** `ctr explain`'s lines, one block per op. */
function explainBlocks(file: string, env: Record<string, string>): string[][] {
  const args = file === "-e" ? ["explain", "-e", INLINE] : ["explain", join(EXAMPLES, file)];
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
  const text = file === "-e" ? INLINE : readFileSync(join(EXAMPLES, file), "utf8");
  const fe = compile(text, { file, specs: statements, env: { ...process.env, ...env }, cpus: 4, host: { kind: () => "dir", isCommand: () => true }, stdlibDir: join(REPO, "stdlib") });
  expect(fe.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return makePlan(fe.commands as Command[], findStatement, { stateDir: `${stateRoot()}/ID`, defaultRootfs: `${defaultCacheDir()}/rootfs` }).plan.ops;
}

const MOUNT_POINTS = ["proc", "sys", "dev", "dev/pts", "dev/shm", "tmp", "run", "root", "mnt", "m", "t", "lab", "test", "data", "host-etc"];
/** The paths INLINE makes read-only or masks: directories, files in the "file" scene, absent in "absent". */
const PROTECTED = ["srv", "opt"];

/** The executors' calls for each op, run in order on one recorder in `scene`. */
async function runAll(ops: Op[], scene: Scene): Promise<string[][]> {
  const files: Record<string, FakeNode> = { [DATA]: "dir", [HOST_ROOT]: "dir" };
  for (const n of ["null", "zero", "full", "random", "urandom", "tty"]) files[`/dev/${n}`] = "dev";
  for (const op of ops) {
    // A volume's source is there (the recorder's copy of the host's tree does not see a directory made after it).
    if (op.kind === "volume") files[op.from] = "dir";
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
  const st = newAgentState(false, sys);
  const out: string[][] = [];
  const fds = new Set<number>();
  for (const op of ops) {
    const lines: string[] = [];
    out.push(lines);
    if (op.side !== "pid1" || !DERIVED.has(op.kind)) continue;
    const root = ["mount", "mount-dev", "volume", "readonly", "mask"].includes(op.kind) && !st.entered ? st.pendingRoot : null;
    if (SPEC.has(op.kind)) {
      // The steps the spec of a later command takes, before and after the op: the op's lines are the new ones.
      const steps = () => {
        const r = new RecordingSys({});
        applyStateSteps(st, r);
        return r.calls.map((c) => written(c, null, fds));
      };
      const before = steps();
      await execute(st, op);
      lines.push(...steps().filter((c) => !before.includes(c)));
      continue;
    }
    const from = sys.calls.length;
    await execute(st, op);
    for (const c of sys.calls.slice(from)) {
      if (typeof c.result === "number") fds.add(c.result);
      if (!["exists", "lstat", "stat", "fstat", "readlink", "readlinkat", "read", "close"].includes(c.name)) lines.push(written(c, root, fds));
    }
  }
  return out;
}

/** A recorded call as the test compares it: formatCall, descriptors as FD, the prepared root's paths as container paths. */
function written(c: RecordedCall, root: string | null, fds: Set<number>): string {
  let text = c.name === "netlink" ? NETLINK_TEXT(c.args) : formatCall(c.name, c.args);
  // A link's index (the recorder's answer to RTM_GETLINK), as explain names it.
  text = text.replace(/\bindex=\d+/g, "index=IDX");
  for (const fd of fds) text = text.replace(new RegExp(`(?<=[(, ])${fd}(?=[,)])`, "g"), "FD");
  if (root) text = text.replaceAll(`"${root}/`, '"/').replaceAll(`"${root}"`, '"/"');
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

function expand(call: string): string[] {
  if (call.startsWith("mkdir -p ")) return [`mkdirp(${JSON.stringify(call.slice(9))})`];
  if (call.startsWith("mkdir ")) return call.slice(6).split(" ").map((p) => `mkdir(${JSON.stringify(p)}, 0777)`);
  if (call.startsWith("symlink ")) return call.slice(8).split(", ").map((pair) => {
    const [path, target] = pair.split(" -> ");
    return `symlink(${JSON.stringify(target)}, ${JSON.stringify(path)})`;
  });
  let c = call.replace(/\bindex=<index of [^>]*>/g, "index=IDX").replace(/\b(HOST_TREE|SRC_FD|TREE_FD|FS_FD|MNT_FD|ROOT_FD|TARGET_FD|NODE_FD)\b|LAYER_FD\("[^"]*"\)/g, "FD");
  for (let prev = ""; prev !== c; ) {
    prev = c;
    c = c.replace(/, NULL\)( = -1 [A-Z]+)?$/, ")$1");
  }
  return [c];
}

describe("ctr explain against the executors (RecordingSys)", () => {
  test("every example and the inline statements: each derived op's explain lines are the calls its executor makes, in every scene", async () => {
    const diffs: string[] = [];
    let checked = 0;
    for (const [file, env] of RUNS) {
      const label = `${file}${Object.keys(env).length ? ` (${Object.keys(env).join(", ")})` : ""}`;
      const ops = plan(file, env);
      const blocks = explainBlocks(file, env);
      expect({ label, blocks: blocks.length }).toEqual({ label, blocks: ops.length });
      const made = new Map<number, Set<string>>();
      for (const scene of SCENES) {
        const runs = await runAll(ops, scene);
        ops.forEach((op, i) => {
          if (op.side !== "pid1" || !DERIVED.has(op.kind)) return;
          checked++;
          const want = expected(blocks[i]!, scene);
          if (!matches(want, runs[i]!)) diffs.push(`${label}: ${op.kind} ${op.source} [${scene}]\n  explain:  ${want.map((w) => w.line).join("\n            ")}\n  executed: ${runs[i]!.join("\n            ")}`);
          const set = made.get(i) ?? new Set();
          for (const c of runs[i]!) set.add(c);
          made.set(i, set);
        });
      }
      for (const [i, set] of made) for (const { line, optional } of expected(blocks[i]!, null)) if (!optional && !set.has(line)) diffs.push(`${label}: ${ops[i]!.kind} ${ops[i]!.source}: explain's \`${line}\` is made in no scene`);
    }
    console.log(`explain vs executors: ${checked} op runs compared, ${diffs.length} differences`);
    expect(diffs).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  }, 30_000);
});
