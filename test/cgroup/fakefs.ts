// A fake cgroup v2 hierarchy in a temporary directory, behaving like the
// kernel's cgroupfs where ctr depends on it (Documentation/admin-guide/cgroup-v2.rst):
//   - mkdir creates a cgroup with the core files and the files of every
//     controller its parent enables in cgroup.subtree_control; its
//     cgroup.controllers lists exactly those;
//   - "+ctrl" in cgroup.subtree_control needs ctrl in the cgroup's own
//     cgroup.controllers (ENOENT otherwise) and, except at the top, a cgroup with
//     no processes (EBUSY: the no-internal-processes rule); children gain or
//     lose the controller's files;
//   - a PID written to cgroup.procs leaves its previous cgroup; a cgroup other
//     than the top that enables controllers for its children takes no process (EBUSY);
//   - cpu.max, memory.max, memory.swap.max, pids.max, cpuset.cpus check their format (EINVAL);
//   - cgroup.kill empties the cgroup and its descendants;
//   - rmdir fails with EBUSY while processes or child cgroups remain; files go with the directory;
//   - files never come into being by a write (ENOENT).
// Every write and directory operation is logged, in order.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { SysError } from "../../native/error.ts";
import type { CgroupFs } from "../../runtime/features/cgroup/fs.ts";

const CONTROLLER_FILES: Record<string, Record<string, string>> = {
  cpu: { "cpu.max": "max 100000", "cpu.weight": "100", "cpu.pressure": "" },
  memory: {
    "memory.max": "max",
    "memory.swap.max": "max",
    "memory.current": "0",
    "memory.peak": "0",
    "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0",
  },
  pids: { "pids.max": "max", "pids.current": "0", "pids.events": "max 0" },
  cpuset: { "cpuset.cpus": "", "cpuset.mems": "", "cpuset.cpus.effective": "0-1", "cpuset.mems.effective": "0" },
  // io with the io cost model's weight (no BFQ: no io.bfq.weight).
  io: { "io.max": "", "io.weight": "default 100", "io.stat": "" },
};

const CORE_FILES: Record<string, string> = {
  "cgroup.procs": "",
  "cgroup.subtree_control": "",
  "cgroup.events": "populated 0\nfrozen 0",
  "cgroup.kill": "",
  "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0",
};

function fail(code: string, errno: number, syscall: string, path: string): never {
  throw new SysError({ errno, code, syscall, args: [path] });
}

export interface FakeOp {
  op: "write" | "mkdir" | "rmdir";
  path: string;
  value?: string;
}

export class FakeCgroup2 implements CgroupFs {
  readonly root: string;
  readonly ops: FakeOp[] = [];

  constructor(controllers = ["cpuset", "cpu", "io", "memory", "pids"]) {
    this.root = mkdtempSync(`${tmpdir()}/ctr-fake-cgroup2-`);
    writeFileSync(`${this.root}/cgroup.controllers`, controllers.join(" ") + "\n");
    for (const [f, v] of Object.entries(CORE_FILES)) if (f !== "cgroup.kill") writeFileSync(`${this.root}/${f}`, v ? v + "\n" : "");
    writeFileSync(`${this.root}/cpuset.cpus.effective`, "0-1\n");
    writeFileSync(`${this.root}/cpuset.mems.effective`, "0\n");
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Mountinfo and /proc/self/cgroup texts that place the caller at `callerPath`. */
  procTexts(callerPath: string): { mountinfo: string; procCgroup: string } {
    return {
      mountinfo: `30 23 0:26 / ${this.root} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n`,
      procCgroup: `0::${callerPath}\n`,
    };
  }

  private rel(path: string): string {
    return path.startsWith(this.root) ? path.slice(this.root.length) || "/" : path;
  }

  private words(path: string): string[] {
    return readFileSync(path, "utf8").trim().split(/\s+/).filter(Boolean);
  }

  private isDir(path: string): boolean {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  }

  private subdirs(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `${dir}/${d.name}`);
  }

  private allDirs(dir = this.root): string[] {
    return [dir, ...this.subdirs(dir).flatMap((d) => this.allDirs(d))];
  }

  procsOf(dir: string): number[] {
    return this.words(`${dir}/cgroup.procs`).map(Number);
  }

  private setProcs(dir: string, pids: number[]): void {
    writeFileSync(`${dir}/cgroup.procs`, pids.map((p) => `${p}\n`).join(""));
  }

  /** Put a process somewhere as the kernel would have it (test set-up, not logged). */
  place(dirPath: string, pid: number): void {
    for (const d of this.allDirs()) this.setProcs(d, this.procsOf(d).filter((p) => p !== pid));
    this.setProcs(dirPath, [...this.procsOf(dirPath), pid]);
  }

  /** Make a cgroup as an administrator would (not logged). */
  setupDir(dirPath: string): void {
    this.createCgroup(dirPath);
  }

  /** Enable controllers as an administrator would (not logged). */
  setupEnable(dirPath: string, controllers: string[]): void {
    this.applySubtree(dirPath, controllers.map((c) => "+" + c).join(" "));
  }

  private createCgroup(path: string): void {
    const parent = path.slice(0, path.lastIndexOf("/"));
    mkdirSync(path);
    const enabled = this.words(`${parent}/cgroup.subtree_control`);
    writeFileSync(`${path}/cgroup.controllers`, enabled.join(" ") + "\n");
    for (const [f, v] of Object.entries(CORE_FILES)) writeFileSync(`${path}/${f}`, v ? v + "\n" : "");
    for (const c of enabled) this.addControllerFiles(path, c);
  }

