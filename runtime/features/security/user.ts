// `user UID[:GID] [groups=G1,G2]`: the ids the container's commands run as.
//
// Names are looked up in the container's own /etc/passwd and /etc/group (read
// when a command starts, from inside its root), as Docker does:
//   - a user name gives its uid and, unless a GID is written, its primary gid;
//   - a numeric uid found in /etc/passwd gives that entry's gid, else gid 0;
//   - the supplementary groups are those of /etc/group that list the user,
//     plus `groups=`; without a name to look for, only `groups=`.
// The order of the calls is the kernel's: setgroups and setresgid need
// CAP_SETGID and setresuid CAP_SETUID, which a process of another uid no longer
// has, so the uid is changed last (runtime/features/process/spec.ts, step 5).

import type { Diagnostic } from "../../../lang/spec.ts";
import type { Op } from "../../ops.ts";
import { BUILT_GROUP, BUILT_PASSWD } from "../rootfs/etc.ts";
import { readFileSync } from "node:fs";
import { SysError, type Sys } from "../../../native/index.ts";

/** `user` as written: each part a number or a name. */
/**
 * A uid or gid as `user` takes it (also the image config's User, runtime/features/image/statements.ts): a number or a name.
 * Here, not with the statement: PID 1's image root (runtime/features/image/root.ts) needs it without the front end.
 */
export const ID_OR_NAME = /^(?:\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/;

export interface UserSetting {
  user: string;
  group?: string;
  groups?: string[];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  groups: number[];
}

type Reader = (path: string) => string | null;

const readOrNull: Reader = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

const isNumber = (s: string) => /^\d+$/.test(s);

function entries(text: string | null): string[][] {
  return (text ?? "").split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":"));
}

function missing(what: string, name: string, file: string, exists: boolean): SysError {
  return new SysError({
    errno: 2, code: "ENOENT", syscall: "getpwnam", args: [name],
    message: exists ? `${what} "${name}" is not in the container's ${file}` : `${what} "${name}": the container has no ${file}`,
    hint: `write a number instead, or add "${name}" to ${file} in the root filesystem`,
  });
}

/** The ids of `u`, names looked up with `read` (the container's files). */
export function resolveUser(u: UserSetting, read: Reader = readOrNull): ResolvedUser {
  const passwdText = read("/etc/passwd");
  const passwd = entries(passwdText);
  let uid: number;
  let gid: number | undefined;
  let name: string | undefined;
  if (isNumber(u.user)) {
    uid = Number(u.user);
    const e = passwd.find((f) => f[2] === u.user);
    name = e?.[0];
    gid = e ? Number(e[3]) : 0;
  } else {
    const e = passwd.find((f) => f[0] === u.user);
    if (!e) throw missing("user", u.user, "/etc/passwd", passwdText !== null);
    name = u.user;
    uid = Number(e[2]);
    gid = Number(e[3]);
  }
  const needGroupFile = name !== undefined || (u.group !== undefined && !isNumber(u.group)) || (u.groups ?? []).some((g) => !isNumber(g));
  const groupText = needGroupFile ? read("/etc/group") : null;
  const group = entries(groupText);
  const gidOf = (g: string): number => {
    if (isNumber(g)) return Number(g);
    const e = group.find((f) => f[0] === g);
    if (!e) throw missing("group", g, "/etc/group", groupText !== null);
    return Number(e[2]);
  };
  if (u.group !== undefined) gid = gidOf(u.group);
  const extra = new Set<number>();
  if (name) for (const f of group) if ((f[3] ?? "").split(",").includes(name)) extra.add(Number(f[2]));
  for (const g of u.groups ?? []) extra.add(gidOf(g));
  return { uid, gid: gid ?? 0, groups: [...extra] };
}

/** The first of the stand-in ids lookupStandIns gives: above any id a map can hold (2^32 - 2 is the highest). */
const STAND_IN = 4000000000;

/**
 * For `ctr explain` (runtime/explain.ts), which runs before the container's files exist:
 * an /etc/passwd and /etc/group in which each name `u` looks up has a stand-in id, and
 * what each stand-in is written as (`<uid of NAME>`). A numeric user is its own uid; its
 * group, without `group`, the stand-in of its passwd line's (0 if the container has none).
 */
