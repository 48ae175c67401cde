// The planner's whole-plan rules (runtime/plan.ts), without root: what a script
// becomes as an ordered list of operations, before anything runs.

import { joinCalls, joinFiles } from "../../runtime/explain-host.ts";
import { RecordingSys } from "../../native/recording.ts";
import { CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWUSER } from "../../native/constants.ts";
import { describe, expect, test } from "bun:test";
import { compile } from "../../lang/index.ts";
import { findStatement, statements } from "../../runtime/registry.ts";
import { makePlan, planDiagnostics } from "../../runtime/plan.ts";
import { traitsOf, type Op } from "../../runtime/ops.ts";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

function plan(src: string) {
  const fe = compile(src, { file: "t.ctr", specs: statements, cpus: 4, env: {} });
  expect(fe.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return makePlan(fe.commands, findStatement, { stateDir: "/run/ctr/ID", defaultRootfs: "/cache/rootfs" });
}

const kinds = (ops: readonly Op[]) => ops.map((o) => o.kind);

describe("planner rules", () => {
  test("the namespaces are collected from `ns` whatever line it is on, user first", () => {
    const r = plan("ns pid, uts\nhostname a\nrun true");
    expect(r.plan.namespaces).toEqual(["uts", "pid"]);
    const u = plan("ns mnt, user\nrun true");
    expect(u.plan.namespaces).toEqual(["user", "mnt"]);
  });

  test("with ns mnt the tree is made private at the unshare (stage 1), before anything else", () => {
    const r = plan("ns uts, mnt\nrun mount -t tmpfs x /mnt");
    const unshare = r.plan.ops[0]!;
    expect(unshare.kind).toBe("unshare");
    expect(unshare.side).toBe("creator");
    expect(unshare.explain.some((l) => l.startsWith('mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)'))).toBe(true);
    expect(plan("ns uts\nrun true").plan.ops[0]!.explain.some((l) => l.includes("MS_PRIVATE"))).toBe(false);
  });

  test("PID 1 keeps a copy of the host's tree before the first mount, once", () => {
    const r = plan("ns uts, mnt, pid\nhostname a\nmount proc\nmount tmpfs /tmp\nrun true");
    expect(kinds(r.plan.ops).filter((k) => k === "host-tree")).toHaveLength(1);
    const at = kinds(r.plan.ops).indexOf("host-tree");
    expect(kinds(r.plan.ops).indexOf("mount")).toBe(at + 1);
    expect(kinds(plan("ns uts, pid\nrun true").plan.ops)).not.toContain("host-tree");
  });

  test("the new root is entered right before the first statement that observes the container", () => {
    const r = plan("ns mnt, pid\nrootfs /srv/root\nmount proc\nmount tmpfs /tmp\nrun true\nmount tmpfs /run");
    const k = kinds(r.plan.ops);
    expect(k.indexOf("enter-root")).toBe(k.indexOf("run") - 1);
    expect(k.filter((x) => x === "enter-root")).toHaveLength(1);
    // the mounts before it are made with host paths as sources, inside the prepared root
    expect(k.indexOf("rootfs")).toBeLessThan(k.indexOf("enter-root"));
  });

  test("a run captures its output only for an `expect output` that checks it", () => {
    const r = plan('ns uts\nrun echo a\nexpect output == "a"\nrun echo b\nexpect exit 0\nexpect output contains "b"\nrun echo c\nexpect exit 0');
    const runs = r.plan.ops.filter((o): o is Extract<Op, { kind: "run" }> => o.kind === "run");
    expect(runs.map((o) => o.capture === true)).toEqual([true, true, false]);
  });

  test("statements not supported yet are refused before anything runs, with where they come", () => {
    // Every statement is performed today: one is marked as a statement planned but not performed yet would be.
    const fe = compile("ns uts, mnt\nhostname a\nrun true", { file: "t.ctr", specs: statements, cpus: 4, env: {} });
    const lookup = (name: string) => (name === "hostname" ? { ...findStatement(name)!, unsupported: "not written yet" } : findStatement(name));
    const r = makePlan(fe.commands, lookup, { stateDir: "/run/ctr/ID", defaultRootfs: "/cache/rootfs" });
    expect(r.diagnostics.map((d) => d.message).join("\n")).toMatch(/`hostname` is not supported yet: not written yet/);
    expect(r.plan.ops.map((o) => o.source)).not.toContain("hostname a");
  });

  test("without `map`, a user namespace maps the caller's own id to root inside, right after the unshare", () => {
    const r = plan("ns user, uts\nrun true");
    expect(kinds(r.plan.ops).slice(0, 3)).toEqual(["unshare", "idmap", "idmap"]);
    const maps = r.plan.ops.filter((o): o is Extract<Op, { kind: "idmap" }> => o.kind === "idmap");
    expect(maps.map((m) => [m.which, m.line.inside, m.line.count]).sort()).toEqual([["gid", 0, 1], ["uid", 0, 1]]);
  });

  test("overlapping map lines are an error naming the other line", () => {
    const r = plan("ns user, uts\nmap uid 0 100000 10\nmap uid 5 200000 10\nmap gid 0 100000 1\nrun true");
    expect(r.diagnostics.find((d) => d.severity === "error")?.message).toBe("this uid map overlaps the one on line 2 (inside ids)");
  });

  test("limits keep their place: before the first command, or live changes after it", () => {
    const r = plan("ns uts, pid\nlimit pids 64\nrun true\nlimit pids 32\nrun true");
    expect(kinds(r.plan.ops)).toEqual(["unshare", "cgroup-limit", "run", "cgroup-limit", "run"]);
  });

  test("`rootfs default` asks for the default rootfs to be built", () => {
    expect(plan("ns mnt\nrootfs default\nrun true").plan.needsDefaultRootfs).toBe(true);
    expect(plan("ns mnt\nrootfs /srv/root\nrun true").plan.needsDefaultRootfs).toBe(false);
  });

  test("every planned op's side is the one its kind declares (OP_TRAITS), over every example", () => {
    const dir = join(import.meta.dir, "../../examples");
    let seen = 0;
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".ctr"))) {
      const src = readFileSync(join(dir, name), "utf8");
      const fe = compile(src, { file: name, specs: statements, cpus: 4, env: {}, args: ["true"], stdlibDir: join(import.meta.dir, "../../stdlib") });
      if (fe.diagnostics.some((d) => d.severity === "error")) continue;
      for (const op of makePlan(fe.commands, findStatement, { stateDir: "/run/ctr/ID", defaultRootfs: "/cache/rootfs" }).plan.ops) {
        expect({ kind: op.kind, side: op.side }).toEqual({ kind: op.kind, side: traitsOf(op.kind).side });
        seen++;
      }
    }
    expect(seen).toBeGreaterThan(50);
  });

  test("`ctr check`'s planDiagnostics reports what makePlan reports, in the same order", () => {
    const base = { stateDir: "/run/ctr/ID", defaultRootfs: "/cache/rootfs" };
    const scripts = [
      "ns uts, mnt\njoin web uts\nrun true",
      "ns user, uts\nmap uid 0 100000 10\nmap uid 5 200000 10\nmap gid 0 100000 1\nmap gid 0 300000 1\nrun true",
      "ns user, uts\nmap uid 1 100000 10\nrun true",
      "ns user, mnt\nmount tmpfs /tmp\nreadonly /tmp\nmap gid 5 100000 1\nrun true\njoin a uts",
      "ns uts\nhostname a\nrun true",
    ];
    let reported = 0;
    for (const src of scripts) {
      const fe = compile(src, { file: "t.ctr", specs: statements, cpus: 4, env: {} });
      expect(fe.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      const made = makePlan(fe.commands, findStatement, base).diagnostics;
      expect(planDiagnostics(fe.commands, findStatement, base)).toEqual(made);
      reported += made.length;
    }
    expect(reported).toBeGreaterThan(4);
    // A plan function that throws is reported by both.
    const fe = compile("ns uts\nhostname x", { file: "t.ctr", specs: statements, cpus: 2, env: {} });
    const lookup = (name: string) => (name === "hostname" ? { name, plan: (): never => { throw new Error("no plan for this"); } } : findStatement(name));
    expect(planDiagnostics(fe.commands, lookup, base)).toEqual(makePlan(fe.commands, lookup, base).diagnostics);
    expect(planDiagnostics(fe.commands, lookup, base)).toHaveLength(1);
  });
});

