// `ctr exec` entering a rootless container itself (runtime/features/lifecycle/
// enter-here.ts) as uid 65534 (`ns user, pid`): no enter stage, the user
// namespace joined in ctr exec's own process (root inside); its status relayed,
// SIGTERM forwarded; ctr exec SIGKILLed: its guard (guard.ts), an ordinary
// user's process too, kills the command inside the user namespace; without a
// PID namespace, ctr exec becomes the command.
// test/integration/exec-here.test.ts has the root side.

import { describe, expect, test } from "bun:test";
import { chownSync } from "node:fs";
import { children, childrenOf, cmdline, CTR, onHost, REPO, type Host } from "../integration/host-state.ts";
import { waitpid, WNOHANG } from "../../native/index.ts";
import { ctrAsUser, freshenBundle, rootlessSkipReason, SETPRIV, skipping, USER, USERNS_BLOCKER, userDir } from "./helpers.ts";

const skip = skipping(rootlessSkipReason() ?? (USERNS_BLOCKER ? `this machine forbids unprivileged user namespaces (${USERNS_BLOCKER})` : null));

const SCRIPT = "ns user, uts, pid, mnt\nhostname rl-here\nrootfs default\nmount proc\nexec sleep 1000";


async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** ctr exec as the user, left running: its first line read. */
async function execAsUser(h: Host, home: string, args: string[]): Promise<{ proc: ReturnType<typeof Bun.spawn>; first: string }> {
  chownSync(h.tmp, USER, USER);
  const proc = Bun.spawn({
    cmd: [SETPRIV!, `--reuid=${USER}`, `--regid=${USER}`, "--clear-groups", CTR, "exec", ...args],
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TMPDIR: h.tmp, LANG: "C" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  h.pids.push(proc.pid);
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { proc, first: text.split("\n")[0]! };
}

describe("rootless ctr exec without its enter stage", () => {
  test.skipIf(skip)(
    "as uid 65534: root inside, status relayed, SIGTERM forwarded; SIGKILLed: the guard kills the command",
    () =>
      onHost(async (h) => {
        await freshenBundle(h);
        const home = userDir(h);
        const as = (args: string[]) => ctrAsUser(h, args, { home });
        const name = `rl-here-${process.pid}`;
        expect(await as(["-d", "--name", name, "-e", SCRIPT])).toMatchObject({ code: 0, stdout: `${name}\n`, stderr: "" });
        expect(await as(["exec", name, "sh", "-c", "hostname; id -u; exit 6"])).toMatchObject({ code: 6, stdout: "rl-here\n0\n", stderr: "" });
        // setpriv execs: the PID is ctr exec's own.
        const term = await execAsUser(h, home, [name, "sh", "-c", "trap 'exit 4' TERM; echo ready; while :; do sleep 0.05; done"]);
        expect(term.first).toBe("ready");
        const kids = childrenOf(term.proc.pid).map(cmdline);
        expect(kids.some((c) => c.includes("enter-init.js enter"))).toBe(false);
        expect(kids.filter((c) => c.startsWith("sh -c ns= pid=;"))).toHaveLength(1); // the guard, a shell while ctr exec lives
        term.proc.kill("SIGTERM");
        expect(await term.proc.exited).toBe(4);
        const killed = await execAsUser(h, home, [name, "sh", "-c", "echo ready; exec sleep 995"]);
        expect(killed.first).toBe("ready");
        killed.proc.kill("SIGKILL");
        await killed.proc.exited;
        // Re-parented to the test (a subreaper) and killed by the guard: reaped here.
        const gone = (what: string) => () => {
          for (const c of children()) if (c.state === "Z") waitpid(c.pid, WNOHANG);
          return !children().some((c) => c.cmd.includes(what));
        };
        await until("the exec'd sleep to be killed", gone("sleep 995"));
        await until("the guards to end", () => gone("enter-init.js guard")() && gone("sh -c ns= pid=;")());
        expect((await as(["rm", "-f", name])).code).toBe(0);
        // Without a PID namespace: ctr exec becomes the command, in the user namespace (its PID: setpriv execs).
        const np = `${name}-np`;
        expect(await as(["-d", "--name", np, "-e", "ns user, uts, mnt\nhostname rl-np\nexec sleep 1000"])).toMatchObject({ code: 0, stdout: `${np}\n` });
        const direct = await as(["exec", np, "sh", "-c", "echo $$; hostname; id -u; exit 4"]);
        expect(direct).toMatchObject({ code: 4, stdout: `${direct.pid}\nrl-np\n0\n`, stderr: "" });
        expect((await as(["rm", "-f", np])).code).toBe(0);
      }),
    60_000,
  );
});
