#!/usr/bin/env bun
// Network set-up benchmark (issue 13): a veth pair with one end in a new network
// namespace, both ends addressed and up, loopback up inside, a command run there,
// everything removed again -- by ctr, by `ip` commands (`ip netns`), and by
// `unshare --net` + `ip`, alternating, in one run.
//
//   ctr      bin/ctr -e 'ns net / net lo up / net veth host=.1/30 ctr=.2/30 host_name=H / run true'
//   ctr-lo   the same without the veth line: ctr's own start-up, not in the ratios
//   ip       ip netns add; ip link add H type veth peer name eth0 netns NS; ip addr add,
//            ip link set up on both ends and lo (ip -n NS); ip netns exec NS true;
//            ip link del H; ip netns del NS
//   unshare  unshare --net sleep (the namespace's holder); ip link add ... netns PID;
//            the same addresses and links, inside through nsenter --net; nsenter ... true;
//            ip link del H; the holder killed by its pid
//
// Every peer's run is one process (ctr, or sh -c for the two scripts), timed from spawn
// to exit: set-up, the command, and teardown. Before the rounds, each peer is run once
// untimed with `ping` from inside to the host's end, to show its set-up really works.
// Only 169.254.0.0/16 addresses, only on links named ctrbench* that this script makes;
// `ip -o link`, `ip -o addr` and `ip -o route` are compared before and after, and the
// script fails when they differ. Cleanup (links, the named namespace, holders by pid)
// runs on every exit path: the end, an error, SIGINT/SIGTERM/SIGHUP.
//
// Usage: node_modules/.bin/bun bench/net.ts [--rounds N] [--warmup N] [--timeout MS] [--json]
// Needs root, ip (iproute2), ping (iputils-ping), unshare and nsenter (util-linux).

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BenchError, Cleanup, parseFlags, type RunResult, describeExit, diffLines, makeTempDir, removeTree, round, run, stats, timedRun } from "./lib.ts";

const REPO = resolve(import.meta.dir, "..");
const CTR = join(REPO, "bin", "ctr");
const NETNS = "ctrbench-net";

const DEFAULTS = { rounds: 20, warmup: 2, timeoutMs: 20_000, json: false };
type Options = typeof DEFAULTS;

const USAGE = `usage: bun bench/net.ts [--rounds N] [--warmup N] [--timeout MS] [--json]
  --rounds N     timed rounds; each runs every peer once, in rotating order (default 20)
  --warmup N     untimed runs of each peer first (default 2)
  --timeout MS   a run taking longer is killed and counted as failed (default 20000)
  --json         print only one line of JSON`;

function parseOptions(argv: readonly string[]): Options {
  return parseFlags<Options>(
    argv,
    DEFAULTS,
    { "--rounds": { key: "rounds", min: 1 }, "--warmup": { key: "warmup", min: 0 }, "--timeout": { key: "timeoutMs", min: 100 } },
    { "--json": "json" },
    USAGE,
  );
}

// ---------------------------------------------------------------- peers

interface Peer {
  name: string;
  /** The host end's name; each peer has its own, and its own /30. */
  link: string;
  /** The command line of one run; `probe` runs ping instead of true inside. */
  argv: (probe: boolean) => string[];
}

/** 169.254.N.1 on the host end, .2 inside. */
function addrs(n: number): { host: string; ctr: string; ping: string } {
  return { host: `169.254.${n}.1/30`, ctr: `169.254.${n}.2/30`, ping: `169.254.${n}.1` };
}

