// `show`: what the kernel says about a container, read from the host.
//
// Everything is read through the host's /proc, under PID 1's host PID, so it
// works whether or not the container has mounted its own /proc:
//   ns      /proc/PID/ns/* links: same inode as the host's means shared (chapters 02-05)
//   mounts  /proc/PID/mountinfo: mount points as PID 1 sees them, relative to its root
//   procs   every process whose /proc/P/ns/pid is the container's, with the PIDs the
//           container sees (the last field of NSpid in /proc/P/status)

import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { namespaceLinks } from "../ns/ns.ts";
import { showIds } from "../userns/userns.ts";
import { showLayers } from "../image/layers.ts";

/** Rows as aligned columns, two spaces apart (the first row is the heading); also `show cgroup`'s. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}

/** `joined`: the namespaces a `join` took from the running container `name` (runtime/features/ns/join.ts). */
export function showNamespaces(pid1: number, joined?: { name: string; namespaces: readonly string[] } | null): string {
  const inside = namespaceLinks(pid1);
  const host = namespaceLinks("self");
  const rows = [["NAMESPACE", "CONTAINER", "HOST", ""]];
  for (const [name, link] of Object.entries(inside)) {
    const mine = host[name] ?? "";
    rows.push([name, link, mine, link === mine ? "shared with the host" : joined?.namespaces.includes(name) ? `joined: container ${joined.name}'s` : "new"]);
  }
  return table(rows);
}

/** Decode the octal escapes of mountinfo paths (\040 for a space). */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * The options of a mount as one list: the per-mount ones (rw, nosuid, ...)
 * then the filesystem's own (size=, mode=, lowerdir=, ...), each once.
 */
export function mountOptions(perMount: string, perFs: string): string {
  const seen = new Set(perMount.split(","));
  const extra = perFs.split(",").filter((o) => o !== "" && !seen.has(o) && o !== "rw" && o !== "ro");
  return [perMount, ...extra].join(",");
}

export function showMounts(pid1: number): string {
  const rows = [["MOUNTPOINT", "TYPE", "SOURCE", "OPTIONS"]];
  for (const line of readFileSync(`/proc/${pid1}/mountinfo`, "utf8").split("\n")) {
    if (!line) continue;
    const [left, right] = line.split(" - ");
    const f = left!.split(" ");
    const [fstype, source, superOptions] = right!.split(" ");
    rows.push([unescapeMountPath(f[4]!), fstype!, source!, mountOptions(f[5]!, superOptions ?? "")]);
  }
  return table(rows);
}

interface ProcInfo {
  hostPid: number;
  pid: number;
  ppidHost: number;
  state: string;
  cmd: string;
}

export function containerProcesses(pid1: number): ProcInfo[] {
  const pidns = readlinkSync(`/proc/${pid1}/ns/pid`);
  const out: ProcInfo[] = [];
  for (const name of readdirSync("/proc")) {
    const hostPid = Number(name);
    if (!Number.isInteger(hostPid)) continue;
    try {
      if (readlinkSync(`/proc/${hostPid}/ns/pid`) !== pidns) continue;
      const status = readFileSync(`/proc/${hostPid}/status`, "utf8");
      const field = (k: string) => status.match(new RegExp(`^${k}:\\s*(.*)$`, "m"))?.[1] ?? "";
      const nspid = field("NSpid").split(/\s+/);
      const cmdline = readFileSync(`/proc/${hostPid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      out.push({
        hostPid,
        pid: Number(nspid[nspid.length - 1]),
        ppidHost: Number(field("PPid")),
        state: field("State").split(" ")[0] ?? "",
        // ctr's own stages name themselves (runtime/init.ts); their command line is just Bun's.
        cmd: field("Name").startsWith("ctr-") ? `${field("Name")} (ctr)` : cmdline || `[${field("Name")}]`,
      });
    } catch {
      // the process ended while we looked
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

export function showProcesses(pid1: number): string {
  const procs = containerProcesses(pid1);
  const byHost = new Map(procs.map((p) => [p.hostPid, p.pid]));
  const rows = [["PID", "PPID", "HOST PID", "STAT", "CMD"]];
  for (const p of procs) rows.push([String(p.pid), String(byHost.get(p.ppidHost) ?? 0), String(p.hostPid), p.state, p.cmd]);
  return table(rows);
}

export function showHost(what: "ns" | "mounts" | "procs" | "ids" | "layers", pid1: number, joined?: { name: string; namespaces: readonly string[] } | null): string {
  switch (what) {
    case "ids":
      return showIds(pid1);
    case "ns":
      return showNamespaces(pid1, joined);
    case "mounts":
      return showMounts(pid1);
    case "procs":
      return showProcesses(pid1);
    case "layers":
      return showLayers(pid1);
  }
}
