// User namespaces: who a process is inside the container, and who it is outside.
//
// A user namespace maps ranges of ids inside to ids outside through
// /proc/PID/uid_map and gid_map ("INSIDE OUTSIDE COUNT" lines). The kernel's rules:
//   - unshare(CLONE_NEWUSER) needs a single-threaded caller, and when it is
//     combined with other CLONE_NEW* flags the user namespace is created first
//     and owns the others (so root inside may mount, set the hostname...);
//   - each map is written once, by one write(2), from a process in the parent
//     namespace, before the new namespace is used;
//   - a writer with CAP_SETUID (CAP_SETGID) in the parent namespace may write any
//     map; an unprivileged writer may only map its own euid (egid), one line,
//     and for gid_map must first write "deny" to /proc/PID/setgroups (otherwise
//     dropping a group with setgroups(2) would grant access);
//   - ranges beyond one's own id come from /etc/subuid and /etc/subgid, written
//     by the setuid helpers newuidmap/newgidmap (Debian package uidmap);
//   - a process whose ids are unmapped shows as the overflow id (65534) and loses
//     its capabilities on execve: stage 1 therefore switches to a mapped id
//     (root inside when 0 is mapped) before it spawns PID 1.

import { existsSync, readFileSync } from "node:fs";
import { SysError, type SpanLike } from "../../../native/error.ts";
import { realFiles, type FileOps } from "../../../native/files.ts";
import type { Op } from "../../ops.ts";
import type { ExplainNotes } from "../../explain.ts";

/** One line of a uid_map or gid_map. */
export interface IdMapLine {
  inside: number;
  outside: number;
  count: number;
}

export interface IdMaps {
  uid: IdMapLine[];
  gid: IdMapLine[];
}

/** Without `map`: the caller's own ids become root inside, nothing else is mapped. */
export function defaultMaps(): IdMaps {
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  return { uid: [{ inside: 0, outside: uid, count: 1 }], gid: [{ inside: 0, outside: gid, count: 1 }] };
}

/** The first pair of lines whose inside or outside ranges overlap, or null. */
export function findOverlap(lines: readonly IdMapLine[]): [IdMapLine, IdMapLine, "inside" | "outside"] | null {
  for (let i = 0; i < lines.length; i++) {
    for (let j = i + 1; j < lines.length; j++) {
      const a = lines[i]!;
      const b = lines[j]!;
      for (const side of ["inside", "outside"] as const) {
        if (a[side] < b[side] + b.count && b[side] < a[side] + a.count) return [a, b, side];
      }
    }
  }
  return null;
}

/** The inside id stage 1 becomes before spawning PID 1: 0 if mapped, else the lowest mapped id. */
export function initialId(lines: readonly IdMapLine[]): number {
  if (lines.some((l) => l.inside === 0)) return 0;
  return Math.min(...lines.map((l) => l.inside));
}

/** Ranges granted to a user in /etc/subuid or /etc/subgid. */
export function subordinateRanges(file: string, user: string, id: number): { start: number; count: number }[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: { start: number; count: number }[] = [];
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if ((who === user || who === String(id)) && start && count) out.push({ start: Number(start), count: Number(count) });
  }
  return out;
}

/**
 * The login name of a uid, from /etc/passwd (as newuidmap's getpwuid sees it),
 * or the uid itself. Not os.userInfo(): Bun answers "unknown" for users such as
 * nobody (65534) that glibc resolves fine.
 */
export function userName(uid: number, passwd = "/etc/passwd"): string {
  let text = "";
  try {
    text = readFileSync(passwd, "utf8");
  } catch {
    return String(uid);
  }
  for (const line of text.split("\n")) {
    const [name, , id] = line.split(":");
    if (name && id !== undefined && Number(id) === uid && id.trim() !== "") return name;
  }
  return String(uid);
}

function mapText(lines: readonly IdMapLine[]): string {
  return lines.map((l) => `${l.inside} ${l.outside} ${l.count}`).join("\n") + "\n";
}

