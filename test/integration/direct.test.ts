// The direct start (runtime/features/ns/direct.ts): a script whose plan is in
// the plan cache and needs no stage 1 gets its PID 1 from ctr's own thread.
// Each test runs its script once to cache the plan, then again: the second run
// is the direct one, which the first test shows from the process tree.

import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, childrenOf, CTR, hostMountinfo, itest, onHost, REPO, type Host } from "./host-state.ts";
import { closeFd, read, socketpair } from "../../native/index.ts";
import { ensureInitBundle } from "../../runtime/bundle.ts";
import { catchesSignal } from "../channel/sigcgt.ts";

const NS = ["uts", "ipc", "net", "pid", "mnt"] as const;



const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, "utf8").trim();
const commOr = (pid: number) => {
  try {
    return comm(pid);
  } catch {
    return ""; // ended meanwhile
  }
};
const nsOf = (path: string) => readlinkSync(path);

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/**
 * `ctr -e SCRIPT` under strace, its `trace` calls logged: what ctr printed, its status, and the log's text.
 * `ctr`: this checkout's, or another's bin/ctr.
 */
async function straced(h: Host, trace: string, script: string, ctr = CTR): Promise<{ stdout: string; stderr: string; code: number; log: string }> {
  const log = `${h.scratch()}/trace`;
  const proc = Bun.spawn({ cmd: ["strace", "-f", "-qq", "-s", "512", "-e", `trace=${trace}`, "-o", log, ctr, "-e", script], env: { ...process.env, NO_COLOR: "1", CTR_TEACHING: "1", TMPDIR: h.tmp }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code, log: readFileSync(log, "utf8") };
}

/**
 * A script that waits inside the container until `gate` exists on the host
 * (no rootfs: the host's files are in view). Run once with the gate open, so
 * that the plan is cached; then started again with it closed, and returned
 * with ctr's PID 1 (ctr's only child) once the command is going.
 */
async function startCached(h: Host, how: "run" | "exec") {
  const gate = `${h.scratch()}/gate`;
  const script = `ns uts, ipc, pid, mnt, net\n${how} sh -c "while [ ! -e ${gate} ]; do sleep 0.02; done"`;
  writeFileSync(gate, "");
  const first = await h.ctr(["-e", script]);
  expect(first.stderr).toBe("");
  expect(first.code).toBe(0);
  rmSync(gate);
  const proc = h.spawn(["-e", script]);
  // The command's sh: a child of PID 1 (`run`) or PID 1 itself (`exec`), once it has exec'd.
  const started = () => childrenOf(proc.pid).some((p) => [p, ...childrenOf(p)].some((c) => commOr(c) === "sh"));
  await until(() => started() || proc.exitCode !== null, "the command to start");
  const pid1 = childrenOf(proc.pid)[0]!;
  return { proc, pid1, gate, open: () => writeFileSync(gate, "") };
}

describe("direct start", () => {
  itest("a cached plan's PID 1 is ctr's own child, in new namespaces, and every thread of ctr is back in its own", () =>
    onHost(async (h) => {
      const { proc, pid1, open } = await startCached(h, "run");
      // PID 1 is the agent itself (no ctr-stage1 between), and sh is its child.
      expect(comm(pid1)).toBe("ctr-init");
      const sh = childrenOf(pid1).find((c) => commOr(c) === "sh")!;
      expect(childrenOf(proc.pid)).toEqual([pid1]);
      for (const n of NS) {
        expect(nsOf(`/proc/${sh}/ns/${n}`)).toBe(nsOf(`/proc/${pid1}/ns/${n}`));
        expect(nsOf(`/proc/${pid1}/ns/${n}`)).not.toBe(nsOf(`/proc/${proc.pid}/ns/${n}`));
      }
      // ctr's threads: none stayed in the container's UTS, IPC or network namespace, nor spawns into its PID namespace.
      const here = Object.fromEntries(["uts", "ipc", "net", "pid"].map((n) => [n, nsOf(`/proc/self/ns/${n}`)]));
      for (const task of readdirSync(`/proc/${proc.pid}/task`)) {
        for (const n of ["uts", "ipc", "net"]) expect(`${task} ${nsOf(`/proc/${proc.pid}/task/${task}/ns/${n}`)}`).toBe(`${task} ${here[n]}`);
        expect(`${task} ${nsOf(`/proc/${proc.pid}/task/${task}/ns/pid_for_children`)}`).toBe(`${task} ${here.pid}`);
      }
      open();
      expect(await proc.exited).toBe(0);
      expect(await new Response(proc.stderr).text()).toBe("");
    }),
  );

  for (const how of ["run", "exec"] as const) {
    itest(`SIGKILL of ctr while a directly started container's \`${how}\` goes leaves no process of it`, () =>
      onHost(async (h) => {
        const { proc, pid1 } = await startCached(h, how);
        const inside = [pid1, ...childrenOf(pid1)];
        process.kill(proc.pid, "SIGKILL");
        await proc.exited;
        await until(() => inside.every((p) => !alive(p)), "PID 1 and its command to die");
        // A SIGKILLed ctr cannot remove its state directory: the next run sweeps it (onHost checks).
        expect((await h.ctr(["-e", "ns uts\nrun true"])).code).toBe(0);
      }),
    );
  }

  // A direct start sends its first operations before PID 1 is up (Container.createDirect in
  // runtime/host.ts), and a signal to ctr before PID 1's "ready" is held until then.
  // On the real path: whenever in that window the signal comes (ctr already has its
  // handler, PID 1 has not yet named itself ctr-init, the first thing it does), the run
  // ends with the signal's status and leaves nothing. How narrow the window is varies;
  // test/channel/direct-ready.test.ts shows the hold with a fake PID 1 that is ready only when the test lets it.
  itest("a signal to ctr before its directly started PID 1 is up ends the container with that signal's status", () =>
    onHost(async (h) => {
      // As startCached: the first run, with the gate open, caches the plan; then the gate stays closed.
      const gate = `${h.scratch()}/gate`;
      // The command ends on TERM too: a held signal may reach PID 1 once it is the command
      // (the operations are queued already), and as a namespace's init it would ignore it unhandled.
      const script = `ns uts, ipc, pid, mnt, net\nrun true\nexec sh -c "trap 'exit 143' TERM; while [ ! -e ${gate} ]; do sleep 0.02; done"`;
      writeFileSync(gate, "");
      expect(await h.ctr(["-e", script])).toMatchObject({ code: 0, stderr: "" });
      rmSync(gate);
      let caught = 0;
      for (let attempt = 0; attempt < 20 && caught < 3; attempt++) {
        const proc = h.spawn(["-e", script]);
        let early = false;
        for (const end = Date.now() + 5000; Date.now() < end && proc.exitCode === null; ) {
          // ctr has its SIGTERM handler (the run is under way) and PID 1 is not up yet.
          const kid = childrenOf(proc.pid)[0];
          if (kid === undefined || !catchesSignal(proc.pid, 15)) continue;
          const name = commOr(kid);
          early = name !== "" && name !== "ctr-init" && name !== "sh";
          process.kill(proc.pid, "SIGTERM");
          break;
        }
        const started = Date.now();
        expect(await proc.exited).toBe(143);
        expect(Date.now() - started).toBeLessThan(5000); // the command would wait for the gate
        expect(await new Response(proc.stderr).text()).toBe("");
        if (early) caught++;
      }
      expect(caught).toBeGreaterThan(0); // the window was hit at least once
    }),
  60_000);

  // What a direct start saves is the CLI's bundle (the front end with it): the
  // container is driven by a bundle of its own (runtime/direct-run.ts). So is a
  // cached plan that needs stage 1 (here: no PID namespace, whose init would end
  // the container's orphans): runStaged drives the stage 1 that runtime/main.ts
  // started, as the CLI's run of a cached plan does. Seen from the files ctr
  // opens (and, with stage 1, the process that names itself ctr-stage1); the
  // first run, which compiles the plan, is the control.
  for (const [what, ns, stage1] of [
    ["a direct start runs its container to its end without opening the CLI's bundle", "uts, ipc, pid, mnt, net", false],
    ["a cached plan that needs stage 1 runs without opening the CLI's bundle either", "uts, mnt", true],
  ] as const) {
    itest(what, async () => {
      if (!Bun.which("strace")) {
        console.log("skip: strace is not installed (it shows which bundles ctr opens)");
        return;
      }
      await onHost(async (h) => {
        // A comment of its own: the first run finds no cached plan, whatever ran before.
        const script = `# ${h.scratch()}\nns ${ns}\nrun sh -c 'echo inside; exit 3'\nexpect exit 3\necho after`;
        const opened: string[] = [];
        for (let i = 0; i < 2; i++) {
          const { log, ...r } = await straced(h, "openat,prctl", script);
          expect(r).toEqual({ stdout: "inside\nafter\n", stderr: "", code: 0 });
          opened.push(log);
        }
        // The bundles of dist/<stamp>/ opened, by name: init.js is the stage's (stage 1, or PID 1 itself).
        const bundles = (log: string) => [...new Set([...log.matchAll(/\/dist\/\d+\/([\w-]+\.js)"/g)].map((m) => m[1]))].sort();
        expect(bundles(opened[0]!)).toContain("cli.js");
        expect(bundles(opened[1]!)).toEqual(["direct-run.js", "direct-start.js", "init.js"]);
        expect(opened[1]!.includes('PR_SET_NAME, "ctr-stage1"')).toBe(stage1);
      });
    });
  }

  // runtime/main.ts starts a cached plan from the build dist/current names, then checks that
  // build's manifest against the sources (runtime/sources.ts). A manifest that no longer holds
  // (here: one directory's time made wrong, as a file added since would) undoes that start.
  itest("a build whose manifest no longer matches the sources: the early PID 1 is killed, the CLI runs the script, the manifest is made again", async () => {
    if (!Bun.which("strace")) {
      console.log("skip: strace is not installed (it shows the start undone)");
      return;
    }
    await onHost(async (h) => {
      const script = `# ${h.scratch()}\nns uts, ipc, pid, mnt, net\nrun sh -c 'echo inside'`;
      const first = await h.ctr(["-e", script]); // caches the plan, and points dist/current at the build
      expect({ stdout: first.stdout, code: first.code }).toEqual({ stdout: "inside\n", code: 0 });
      const build = `${REPO}/dist/${readlinkSync(`${REPO}/dist/current`)}`;
      const manifest = `${build}/sources.json`;
      const good = readFileSync(manifest, "utf8");
      const m = JSON.parse(good) as { dirs: [string, number][] };
      m.dirs[0]![1] -= 1;
      writeFileSync(manifest, JSON.stringify(m));
      try {
        const traced = async () => {
          const { log, ...r } = await straced(h, "execve,openat,kill", script);
          expect(r).toEqual({ stdout: "inside\n", stderr: "", code: 0 });
          return log;
        };
        const undone = await traced();
        // The early PID 1 (init.mjs "stage2 direct"), killed by ctr; then the CLI's bundle.
        const early = /^(\d+) +execve\("[^"]*", \["[^"]*", "[^"]*\/init\.mjs", "stage2", "direct"/m.exec(undone);
        expect(early).not.toBeNull();
        // Seen from its end, whichever call Bun sent the signal with (kill, or pidfd_send_signal once it watches a pidfd).
        expect(undone).toMatch(new RegExp(`^${early![1]} +\\+\\+\\+ killed by SIGKILL`, "m"));
        expect(undone).toMatch(/\/dist\/\d+\/cli\.js"/);
        // Made again by that run: the next one is direct, without the CLI's bundle.
        expect(readFileSync(manifest, "utf8")).toBe(good);
        const direct = await traced();
        expect(direct).not.toMatch(/\/dist\/\d+\/cli\.js"/);
        expect(direct).not.toMatch(/\+\+\+ killed by SIGKILL/);
      } finally {
        if (readFileSync(manifest, "utf8") !== good) writeFileSync(manifest, good);
      }
    });
  });

  itest("a checkout moved after its build: its runs, direct ones too, and its checks work from the new place, and nothing is made at the old one", () =>
    onHost(async (h) => {
      // A copy of the sources, its bundles built by its first run; then renamed, as `mv` moves a checkout.
      const parent = h.scratch();
      const [before, after] = [join(parent, "before"), join(parent, "after")];
      mkdirSync(before);
      for (const d of ["bin", "runtime", "native", "lang", "stdlib", "package.json", "tsconfig.json"]) cpSync(join(REPO, d), join(before, d), { recursive: true });
      symlinkSync(join(REPO, "node_modules"), join(before, "node_modules"));
      const script = `# ${parent}\nns uts, ipc, pid, mnt, net\nhostname moved\nrun hostname`;
      const twice = async (root: string) => {
        for (let i = 0; i < 2; i++) expect(await h.ctr(["-e", script], { ctr: join(root, "bin", "ctr") })).toMatchObject({ code: 0, stdout: "moved\n", stderr: "" });
      };
      await twice(before); // the second run is a direct one, from the bundles of `before`
      const builds = readdirSync(join(before, "dist")).filter((n) => /^\d+$/.test(n));
      expect(builds.length).toBe(1);
      renameSync(before, after);
      // The bundles found their package from where they were loaded, not from where they were built.
      await twice(after);
      // And its plan's key is the one the CLI stored: the next run is a direct one again, without the CLI's bundle.
      if (!Bun.which("strace")) console.log("skip: strace is not installed (it shows the run direct)");
      else {
        const { log: opened, ...r } = await straced(h, "openat", script, join(after, "bin", "ctr"));
        expect([r.code, r.stdout]).toEqual([0, "moved\n"]);
        expect(opened).toContain(`${after}/dist/${builds[0]}/direct-start.js"`);
        expect(opened).not.toMatch(/\/dist\/\d+\/cli\.js"/);
      }
      // `import "std/..."` reads the stdlib of the package as it now is, in a check and in the REPL.
      const ctr = join(after, "bin", "ctr");
      expect(await h.ctr(["check", "-e", `import "std/docker"\n${script}`], { ctr })).toMatchObject({ code: 0, stderr: "" });
      expect(await h.ctr(["repl", "-q"], { ctr, stdin: 'import "std/docker"\nns uts\nrun echo still-up\n' })).toMatchObject({ code: 0, stdout: "still-up\n", stderr: "" });
      expect(existsSync(before)).toBe(false);
      // The same build, used where it now is: not built again.
      expect(readdirSync(join(after, "dist")).filter((n) => /^\d+$/.test(n))).toEqual(builds);
    }),
  );

  itest("a directly started PID 1 makes its mount tree private before anything is mounted (shared host root)", () =>
    onHost(async (h) => {
      const script = `ns uts, pid, mnt\nrun mount -t tmpfs ctr-direct-probe-${process.pid} /mnt\nrun grep -c ctr-direct-probe /proc/self/mountinfo\nexpect output == 1`;
      for (let i = 0; i < 2; i++) {
        const r = await h.ctr(["-e", script]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(hostMountinfo()).not.toContain("ctr-direct-probe");
      }
    }),
  );
});

// No container here: the stage is started in the test's own namespaces, without "mnt".
test("PID 1 of a direct start whose ctr is already gone (its channel hung up) exits at once, serving nothing", async () => {
  const init = await ensureInitBundle();
  const [mine, theirs] = socketpair();
  closeFd(mine); // as a dead ctr's end: closed before the stage starts
  const child = Bun.spawn({ cmd: [process.execPath, init, "stage2", "direct"], stdio: ["ignore", "pipe", "pipe", theirs], env: { PATH: process.env.PATH ?? "" } });
  closeFd(theirs);
  // Without the look at the channel, the agent would read the end of it and exit 0.
  expect(await child.exited).toBe(125);
  expect(await new Response(child.stderr).text()).toBe("");
  // The control: a ctr that hangs up once the stage is up gets the end of the channel, status 0.
  const [host, stage] = socketpair();
  const served = Bun.spawn({ cmd: [process.execPath, init, "stage2", "direct"], stdio: ["ignore", "pipe", "pipe", stage], env: { PATH: process.env.PATH ?? "" } });
  closeFd(stage);
  const buf = Buffer.alloc(64);
  expect(read(host, buf)).toBeGreaterThan(0); // its "ready"
  closeFd(host);
  expect(await served.exited).toBe(0);
});
