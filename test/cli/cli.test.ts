// The command line: the launcher, exit codes, `check` and `explain` — and that
// neither `check` nor `explain` changes anything on the machine.

import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..", "..");
const CTR = join(REPO, "bin", "ctr");
const EXAMPLES = readdirSync(join(REPO, "examples")).filter((f) => f.endsWith(".ctr")).map((f) => join(REPO, "examples", f));

/** PIDs of every ctr this file started: state directories and cgroups are named after them. */
const started: number[] = [];

function ctr(args: string[], env: Record<string, string | undefined> = process.env) {
  // CTR_TEACHING=1: the examples are teaching containers; the note has its own tests (test/security/note.test.ts).
  const r = Bun.spawnSync({ cmd: [CTR, ...args], env: { CTR_TEACHING: "1", ...env, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
  started.push(r.pid);
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** Only names ending in the PID of a ctr this file started: the machine is shared with other ctr runs. */
const ours = (name: string): boolean => started.some((pid) => new RegExp(`-${pid}(-host)?$`).test(name));

/** cgroup directories of ours anywhere in the hierarchies (ctr names them ctr-*). */
function cgroupDirs(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4) return;
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.startsWith("ctr-")) out.push(`${dir}/${e}`);
      walk(`${dir}/${e}`, depth + 1);
    }
  };
  walk("/sys/fs/cgroup", 0);
  return out.sort();
}

function machine() {
  return {
    hostname: hostname(),
    mountinfo: readFileSync("/proc/self/mountinfo", "utf8"),
    cgroups: cgroupDirs().filter(ours),
    state: existsSync("/run/ctr") ? readdirSync("/run/ctr").filter(ours).sort() : [],
  };
}

