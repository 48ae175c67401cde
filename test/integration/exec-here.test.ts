// `ctr exec` entering the container itself (runtime/features/lifecycle/
// enter-here.ts), on the real kernel, as root: no enter stage; with a PID
// namespace, the command is its child and the guard (guard.ts) its only other
// one; signals to ctr exec reach the command, the exit status comes back;
// without a PID namespace, ctr exec becomes the command (same PID); standard
// input is /dev/null unless -i. And the guard's harder case: the process that
// spawned the command dies before it could write the command's PID (a SIGKILL
// between the spawn and the write): the guard finds the orphan and kills it.
// (test/integration/lifecycle.test.ts has ctr exec SIGKILLed during the exec.)
// Each test kills only processes it started itself (by PID).

import { describe, expect } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { children, childrenOf, cmdline, itest, onHost, REPO, type Host } from "./host-state.ts";
import { waitpid, WNOHANG } from "../../native/index.ts";
import { enterBundle, ensureInitBundle } from "../../runtime/bundle.ts";

let seq = 0;
const uniq = (what: string) => `it-${what}-${process.pid}-${seq++}`;

const WITH_PID_NS = "ns uts, pid, mnt, ipc\nhostname here-box\nrootfs default\nmount proc\nexec sleep 1000";
const WITHOUT_PID_NS = "ns uts, mnt\nhostname here-np\nexec sleep 1000";

async function detach(h: Host, name: string, script: string): Promise<{ pid1: { pid: number } }> {
  const r = await h.ctr(["-d", "--name", name, "-e", script]);
  expect(r).toMatchObject({ code: 0, stdout: `${name}\n`, stderr: "" });
  return JSON.parse((await h.ctr(["inspect", name])).stdout);
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}


/** A spawned ctr's stdout: its first line, then the rest once it ends. */
function output(p: { stdout: ReadableStream<Uint8Array> }) {
  const reader = p.stdout.getReader();
  let text = "";
  const more = async (): Promise<boolean> => {
    const { value, done } = await reader.read();
    if (!done) text += new TextDecoder().decode(value);
    return !done;
  };
  return {
    async first(): Promise<string> {
      while (!text.includes("\n") && (await more()));
      const line = text.split("\n")[0]!;
      text = text.slice(line.length + 1);
      return line;
    },
    async rest(): Promise<string> {
      while (await more());
      return text;
    },
  };
}

/** Reap what was re-parented to the test (a subreaper) and has ended; whether no child's command line holds `what` any more. */
const reapedAll = (what: string) => () => {
  for (const c of children()) if (c.state === "Z") waitpid(c.pid, WNOHANG);
  return !children().some((c) => c.cmd.includes(what));
};