describe("join (runtime/features/ns/join.ts)", () => {
  const errors = (src: string) => plan(src).diagnostics.filter((d) => d.severity === "error").map((d) => `${d.span.line}:${d.span.column} ${d.message}`);

  test("a join is one stage 1 op with its namespaces in the kernel's order; the rest are made new", () => {
    const r = plan("join web pid, user, net\nns uts, mnt\nmount proc\nrun ps");
    expect(r.diagnostics).toEqual([]);
    const join = r.plan.ops.find((o) => o.kind === "join")!;
    expect(join).toMatchObject({ kind: "join", name: "web", namespaces: ["user", "net", "pid"], side: "creator" });
    expect(r.plan.namespaces).toEqual(["mnt", "uts"]);
    // its explain lines are stage 1's calls (runtime/explain-host.ts joinCalls): the user namespace joined first
    const sys = new RecordingSys(joinFiles(join as Extract<Op, { kind: "join" }>));
    joinCalls(sys, join as Extract<Op, { kind: "join" }>);
    expect(sys.calls.filter((c) => c.name === "setns").map((c) => c.args[1])).toEqual([CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID]);
  });

  test("a namespace both joined and created is refused", () => {
    expect(errors("join web pid, uts\nns pid, mnt\nrun true")).toEqual(["1:1 `pid` both joined from web and created by `ns`"]);
  });

  test("what belongs to the joined container is refused: its mounts, network, hostname, id maps", () => {
    expect(errors("join web mnt\nrootfs default\nmount proc\nrun true")).toEqual([
      "2:1 `rootfs default` would change container web's mounts: its mnt namespace is joined at 1:1",
      "3:1 `mount proc` would change container web's mounts: its mnt namespace is joined at 1:1",
    ]);
    expect(errors("join web net\nnet lo up\nrun true")).toEqual(["2:1 `net lo up` would change container web's network: its net namespace is joined at 1:1"]);
    expect(errors("join web uts\nhostname x\nrun true")).toEqual(["2:1 `hostname x` would change container web's hostname: its uts namespace is joined at 1:1"]);
    expect(errors("join web user\nmap uid 0 1000 1\nrun true")).toEqual(["2:1 `map uid 0 1000 1` would change container web's id maps: its user namespace is joined at 1:1"]);
    // the same statements on namespaces of its own
    expect(errors("join web net\nns uts, mnt\nhostname x\nmount proc\nrun true")).toEqual([]);
  });
});

