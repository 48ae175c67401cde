// cgroup limits: `limit` and its forms (cpu, memory, pids, cpuset, io).
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import { MAX_NODES, parseCpuList, parseDuration, parseInt10, parsePercent, parseSize } from "../../../lang/values.ts";
import { bound } from "../../plan.ts";
import { planLimit } from "../cgroup/plan.ts";
import { memoryFloorProblem } from "../cgroup/memory.ts";
import { checkCpu } from "../cgroup/cpu.ts";
import { limitOf } from "../cgroup/plan.ts";
import { SysError } from "../../../native/error.ts";
import { pidsFloorProblem } from "../cgroup/pids.ts";
import { checkIo, IO_WEIGHT_MAX, IO_WEIGHT_MIN } from "../cgroup/io.ts";
import { defineStatement } from "../../statement.ts";

export const limitStatement = defineStatement({
  name: "limit",
  summary: "Limit the container's resources with cgroups (v1 or v2, found at run time).",
  syntax: "limit cpu|memory|pids|cpuset|io VALUE [OPTIONS]",
  example: "limit memory 64m",
  plan: planLimit,
  side: "host",
  container: true,
  forms: {
    cpu: {
      summary: "CPU time: 20% is a fifth of one CPU, 200% two CPUs' worth; or relative weight.",
      syntax: "limit cpu [PERCENT] [period=DURATION] [weight=1..10000] [shares=N]",
      example: "limit cpu 20%",
      args: [{ name: "PERCENT", kind: "percent", optional: true }],
      options: { period: "duration", weight: "int", shares: "int" },
      check: (cmd, ctx) => {
        const { args, options } = bound(cmd);
        const pct = args.PERCENT;
        const hasOptions = Object.keys(options).length > 0;
        if (!pct && !hasOptions) {
          ctx.error(cmd.args[0]!.span, "`limit cpu` needs a percentage or an option", "e.g. limit cpu 20%  or  limit cpu weight=100");
        }
        if (pct) {
          const v = parsePercent(pct.text) ?? NaN;
          const max = 100 * ctx.cpus;
          if (v === 0) ctx.error(pct.span, "a CPU limit of 0% would stop the container", "give a positive percentage, e.g. 20%");
          else if (v > max)
            ctx.error(pct.span, `\`${pct.text}\` is more than the ${ctx.cpus} CPU${ctx.cpus === 1 ? "" : "s"} of this machine can give (${max}%)`, `100% is one whole CPU; use at most ${max}%`);
        }
        const period = options.period;
        if (period) {
          const ms = parseDuration(period.text);
          if (ms !== undefined && (ms < 1 || ms > 1000)) ctx.error(period.span, "the period must be between 1ms and 1s", "the default is 100ms");
        }
        const weight = options.weight;
        if (weight) {
          const w = parseInt10(weight.text);
          if (w !== undefined && (w < 1 || w > 10000)) ctx.error(weight.span, `weight \`${weight.text}\` is out of range`, "a cgroup v2 weight goes from 1 to 10000 (default 100)");
        }
        const shares = options.shares;
        if (shares) {
          const s = parseInt10(shares.text);
          if (s !== undefined && s < 2) ctx.error(shares.span, "shares must be at least 2", "the cgroup v1 default is 1024");
        }
        // What the kernel would refuse whatever the moment (a quota below its minimum): the run's own check, now.
        try {
          const limit = limitOf(cmd);
          if (limit.controller === "cpu" && limit.percent !== 0) checkCpu(limit);
        } catch (e) {
          if (e instanceof SysError) ctx.error((pct ?? shares ?? cmd.args[0]!).span, e.message, e.hint);
        }
      },
    },
    memory: {
      summary: "Memory: the container is OOM-killed when it goes over SIZE.",
      syntax: "limit memory SIZE [swap=SIZE]",
      example: "limit memory 64m",
      args: [{ name: "SIZE", kind: "size" }],
      options: { swap: "size" },
      check: (cmd, ctx) => {
        const size = bound(cmd).positional[0];
        const bytes = size ? parseSize(size.text) : undefined;
        if (size && bytes === 0) ctx.error(size.span, "a memory limit of 0 would kill the container at once", "give a size, e.g. 64m");
        else if (size && bytes !== undefined) {
          const problem = memoryFloorProblem(bytes);
          if (problem) ctx.error(size.span, problem.message, problem.hint);
        }
      },
    },
    pids: {
      summary: "Number of processes (and threads): fork fails beyond COUNT.",
      syntax: "limit pids COUNT",
      example: "limit pids 64",
      args: [{ name: "COUNT", kind: "int" }],
      check: (cmd, ctx) => {
        const n = bound(cmd).positional[0];
        const max = n ? parseInt10(n.text) : undefined;
        const problem = max !== undefined ? pidsFloorProblem(max) : null;
        if (n && problem) ctx.error(n.span, problem.message, problem.hint);
      },
    },
    cpuset: {
      summary: "Which CPUs (and memory nodes) the container may run on.",
      syntax: "limit cpuset CPUS [mems=NODES]",
      example: "limit cpuset 0",
      args: [{ name: "CPUS", kind: "cpus" }],
      options: { mems: "cpus" },
      check: (cmd, ctx) => {
        const a = bound(cmd).positional[0];
        if (!a) return;
        const cpus = parseCpuList(a.text.replace(/\s/g, ""));
        const bad = cpus?.find((c) => c >= ctx.cpus);
        if (bad !== undefined) ctx.error(a.span, `CPU ${bad} does not exist`, `this machine has ${ctx.cpus} CPU${ctx.cpus === 1 ? "" : "s"}: ${ctx.cpus === 1 ? "0" : `0-${ctx.cpus - 1}`}`);
        const mems = bound(cmd).options.mems;
        const node = mems ? parseCpuList(mems.text)?.find((n) => n >= MAX_NODES) : undefined;
        if (mems && node !== undefined) ctx.error(mems.span, `\`${node}\` is out of range for mems=`, `the kernel numbers memory nodes from 0 to ${MAX_NODES - 1} at most`);
      },
    },
    io: {
      summary: `Block I/O (v1 blkio, v2 io): weight= the container's relative share of the disks (${IO_WEIGHT_MIN}..${IO_WEIGHT_MAX}, converted for v2's io.weight as runc does; only where the I/O scheduler gives group weights, else refused); with the block device MAJOR:MINOR, its own weight and throttles: rbps=, wbps= bytes and riops=, wiops= operations a second.`,
      syntax: "limit io [MAJOR:MINOR] [weight=N] [rbps=SIZE] [wbps=SIZE] [riops=N] [wiops=N]",
      example: "limit io 8:0 rbps=10m wiops=100",
      args: [{ name: "MAJOR:MINOR", kind: "word", optional: true }],
      options: { weight: "int", rbps: "size", wbps: "size", riops: "int", wiops: "int" },
      check: (cmd, ctx) => {
        const { args, options } = bound(cmd);
        const dev = args["MAJOR:MINOR"];
        if (dev && !/^\d+:\d+$/.test(dev.text)) ctx.error(dev.span, `malformed block device \`${dev.text}\``, "write MAJOR:MINOR, both numbers: 8:0 (see /sys/block/NAME/dev)");
        if (Object.keys(options).length === 0) ctx.error(dev?.span ?? cmd.args[0]!.span, "`limit io` needs weight=, or a device's rbps=, wbps=, riops= or wiops=", "e.g. limit io weight=500  or  limit io 8:0 rbps=10m");
        for (const k of ["rbps", "wbps", "riops", "wiops"]) {
          const o = options[k];
          if (o && parseSize(o.text) === 0) ctx.error(o.span, `\`${k}=0\` would stop the container's I/O on the device`, "give a positive rate");
        }
        try {
          const limit = limitOf(cmd);
          if (limit.controller === "io") checkIo(limit);
        } catch (e) {
          if (e instanceof SysError) ctx.error((options.weight ?? options.rbps ?? options.wbps ?? options.riops ?? options.wiops ?? cmd.args[0]!).span, e.message, e.hint);
        }
      },
    },
  },
});