  private addControllerFiles(dir: string, c: string): void {
    for (const [f, v] of Object.entries(CONTROLLER_FILES[c] ?? {})) writeFileSync(`${dir}/${f}`, v ? v + "\n" : "");
    if (c === "cpu") writeFileSync(`${dir}/cpu.stat`, "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
  }

  private applySubtree(dir: string, value: string): void {
    const offered = this.words(`${dir}/cgroup.controllers`);
    const enabled = new Set(this.words(`${dir}/cgroup.subtree_control`));
    const tokens = value.trim().split(/\s+/);
    for (const t of tokens) {
      const c = t.slice(1);
      if (!/^[+-]/.test(t)) fail("EINVAL", 22, "write", `${dir}/cgroup.subtree_control`);
      if (t[0] === "+" && !offered.includes(c)) fail("ENOENT", 2, "write", `${dir}/cgroup.subtree_control`);
    }
    const adding = tokens.some((t) => t[0] === "+" && !enabled.has(t.slice(1)));
    if (dir !== this.root && adding && this.procsOf(dir).length > 0) fail("EBUSY", 16, "write", `${dir}/cgroup.subtree_control`);
    for (const t of tokens) {
      const c = t.slice(1);
      if (t[0] === "+") enabled.add(c);
      else {
        // A controller a child still enables for its own children cannot go.
        for (const child of this.subdirs(dir)) if (this.words(`${child}/cgroup.subtree_control`).includes(c)) fail("EBUSY", 16, "write", `${dir}/cgroup.subtree_control`);
        enabled.delete(c);
      }
    }
    writeFileSync(`${dir}/cgroup.subtree_control`, [...enabled].join(" ") + "\n");
    for (const child of this.subdirs(dir)) {
      writeFileSync(`${child}/cgroup.controllers`, [...enabled].join(" ") + "\n");
      for (const c of Object.keys(CONTROLLER_FILES)) {
        if (enabled.has(c)) {
          if (!existsSync(`${child}/${Object.keys(CONTROLLER_FILES[c]!)[0]}`)) this.addControllerFiles(child, c);
        } else for (const f of Object.keys(CONTROLLER_FILES[c]!)) rmSync(`${child}/${f}`, { force: true });
      }
    }
  }

  // ---- CgroupFs ---------------------------------------------------------------

  read(path: string): string {
    if (!existsSync(path) || this.isDir(path)) fail("ENOENT", 2, "open", path);
    return readFileSync(path, "utf8");
  }

  write(path: string, value: string): void {
    if (!existsSync(path) || this.isDir(path)) fail("ENOENT", 2, "open", path);
    const dir = path.slice(0, path.lastIndexOf("/"));
    const file = path.slice(path.lastIndexOf("/") + 1);
    const v = value.trim();
    switch (file) {
      case "cgroup.subtree_control":
        this.applySubtree(dir, v);
        break;
      case "cgroup.procs": {
        if (!/^\d+$/.test(v)) fail("EINVAL", 22, "write", path);
        if (dir !== this.root && this.words(`${dir}/cgroup.subtree_control`).length > 0) fail("EBUSY", 16, "write", path);
        this.place(dir, Number(v));
        break;
      }
      case "cgroup.kill":
        if (v !== "1") fail("EINVAL", 22, "write", path);
        for (const d of this.allDirs(dir)) this.setProcs(d, []);
        break;
      case "cpu.max": {
        const m = /^(max|\d+)(?: (\d+))?$/.exec(v);
        if (!m) fail("EINVAL", 22, "write", path);
        const period = m[2] ? Number(m[2]) : 100000;
        if ((m[1] !== "max" && Number(m[1]) < 1000) || period < 1000 || period > 1000000) fail("EINVAL", 22, "write", path);
        writeFileSync(path, `${m[1]} ${period}\n`);
        break;
      }
      case "cpu.weight":
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 10000) fail("ERANGE", 34, "write", path);
        writeFileSync(path, v + "\n");
        break;
      case "memory.max":
      case "memory.swap.max":
      case "pids.max":
        if (!/^(max|\d+)$/.test(v)) fail("EINVAL", 22, "write", path);
        writeFileSync(path, v + "\n");
        break;
      case "cpuset.cpus":
      case "cpuset.mems":
        if (v !== "" && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v)) fail("EINVAL", 22, "write", path);
        writeFileSync(path, v + "\n");
        if (v) writeFileSync(`${dir}/${file}.effective`, v + "\n");
        break;
      default:
        writeFileSync(path, v + "\n");
    }
    this.ops.push({ op: "write", path: this.rel(path), value });
  }

  mkdir(path: string): void {
    if (existsSync(path)) fail("EEXIST", 17, "mkdir", path);
    this.createCgroup(path);
    this.ops.push({ op: "mkdir", path: this.rel(path) });
  }

  rmdir(path: string): void {
    if (!this.isDir(path)) fail("ENOENT", 2, "rmdir", path);
    if (this.procsOf(path).length > 0 || this.subdirs(path).length > 0) fail("EBUSY", 16, "rmdir", path);
    rmSync(path, { recursive: true });
    this.ops.push({ op: "rmdir", path: this.rel(path) });
  }

  exists(path: string): boolean {
    return existsSync(path);
  }

  children(path: string): string[] {
    if (!this.isDir(path)) return [];
    return this.subdirs(path).map((d) => d.slice(d.lastIndexOf("/") + 1));
  }

  /** Simulate the kernel's OOM killer having struck `n` times in `dir`. */
  simulateOom(dir: string, n: number): void {
    writeFileSync(`${dir}/memory.events`, `low 0\nhigh 0\nmax ${n * 10}\noom ${n}\noom_kill ${n}\noom_group_kill 0\n`);
  }

  /** Every cgroup directory, relative to the top, sorted. */
  tree(): string[] {
    return this.allDirs()
      .map((d) => this.rel(d))
      .sort();
  }
}
