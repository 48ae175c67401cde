// `net lo up|down` on the real kernel: PID 1's RTM_NEWLINK reaches the container's
// network namespace and only it. ping and ip are the host's (no `rootfs`: the default
// rootfs has neither); the network namespace is the container's all the same.
// The host's links, addresses and routes are compared before and after each test.

import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { CTR, type CtrResult, example, itest, IS_ROOT, onHost } from "./host-state.ts";
import { ctrAsUser, freshenBundle, rootlessSkipReason, skipping, userDir } from "../userns/helpers.ts";

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
async function netRun(script: string, check: (r: CtrResult) => void, flags: string[] = []): Promise<void> {
  const before = hostNet();
  await onHost(async (h) => check(await h.ctr([...flags, "-e", script])));
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

// `net veth` and `net bridge`: the host's end is made by ctr on the host; only 169.254.0.0/16,
// on links the test's containers made. netRun compares the host's tables before and after.
const VETH = "ns net, mnt, pid\nnet lo up\nnet veth host=169.254.71.1/30 ctr=169.254.71.2/30 host_name=ctrtest71\nnet route default via=169.254.71.1";

/** The host's links, until `gone` holds or 3 s pass (a dead namespace's links go asynchronously). */
async function hostLinksUntil(gone: (links: string) => boolean): Promise<string> {
  let links = "";
  for (let i = 0; i < 60; i++) {
    links = spawnSync("ip", ["-o", "link"], { encoding: "utf8" }).stdout;
    if (gone(links)) break;
    await Bun.sleep(50);
  }
  return links;
}

async function waitForText(stream: ReadableStream<Uint8Array>, text: string): Promise<string> {
  let seen = "";
  const reader = stream.getReader();
  while (!seen.includes(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return seen;
}

describe("net veth", () => {
  ntest("container -> host and host -> container ping over a veth pair; the host end goes at the end", async () => {
    const before = hostNet();
    await onHost(async (h) => {
      const proc = h.spawn(["-e", `${VETH}\nrun ping -c1 -W1 169.254.71.1\nrun ip -o addr show eth0\nrun ip route\necho ready\nrun sleep 2`]);
      const out = await waitForText(proc.stdout, "ready");
      expect(out).toContain("1 packets transmitted, 1 received");
      expect(out).toMatch(/^2: eth0 +inet 169\.254\.71\.2\/30 /m);
      expect(out).toContain("default via 169.254.71.1 dev eth0");
      const link = spawnSync("ip", ["-o", "link", "show", "ctrtest71"], { encoding: "utf8" }).stdout;
      expect(link).toContain("alias ctr ctr-");
      const ping = spawnSync("ping", ["-c1", "-W1", "169.254.71.2"], { encoding: "utf8" });
      expect(ping.stdout).toContain("1 packets transmitted, 1 received");
      expect(await proc.exited).toBe(0);
    });
    expect(hostNet()).toBe(before);
  });

  ntest("a host link name that is taken, an address the host has, a bridge name of another kind: refused by ctr check and the run, before anything is made", async () => {
    // The test's own veth pair (no dummy driver here) holds the address and the names.
    expect(spawnSync("sh", ["-c", "ip link add ctrtestd72 type veth peer name ctrtestd72p && ip addr add 169.254.72.2/30 dev ctrtestd72"]).status).toBe(0);
    const script = "ns net, mnt, pid\nnet veth host=169.254.72.1/30 ctr=169.254.72.2/30\nnet veth host=169.254.76.1/30 ctr=169.254.76.2/30 host_name=ctrtestd72 name=eth1\nnet bridge ctrtestd72p ctr=169.254.77.2/24 name=eth2\nrun true";
    const refusals = [
      "-e:2:35: error: the address 169.254.72.2 is in use on the host already (169.254.72.2/30 on its link \"ctrtestd72\")",
      "help: choose an address of a network the host does not use",
      '-e:3:61: error: the host has a link named "ctrtestd72" already',
      "help: choose another host_name=",
      '-e:4:12: error: the host\'s link "ctrtestd72p" is not a bridge (its kind is veth)',
      "help: name a bridge, or a name the host does not use",
    ];
    try {
      await netRun(script, (r) => {
        expect(r.code).toBe(2); // the checker's: nothing was started
        for (const line of refusals) expect(r.stderr).toContain(line);
      });
      const before = hostNet();
      await onHost(async (h) => {
        const r = await h.ctr(["check", "-e", script]);
        expect(r.code).toBe(2);
        for (const line of refusals) expect(r.stderr).toContain(line);
      });
      expect(hostNet()).toBe(before);
    } finally {
      spawnSync("ip", ["link", "del", "ctrtestd72"]);
    }
  });

  ntest("a plan from the cache skips the checker: the run's pre-flight refuses the address before unshare, and nothing is made", async () => {
    const cache = mkdtempSync("/tmp/ctr-it-plans-");
    const script = "ns net, mnt, pid\nnet veth host=169.254.78.1/30 ctr=169.254.78.2/30 host_name=ctrtest78\nrun true";
    try {
      await onHost(async (h) => {
        expect((await h.ctr(["-e", script], { env: { XDG_CACHE_HOME: cache } })).code).toBe(0); // the plan is cached
        expect(spawnSync("sh", ["-c", "ip link add ctrtestd78 type veth peer name ctrtestd78p && ip addr add 169.254.78.1/30 dev ctrtestd78"]).status).toBe(0);
        const before = hostNet();
        const r = await h.ctr(["--trace", "-e", script], { env: { XDG_CACHE_HOME: cache } });
        expect(r.code).toBe(125);
        expect(r.stderr).toContain('-e:2:1: error: the address 169.254.78.1 is in use on the host already (169.254.78.1/30 on its link "ctrtestd78")');
        expect(r.stderr).not.toContain("unshare("); // stage 1 never unshared
        expect(r.stderr.match(/^\[host\] rtnetlink RTM_\w+/gm)).toEqual(["[host] rtnetlink RTM_GETLINK", "[host] rtnetlink RTM_GETADDR"]); // only the two dumps were sent
        expect(r.stderr).toContain("[host] rtnetlink RTM_GETADDR family=AF_INET prefixlen=0 (NLM_F_REQUEST|NLM_F_DUMP) = ");
        expect(hostNet()).toBe(before);
      });
    } finally {
      spawnSync("ip", ["link", "del", "ctrtestd78"]);
      rmSync(cache, { recursive: true, force: true });
    }
  });

  ntest("SIGKILL of ctr while the container runs: the host end, its address and route go with the namespace", async () => {
    const before = hostNet();
    await onHost(async (h) => {
      const proc = h.spawn(["-e", `${VETH}\necho ready\nrun sleep 30`]);
      await waitForText(proc.stdout, "ready");
      expect(spawnSync("ip", ["-o", "link", "show", "ctrtest71"]).status).toBe(0);
      proc.kill("SIGKILL");
      expect(await proc.exited).toBe(137);
      await hostLinksUntil((l) => !l.includes("ctrtest71"));
      expect((await h.ctr(["-e", "ns uts, mnt, pid\nrun true"])).code).toBe(0); // sweeps the state directory
    });
    expect(hostNet()).toBe(before);
  });

  test.skipIf(skipping(rootlessSkipReason()))("without root, net veth is refused, naming what rootless tools use", () =>
    onHost(async (h) => {
      await freshenBundle(h);
      const r = await ctrAsUser(h, ["-e", "ns user, net\nnet veth host=169.254.73.1/30 ctr=169.254.73.2/30\nrun true"], { home: userDir(h) });
      expect(r.stderr).toContain("-e:2:1: error: `net veth` needs root");
      expect(r.stderr).toContain("slirp4netns or pasta");
      expect(r.code).toBe(125);
    }),
  );
});

describe("net bridge", () => {
  const BR = (n: number, cmd: string) => `ns net, mnt, pid\nnet bridge ctrtestbr74 ctr=169.254.74.${n}/24 addr=169.254.74.1/24\nrun ping -c1 -W1 169.254.74.1\necho ready\nrun sh -c "${cmd}"`;

  ntest("two containers on one bridge ping each other; the bridge ctr made goes when the last one leaves", async () => {
    const before = hostNet();
    await onHost(async (h) => {
      const first = h.spawn(["-e", BR(2, "sleep 3")]);
      expect(await waitForText(first.stdout, "ready")).toContain("1 received");
      const second = await h.ctr(["-e", BR(3, "ping -c1 -W1 169.254.74.2")]);
      expect(second.stderr).toBe("");
      expect(second.code).toBe(0);
      expect(second.stdout.match(/1 received/g)).toHaveLength(2);
      // The first container still uses the bridge: the second's end did not take it away.
      expect(spawnSync("ip", ["-o", "link", "show", "ctrtestbr74"]).status).toBe(0);
      expect(await first.exited).toBe(0);
    });
    expect(hostNet()).toBe(before);
  });

  ntest("a bridge that existed before is used and left alone", async () => {
    const before = hostNet();
    expect(spawnSync("ip", ["link", "add", "ctrtestbr75", "type", "bridge"]).status).toBe(0);
    try {
      await onHost(async (h) => {
        const r = await h.ctr(["-e", "ns net, mnt, pid\nnet bridge ctrtestbr75 ctr=169.254.75.2/24\nrun ip -o addr show eth0"]);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("169.254.75.2/24");
      });
      expect(spawnSync("ip", ["-o", "link", "show", "ctrtestbr75"], { encoding: "utf8" }).stdout).toContain("ctrtestbr75");
    } finally {
      spawnSync("ip", ["link", "del", "ctrtestbr75"]);
    }
    expect(hostNet()).toBe(before);
  });

  /**
   * A detached container on the bridge ctrtestbrN that ctr makes, running `cmd`; `fn` gets `state`
   * (its record's status and supervisor) and `stopped` (the status, once it is not "running"). The
   * container and the bridge are removed whatever happens; the host's tables are as before.
   */
  async function detachedOnBridge(n: number, cmd: string, fn: (state: () => Promise<{ status: string; supervisor: { pid: number } | null }>, stopped: () => Promise<string>) => Promise<void>): Promise<void> {
    const before = hostNet();
    const name = `net-detached-${n}-${process.pid}`;
    try {
      await onHost(async (h) => {
        const r = await h.ctr(["-d", "--name", name, "-e", `ns net, pid, mnt\nnet bridge ctrtestbr${n} ctr=169.254.${n}.2/24 addr=169.254.${n}.1/24\nexec ${cmd}`]);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
        const state = async () => JSON.parse((await h.ctr(["inspect", name])).stdout) as { status: string; supervisor: { pid: number } | null };
        const stopped = async () => {
          let status = "running";
          for (let i = 0; i < 200 && status === "running"; i++) {
            await Bun.sleep(50);
            status = (await state()).status;
          }
          return status;
        };
        await fn(state, stopped);
        expect((await h.ctr(["rm", name])).code).toBe(0);
      });
    } finally {
      spawnSync(CTR, ["rm", "-f", name]);
      spawnSync("ip", ["link", "del", `ctrtestbr${n}`]);
    }
    expect(hostNet()).toBe(before);
  }

  ntest("a detached container (ctr -d, ns pid, exec) on a bridge ctr made: the bridge goes when the container ends", () =>
    // Not adopted by the shared monitor, which removes no links: its supervisor tears it down (features/lifecycle/adopt.ts).
    detachedOnBridge(76, "sleep 0.5", async (_state, stopped) => {
      expect(await stopped()).toBe("stopped");
      expect(spawnSync("ip", ["link", "show", "ctrtestbr76"]).status).not.toBe(0);
    }),
  );

  ntest("SIGKILL of a detached container's supervisor: its bridge is removed with its directory (by the monitor, or the sweep of the next ctr command)", () =>
    detachedOnBridge(77, "sleep 30", async (state, stopped) => {
      expect(spawnSync("ip", ["link", "show", "ctrtestbr77"]).status).toBe(0);
      process.kill((await state()).supervisor!.pid, "SIGKILL"); // a process this test's ctr started
      expect(await stopped()).toBe("stopped");
      await hostLinksUntil((l) => !l.includes("ctrtestbr77"));
      expect(spawnSync("ip", ["link", "show", "ctrtestbr77"]).status).not.toBe(0);
    }),
  );

  ntest("SIGKILL of ctr: the next ctr removes the bridge it made", async () => {
    const before = hostNet();
    await onHost(async (h) => {
      const proc = h.spawn(["-e", BR(2, "sleep 30")]);
      await waitForText(proc.stdout, "ready");
      proc.kill("SIGKILL");
      expect(await proc.exited).toBe(137);
      await hostLinksUntil((l) => !/ctrtestbr74|alias ctr ctr-/.test(l.replace(/ctrtestbr74:.*\n/, "")));
      expect(spawnSync("ip", ["-o", "link", "show", "ctrtestbr74"]).status).toBe(0); // left by the killed ctr
      expect((await h.ctr(["-e", "ns uts, mnt, pid\nrun true"])).code).toBe(0);
    });
    expect(hostNet()).toBe(before);
  });
});

// The walkthrough's network chapter: the example runs to the end (its `expect`s: lo up,
// eth0 addressed, ping container -> host and host -> container), the host unchanged.
describe("examples/10-net.ctr", () => {
  ntest("veth to the host, ping both ways, its self-checks pass; the host's tables are as before", async () => {
    const before = hostNet();
    await onHost(async (h) => {
      const r = await h.ctr([example("10-net.ctr"), "ip", "-o", "-4", "addr", "show", "eth0"]);
      expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
      expect(r.stdout.match(/1 packets transmitted, 1 received/g)?.length).toBe(3);
      expect(r.stdout).toContain("PING 169.254.1.2");
      expect(r.stdout).toMatch(/^  \d+ +eth0 +UP,LOWER_UP +veth +#\d+, another namespace$/m); // show net
      expect(r.stdout).toMatch(/^  v\w+ +169\.254\.1\.1\/30$/m); // its host half: the host end's address
    });
    expect(hostNet()).toBe(before);
  });
});

describe("show net", () => {
  ntest("the container's links, addresses and routes from PID 1's dumps, next to the host's end from ctr's, each end naming the other's index", () =>
    netRun(`${VETH}\nshow net\nrun ip -o link show\nrun readlink /proc/self/ns/net`, (r) => {
      expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
      const show = r.stdout.slice(0, r.stdout.indexOf("1: lo:"));
      const [inside, host] = show.split(/^host: /m) as [string, string];
      const ns = /^net:\[\d+\]$/m.exec(r.stdout)![0];
      expect(inside).toStartWith(`container: PID 1's network namespace ${ns}\n`);
      expect(inside).toMatch(/^links \(RTM_GETLINK\):\n  index +link +state +kind +peer\n  1 +lo +UP,LOWER_UP +loopback +-\n  \d+ +eth0 +UP,LOWER_UP +veth +#\d+, another namespace\n/m);
      expect(inside).toMatch(/^addresses \(RTM_GETADDR, IPv4\):\n  link +address\n  lo +127\.0\.0\.1\/8\n  eth0 +169\.254\.71\.2\/30\n/m);
      expect(inside).toMatch(/^  default +169\.254\.71\.1 +eth0 +global$/m);
      expect(inside).toMatch(/^  169\.254\.71\.0\/30 +- +eth0 +link$/m);
      // The host's half: ctr's namespace (not the container's), the host end with its address and alias.
      const hostNs = spawnSync("readlink", ["/proc/self/ns/net"], { encoding: "utf8" }).stdout.trim();
      expect(hostNs).not.toBe(ns);
      expect(host).toStartWith(`ctr's network namespace ${hostNs}, this container's links there\n`);
      const end = /^  (\d+) +ctrtest71 +UP,LOWER_UP +veth +- +#(\d+), another namespace +ctr ctr-\S+$/m.exec(host);
      expect(end).not.toBeNull();
      expect(host).toMatch(/^  ctrtest71 +169\.254\.71\.1\/30$/m);
      // Each end names the other: eth0's peer is the host end's index, the host end's peer eth0's.
      const eth0 = /^  (\d+) +eth0 .*#(\d+), another namespace$/m.exec(inside)!;
      expect([eth0[2], end![2]]).toEqual([end![1], eth0[1]]);
      // The same links as ip's view of the container's namespace, and no more.
      const ipLinks = [...r.stdout.matchAll(/^\d+: ([^:@]+)[@:]/gm)].map((m) => m[1]);
      const shown = [...inside.split("addresses")[0]!.matchAll(/^  \d+ +(\S+)/gm)].map((m) => m[1]);
      expect(shown).toEqual(ipLinks);
    }),
  );

  ntest("without ns net, PID 1 is in the host's namespace: show net lists the host's links as ip does, and says so", () =>
    netRun("ns uts\nshow net\nrun ip -o link show", (r) => {
      expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
      const show = r.stdout.slice(0, r.stdout.search(/^1: lo:/m));
      const ipLinks = [...r.stdout.slice(show.length).matchAll(/^\d+: ([^:@]+)[@:]/gm)].map((m) => m[1]);
      const shown = [...show.split("addresses")[0]!.matchAll(/^  \d+ +(\S+)/gm)].map((m) => m[1]);
      expect(shown).toEqual(ipLinks);
      expect(show).toContain("host: PID 1 is in ctr's network namespace (no `ns net`): the links above are the host's\n");
    }),
  );
});

describe("--trace", () => {
  ntest("each rtnetlink request as sent with the kernel's answer: the host's by ctr, the container's by PID 1, a refusal with the kernel's text", () =>
    netRun(`${VETH}\nnet route 169.254.95.0/24 via=169.254.200.1\nrun true`, (r) => {
      expect(r.code).toBe(125);
      const t = r.stderr;
      expect(t).toContain("[host] rtnetlink RTM_GETLINK (NLM_F_REQUEST|NLM_F_DUMP) = "); // the pre-flight
      expect(t).toMatch(/^\[host\] rtnetlink RTM_NEWLINK ifname="ctrtest71" kind=veth peer=\{ifname="eth0" net_ns_pid=\d+\} \(NLM_F_REQUEST\|NLM_F_ACK\|NLM_F_CREATE\|NLM_F_EXCL\) = ACK \(/m);
      expect(t).toMatch(/^\[host\] rtnetlink RTM_NEWADDR family=AF_INET prefixlen=30 index=\d+ local=169\.254\.71\.1 address=169\.254\.71\.1 .* = ACK /m);
      expect(t).toMatch(/^\[stage 2\] rtnetlink RTM_NEWLINK flags=IFF_UP change=IFF_UP ifname="lo" \(NLM_F_REQUEST\|NLM_F_ACK\) = ACK /m);
      expect(t).toMatch(/^\[stage 2\] rtnetlink RTM_GETLINK ifname="eth0" \(NLM_F_REQUEST\) = RTM_NEWLINK index=\d+ .*ifname="eth0" .*kind=veth/m);
      expect(t).toMatch(/^\[stage 2\] rtnetlink RTM_NEWROUTE family=AF_INET dst=169\.254\.95\.0\/24 gateway=169\.254\.200\.1 .* = -1 ENETUNREACH \(network is unreachable\): Nexthop has invalid gateway /m);
      // The teardown looks the host end up: gone with the namespace already (ENODEV), or deleted.
      const teardown = t.slice(t.indexOf("error: rtnetlink RTM_NEWROUTE"));
      expect(teardown).toMatch(/^\[host\] rtnetlink RTM_GETLINK ifname="ctrtest71" \(NLM_F_REQUEST\) = (-1 ENODEV \(no such device\)|RTM_NEWLINK .*\n\[host\] rtnetlink RTM_DELLINK ifname="ctrtest71" \(NLM_F_REQUEST\|NLM_F_ACK\) = ACK) /m);
      expect(t).toContain("error: rtnetlink RTM_NEWROUTE 169.254.95.0/24: ENETUNREACH (network is unreachable): Nexthop has invalid gateway");
      expect(t).not.toMatch(/\] (send|recv)\(/); // the socket's calls are the exchange's line
    }, ["--trace"]),
  );
});

describe("the sweep", () => {
  ntest("what a killed ctr's net file names is removed by the next run, its directory too; a bridge of ctr's that no file names, an unmarked one and one with a port stay", async () => {
    // A ctr SIGKILLed while it tore down: its directory holds net.leaving (runtime/features/net/host.ts), its owner's PID is gone.
    const dead = spawnSync("true").pid;
    const dir = `/run/ctr/ctr-sweeptest-${dead}`;
    const make = [
      "ip link add ctrtestbr79 type bridge && ip link set ctrtestbr79 alias 'ctr bridge'", // the killed ctr's
      "ip link add ctrtestbr82 type bridge && ip link set ctrtestbr82 alias 'ctr bridge'", // no file names it
      "ip link add ctrtestbr80 type bridge", // not ctr's
      "ip link add ctrtestbr81 type bridge && ip link set ctrtestbr81 alias 'ctr bridge' && ip link add ctrtestd81 type veth peer name ctrtestd81p && ip link set ctrtestd81 master ctrtestbr81",
    ];
    const before = hostNet();
    const rootExisted = existsSync("/run/ctr");
    try {
      expect(spawnSync("sh", ["-c", make.join(" && ")]).status).toBe(0);
      mkdirSync(dir, { recursive: true, mode: 0o711 });
      chmodSync("/run/ctr", 0o711);
      writeFileSync(`${dir}/.ctr-state`, `ctr-sweeptest-${dead}\n`, { mode: 0o600 }); // runtime/statedir.ts MARKER
      writeFileSync(`${dir}/net.leaving`, "veth ctrtestv79\nbridge ctrtestbr79\nbridge ctrtestbr81\n", { mode: 0o600 });
      await onHost(async (h) => expect((await h.ctr(["-e", "ns uts\nrun true"])).code).toBe(0));
      expect(spawnSync("ip", ["link", "show", "ctrtestbr79"]).status).not.toBe(0);
      expect(existsSync(dir)).toBe(false);
      for (const kept of ["ctrtestbr82", "ctrtestbr80", "ctrtestbr81"]) expect(spawnSync("ip", ["link", "show", kept]).status).toBe(0);
    } finally {
      for (const l of ["ctrtestbr79", "ctrtestbr82", "ctrtestbr80", "ctrtestd81", "ctrtestbr81"]) spawnSync("ip", ["link", "del", l]);
      rmSync(dir, { recursive: true, force: true });
      if (!rootExisted && existsSync("/run/ctr")) {
        try {
          rmdirSync("/run/ctr"); // only if empty: another test's container may be there
        } catch {
          // not empty
        }
      }
    }
    expect(hostNet()).toBe(before);
  });
});

// The bridge example started twice (N=2 waits for a file, N=3 pings it); the bridge goes with the last one.
describe("examples/10-bridge.ctr", () => {
  ntest("two runs on ctrbr10 reach the bridge and each other; the bridge is removed after the last; the host's tables are as before", async () => {
    const before = hostNet();
    const flag = `/tmp/ctr-it-bridge-${process.pid}`;
    try {
      await onHost(async (h) => {
        const first = h.spawn([example("10-bridge.ctr"), "sh", "-c", `echo ready; while [ ! -e ${flag} ]; do sleep 0.1; done`], { env: { N: "2" } });
        const seen = await waitForText(first.stdout, "ready");
        expect(seen).toMatch(/^  eth0 +169\.254\.10\.2\/24$/m); // its show net
        const second = await h.ctr([example("10-bridge.ctr"), "ping", "-c1", "-W2", "169.254.10.2"], { env: { N: "3" } });
        expect({ code: second.code, err: second.stderr }).toEqual({ code: 0, err: "" });
        expect(second.stdout).toContain("PING 169.254.10.2");
        expect(second.stdout.match(/1 packets transmitted, 1 received/g)?.length).toBe(2);
        expect(spawnSync("ip", ["-o", "link", "show", "ctrbr10"]).status).toBe(0); // the first still uses it
        spawnSync("touch", [flag]);
        expect(await first.exited).toBe(0);
      });
      expect(spawnSync("ip", ["-o", "link", "show", "ctrbr10"]).status).not.toBe(0);
    } finally {
      spawnSync("rm", ["-f", flag]);
    }
    expect(hostNet()).toBe(before);
  });
});