describe("user names checked against the root's /etc before anything is made (runtime/features/security/user.ts)", () => {
  const files: Record<string, string | null | undefined> = {
    "/srv/root/etc/passwd": "root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n",
    "/srv/root/etc/group": "root:x:0:\nweb:x:33:\n",
    "/srv/linked/etc/passwd": undefined, // a symlink: resolves inside the container, not here
    "/srv/linked/etc/group": undefined,
  };
  const base = { stateDir: "/run/ctr/ID", defaultRootfs: "/cache/rootfs", readHost: (p: string) => (p in files ? files[p] : null) };
  const problems = (src: string) => {
    const fe = compile(src, { file: "t.ctr", specs: statements, cpus: 4, env: {}, host: { kind: () => "dir", isCommand: () => true } });
    expect(fe.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const made = makePlan(fe.commands, findStatement, base).diagnostics;
    expect(planDiagnostics(fe.commands, findStatement, base)).toEqual(made);
    return made.map((d) => `${d.span.line}:${d.span.column} ${d.message}`);
  };

  test("a name missing from a host root's /etc/passwd or /etc/group is an error at its `user` line", () => {
    expect(problems("ns mnt\nrootfs /srv/root\nuser web:web groups=root\nexec true")).toEqual([]);
    expect(problems("ns mnt\nrootfs /srv/root\nuser nobody\nexec true")).toEqual(['3:1 user "nobody" is not in the container\'s /etc/passwd']);
    expect(problems("ns mnt\nuser web:staff\nrootfs /srv/root\nexec true")).toEqual(['2:1 group "staff" is not in the container\'s /etc/group']);
    expect(problems("ns mnt\nrootfs /srv/empty\nuser web\nexec true")).toEqual(['3:1 user "web": the container has no /etc/passwd']);
  });

  test("rootfs default's own files; numbers, a symlinked /etc and no rootfs are left to PID 1", () => {
    expect(problems("ns mnt\nrootfs default\nuser nobody:nogroup\nexec true")).toEqual([]);
    expect(problems("ns mnt\nrootfs default\nuser www-data\nexec true")).toEqual(['3:1 user "www-data" is not in the container\'s /etc/passwd']);
    expect(problems("ns mnt\nrootfs /srv/empty\nuser 1000:1000\nexec true")).toEqual([]);
    expect(problems("ns mnt\nrootfs /srv/linked\nuser web\nexec true")).toEqual([]);
    expect(problems("ns mnt\nuser web\nexec true")).toEqual([]);
  });

  test("left to PID 1 when the root's /etc may change first: a run before a later command, a mount or volume over /etc", () => {
    expect(problems("ns mnt\nrootfs /srv/root\nrun adduser -D tester\nuser tester\nexec true")).toEqual([]);
    expect(problems("ns mnt\nrootfs /srv/root\nmount tmpfs /etc\nuser tester\nexec true")).toEqual([]);
    expect(problems("ns mnt\nrootfs /srv/root\nmount proc\nuser tester\nrun true")).toEqual(['4:1 user "tester" is not in the container\'s /etc/passwd']);
  });
});