function writeProc(files: Pick<FileOps, "writeFile">, path: string, text: string): void {
  try {
    files.writeFile(path, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "EIO";
    throw new SysError({ code, syscall: "write", args: [path, text.trim()], message: `write ${path} = "${text.trim().replaceAll("\n", "\\n")}": ${code}`, status: 125 });
  }
}

/** Is this map only the caller's own id, which an unprivileged process may write itself? */
function selfMapOnly(lines: readonly IdMapLine[], own: number): boolean {
  return lines.length === 1 && lines[0]!.outside === own && lines[0]!.count === 1;
}

/** The writes of the maps, and the run of newuidmap/newgidmap (a recorder's, for `ctr explain`: runtime/explain-host.ts). */
export type IdMapCalls = Pick<FileOps, "writeFile"> & { helper?: (path: string, args: string[]) => void };

/** Where a map line came from in the script (its `map` statement, or `ns` for a default map). */
export type MapSpanOf = (which: "uid" | "gid", line: IdMapLine | null) => SpanLike | undefined;

/**
 * Write the maps of the user namespace of `pid` (stage 1). Root writes them
 * directly; an unprivileged caller writes a map of its own id directly and uses
 * newuidmap/newgidmap for anything else. An error carries the span `spanOf`
 * gives for the line at fault (or for the map, when no one line is).
 */
export function writeIdMaps(
  pid: number,
  maps: IdMaps,
  spanOf: MapSpanOf = () => undefined,
  files: IdMapCalls = realFiles,
  /** The caller's ids (which branch applies): the process's own, or a test's. */
  ids: { euid: number; egid: number } = { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0 },
): string[] {
  const written: string[] = [];
  const { euid, egid } = ids;
  const at = (which: "uid" | "gid", write: () => void) => {
    try {
      write();
    } catch (e) {
      if (e instanceof SysError && !e.span) {
        const span = spanOf(which, null);
        if (span) e.span = span;
      }
      throw e;
    }
  };
  if (euid === 0) {
    at("uid", () => writeProc(files, `/proc/${pid}/uid_map`, mapText(maps.uid)));
    at("gid", () => writeProc(files, `/proc/${pid}/gid_map`, mapText(maps.gid)));
    written.push(`/proc/${pid}/uid_map`, `/proc/${pid}/gid_map`);
    return written;
  }
  const user = userName(euid);
  at("uid", () => {
    if (selfMapOnly(maps.uid, euid)) writeProc(files, `/proc/${pid}/uid_map`, mapText(maps.uid));
    else helperMap("newuidmap", "/etc/subuid", pid, maps.uid, user, euid, (l) => spanOf("uid", l), files.helper);
  });
  at("gid", () => {
    if (selfMapOnly(maps.gid, egid)) {
      // Unprivileged gid maps require setgroups to be denied first.
      writeProc(files, `/proc/${pid}/setgroups`, "deny");
      writeProc(files, `/proc/${pid}/gid_map`, mapText(maps.gid));
    } else {
      helperMap("newgidmap", "/etc/subgid", pid, maps.gid, user, egid, (l) => spanOf("gid", l), files.helper);
    }
  });
  return written;
}

/** Where newuidmap or newgidmap (package uidmap) is installed, or null. Not looked up in PATH: it is setuid root. */
export function idMapHelper(helper: "newuidmap" | "newgidmap"): string | null {
  return ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => `${d}/${helper}`).find((p) => existsSync(p)) ?? null;
}

function helperMap(helper: "newuidmap" | "newgidmap", file: string, pid: number, lines: readonly IdMapLine[], user: string, own: number, spanOf: (l: IdMapLine) => SpanLike | undefined, run = runHelper): void {
  const path = idMapHelper(helper);
  const kind = helper === "newuidmap" ? "uid" : "gid";
  if (!path) {
    throw new SysError({ message: `${helper} is not installed; mapping ${kind}s other than your own needs it`, hint: "install the `uidmap` package (apt-get install uidmap)", status: 125 });
  }
  const granted = subordinateRanges(file, user, own);
  for (const l of lines) {
    const ok = (l.outside === own && l.count === 1) || granted.some((g) => l.outside >= g.start && l.outside + l.count <= g.start + g.count);
    if (!ok) {
      throw new SysError({
        message: `${kind}s ${l.outside}..${l.outside + l.count - 1} are not granted to ${user} in ${file}`,
        hint: granted.length > 0 ? `${file} grants ${granted.map((g) => `${g.start}..${g.start + g.count - 1}`).join(", ")}` : `add a line like \`${user}:100000:65536\` to ${file} (as root)`,
        span: spanOf(l),
        status: 125,
      });
    }
  }
  run(path, [String(pid), ...lines.flatMap((l) => [String(l.inside), String(l.outside), String(l.count)])]);
}

/** Run the setuid helper at `path` (newuidmap, newgidmap) and wait for it. */
function runHelper(path: string, args: string[]): void {
  const helper = path.slice(path.lastIndexOf("/") + 1);
  const r = Bun.spawnSync({ cmd: [path, ...args], stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    throw new SysError({ syscall: helper, args, message: `${helper} ${args.join(" ")} failed: ${r.stderr.toString().trim()}`, status: 125 });
  }
}

/** Why this machine forbids unprivileged user namespaces, or null if it allows them. */
export function unprivilegedUsernsBlocker(): string | null {
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8").trim();
    } catch {
      return null;
    }
  };
  if (read("/proc/sys/user/max_user_namespaces") === "0") return "user.max_user_namespaces is 0";
  if (read("/proc/sys/kernel/unprivileged_userns_clone") === "0") return "kernel.unprivileged_userns_clone is 0";
  if (read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1") return "kernel.apparmor_restrict_unprivileged_userns is 1 (AppArmor)";
  return null;
}