function peers(tmp: string): Peer[] {
  const a1 = addrs(201);
  const a2 = addrs(202);
  const a3 = addrs(203);
  const inside = (probe: boolean, ip: string) => (probe ? `ping -c1 -W2 ${ip}` : "true");
  const holderPid = join(tmp, "holder.pid");
  return [
    {
      name: "ctr",
      link: "ctrbench1",
      argv: (probe) => [CTR, "-e", `ns net\nnet lo up\nnet veth host=${a1.host} ctr=${a1.ctr} host_name=ctrbench1\nrun ${inside(probe, a1.ping)}`],
    },
    {
      // Not in the ratios: ctr's start-up alone, so that the veth's share shows.
      name: "ctr-lo",
      link: "ctrbench0",
      argv: (probe) => [CTR, "-e", `ns net\nnet lo up\nrun ${probe ? "ping -c1 -W2 127.0.0.1" : "true"}`],
    },
    {
      name: "ip",
      link: "ctrbench2",
      argv: (probe) => [
        "sh",
        "-ec",
        [
          `ip netns add ${NETNS}`,
          `ip link add ctrbench2 type veth peer name eth0 netns ${NETNS}`,
          `ip addr add ${a2.host} dev ctrbench2`,
          `ip link set ctrbench2 up`,
          `ip -n ${NETNS} addr add ${a2.ctr} dev eth0`,
          `ip -n ${NETNS} link set eth0 up`,
          `ip -n ${NETNS} link set lo up`,
          `ip netns exec ${NETNS} ${inside(probe, a2.ping)}`,
          `ip link del ctrbench2`,
          `ip netns del ${NETNS}`,
        ].join("\n"),
      ],
    },
    {
      name: "unshare",
      link: "ctrbench3",
      argv: (probe) => [
        "sh",
        "-ec",
        [
          // The holder keeps the namespace alive; its pid is in a file for the cleanup.
          `unshare --net sleep 30 & h=$!; echo $h > ${holderPid}`,
          // unshare has made the namespace once /proc/PID/ns/net differs from ours.
          `while [ "$(readlink /proc/$h/ns/net)" = "$(readlink /proc/self/ns/net)" ]; do :; done`,
          `ip link add ctrbench3 type veth peer name eth0 netns $h`,
          `ip addr add ${a3.host} dev ctrbench3`,
          `ip link set ctrbench3 up`,
          `nsenter -t $h --net ip addr add ${a3.ctr} dev eth0`,
          `nsenter -t $h --net ip link set eth0 up`,
          `nsenter -t $h --net ip link set lo up`,
          `nsenter -t $h --net ${inside(probe, a3.ping)}`,
          `ip link del ctrbench3`,
          `kill $h; wait $h || true; rm -f ${holderPid}`,
        ].join("\n"),
      ],
    },
  ];
}

// ---------------------------------------------------------------- host state

function hostNet(): string[] {
  const lines = (args: string[]) => run(["ip", "-o", ...args]).stdout.split("\n").filter((l) => l !== "");
  return [...lines(["link"]), ...lines(["addr"]), ...lines(["route"])];
}

function linkExists(name: string): boolean {
  return run(["ip", "link", "show", "dev", name]).ok;
}

/** Waits (untimed) until `name` is gone: a dead namespace's links go asynchronously. */
function waitLinkGone(name: string): boolean {
  for (let i = 0; i < 100; i++) {
    if (!linkExists(name)) return true;
    Bun.sleepSync(20);
  }
  return false;
}

/** Removes what a killed or failed run left: the links, the named namespace, the holder. */
function sweep(ps: readonly Peer[], tmp: string): string[] {
  const problems: string[] = [];
  const pidFile = join(tmp, "holder.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    if (Number.isInteger(pid) && pid > 1) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  for (const p of ps) {
    if (linkExists(p.link)) {
      const r = run(["ip", "link", "del", p.link]);
      if (!r.ok && linkExists(p.link)) problems.push(`cannot delete ${p.link}: ${r.stderr.trim()}`);
    }
  }
  if (run(["ip", "netns", "list"]).stdout.split("\n").some((l) => l.split(" ")[0] === NETNS)) {
    const r = run(["ip", "netns", "del", NETNS]);
    if (!r.ok) problems.push(`cannot delete netns ${NETNS}: ${r.stderr.trim()}`);
  }
  return problems;
}

// ---------------------------------------------------------------- main

