// The escape suite: what a process that is root inside a container tries, to change the host
// or to reach it, run as PID 1 of three containers on one busybox tree:
//   - runc run with runc's default config.json (`runc spec`: its capabilities, no_new_privs,
//     masked and read-only paths, device policy; no seccomp profile);
//   - ctr with `import "std/docker"` and `docker_security` (stdlib/docker.ctr);
//   - ctr without it (the teaching container, README "What a container is"), for contrast:
//     the attempts that get through there show that each attempt can see an escape.
// Each attempt is a row: ctr with docker_security blocks every attempt runc blocks. The table
// of the three columns is printed. The attempts are test/security/attempts.sh; the ones busybox
// has no applet for are test/security/escape-helper.c, compiled statically when gcc is there.
// A write that gets through writes back the value it read: the host is unchanged either way.
// The RENAME_EXCHANGE race on a mount target is not here: it has a test of its own with the
// safe resolution of mount targets.

import { afterAll, beforeAll, describe, expect } from "bun:test";
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTR, Host, IS_ROOT, itest } from "../integration/host-state.ts";

const RUNC = ["/usr/sbin/runc", Bun.which("runc")].find((p) => p && Bun.file(p).size > 0) ?? null;
const GCC = Bun.which("gcc");

/** The attempts, in the table's order: key (as attempts.sh prints it) and what it tries. */
const ATTEMPTS: [string, string][] = [
  ["sysrq", "open /proc/sysrq-trigger for writing"],
  ["sysctl", "write /proc/sys/kernel/panic"],
  ["sys-rw", "remount /sys read-write"],
  ["tmpfs", "mount a tmpfs"],
  ["cgroupfs", "mount cgroupfs"],
  ["disk", "mknod the host root's disk, read it"],
  ["mem", "mknod /dev/mem, read it"],
  ["unshare-U", "unshare -U"],
  ["unshare-m", "unshare -m"],
  ["clock", "set the clock (clock_settime)"],
  ["kcore", "read /proc/kcore"],
  ["ptrace", "ptrace a host process"],
  ["handle", "open_by_handle_at of the host's root"],
  ["chroot", "chroot escape after pivot_root"],
  ["core_pattern", "write /proc/sys/kernel/core_pattern"],
  ["map_files", "open /proc/1/map_files/*"],
  ["pidfd_getfd", "pidfd_getfd of a socket of PID 1"],
  ["cgroup-leave", "leave the container's cgroup"],
];

type Verdict = { word: "escaped" | "blocked" | "skip"; detail: string };
type Column = Map<string, Verdict>;

function parse(stdout: string): Column {
  const col: Column = new Map();
  for (const line of stdout.split("\n")) {
    const m = /^@@ (\S+) (escaped|blocked|skip) ?(.*)$/.exec(line);
    if (m) col.set(m[1]!, { word: m[2] as Verdict["word"], detail: m[3]! });
  }
  return col;
}

/** MAJOR and MINOR of the device of the host's root (Linux's dev_t encoding). */
function rootDevice(): [number, number] {
  const dev = statSync("/").dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff & 0xfffff);
  return [major, minor];
}

/** Whether the host itself may read its root's disk: on a machine that is itself a sandbox, it may not. */
function hostOpens(major: number, minor: number): string {
  let name = "";
  try {
    name = /DEVNAME=(\S+)/.exec(readFileSync(`/sys/dev/block/${major}:${minor}/uevent`, "utf8"))?.[1] ?? "";
    closeSync(openSync(`/dev/${name}`, "r"));
    return `the host itself opens /dev/${name}`;
  } catch (e) {
    return `the host itself cannot open ${name ? `/dev/${name}` : "it"}: ${(e as NodeJS.ErrnoException).code ?? e} (this machine's own policy)`;
  }
}

const short = (v: Verdict | undefined) => (v?.detail ? (v.detail.length > 110 ? `${v.detail.slice(0, 110)}...` : v.detail) : "-");

let dir = "";
let tree = "";
let reason = "";
const columns: { runc: Column; docker: Column; plain: Column } = { runc: new Map(), docker: new Map(), plain: new Map() };

if (!IS_ROOT) reason = "the escape suite starts real containers and needs root";
else if (!RUNC) reason = "runc is not installed (/usr/sbin/runc): the suite compares ctr with it";
if (reason) console.log(`skip: ${reason}`);

