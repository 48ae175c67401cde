// Tab completion and :help, derived from the statement registry. No kernel
// work: container paths are listed through a directory standing in for
// /proc/PID1/root.

import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile } from "../../lang/index.ts";
import { complete, completePath, helpOverview, helpStatement, lastStatement, wordsOf, type CompletionContext } from "../../runtime/complete.ts";
import { commandText, quoteWord } from "../../runtime/repl-engine.ts";
import { statements } from "../../runtime/registry.ts";

function ctx(root: string | null = null, vars: string[] = [], fns: string[] = []): CompletionContext {
  return { functions: () => fns, variables: () => vars, containerRoot: () => root, containerCwd: () => "/" };
}

const hits = (line: string, c = ctx()) => complete(line, c)[0];

describe("completion", () => {
  test("statement names, functions and keywords at the start of a statement", () => {
    expect(hits("mo")).toEqual(["mount "]);
    expect(hits("ho")).toEqual(["hostname "]);
    expect(hits("ex")).toEqual(["exec ", "expect "]);
    expect(hits("se", ctx(null, [], ["setup"]))).toEqual(["seccomp ", "setup("]);
    expect(hits("le")).toEqual(["let "]);
    expect(hits("ns uts; hostn")).toEqual(["hostname "]);
    expect(hits("")).toContain("ns ");
  });

  test("form words: mount pr<Tab> is proc", () => {
    expect(complete("mount pr", ctx())).toEqual([["proc "], "pr"]);
    expect(hits("mount ")).toEqual(["bind ", "cgroup ", "dev ", "devpts ", "mqueue ", "overlay ", "proc ", "sysfs ", "tmpfs "]);
    expect(hits("limit m")).toEqual(["memory "]);
    expect(hits("show p")).toEqual(["procs "]);
    expect(hits("expect ")).toEqual(["exit ", "output "]);
  });

  test("namespace names, also after a comma, without those already listed", () => {
    expect(complete("ns u", ctx())).toEqual([["user", "uts"], "u"]);
    expect(complete("ns uts, p", ctx())).toEqual([["pid"], "p"]);
    expect(complete("ns uts,pid,m", ctx())).toEqual([["mnt"], "m"]);
    expect(hits("ns n")).toEqual(["net", "none"]);
    expect(hits("ns uts, n")).toEqual(["net"]);
    expect(hits("ns uts, u")).toEqual(["user"]);
  });

  test("option keys and flags of the form", () => {
    expect(hits("mount tmpfs /tmp s")).toEqual(["size=", "strictatime "]);
    expect(hits("mount tmpfs /tmp size=1m ")).toEqual(["mode=", "nodev ", "noexec ", "nosuid ", "ro ", "rw ", "strictatime "]);
    expect(hits("mount proc /proc no")).toEqual(["nodev ", "noexec ", "nosuid "]);
    expect(hits("limit memory 64m s")).toEqual(["swap="]);
    expect(hits("expect output ")).toEqual(["!= ", "== ", "contains ", "matches "]);
    expect(hits("net lo ")).toEqual(["down ", "up "]);
  });

  test("variables inside ${...}", () => {
    const c = ctx(null, ["name", "net_mask", "other"]);
    expect(complete('hostname "${na', c)).toEqual([["${name}"], "${na"]);
    expect(complete("run echo ${n", c)).toEqual([["${name}", "${net_mask}"], "${n"]);
    expect(complete("run echo $", c)[0]).toHaveLength(3);
  });

  test("host paths for sources, container paths for targets (through the container's root)", () => {
    const host = mkdtempSync(join(tmpdir(), "ctr-complete-host-"));
    const root = mkdtempSync(join(tmpdir(), "ctr-complete-root-"));
    try {
      mkdirSync(join(host, "layers"));
      writeFileSync(join(host, "lower.txt"), "");
      mkdirSync(join(root, "etc"));
      mkdirSync(join(root, "bin"));
      writeFileSync(join(root, "etc", "hostname"), "");
      writeFileSync(join(root, "bin", "busybox"), "");
      const c = ctx(root);
      expect(complete(`mount bind ${host}/l`, c)).toEqual([["layers/", "lower.txt "], "l"]);
      expect(complete(`rootfs ${host}/la`, c)).toEqual([["layers/"], "la"]);
      expect(complete("mount bind /x /e", c)).toEqual([["etc/"], "e"]);
      expect(complete("cwd /etc/h", c)).toEqual([["hostname "], "h"]);
      expect(complete("run busy", c)).toEqual([["busybox "], "busy"]);
      expect(complete("run cat /etc/", c)).toEqual([["hostname "], ""]);
      expect(complete(`mount overlay /m lower=${host}/lay`, c)).toEqual([["layers/"], "lay"]);
      // Before the container exists there is no container path to offer.
      expect(complete("cwd /e", ctx(null))[0]).toEqual([]);
      expect(complete(`:load ${host}/low`, c)).toEqual([["lower.txt "], "low"]);
      expect(completePath("/nonexistent-dir/x", "", "/")).toEqual([[], "x"]);
    } finally {
      rmSync(host, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("REPL commands and their arguments", () => {
    expect(hits(":h")).toEqual([":help ", ":history "]);
    expect(hits(":help mou")).toEqual(["mount "]);
    expect(hits(":help mount t")).toEqual(["tmpfs "]);
    expect(hits(":show m")).toEqual(["mounts "]);
    expect(hits(":explain mount pr")).toEqual(["proc "]);
  });

  test("words and statements of a line", () => {
    expect(wordsOf("ns uts, pid")).toEqual(["ns", "uts,pid"]);
    expect(wordsOf('run sh -c "a b" ')).toEqual(["run", "sh", "-c", '"a b"', ""]);
    expect(lastStatement('hostname "a;b"; mount pr')).toBe(" mount pr");
    expect(lastStatement("fn f() { mount pr")).toBe(" mount pr");
    expect(lastStatement("run x # a comment")).toBe("");
  });
});

describe(":help", () => {
  test("the overview lists every statement and the REPL's commands", () => {
    const text = helpOverview();
    for (const s of statements) expect(text).toContain(`  ${s.name} `);
    for (const c of [":help", ":explain", ":show", ":history", ":save", ":load", ":reset", ":quit"]) expect(text).toContain(c);
  });

  test("one statement: syntax, meaning, example and the syscalls behind it", () => {
    const h = helpStatement("hostname")!;
    expect(h).toContain("syntax:   hostname NAME");
    expect(h).toContain("requires: ns uts");
    expect(h).toContain('example:  hostname "container"');
    expect(h).toContain('sethostname("container")');
    const m = helpStatement("mount", "tmpfs")!;
    expect(m).toContain("mount tmpfs DST [size=SIZE] [mode=MODE] [FLAGS]");
    expect(m).toContain('fsconfig(FS_FD, FSCONFIG_SET_STRING, "size", "64m", 0)');
    expect(m).toContain('move_mount(MNT_FD, "", TARGET_FD, "", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH)');
    expect(m).not.toContain("mount proc [DST]");
    const ns = helpStatement("ns")!;
    expect(ns).toContain("unshare(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWPID)");
    expect(helpStatement("expect", "exit")).toContain("check the last run");
    expect(helpStatement("nope")).toBeNull();
    expect(helpStatement("mount", "nope")).toBeNull();
  });

  test("every statement and form has help; every supported example explains itself", () => {
    for (const s of statements) {
      expect(helpStatement(s.name)).toContain(s.syntax);
      for (const f of Object.keys(s.forms ?? {})) expect(helpStatement(s.name, f)).toContain(s.forms![f]!.syntax);
    }
  });
});

describe(":save text", () => {
  test("a command written back reads back as the same command", () => {
    const src = `ns uts, pid, mnt\nhostname 'a b'\nmount tmpfs /tmp size=64m mode=1777\nrun sh -c "echo \\"it's\\" \\$HOME"\nexpect output == 'x'\nlimit cpu 20%\nenv A='1 2'\n`;
    const r = compile(src, { file: "t.ctr", specs: statements, env: {}, cpus: 4 });
    expect(r.diagnostics).toEqual([]);
    const again = compile(r.commands.map(commandText).join("\n"), { file: "u.ctr", specs: statements, env: {}, cpus: 4 });
    expect(again.diagnostics).toEqual([]);
    const texts = (cs: typeof r.commands) => cs.map((c) => [c.name, ...c.args.map((a) => a.text)]);
    expect(texts(again.commands)).toEqual(texts(r.commands));
    expect(quoteWord("/bin/sh")).toBe("/bin/sh");
    expect(quoteWord("a b")).toBe("'a b'");
    expect(quoteWord("${x}")).toBe("'${x}'");
  });
});
