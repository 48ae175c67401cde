/**
 * The single-thread check of stage 1 (docs/ARCHITECTURE.md, "One thread for a
 * user namespace"): unshare(CLONE_NEWUSER) fails with a bare EINVAL in a
 * multi-threaded process. Stage 1 counts its threads first and says why. Measured on the real init bundle:
 *   - started *without* the environment of runtime/bundle.ts, Bun runs helper
 *     threads (counted in /proc/PID/task while stage 1 blocks reading its plan),
 *     and a plan with `user` gets the error that names the thread count;
 *   - with SINGLE_THREAD_ENV, the same stage 1 has one thread and the same plan
 *     gets "unshared", in a new user namespace. This is also the canary of an
 *     engine upgrade that starts threads: it fails loudly here.
 */
import { afterEach, describe, expect } from "bun:test";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { closeFd, socketpair } from "../../native/index.ts";
import { ensureInitBundle, SINGLE_THREAD_ENV } from "../../runtime/bundle.ts";
import { AsyncChannel } from "../../runtime/channel/stream.ts";
import { PROTOCOL, type StageMessage } from "../../runtime/channel/messages.ts";
import { itest } from "../integration/host-state.ts";

/** read(2)'s number, to see in /proc/PID/syscall that stage 1 blocks reading its plan. */
const SYS_READ = process.arch === "arm64" ? 63 : 0;

interface Stage1 {
  proc: ReturnType<typeof Bun.spawn>;
  channel: AsyncChannel<StageMessage>;
  fd: number;
}

const started: Stage1[] = [];

afterEach(async () => {
  for (const s of started.splice(0)) {
    s.proc.kill("SIGKILL");
    await s.proc.exited;
    s.channel.cancel();
    closeFd(s.fd);
  }
});

/** Start the bundle's stage 1 with fd 3 one end of a socketpair, as runtime/host.ts does, but with the given environment. */
async function startStage1(singleThreadEnv: boolean): Promise<Stage1> {
  const bundle = await ensureInitBundle();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !(k in SINGLE_THREAD_ENV)) env[k] = v;
  if (singleThreadEnv) Object.assign(env, SINGLE_THREAD_ENV);
  const [mine, theirs] = socketpair();
  const proc = Bun.spawn({ cmd: [process.execPath, bundle, "stage1"], stdio: ["ignore", "inherit", "inherit", theirs], env });
  closeFd(theirs);
  const s = { proc, channel: new AsyncChannel<StageMessage>(mine), fd: mine };
  started.push(s);
  await blockedReadingFd3(proc.pid);
  return s;
}

/** Wait until the process sits in read(3, ...): Bun has started and stage 1 waits for its plan. */
async function blockedReadingFd3(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const fields = readFileSync(`/proc/${pid}/syscall`, "utf8").trim().split(" ");
    if (Number(fields[0]) === SYS_READ && fields[1] === "0x3") return;
    await Bun.sleep(25);
  }
  throw new Error(`stage 1 (pid ${pid}) never blocked reading fd 3: ${readFileSync(`/proc/${pid}/syscall`, "utf8")}`);
}

function threads(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

const PLAN = { t: "plan", v: PROTOCOL, namespaces: ["user", "uts"], trace: false, pdeathsig: false };

describe("stage 1 and unshare(CLONE_NEWUSER): one thread, or an error that says why", () => {
  itest("without the single-thread environment Bun runs helper threads, and the plan gets an error naming the thread count", async () => {
    const s = await startStage1(false);
    const before = threads(s.proc.pid);
    expect(before).toBeGreaterThan(1);
    s.channel.send(PLAN as never);
    const reply = await s.channel.next();
    expect(reply?.t).toBe("error");
    const error = (reply as Extract<StageMessage, { t: "error" }>).error;
    expect(error.message).toContain("needs a single-threaded process");
    const m = /stage 1 has (\d+) threads/.exec(error.message);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(1);
    expect(error.hint).toBeTruthy();
    // Stage 1 gives up: it exits 125 (the host reports the error above).
    expect(await s.proc.exited).toBe(125);
  });

  itest("with SINGLE_THREAD_ENV (runtime/bundle.ts) stage 1 has one thread, and the same plan gets `unshared` in a new user namespace", async () => {
    const s = await startStage1(true);
    expect(threads(s.proc.pid)).toBe(1);
    const hostUserNs = readlinkSync("/proc/self/ns/user");
    const hostUtsNs = readlinkSync("/proc/self/ns/uts");
    s.channel.send(PLAN as never);
    const reply = await s.channel.next();
    expect(reply).toEqual({ t: "unshared", pid: s.proc.pid });
    expect(readlinkSync(`/proc/${s.proc.pid}/ns/user`)).not.toBe(hostUserNs);
    expect(readlinkSync(`/proc/${s.proc.pid}/ns/uts`)).not.toBe(hostUtsNs);
  });

  itest("the check is specific to user namespaces: the multi-threaded stage 1 still unshares uts alone (per-thread unshare)", async () => {
    const s = await startStage1(false);
    expect(threads(s.proc.pid)).toBeGreaterThan(1);
    s.channel.send({ ...PLAN, namespaces: ["uts"] } as never);
    expect(await s.channel.next()).toEqual({ t: "unshared", pid: s.proc.pid });
  });
});