const CAP_WORDS = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"];

/** `show ids`: ids inside and outside, the maps, and the capability sets inside. */
export function showIds(pid1: number): string {
  const status = readFileSync(`/proc/${pid1}/status`, "utf8");
  const field = (k: string) => status.match(new RegExp(`^${k}:\\s*(.*)$`, "m"))?.[1]?.trim() ?? "";
  const uidMap = readFileSync(`/proc/${pid1}/uid_map`, "utf8").trim();
  const gidMap = readFileSync(`/proc/${pid1}/gid_map`, "utf8").trim();
  const [ruid] = field("Uid").split(/\s+/);
  const [rgid] = field("Gid").split(/\s+/);
  const inside = (id: string, map: string) => {
    for (const line of map.split("\n")) {
      const [i, o, c] = line.trim().split(/\s+/).map(Number);
      if (o !== undefined && c !== undefined && i !== undefined && Number(id) >= o && Number(id) < o + c) return String(i + Number(id) - o);
    }
    return "65534 (unmapped)";
  };
  const lines = [
    `uid: ${inside(ruid!, uidMap)} inside, ${ruid} outside`,
    `gid: ${inside(rgid!, gidMap)} inside, ${rgid} outside`,
    `uid_map: ${uidMap.replace(/\s+/g, " ").replaceAll(/(\d+) (\d+) (\d+)/g, "$1 $2 $3;").replace(/;$/, "")}`,
    `gid_map: ${gidMap.replace(/\s+/g, " ").replaceAll(/(\d+) (\d+) (\d+)/g, "$1 $2 $3;").replace(/;$/, "")}`,
    ...CAP_WORDS.map((k) => `${k}: ${field(k)}`),
  ];
  return lines.join("\n") + "\n";
}

/** The ids stage 1 takes inside a new user namespace before it spawns PID 1. */
export interface Become {
  uid: number;
  gid: number;
}

type IdMapOp = Extract<Op, { kind: "idmap" }>;

/**
 * The host's part in creating a user namespace (scripts and the REPL alike):
 * write the maps for stage 1 between its unshare and its spawning PID 1, then
 * have it take the ids of root inside. A kind without `map` lines maps the
 * caller's own id to root. An error points at the `map` line at fault, or at
 * the first one of its kind (`ns` for a default map).
 */
export function userNamespaceSetup(ops: readonly Op[]): (stage1Pid: number) => Become {
  const mapOps = ops.filter((o): o is IdMapOp => o.kind === "idmap");
  const maps = idMapsOf(ops);
  const spanOf: MapSpanOf = (which, line) => (mapOps.find((o) => o.which === which && o.line === line) ?? mapOps.find((o) => o.which === which))?.span;
  return (pid) => {
    writeIdMaps(pid, maps, spanOf);
    return becomeOf(maps);
  };
}

/** The maps of a plan's `map` lines; a kind without any maps the caller's own id to root. */
export function idMapsOf(ops: readonly Op[]): IdMaps {
  const defaults = defaultMaps();
  const maps: IdMaps = { uid: [], gid: [] };
  for (const op of ops) if (op.kind === "idmap") maps[op.which].push(op.line);
  for (const which of ["uid", "gid"] as const) if (maps[which].length === 0) maps[which] = defaults[which];
  return maps;
}

/** The ids stage 1 takes with these maps. */
export function becomeOf(maps: IdMaps): Become {
  return { uid: initialId(maps.uid), gid: initialId(maps.gid) };
}

/** `ctr explain`'s comments on a `map` line's derived lines (runtime/explain-host.ts runs writeIdMaps). */
export function idmapNotes(op: Op, ctx: { ops: readonly Op[] }): ExplainNotes {
  if (op.kind !== "idmap") return {};
  const first = ctx.ops.find((o) => o.kind === "idmap" && o.which === op.which);
  if (first && first !== op) return { before: [`written with the first \`map ${op.which}\` line (${first.source}): a map is one write(2), once`] };
  return { calls: { write: "from the host, between stage 1's unshare and PID 1", [`new${op.which}map`]: `the setuid helper (package uidmap): ranges granted in /etc/sub${op.which}` } };
}