function failure(p: Peer, r: RunResult): BenchError {
  const tail = (r.stderr + r.stdout).trim().split("\n").slice(-6).join("\n");
  return new BenchError(`${p.name}: ${describeExit(r)}\n${tail}`);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const log = (s: string) => {
    if (!o.json) console.log(s);
  };
  if (process.getuid?.() !== 0) throw new BenchError("bench/net.ts needs root (it makes veth pairs on the host)");
  for (const tool of ["ip", "ping", "unshare", "nsenter"]) {
    if (!run(["sh", "-c", `command -v ${tool}`]).ok) throw new BenchError(`${tool} is missing (iproute2, iputils-ping, util-linux)`);
  }
  const tmp = makeTempDir("ctr-bench-net-");
  const ps = peers(tmp);
  for (const p of ps) if (linkExists(p.link)) throw new BenchError(`a link named ${p.link} exists already; not touching it`);
  const before = hostNet();
  const cleanup = new Cleanup((sig, problems) => {
    console.error(`bench/net.ts: ${sig}, cleaned up${problems.length ? `; problems:\n${problems.join("\n")}` : ""}`);
  });
  cleanup.add("temporary directory", () => removeTree(tmp));
  cleanup.add("links and namespaces", () => sweep(ps, tmp));

  // Between runs the event loop turns, so that SIGINT/SIGTERM/SIGHUP (Cleanup) act at once.
  const once = async (p: Peer, probe: boolean): Promise<RunResult> => {
    await new Promise((r) => setImmediate(r));
    const r = timedRun(p.argv(probe), { timeoutMs: o.timeoutMs });
    if (!r.ok) {
      sweep(ps, tmp);
      throw failure(p, r);
    }
    if (!waitLinkGone(p.link)) throw new BenchError(`${p.name}: ${p.link} still exists after the run`);
    return r;
  };

  // The check: ping the host's end from inside, once per peer.
  for (const p of ps) {
    const r = await once(p, true);
    if (!/1 packets transmitted, 1 received/.test(r.stdout)) throw new BenchError(`${p.name}: no answer from the host's end:\n${r.stdout}${r.stderr}`);
  }
  for (let i = 0; i < o.warmup; i++) for (const p of ps) await once(p, false);
  const samples = new Map<string, number[]>(ps.map((p) => [p.name, []]));
  for (let r = 0; r < o.rounds; r++) {
    // Rotate the order each round so that drift touches every peer alike.
    for (let k = 0; k < ps.length; k++) {
      const p = ps[(r + k) % ps.length]!;
      samples.get(p.name)!.push((await once(p, false)).ms);
    }
  }

  const problems = cleanup.run();
  const after = hostNet();
  const d = diffLines(before, after);
  const st = Object.fromEntries(ps.map((p) => [p.name, stats(samples.get(p.name)!)]));
  const med = (n: string) => st[n]!.median;
  const result = {
    rounds: o.rounds,
    warmup: o.warmup,
    load: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    peers: Object.fromEntries(ps.map((p) => [p.name, { median: round(med(p.name)), p10: round(st[p.name]!.p10), p90: round(st[p.name]!.p90) }])),
    ratios: { "ctr/ip": round(med("ctr") / med("ip")), "ctr/unshare": round(med("ctr") / med("unshare")) },
    vethInCtr: round(med("ctr") - med("ctr-lo")),
    hostUnchanged: d.gone.length === 0 && d.added.length === 0,
    problems,
  };
  if (o.json) console.log(JSON.stringify(result));
  else {
    log(`net set-up (veth + addresses + lo + one command + teardown), ${o.rounds} rounds, load ${result.load}`);
    log("peer       median ms     p10     p90");
    for (const p of ps) {
      const s = st[p.name]!;
      log(`${p.name.padEnd(10)} ${s.median.toFixed(1).padStart(9)} ${s.p10.toFixed(1).padStart(7)} ${s.p90.toFixed(1).padStart(7)}`);
    }
    log(`ratios of medians: ctr/ip ${result.ratios["ctr/ip"]}, ctr/unshare ${result.ratios["ctr/unshare"]}`);
    log(`ctr-lo (ns net + net lo up + run true, no veth; not in the ratios): the veth's share of ctr's median is ${result.vethInCtr} ms`);
    log(`host ip -o link/addr/route: ${result.hostUnchanged ? "unchanged" : "CHANGED"}`);
    log(JSON.stringify(result));
  }
  if (!result.hostUnchanged) {
    throw new BenchError(`the host's network tables changed:\n${[...d.gone.map((l) => `- ${l}`), ...d.added.map((l) => `+ ${l}`)].join("\n")}`);
  }
  if (problems.length) throw new BenchError(`cleanup problems:\n${problems.join("\n")}`);
}

try {
  await main();
} catch (e) {
  if (e instanceof BenchError) {
    console.error(`bench/net.ts: ${e.message}`);
    process.exit(e.exitCode);
  }
  throw e;
}
