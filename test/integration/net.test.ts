// `net lo up|down` on the real kernel: PID 1's RTM_NEWLINK reaches the container's
// network namespace and only it. ping and ip are the host's (no `rootfs`: the default
// rootfs has neither); the network namespace is the container's all the same.
// The host's links, addresses and routes are compared before and after each test.

import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { type CtrResult, itest, IS_ROOT, onHost } from "./host-state.ts";

const has = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const TOOLS = has("ping") && has("ip");
if (IS_ROOT && !TOOLS) console.log("skip: the net tests need ping and ip on the host (iputils-ping, iproute2)");
const ntest = TOOLS ? itest : (name: string, fn: () => Promise<void>) => test.skip(name, fn);

function hostNet(): string {
  const out = (args: string[]) => spawnSync("ip", args, { encoding: "utf8" }).stdout;
  // Counters and timers aside, these are the tables a stray change would show in.
  return [out(["-o", "link"]), out(["-o", "addr"]), out(["route"])].join("\n---\n");
}

/** Run `script` with ctr, `check` its result; then the host is as it was, its network tables too. */
async function netRun(script: string, check: (r: CtrResult) => void): Promise<void> {
  const before = hostNet();
  await onHost(async (h) => check(await h.ctr(["-e", script])));
  expect(hostNet()).toBe(before);
}

describe("net lo", () => {
  ntest("net lo up: 127.0.0.1 answers inside, lo is UP; the host's network is untouched", () =>
    netRun("ns net\nnet lo up\nrun ping -c1 -W1 127.0.0.1\nrun ip -o link show lo", (r) => {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("1 packets transmitted, 1 received");
      expect(r.stdout).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/m);
    }),
  );

  ntest("without net lo up, the new namespace's loopback is down and 127.0.0.1 is unreachable", () =>
    netRun("ns net\nrun ip -o link show lo\nrun ping -c1 -W1 127.0.0.1\nexpect exit 2", (r) => {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^1: lo: <LOOPBACK> .* state DOWN/m);
      expect(r.stdout).not.toContain("1 received");
    }),
  );

  // ping exits 1 here (sent, no answer: the local routes outlive IFF_UP), 2 above (no route).
  ntest("net lo down after up: IFF_UP cleared again, no answer from 127.0.0.1", () =>
    netRun("ns net\nnet lo up\nnet lo down\nrun ip -o link show lo\nrun ping -c1 -W1 127.0.0.1\nexpect exit 1", (r) => {
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("1 packets transmitted, 0 received");
      expect(r.stdout).toMatch(/^1: lo: <LOOPBACK> .* state DOWN/m);
    }),
  );

  ntest("net without ns net is refused before anything runs (exit 2)", () =>
    netRun("ns uts\nnet lo down\nrun true", (r) => {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("`net lo` needs `ns net`: without it, it would change the host's network");
    }),
  );
});