export function lookupStandIns(u: UserSetting | undefined): { read: Reader; names: Map<number, string> } {
  const names = new Map<number, string>();
  const passwd: string[] = [];
  const group: string[] = [];
  if (u) {
    const id = (what: string) => {
      const n = STAND_IN + names.size;
      names.set(n, `<${what}>`);
      return n;
    };
    if (isNumber(u.user)) passwd.push(`?:x:${u.user}:${id(`gid of uid ${u.user}`)}`);
    else passwd.push(`${u.user}:x:${id(`uid of ${u.user}`)}:${id(`gid of ${u.user}`)}`);
    for (const g of [u.group, ...(u.groups ?? [])]) if (g !== undefined && !isNumber(g)) group.push(`${g}:x:${id(`gid of ${g}`)}:`);
  }
  const files: Record<string, string> = { "/etc/passwd": passwd.join("\n"), "/etc/group": group.join("\n") };
  return { read: (path) => files[path] ?? null, names };
}

/**
 * setgroups, setresgid, setresuid. In a user namespace where setgroups is
 * denied (/proc/PID/setgroups "deny", as an unprivileged map writes it) the
 * groups cannot change: that is an error only when `groups=` asked for some.
 */
export function applyIds(sys: Sys, ids: ResolvedUser, groupsAsked: boolean): void {
  try {
    sys.setgroups(ids.groups);
  } catch (e) {
    if (!(e instanceof SysError && e.code === "EPERM" && !groupsAsked && readOrNull("/proc/self/setgroups")?.trim() === "deny")) throw e;
  }
  sys.setresgid(ids.gid, ids.gid, ids.gid);
  sys.setresuid(ids.uid, ids.uid, ids.uid);
}

/**
 * The planner's check of `user` names (runtime/plan.ts), before anything is made:
 * against the /etc files of the plan's root when they can be read now — a host
 * directory (`rootfs DIR`, or its overlay's lower layer) through `readHost`, or
 * `rootfs default`'s, which ctr writes itself. An image's root, or several
 * `rootfs` lines, are left to PID 1, which looks the names up when it applies them.
 */
export function userNameProblems(ops: readonly Op[], defaultRootfs: string, readHost: ((path: string) => string | null | undefined) | undefined): Diagnostic[] {
  const roots = ops.filter((o) => o.kind === "rootfs");
  const root = roots.length === 1 ? roots[0]! : null;
  if (!root || root.kind !== "rootfs" || root.image) return [];
  // The files may change before a command looks the names up: a `run` followed by a
  // later command (`run adduser web`, then `user web`), or a mount or volume over /etc.
  const commands = ops.filter((o) => o.kind === "run" || o.kind === "exec");
  if (commands.slice(0, -1).some((o) => o.kind === "run")) return [];
  const overEtc = (target: string) => /^\/*(etc(\/|$)|$)/.test(target);
  if (ops.some((o) => (o.kind === "mount" && overEtc(o.mount.target)) || (o.kind === "volume" && overEtc(o.target)))) return [];
  let read: Reader;
  const dir = root.overlay ? root.overlay.lower : root.dir;
  if (dir === defaultRootfs) read = (p) => (p === "/etc/passwd" ? BUILT_PASSWD : p === "/etc/group" ? BUILT_GROUP : null);
  else if (readHost) {
    const files = new Map<string, string | null>();
    for (const p of ["/etc/passwd", "/etc/group"]) {
      const text = readHost(dir + p);
      if (text === undefined) return []; // cannot be told before the container exists
      files.set(p, text);
    }
    read = (p) => files.get(p) ?? null;
  } else return [];
  const out: Diagnostic[] = [];
  for (const op of ops) {
    if (op.kind !== "user") continue;
    try {
      resolveUser(op.user, read);
    } catch (e) {
      if (e instanceof SysError) out.push({ severity: "error", span: op.span, message: e.message, help: e.hint ?? "" });
    }
  }
  return out;
}
