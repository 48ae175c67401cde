/**
 * The host does not trust its end of the control channel: a PID 1 that sends
 * an endless line, garbage, or messages of the wrong shape makes ctr stop with
 * "PID 1's channel was closed or corrupted" (status 125), quickly and in
 * bounded memory. The peer is a fake init stage (fake-peer.ts); nothing here
 * needs root or makes a container.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const DRIVER = join(import.meta.dir, "driver.ts");
const BROKEN = "ctr: PID 1's channel was closed or corrupted";

async function against(peer: string, env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; maxRssMiB: number }> {
  const proc = Bun.spawn({
    cmd: [process.execPath, DRIVER],
    env: { ...process.env, CTR_FAKE_PEER: peer, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  const kib = Number(/peak-rss-kib (\d+)/.exec(stdout)?.[1] ?? NaN);
  return { code: proc.signalCode ? null : code, stderr, maxRssMiB: kib / 1024 };
}

describe("a misbehaving peer on the control channel", () => {
  test("a well-behaved fake peer runs to the end (the control)", async () => {
    const r = await against("valid");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("a 300 MiB line without a newline is refused early, in bounded memory", async () => {
    const r = await against("long");
    expect(r.stderr).toBe(`${BROKEN}: a message longer than 16 MiB\n`);
    expect(r.code).toBe(125);
    expect(r.maxRssMiB).toBeLessThan(200);
  }, 20_000);

  test("the host refuses to send an operation larger than the peer accepts", async () => {
    const r = await against("valid", { CTR_FAKE_BIG_OP: "1" });
    expect(r.stderr).toBe("ctr: too large for PID 1's channel: 17.0 MiB, at most 16 MiB\n");
    expect(r.code).toBe(125);
  });

  const cases: [string, string][] = [
    ["garbage", 'a message that is not JSON: "this is not json"'],
    ["shape", "a message of an unexpected shape"],
    ["bad-result", 'a message of an unexpected shape: "{\\"t\\":\\"done\\"'],
    ["truncated", "it ended inside a message (19 bytes)"],
  ];
  for (const [peer, reason] of cases) {
    test(`${peer}: reported as a broken channel, status 125`, async () => {
      const r = await against(peer);
      expect(r.stderr.startsWith(`${BROKEN}: ${reason}`)).toBe(true);
      expect(r.stderr).not.toContain("JSON Parse error");
      expect(r.code).toBe(125);
    });
  }
});
