// Volumes, Docker style (chapter 12 of the walkthroughs): a directory that is not
// part of the container's layers, bound into it after its root is ready and
// before the root changes, so that what is written there outlives the container.
//   volume /srv/data:/data   a host path (SRC starts with "/" or "."), bound as is
//   volume NAME:/data        a named volume, STORE/volumes/NAME/_data, made on
//                            first use and reused by every later container
//   volume /data             an anonymous volume, STORE/volumes/anon-ID-N/_data
//                            (ID: the container's), kept after the container,
//                            gone with `ctr volume prune`
// The target is a container path: made in the container's root when missing, and
// resolved inside that root when it is (or passes through) a symlink, never on
// the host (runtime/features/mount/target.ts, atTarget). The source is a host
// path, looked up in PID 1's copy of the host's tree like any bind source
// (runtime/features/mount/hostmount.ts); a volume's directory made by PID 1
// after that copy was taken is on a filesystem the copy shares, so it is found.

import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { MS_BIND, MS_REC } from "../../../native/constants.ts";
import { SysError } from "../../../native/error.ts";
import type { Command } from "../../../lang/spec.ts";
import { bound, type PlanContext, type PlannedOp } from "../../plan.ts";
import type { ExplainNotes } from "../../explain.ts";
import type { AgentState, Op } from "../../ops.ts";
import { stateRoot } from "../../paths.ts";
import { doMount } from "../mount/mount.ts";
import { humanSize, Store } from "./store.ts";

export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ANON = "anon-";

/** What `volume X` names: a host path, a named volume or an anonymous one, and the target. */
export function parseVolume(text: string): { kind: "host" | "named" | "anonymous"; source: string; target: string } {
  const parts = text.split(":");
  if (parts.length === 1) return { kind: "anonymous", source: "", target: parts[0]! };
  const [src, target] = parts as [string, string];
  return { kind: src.startsWith("/") || src.startsWith(".") ? "host" : "named", source: src, target };
}

export function planVolume(cmd: Command, ctx: PlanContext): PlannedOp[] {
  const b = bound(cmd);
  const v = parseVolume(b.positional[0]!.text);
  const ro = b.flags.has("ro");
  const store = new Store();
  const id = ctx.stateDir.slice(ctx.stateDir.lastIndexOf("/") + 1);
  // One anonymous volume per statement of the container: the span's line tells them apart.
  const name = v.kind === "named" ? v.source : v.kind === "anonymous" ? `${ANON}${id}-${cmd.span.line}` : null;
  const source = name ? `${store.root}/volumes/${name}/_data` : v.source;
  // explain's lines are derived from mountVolume's calls (runtime/explain.ts; volumeNotes).
  return [{ kind: "volume", from: source, target: v.target, ro, create: name !== null, side: "pid1" }];
}

/** PID 1: make a store volume's directory if needed, then bind it (or the host path) at the target. */
export function mountVolume(st: AgentState, source: string, target: string, ro: boolean, create: boolean): void {
  if (create) st.sys.mkdirp(source);
  doMount(st, { source, target, fstype: null, flags: MS_BIND | MS_REC, data: null }, ro);
}

/** The anonymous volumes' container, when it is still running (its state directory is there). */
function inUse(name: string): boolean {
  const m = /^anon-(.+)-\d+$/.exec(name);
  return m !== null && existsSync(`${stateRoot()}/${m[1]}`);
}

function du(path: string): number {
  let total = 0;
  try {
    const st = statSync(path);
    if (!st.isDirectory()) return st.size;
    for (const e of readdirSync(path)) total += du(`${path}/${e}`);
  } catch {
    // unreadable: not counted
  }
  return total;
}

/** `ctr volume ls|rm|prune`: returns the text to print (runtime/cli.ts prints it). */
export async function volumeCommand(args: string[], store = new Store()): Promise<string> {
  const dir = `${store.root}/volumes`;
  const all = existsSync(dir) ? readdirSync(dir).sort() : [];
  const [sub, ...rest] = args;
  const usage = (message: string) => new SysError({ errno: 22, code: "EINVAL", syscall: "image", args: [], message, hint: "usage: ctr volume ls | rm NAME... | prune" });
  switch (sub) {
    case "ls": {
      const rows = [["NAME", "KIND", "SIZE", "PATH"], ...all.map((n) => [n, n.startsWith(ANON) ? "anonymous" : "named", humanSize(du(`${dir}/${n}/_data`)), `${dir}/${n}/_data`])];
      const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
      return rows.map((r) => r.map((v, c) => v.padEnd(widths[c]!)).join("  ").trimEnd()).join("\n") + "\n";
    }
    case "rm": {
      if (rest.length === 0) throw usage("volume rm: give NAME...");
      for (const n of rest) {
        if (!VOLUME_NAME.test(n) || !all.includes(n)) throw new SysError({ errno: 2, code: "ENOENT", syscall: "volume", args: [n], message: `no volume "${n}" in ${dir}`, hint: "`ctr volume ls` lists them" });
        if (inUse(n)) throw new SysError({ errno: 16, code: "EBUSY", syscall: "volume", args: [n], message: `volume "${n}" is in use by a running container` });
      }
      for (const n of rest) rmSync(`${dir}/${n}`, { recursive: true, force: true });
      return rest.map((n) => `removed ${n}`).join("\n") + "\n";
    }
    case "prune": {
      const gone = all.filter((n) => n.startsWith(ANON) && !inUse(n));
      for (const n of gone) rmSync(`${dir}/${n}`, { recursive: true, force: true });
      return `removed ${gone.length} anonymous volume${gone.length === 1 ? "" : "s"}${gone.length ? `: ${gone.join(", ")}` : ""}\n`;
    }
    default:
      throw usage(sub ? `unknown volume command \`${sub}\`` : "volume: give a command");
  }
}

/** `ctr explain`'s comments on a volume's derived lines (runtime/explain.ts). */
export function volumeNotes(op: Op): ExplainNotes {
  if (op.kind !== "volume") return {};
  const name = op.create ? op.from.replace(/\/_data$/, "").slice(op.from.replace(/\/_data$/, "").lastIndexOf("/") + 1) : null;
  const kind = name?.startsWith(ANON) ? "anonymous" : "named";
  return {
    calls: {
      ...(name ? { mkdirp: `the ${kind} volume ${name}${kind === "named" ? ", made on first use" : ""}: kept after the container` } : {}),
      openat2: "the source is a host path: looked up in PID 1's copy of the host's mount tree",
    },
  };
}