describe("launcher", () => {
  test("bin/ctr runs from the checkout, through a symlink (node_modules/.bin), and with PATH reset (sudo)", () => {
    expect(ctr(["--version"]).out).toMatch(/^ctr \d+\.\d+\.\d+\n$/);
    const dir = mkdtempSync(join(tmpdir(), "ctr-cli-"));
    try {
      symlinkSync(CTR, join(dir, "ctr"));
      const viaLink = Bun.spawnSync({ cmd: [join(dir, "ctr"), "--version"], stdout: "pipe" });
      expect(viaLink.stdout.toString()).toMatch(/^ctr /);
      const noPath = Bun.spawnSync({ cmd: [CTR, "--version"], env: { PATH: "/nonexistent" }, stdout: "pipe", stderr: "pipe" });
      expect(noPath.stderr.toString()).toBe("");
      expect(noPath.stdout.toString()).toMatch(/^ctr /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--help lists the commands; usage errors exit 2", () => {
    const help = ctr(["--help"]);
    expect(help.code).toBe(0);
    for (const word of ["check", "explain", "rootfs", "-e"]) expect(help.out).toContain(word);
    const bad = ctr(["--bogus"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("unknown option `--bogus`");
    const verb = ctr(["run", "x.ctr"]);
    expect(verb.code).toBe(2);
    expect(verb.err).toContain("ctr: `run` is not a command, nor a script file\ncommands: repl, check, explain, rootfs, -e");
    expect(verb.err).not.toContain("ENOENT");
    const missing = ctr(["/nonexistent/script.ctr"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('"/nonexistent/script.ctr"');
  });
});

describe("check", () => {
  test("every example checks clean (exit 0, nothing on stderr, `FILE: ok` on stdout)", () => {
    for (const file of EXAMPLES) {
      const r = ctr(["check", file]);
      expect({ file, code: r.code, err: r.err, ok: r.out.startsWith(`${file}: ok, `) }).toEqual({ file, code: 0, err: "", ok: true });
    }
  });

  test("a bad script: every error, in the compiler convention, exit 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "ctr-cli-"));
    try {
      const file = join(dir, "bad.ctr");
      writeFileSync(file, "ns uts, pidd\nhostnme x\nmount proc\n");
      const r = ctr(["check", file]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${file}:1:9: error: unknown namespace \`pidd\``);
      expect(r.err).toContain(`${file}:2:1: error: unknown statement \`hostnme\``);
      expect(r.err).toContain("help: did you mean `hostname`?");
      expect(r.err).toContain(`${file}:3:1: error: \`mount proc\` needs \`ns mnt\``);
      expect(r.err).toContain("3 errors");
      expect(r.err).toMatch(/\n {2}2 \| hostnme x\n {4}\| \^{7}\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("what a run would refuse, check refuses: floors of `limit`, host paths that do not exist", () => {
    const r = ctr(["check", "-e", "ns mnt, pid\nlimit memory 64k\nlimit pids 1\nrootfs /no/such/rootfs\nmount bind /no/such/src /m\nmount overlay /o lower=/no/such/lower"]);
    expect(r.code).toBe(2);
    // The same words as the run's refusal (runtime/features/cgroup/memory.ts, pids.ts): the two cannot contradict.
    expect(r.err).toContain("-e:2:14: error: limit memory 64 KiB: too small for the container's own init process");
    expect(r.err).toContain("help: use at least 8 MiB");
    expect(r.err).toContain("-e:3:12: error: limit pids 1: too few for the container's own init processes");
    expect(r.err).toContain("help: use at least 4;");
    expect(r.err).not.toContain("give at least 1");
    expect(r.err).toContain('-e:4:8: error: rootfs "/no/such/rootfs" does not exist on the host');
    expect(r.err).toContain('-e:5:12: error: bind source "/no/such/src" does not exist on the host');
    expect(r.err).toContain('-e:6:24: error: overlay layer "/no/such/lower" does not exist on the host');
    expect(r.err).toContain("5 errors");
    const fine = ctr(["check", "-e", `ns mnt, pid\nlimit memory 8m\nlimit pids 4\nrootfs ${REPO}\nmount bind ${CTR} /m`]);
    expect(fine.err).toBe("");
    expect(fine.code).toBe(0);
  });

  test("a clean script: check says so, with the count of statements and of host paths it looked at", () => {
    expect(ctr(["check", "-e", "ns uts\nhostname x"]).out).toBe("-e: ok, 2 statements\n");
    expect(ctr(["check", "-e", `ns mnt\nmount bind ${CTR} /m`]).out).toBe("-e: ok, 2 statements; 1 host path checked on this machine\n");
  });

  test("a program typed as a statement: the help says `run` it; `mount devtmpfs`: the help says why ctr builds /dev", () => {
    const r = ctr(["check", "-e", "ns pid, mnt\nps -ef\nmount devtmpfs /dev"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("-e:2:1: error: unknown statement `ps`\n");
    expect(r.err).toContain("help: `ps` is a program, not a statement: to run it in the container, write `run ps -ef`\n");
    expect(r.err).not.toContain("did you mean `ns`");
    expect(r.err).toContain("-e:3:7: error: unknown `mount` form `devtmpfs`\n");
    expect(r.err).toMatch(/help: ctr builds \/dev itself with `mount dev`.*devtmpfs is the host's one device filesystem/);
    // A misspelt statement still gets its suggestion.
    expect(ctr(["check", "-e", "ns uts\nhostnme x"]).err).toContain("help: did you mean `hostname`?");
  });

  test("net veth and net bridge: bad names and addresses are refused before anything runs, at file:line:col", () => {
    expect(ctr(["check", "-e", "ns net\nnet veth host=169.254.1.1/30 ctr=169.254.1.2/30"]).code).toBe(0);
    expect(ctr(["check", "-e", "ns net\nnet bridge ctr0 ctr=169.254.2.2/24"]).code).toBe(0);
    const r = ctr(["check", "-e", "ns net\nnet veth host=169.254.1.1/30 ctr=169.254.1.2/30 host_name=abcdefghijklmnop\nnet veth host=169.254.1.5/30 ctr=169.254.1.6/30"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("-e:2:59: error: interface name `abcdefghijklmnop` is longer than 15 bytes");
    expect(r.err).toContain("-e:3:1: error: a link named `eth0` is made by an earlier `net` statement");
    expect(ctr(["check", "-e", "ns net\nnet lo up"]).code).toBe(0);
  });
});

describe("explain", () => {
  test("net lo up|down: the RTM_NEWLINK PID 1 sends, with its flags", () => {
    const r = ctr(["explain", "-e", "ns net\nnet lo up\nnet lo down"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("  net lo up    [PID 1]\n    RTM_NEWLINK ifname=\"lo\" flags=IFF_UP change=IFF_UP (NLM_F_REQUEST|NLM_F_ACK");
    expect(r.out).toContain("  net lo down    [PID 1]\n    RTM_NEWLINK ifname=\"lo\" flags=0 change=IFF_UP");
  });

  test("says when a repeated run has no stage 1 (the direct start), and not for a plan that needs it or is never cached", () => {
    const note = "a repeated run (its plan cached; no --trace, no --name) has no stage 1";
    const direct = ctr(["explain", "-e", "ns uts, pid, mnt\nrun true"]);
    expect(direct.code).toBe(0);
    expect(direct.out).toContain(`    # spawn PID 1 (stage 2): CLONE_NEWPID applies to children only\n    # ${note}: ctr's own thread makes these namespaces but the mount one and spawns PID 1, which unshares CLONE_NEWNS`);
    expect(ctr(["explain", "-e", "ns uts, pid\nrun true"]).out).toContain(`# ${note}: ctr's own thread makes them and spawns PID 1 (the direct start)`);
    // The standard library is part of ctr's code (its code stamp): a script importing it is cached too.
    expect(ctr(["explain", "-e", 'import "std/docker"\nns uts, pid\nrun true']).out).toContain(`# ${note}: ctr's own thread makes them`);
    // Stage 1 still: a user namespace, no PID namespace, a cgroup limit; an import of another file is never cached.
    const dir = mkdtempSync(join(tmpdir(), "ctr-cli-"));
    try {
      writeFileSync(join(dir, "mine.ctr"), "# nothing\n");
      for (const script of ["ns user, pid\nrun true", "ns uts\nrun true", "ns uts, pid\nlimit memory 100M\nrun true", `import "${dir}/mine.ctr"\nns uts, pid\nrun true`]) {
        const r = ctr(["explain", "-e", script]);
        expect({ script, code: r.code }).toEqual({ script, code: 0 });
        expect({ script, direct: r.out.includes(note) }).toEqual({ script, direct: false });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("prints each statement so that it can be pasted back: quoting kept where the words need it", () => {
    const r = ctr(["explain", "-e", "ns uts, pid\nhostname 'In Namespace'\nrun sh -c 'echo $PPID'\nrun echo \"it's\" '' plain"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("  hostname 'In Namespace'    [PID 1]");
    expect(r.out).toContain("  run sh -c 'echo $PPID'    [PID 1]");
    expect(r.out).toContain(`  run echo "it's" '' plain    [PID 1]`);
    expect(r.out).toContain("  ns uts, pid    [stage 1]");
  });

  test("prints each operation in order with its side and the syscalls or file writes behind it", () => {
    const r = ctr(["explain", "-e", 'ns uts, pid, mnt\nhostname "c"\nrootfs default\nmount proc\nexec /bin/bash']);
    expect(r.code).toBe(0);
    const order = [
      "unshare(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWPID)",
      'mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)',
      'sethostname("c")',
      'openat2(ROOT_FD, "./proc", O_RDONLY|O_CLOEXEC|O_PATH, RESOLVE_IN_ROOT)',
      'fsopen("proc", FSOPEN_CLOEXEC)',
      "fsmount(FS_FD, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV|MOUNT_ATTR_NOEXEC)",
      'move_mount(MNT_FD, "", TARGET_FD, "", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH)',
      'pivot_root(".", ".")',
      'execve("/bin/bash"',
    ];
    let at = 0;
    for (const line of order) {
      const i = r.out.indexOf(line, at);
      expect({ line, found: i >= 0 }).toEqual({ line, found: true });
      at = i;
    }
    expect(r.out).toContain("[stage 1]");
    expect(r.out).toContain("[PID 1]");
    expect(ctr(["explain", "-e", "ns mnt\nchroot /srv\nrun true"]).out).toContain("escapable");
  });
});

describe("check and explain change nothing on the machine", () => {
  test("hostname, mounts, cgroups and state directories are identical after checking and explaining every example", () => {
    const before = machine();
    for (const file of EXAMPLES) {
      expect(ctr(["check", file]).code).toBe(0);
      expect(ctr(["explain", file]).code).toBe(0);
    }
    expect(ctr(["explain", "-e", "ns uts, pid, mnt, user, cgroup\nmap uid 0 100000 65536\nhostname x\nlimit cpu 20%\nlimit memory 64m\nrootfs default\nmount proc\nexec /bin/true"]).code).toBe(0);
    expect(machine()).toEqual(before);
   }, 30_000); // two runs of ctr per example, on a machine that may be busy
});