async function runRunc(args: string[]): Promise<string> {
  const bundle = join(dir, "bundle");
  mkdirSync(bundle);
  const spec = Bun.spawnSync([RUNC!, "spec", "--bundle", bundle], { stderr: "pipe" });
  if (spec.exitCode !== 0) throw new Error(`runc spec: ${spec.stderr}`);
  const config = JSON.parse(await Bun.file(join(bundle, "config.json")).text());
  config.process.terminal = false;
  config.process.args = args;
  config.root.path = tree;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
  const id = `ctrtest-escape-${process.pid}`;
  try {
    const p = Bun.spawn([RUNC!, "run", "--bundle", bundle, id], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (!out.includes("@@")) throw new Error(`runc run printed no attempt: ${err}`);
    return out;
  } finally {
    Bun.spawnSync([RUNC!, "delete", "--force", id], { stderr: "ignore" });
  }
}

function script(hardened: boolean, args: string[]): string {
  const quoted = args.map((a) => `'${a}'`).join(" ");
  return ['import "std/docker"', "ns uts, pid, mnt, ipc, net", hardened ? "docker_security" : "", `docker_fs ${tree}`, `exec sh /esc/attempts.sh ${quoted}`].filter(Boolean).join("\n");
}

function table(): string {
  const w = [38, 26, 26, 26];
  const cell = (v: Verdict | undefined) => (v ? v.word : "?");
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join(" | ");
  const lines = [row(["attempt", "runc (runc spec)", "ctr docker_security", "ctr, no hardening"]), w.map((n) => "-".repeat(n)).join("-|-")];
  for (const [key, what] of ATTEMPTS) lines.push(row([what, cell(columns.runc.get(key)), cell(columns.docker.get(key)), cell(columns.plain.get(key))]));
  return lines.join("\n");
}

describe("escape attempts: runc's default config.json and ctr's docker_security", () => {
  beforeAll(async () => {
    if (reason) return;
    dir = mkdtempSync(join(tmpdir(), "ctr-escape-"));
    tree = join(dir, "bb");
    const b = Bun.spawnSync([CTR, "rootfs", "busybox", tree], { stderr: "pipe" });
    if (b.exitCode !== 0) throw new Error(`ctr rootfs busybox: ${b.stderr}`);
    mkdirSync(join(tree, "esc"));
    copyFileSync(join(import.meta.dir, "attempts.sh"), join(tree, "esc", "attempts.sh"));
    let handle = "-";
    if (GCC) {
      const cc = Bun.spawnSync([GCC, "-static", "-O2", "-o", join(tree, "esc", "esc"), join(import.meta.dir, "escape-helper.c")], { stderr: "pipe" });
      if (cc.exitCode !== 0) throw new Error(`gcc: ${cc.stderr}`);
      handle = Bun.spawnSync([join(tree, "esc", "esc"), "handle", "/"]).stdout.toString().trim() || "-";
    } else console.log("skip: gcc not found: the attempts that need the helper (clock, ptrace, handle, chroot, map_files, pidfd_getfd) print skip");
    const marker = join(dir, "host-marker");
    writeFileSync(marker, "");
    const [major, minor] = rootDevice();
    // A process of the host, for the ptrace attempt: its PID and a word of its command line.
    const word = String(900000 + (process.pid % 99999));
    const sleeper = Bun.spawn(["sleep", word], { stdout: "ignore", stderr: "ignore" });
    const args = [String(major), String(minor), handle, marker.slice(1), String(sleeper.pid), word];
    const h = new Host();
    try {
      const started = performance.now();
      columns.runc = parse(await runRunc(["sh", "/esc/attempts.sh", ...args]));
      for (const [name, hardened] of [["docker", true], ["plain", false]] as const) {
        const r = await h.ctr(["-e", script(hardened, args)]);
        if (!r.stdout.includes("@@")) throw new Error(`ctr (${name}) printed no attempt: ${r.stderr}`);
        columns[name] = parse(r.stdout);
      }
      console.log(`\n${table()}\n(three containers in ${Math.round(performance.now() - started)} ms; the host's root is on ${major}:${minor}; ${hostOpens(major, minor)})\n`);
      for (const [key] of ATTEMPTS) {
        const d = columns.docker.get(key);
        if (d?.word === "skip") console.log(`skip: ${key}: ${d.detail}`);
        else console.log(`${key}: runc: ${short(columns.runc.get(key))}; docker_security: ${short(d)}; no hardening: ${short(columns.plain.get(key))}`);
      }
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.exited;
    }
    await h.assertClean();
  }, 80_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [key, what] of ATTEMPTS) {
    itest(`${what}: blocked by docker_security wherever runc blocks it`, () => {
      if (reason) return;
      const runc = columns.runc.get(key);
      const ctr = columns.docker.get(key);
      expect(runc).toBeDefined();
      expect(ctr).toBeDefined();
      if (runc!.word === "skip" || ctr!.word === "skip") return; // printed in beforeAll
      if (runc!.word === "blocked") expect({ key, ...ctr! }).toEqual({ key, word: "blocked", detail: ctr!.detail });
    });
  }

  // Without docker_security the same attempts get through: they can see an escape, and
  // this is what the README says the teaching container is.
  itest("without docker_security: the kernel interfaces are reachable (the attempts can fail)", () => {
    if (reason) return;
    const through = ["sysctl", "sys-rw", "tmpfs", "cgroupfs", "unshare-m", "core_pattern", "cgroup-leave", ...(GCC ? ["clock", "handle", "map_files"] : [])];
    for (const key of through) expect({ key, word: columns.plain.get(key)?.word }).toEqual({ key, word: "escaped" });
  });
});