describe("ctr exec without its enter stage", () => {
  itest("with a PID namespace: the command and the guard are its only children; SIGTERM reaches the command, its status comes back", () =>
    onHost(async (h) => {
      const name = uniq("here");
      await detach(h, name, WITH_PID_NS);
      const exec = h.spawn(["exec", name, "sh", "-c", "trap 'echo got-term; exit 5' TERM; echo ready; while :; do sleep 0.05; done"]);
      const out = output(exec);
      expect(await out.first()).toBe("ready");
      const kids = childrenOf(exec.pid).map(cmdline);
      expect(kids.some((c) => c.includes("enter-init.js enter"))).toBe(false); // no enter stage
      expect(kids.filter((c) => c.startsWith("sh -c ns= pid=;"))).toHaveLength(1); // the guard, a shell while ctr exec lives
      expect(kids.filter((c) => c.startsWith("sh -c trap"))).toHaveLength(1);
      exec.kill("SIGTERM");
      expect(await exec.exited).toBe(5);
      expect(await out.rest()).toBe("got-term\n");
      // A signal the command does not handle: 128+N, as a shell says.
      const slow = h.spawn(["exec", name, "sh", "-c", "echo ready; exec sleep 30"]);
      expect(await output(slow).first()).toBe("ready");
      slow.kill("SIGUSR1");
      expect(await slow.exited).toBe(128 + 10);
      expect(await h.ctr(["exec", name, "sh", "-c", "hostname; readlink /proc/self/fd/0; exit 9"])).toMatchObject({ code: 9, stdout: "here-box\n/dev/null\n" });
      expect(await h.ctr(["exec", "-i", name, "cat"], { stdin: "through -i\n" })).toMatchObject({ code: 0, stdout: "through -i\n" });
      await until("the guards to end", reapedAll("sh -c ns= pid=;"));
      expect((await h.ctr(["rm", "-f", name])).code).toBe(0);
    }),
  );

  itest("without a PID namespace: ctr exec becomes the command (its PID, its status, no guard)", () =>
    onHost(async (h) => {
      const name = uniq("herenp");
      await detach(h, name, WITHOUT_PID_NS);
      const exec = h.spawn(["exec", name, "sh", "-c", "echo $$; hostname; readlink /proc/self/fd/0; exit 3"]);
      expect(await exec.exited).toBe(3);
      expect(await new Response(exec.stdout).text()).toBe(`${exec.pid}\nhere-np\n/dev/null\n`);
      const slow = h.spawn(["exec", name, "sh", "-c", "echo ready; exec sleep 30"]);
      expect(await output(slow).first()).toBe("ready");
      await until("sh to execve sleep", () => cmdline(slow.pid) === "sleep 30 ");
      expect(childrenOf(slow.pid)).toEqual([]);
      slow.kill("SIGTERM");
      expect(await slow.exited).toBe(128 + 15);
      expect((await h.ctr(["rm", "-f", name])).code).toBe(0);
    }),
  );

  itest("the guard: its ctr exec killed between the spawn and the PID's line, the orphaned command is found and killed", () =>
    onHost(async (h) => {
      const name = uniq("orphan");
      const s = await detach(h, name, WITH_PID_NS);
      const pid1 = s.pid1.pid;
      // A stand-in for ctr exec that dies at the worst moment: the guard started, the
      // container's PID namespace said, the command spawned in it, no PID line.
      const fake = join(h.scratch(), "fake-exec.ts");
      writeFileSync(
        fake,
        `import { openSync } from "node:fs";
import { CLONE_NEWPID, O_CLOEXEC, open, O_RDWR, pipe2, setns, spawnProcess, write } from ${JSON.stringify(join(REPO, "native", "index.ts"))};
import { guardArgv } from ${JSON.stringify(join(REPO, "runtime", "features", "lifecycle", "guard.ts"))};
const [r, w] = pipe2(O_CLOEXEC);
const nul = open("/dev/null", O_RDWR | O_CLOEXEC);
const guard = spawnProcess("/bin/sh", guardArgv(process.execPath, ${JSON.stringify(enterBundle(await ensureInitBundle()))}, process.pid), [], { dup2: [[r, 3], [nul, 0], [nul, 1], [nul, 2]] });
setns(openSync("/proc/${pid1}/ns/pid", "r"), CLONE_NEWPID);
write(w, "ns ${statSync(`/proc/${pid1}/ns/pid`).ino}\\n");
const child = spawnProcess("/bin/sleep", ["sleep", "997"], []);
console.log(guard, child);
await Bun.sleep(300); // the guard is up and reading by now (not needed: what was written stays to be read)
process.kill(process.pid, "SIGKILL");
`,
      );
      const p = Bun.spawn({ cmd: [process.execPath, fake], stdout: "pipe", stderr: "pipe", env: { ...process.env, TMPDIR: h.tmp } });
      h.pids.push(p.pid);
      const [guard, command] = (await new Response(p.stdout).text()).trim().split(" ").map(Number);
      expect(await p.exited).not.toBe(0);
      expect(command).toBeGreaterThan(0);
      // The command is in the container's PID namespace, an orphan re-parented to the test (a subreaper).
      expect(statSync(`/proc/${command}/ns/pid`).ino).toBe(statSync(`/proc/${pid1}/ns/pid`).ino);
      await until("the orphaned sleep to be killed", reapedAll("sleep 997"));
      await until("the guard to end", () => reapedAll(`guard ${p.pid}`)() && reapedAll("sh -c ns= pid=;")());
      expect(guard).toBeGreaterThan(0);
      // PID 1 was not touched.
      expect(cmdline(pid1)).toBe("sleep 1000 ");
      expect((await h.ctr(["rm", "-f", name])).code).toBe(0);
    }),
  );
});
