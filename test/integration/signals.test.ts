/**
 * Signals: SIGTERM, SIGINT and SIGHUP sent to `ctr` reach PID 1; the exit status
 * is 128+N when the command dies of signal N; and SIGKILL of ctr itself leaves
 * no container process behind (every stage dies with its parent through
 * PR_SET_PDEATHSIG; with `ns pid`, the namespace dies with its PID 1).
 */
import { describe, expect } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { alive, children, example, Host, itest, onHost } from "./host-state.ts";

/** Read a process's stdout until `text` appears; returns everything read so far. */
async function waitFor(stream: ReadableStream<Uint8Array>, text: string, timeoutMs = 10_000): Promise<{ seen: string; rest: () => Promise<string> }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  const deadline = Date.now() + timeoutMs;
  while (!seen.includes(text)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(seen)}`);
    const chunk = await Promise.race([reader.read(), Bun.sleep(left).then(() => null)]);
    if (chunk === null) continue;
    if (chunk.done) throw new Error(`output ended before ${JSON.stringify(text)}; got ${JSON.stringify(seen)}`);
    seen += decoder.decode(chunk.value, { stream: true });
  }
  const rest = async () => {
    let more = "";
    for (;;) {
      const c = await reader.read();
      if (c.done) return seen + more;
      more += decoder.decode(c.value, { stream: true });
    }
  };
  return { seen, rest };
}

/** Host PIDs of processes whose command line is exactly `cmd`. */
function pidsOf(cmd: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ") === cmd) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** pidsOf, polled until `count` such processes exist (a shell may print before its children exec). */
async function awaitPids(cmds: string[], count: number): Promise<number[]> {
  let found: number[] = [];
  for (let i = 0; i < 100; i++) {
    found = cmds.flatMap(pidsOf);
    if (found.length >= count) return found;
    await Bun.sleep(20);
  }
  return found;
}


const SIGNALS = [
  ["SIGTERM", 15],
  ["SIGINT", 2],
  ["SIGHUP", 1],
] as const;

describe("signals sent to ctr", () => {
  for (const [sig, n] of SIGNALS) {
    itest(`${sig} reaches PID 1 (a shell trapping it) in a PID namespace`, () =>
      onHost(async (h) => {
        const name = sig.slice(3);
        const sh = `trap 'echo "got ${name} as PID $$"; exit ${n + 100}' ${name}; echo ready; while :; do sleep 0.05; done`;
        const proc = h.spawn([example("05-mount.ctr"), "sh", "-c", sh]);
        const out = await waitFor(proc.stdout, "ready");
        proc.kill(sig);
        const all = await out.rest();
        expect(await proc.exited).toBe(n + 100);
        expect(all).toContain(`got ${name} as PID 1`);
      }),
    );

    itest(`${sig}: the exit status is 128+${n} when the command dies of it`, () =>
      onHost(async (h) => {
        // No PID namespace: the command is not a namespace's init, so the
        // signal's default action (terminate) applies.
        const proc = h.spawn([example("02-uts.ctr"), "sh", "-c", "echo ready; exec sleep 30"]);
        const out = await waitFor(proc.stdout, "ready");
        proc.kill(sig);
        await out.rest();
        expect(await proc.exited).toBe(128 + n);
      }),
    );
  }

  itest("SIGTERM during a `run` (PID 1 is still ctr's init) ends the container with 143", () =>
    onHost(async (h) => {
      // A sleep of its own length: another test's `sleep 30`, still dying, is not this one.
      const proc = h.spawn(["-e", "ns uts, pid, mnt\nmount proc\nrun sh -c 'echo ready; sleep 30.25'\nexec true"]);
      const out = await waitFor(proc.stdout, "ready");
      const sleeper = await awaitPids(["sleep 30.25"], 1);
      expect(sleeper).toHaveLength(1);
      proc.kill("SIGTERM");
      await out.rest();
      expect(await proc.exited).toBe(143);
      for (const pid of sleeper) expect(alive(pid)).toBe(false);
    }),
  );
});

describe("SIGKILL of ctr itself", () => {
  itest("leaves no container process behind, and the next ctr sweeps its state directory", () =>
    onHost(async (h) => {
      const proc = h.spawn([example("06-rootfs.ctr"), "sh", "-c", "sleep 300 & sleep 301 & echo ready; wait"]);
      await waitFor(proc.stdout, "ready");
      const inside = await awaitPids(["sleep 300", "sleep 301", "sh -c sleep 300 & sleep 301 & echo ready; wait"], 3);
      expect(inside).toHaveLength(3);
      proc.kill("SIGKILL");
      expect(await proc.exited).toBe(137);
      for (let i = 0; i < 40 && inside.some(alive); i++) await Bun.sleep(50);
      expect(inside.filter(alive)).toEqual([]);
      // ctr had no chance to remove /run/ctr/ID: the next container run does.
      // (06 has a rootfs, so it also removes /run/ctr itself once empty.)
      const next = await h.ctr([example("06-rootfs.ctr"), "true"]);
      expect(next.code).toBe(0);
    }),
  );

  itest("during setup, before the command started: no stage is left", () =>
    onHost(async (h) => {
      for (const delay of [20, 60, 120]) {
        const proc = h.spawn([example("06-rootfs.ctr"), "sleep", "30"]);
        await Bun.sleep(delay);
        proc.kill("SIGKILL");
        const code = await Promise.race([proc.exited, Bun.sleep(5000).then(() => "hung")]);
        if (code === "hung") console.log(`ctr ${proc.pid} did not end 5 s after SIGKILL (at ${delay} ms); children: ${JSON.stringify(children())}`);
        expect(code).toBe(137);
      }
      // the stray check of onHost proves every stage died; the state
      // directories are swept by the next run
      expect((await h.ctr([example("06-rootfs.ctr"), "true"])).code).toBe(0);
    }),
  );
});

// Without `ns pid` nothing in the kernel collects the container's descendants
// when PID 1 ends. Stage 1 is a child subreaper: orphans are re-parented to it,
// and it kills them before it exits; it also watches the host through a pidfd,
// so a SIGKILLed ctr still takes its container down (runtime/init.ts).
describe("without ns pid", () => {
  itest("a background process of the command does not outlive ctr", async () => {
    const h = new Host();
    try {
      const r = await h.ctr([example("02-uts.ctr"), "sh", "-c", "sleep 30 >/dev/null 2>&1 & exit 0"]);
      expect(r.code).toBe(0);
      expect(await h.leftovers()).toEqual([]);
    } finally {
      for (const c of children()) process.kill(c.pid, "SIGKILL");
      await h.assertClean();
    }
  }, 20_000);

  itest("a `run` child does not outlive a SIGKILLed ctr", async () => {
    const h = new Host();
    try {
      const proc = h.spawn(["-e", "ns uts\nrun sh -c 'echo ready; exec sleep 31'"]);
      await waitFor(proc.stdout, "ready");
      proc.kill("SIGKILL");
      await proc.exited;
      expect(await h.leftovers()).toEqual([]);
    } finally {
      for (const c of children()) process.kill(c.pid, "SIGKILL");
      await h.assertClean();
    }
  }, 20_000);
});
