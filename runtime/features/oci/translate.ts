// An OCI bundle's config.json as the commands of a script (issue 18, item 2).
//
// The runtime spec's fields (github.com/opencontainers/runtime-spec,
// config.md and config-linux.md) are translated into the same commands the
// language front end makes of a script: a statement name and its arguments,
// each argument's span pointing into config.json by JSON pointer (its file
// is written `config.json:/linux/namespaces/2/type`). The checker then binds
// and checks them and the planner plans them (runtime/features/oci/bundle.ts),
// so a bundle gets the rules, the diagnostics and the ops a script gets.
//
// The rule of the whole file: a field is translated, or refused with an error
// naming it ("not supported yet"); nothing is dropped in silence. The
// exceptions are said where they are: `annotations` (the spec leaves them to
// the runtime), and fields holding an empty value (false, "", [], {}, null),
// which ask for nothing. Mount options that only say what ctr does anyway
// (a private tree, `rw`, devpts' `newinstance`) are accepted and named in
// each table below.
//
// The order of the commands is the order a script would need: ns, map,
// rootfs, the mounts in the config's order, the device nodes, hostname, limits and
// the device policy, the
// process spec, readonly and mask (the planner holds them until the mounts
// before the command are made), and the command last, as `exec`.

import * as path from "node:path";
import type { Arg, Command, Diagnostic, NsName, Span } from "../../../lang/spec.ts";
import { classify } from "../../../lang/expand.ts";
import { parseProfile, ProfileError, type Profile } from "../security/profile.ts";
import { pointer, type Located } from "./json.ts";
import { HOOK_KINDS, noHooks, type Hook, type HookKind, type Hooks } from "./hooks.ts";

/** The runtime spec's namespace types and ctr's `ns` names. */
export const NAMESPACE_NAMES: Record<string, string> = { pid: "pid", network: "net", ipc: "ipc", uts: "uts", mount: "mnt", user: "user", cgroup: "cgroup", time: "time" };

const RLIMIT = /^RLIMIT_([A-Z]+)$/;
/**
 * The namespaces ctr joins by a path (runtime/features/ns/unshare.ts, joinByPath), before it
 * makes the others. A PID namespace too: stage 1 joins it and PID 1 is born in it, an
 * ordinary process of it (config.ts takes it off the plan's namespaces: the container has
 * no PID namespace of its own, so its processes are tracked by a cgroup). A user namespace
 * too: joined first, single-threaded, the container root in it; its maps are its own (a
 * config's mappings are refused), and the namespaces made after it are owned by it. A mount
 * namespace: PID 1 joins it first thing (stage 1 must spawn the host's Bun from the host's
 * tree) and prepares and enters the root in it, as runc does; never ctr's own (HostFacts).
 */
const BY_PATH = new Set<NsName>(["net", "ipc", "uts", "cgroup", "pid", "user", "mnt"]);
/** 2^64-1, RLIM_INFINITY as a JSON number (which a double cannot hold exactly). */
const RLIM_INFINITY = 18446744073709551615;

/**
 * What the translation may know of the host, for fields whose honest reading
 * depends on it; without it (tests of the translation alone) those fields are
 * refused.
 */
export interface HostFacts {
  /** The umask the container's process inherits: ctr sets none of its own. */
  umask: number;
  /** True when a mount point lies below PATH (so a non-recursive bind of PATH differs from ctr's recursive one). */
  hasSubmounts(path: string): boolean;
  /** Why the host's I/O scheduler gives no group weight (`device`: per device), or null when it does or cannot be told yet. */
  ioWeightProblem?(device: boolean): string | null;
  /** True when the namespace file at `path` is the mount namespace ctr itself runs in (or the host's init's). */
  isOwnMountNs?(path: string): boolean;
  /** True when MAJOR:MINOR is a block device of this host. */
  blockDevice?(major: number, minor: number): boolean;
}

export interface Translation {
  commands: Command[];
  diagnostics: Diagnostic[];
  /** The file names of the spans (one per pointer used), each with the config's text. */
  sources: Map<string, string>;
  /** `linux.seccomp` as a checked profile: config.ts puts its op before the command (no statement reads an inline profile). */
  seccomp?: { profile: Profile; span: Span };
  /** `linux.cgroupsPath` (cgroupfs form): where the container's cgroups are made, a placement rather than a statement (the supervisor gives it to the cgroup manager). */
  cgroupsPath?: { path: string; span: Span };
  /** Namespaces given by a `path`: on the `ns` line (the container has one of its own, not the host's), joined by stage 1 instead of made. */
  nsPaths: { ns: NsName; path: string; span: Span }[];
  /** `process.terminal`: the command on a new pseudo-terminal, its master sent to the console socket. */
  terminal?: Span;
  /** `process.consoleSize` with a terminal: the terminal's first window size. */
  consoleSize?: { rows: number; cols: number };
  /** `process.oomScoreAdj`: written to /proc/PID/oom_score_adj of PID 1 before the command (supervise.ts), or of the exec stage (exec.ts). */
  oomScoreAdj?: number;
  /** `hooks`: the kinds ctr runs (hooks.ts), checked; the others are refused. */
  hooks?: Hooks;
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === false || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

class Translator {
  readonly commands: Command[] = [];
  readonly diagnostics: Diagnostic[] = [];
  readonly sources = new Map<string, string>();
  seccomp?: { profile: Profile; span: Span };
  cgroupsPath?: { path: string; span: Span };
  readonly nsPaths: { ns: NsName; path: string; span: Span }[] = [];
  terminal?: Span;
  consoleSize?: { rows: number; cols: number };
  hooks?: Hooks;
  oomScoreAdj?: number;

  constructor(
    private readonly doc: Located,
    private readonly text: string,
    readonly file: string,
    readonly facts: HostFacts | undefined,
  ) {}

  /** The span of a pointer's value (or, with `key`, of its member name). */
  span(ptr: string, key = false): Span {
    const p = this.doc.places.get(ptr) ?? this.doc.places.get("")!;
    const offset = key && p.keyOffset !== undefined ? p.keyOffset : p.offset;
    const length = key && p.keyLength !== undefined ? p.keyLength : p.length;
    const { line, column } = this.doc.lineColumn(offset);
    const file = `${this.file}:${ptr || "/"}`;
    this.sources.set(file, this.text);
    // A value spanning lines is underlined on its first line only.
    const nl = this.text.indexOf("\n", offset);
    return { file, line, column, offset, length: nl >= 0 && nl < offset + length ? nl - offset : length };
  }

  error(ptr: string, message: string, help?: string, key = false): void {
    this.diagnostics.push({ severity: "error", span: this.span(ptr, key), message, ...(help ? { help } : {}) });
  }

  warning(ptr: string, message: string, help?: string): void {
    this.diagnostics.push({ severity: "warning", span: this.span(ptr), message, ...(help ? { help } : {}) });
  }

  /** A field ctr cannot honour yet: the error names it (its pointer, as `linux.sysctl`). */
  unsupported(ptr: string, why = ""): void {
    const name = ptr
      .slice(1)
      .split("/")
      .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"))
      .map((t, i) => (/^\d+$/.test(t) ? `[${t}]` : i === 0 ? t : `.${t}`))
      .join("");
    this.error(ptr, `\`${name}\` is not supported yet${why ? `: ${why}` : ""}`, "remove it from config.json; ctr refuses a bundle it cannot run in full", true);
  }

  /** Every key of `obj` must be one of `known` (or hold an empty value). */
  keys(obj: Record<string, unknown>, ptr: string, known: readonly string[]): void {
    for (const [k, v] of Object.entries(obj)) if (!known.includes(k) && !isEmpty(v)) this.unsupported(pointer(ptr, k));
  }

  word(text: string, ptr: string): Arg {
    return classify(text, this.span(ptr));
  }

  string(text: string, ptr: string): Arg {
    return { kind: "string", text, span: this.span(ptr) };
  }

  option(key: string, value: Arg, ptr: string): Arg {
    return { kind: "option", key, text: `${key}=${value.text}`, span: this.span(ptr), value };
  }

  list(items: Arg[], ptr: string): Arg {
    return { kind: "list", text: items.map((i) => i.text).join(","), span: this.span(ptr), items };
  }

  add(name: string, ptr: string, args: Arg[]): void {
    const span = this.span(ptr);
    this.commands.push({ name, nameSpan: this.span(ptr, true), args, span });
  }

  /** A value of the expected JSON type, or an error at it. */
  typed<T>(v: unknown, ptr: string, type: "string" | "number" | "boolean" | "array" | "object"): T | undefined {
    const ok = type === "array" ? Array.isArray(v) : type === "object" ? isObject(v) : typeof v === type && (type !== "number" || Number.isFinite(v));
    if (ok) return v as T;
    this.error(ptr, `expected ${type === "array" || type === "object" ? `an ${type}` : `a ${type}`} here`, "see the OCI runtime spec, config.md");
    return undefined;
  }

  int(v: unknown, ptr: string): number | undefined {
    const n = this.typed<number>(v, ptr, "number");
    if (n === undefined) return undefined;
    if (!Number.isInteger(n) || n < 0) {
      this.error(ptr, `expected a non-negative whole number, found ${n}`);
      return undefined;
    }
    return n;
  }
}

/** Translate a parsed config.json (`doc`, the text `text` of `file`) of the bundle directory `bundle`. */
export function translateConfig(doc: Located, text: string, file: string, bundle: string, facts?: HostFacts): Translation {
  const t = new Translator(doc, text, file, facts);
  const cfg = doc.value;
  if (!isObject(cfg)) {
    t.error("", "config.json must hold an object", "see the OCI runtime spec, config.md");
    return t;
  }
  t.keys(cfg, "", ["ociVersion", "root", "mounts", "process", "hostname", "domainname", "linux", "annotations", "hooks"]);
  const version = cfg.ociVersion;
  if (typeof version !== "string") t.error(cfg.ociVersion === undefined ? "" : "/ociVersion", "config.json needs an `ociVersion` string", 'the runtime spec\'s version, e.g. "ociVersion": "1.0.2"');
  else if (!/^1\.\d+\.\d+/.test(version)) t.error("/ociVersion", `ociVersion ${JSON.stringify(version)} is not a 1.x version`, "ctr reads runtime spec 1.x configs");
  const linux = isObject(cfg.linux) ? cfg.linux : {};
  if (cfg.linux !== undefined) t.typed(cfg.linux, "/linux", "object");
  t.keys(linux, "/linux", ["namespaces", "uidMappings", "gidMappings", "maskedPaths", "readonlyPaths", "resources", "sysctl", "seccomp", "cgroupsPath", "rootfsPropagation", "devices"]);
  if (linux.rootfsPropagation !== undefined && linux.rootfsPropagation !== "") {
    // What ctr does anyway: stage 1 makes the whole tree private as it unshares the mount namespace, the root included.
    const prop = t.typed<string>(linux.rootfsPropagation, "/linux/rootfsPropagation", "string");
    if (prop !== undefined && prop !== "private" && prop !== "rprivate") t.unsupported("/linux/rootfsPropagation", `${JSON.stringify(prop)}: ctr's root is private (no propagation to or from the host), as "private" and "rprivate" ask`);
  }
  if (linux.cgroupsPath !== undefined && linux.cgroupsPath !== "") cgroupsPath(t, linux.cgroupsPath);
  namespaces(t, linux.namespaces);
  for (const which of ["uid", "gid"] as const) idMappings(t, which, linux[`${which}Mappings`]);
  root(t, cfg.root, bundle);
  mounts(t, cfg.mounts, bundle);
  // The nodes after the mounts (a /dev tmpfs is among them), as runc makes them.
  const nodes = linux.devices === undefined ? [] : linuxDevices(t, linux.devices);
  // A cgroup namespace joined by path has another root: `mount cgroup` binds PID 1's cgroup as /proc/self/cgroup names it from its own root (runtime/features/mount/cgroupfs.ts).
  const cgroupNs = t.nsPaths.find((p) => p.ns === "cgroup");
  if (cgroupNs && t.commands.some((c) => c.name === "mount" && c.args[0]?.text === "cgroup")) t.unsupported(cgroupNs.span.file.slice(t.file.length + 1), "a cgroup namespace by path with a cgroup mount (ctr mounts the container's cgroups as seen from a namespace of its own)");
  for (const key of ["hostname", "domainname"] as const) {
    const v = cfg[key];
    if (v === undefined || v === "") continue;
    const name = t.typed<string>(v, `/${key}`, "string");
    if (name !== undefined) t.add(key, `/${key}`, [t.string(name, `/${key}`)]);
  }
  if (linux.resources !== undefined) resources(t, linux.resources, nodes);
  if (linux.sysctl !== undefined) sysctl(t, linux.sysctl);
  if (linux.seccomp !== undefined) seccomp(t, linux.seccomp);
  if (cfg.hooks !== undefined) hooks(t, cfg.hooks);
  const proc = cfg.process;
  if (proc === undefined) t.error("", "config.json has no `process`: ctr runs a bundle's process (create, then start)", 'add "process": {"args": [...], "cwd": "/"}');
  else if (t.typed(proc, "/process", "object")) processSpec(t, proc as Record<string, unknown>, (cfg.root as { readonly?: boolean } | undefined)?.readonly === true, linux);
  return t;
}

function namespaces(t: Translator, v: unknown): void {
  if (v === undefined) {
    // No namespaces: the host's, as `ns none` (a plain child process).
    t.add("ns", "", [t.word("none", "")]);
    return;
  }
  const list = t.typed<unknown[]>(v, "/linux/namespaces", "array");
  if (!list) return;
  const items: Arg[] = [];
  list.forEach((ns, i) => {
    const ptr = `/linux/namespaces/${i}`;
    if (!t.typed(ns, ptr, "object")) return;
    const o = ns as Record<string, unknown>;
    t.keys(o, ptr, ["type", "path"]);
    const type = t.typed<string>(o.type, `${ptr}/type`, "string");
    if (type === undefined) return;
    const name = NAMESPACE_NAMES[type];
    if (!name) {
      t.error(`${ptr}/type`, `unknown namespace type ${JSON.stringify(type)}`, `one of ${Object.keys(NAMESPACE_NAMES).join(", ")}`);
      return;
    }
    if (o.path !== undefined && o.path !== "") {
      const p = t.typed<string>(o.path, `${ptr}/path`, "string");
      if (p === undefined) return;
      if (!BY_PATH.has(name as NsName)) {
        t.unsupported(`${ptr}/path`, `joining a ${type} namespace by path (ctr joins network, ipc, uts, cgroup, pid, user and mount namespaces by path)`);
        items.push(t.word(name, `${ptr}/type`)); // on the ns line still: the refusal alone is said, not what lacking it would cause
        return;
      }
      if (!p.startsWith("/")) {
        t.error(`${ptr}/path`, `a namespace path must be absolute, not ${JSON.stringify(p)}`, "e.g. /run/netns/NAME or /proc/PID/ns/net");
        return;
      }
      // The root is prepared and pivoted into in a joined mount namespace: never in the one ctr (the host) runs in.
      if (name === "mnt" && t.facts?.isOwnMountNs?.(p)) {
        t.error(`${ptr}/path`, `the mount namespace at ${JSON.stringify(p)} is ctr's own: the container's root would be mounted and pivoted into there, on the host`, "give a mount namespace made for the container, or leave out its path for a new one");
        items.push(t.word(name, `${ptr}/type`));
        return;
      }
      t.nsPaths.push({ ns: name as NsName, path: p, span: t.span(`${ptr}/path`) });
    }
    items.push(t.word(name, `${ptr}/type`));
  });
  if (items.length === 0) {
    t.add("ns", "/linux/namespaces", [t.word("none", "/linux/namespaces")]);
    return;
  }
  t.add("ns", "/linux/namespaces", [items.length === 1 ? items[0]! : t.list(items, "/linux/namespaces")]);
}

function idMappings(t: Translator, which: "uid" | "gid", v: unknown): void {
  const at = `/linux/${which}Mappings`;
  if (v === undefined) return;
  // A user namespace joined by path has its maps: the runtime spec has the runtime refuse anything else about it.
  if (t.nsPaths.some((p) => p.ns === "user") && !isEmpty(v)) return t.unsupported(at, "id mappings with a user namespace given by path (it has its maps already)");
  const list = t.typed<unknown[]>(v, at, "array");
  list?.forEach((m, i) => {
    const ptr = `${at}/${i}`;
    if (!t.typed(m, ptr, "object")) return;
    const o = m as Record<string, unknown>;
    t.keys(o, ptr, ["containerID", "hostID", "size"]);
    const inside = t.int(o.containerID, `${ptr}/containerID`);
    const outside = t.int(o.hostID, `${ptr}/hostID`);
    const size = t.int(o.size, `${ptr}/size`);
    if (inside === undefined || outside === undefined || size === undefined) return;
    t.add("map", ptr, [t.word(which, ptr), t.word(String(inside), `${ptr}/containerID`), t.word(String(outside), `${ptr}/hostID`), t.word(String(size), `${ptr}/size`)]);
  });
}

function root(t: Translator, v: unknown, bundle: string): void {
  if (v === undefined) {
    t.error("", "config.json has no `root`", 'add "root": {"path": "rootfs"}');
    return;
  }
  if (!t.typed(v, "/root", "object")) return;
  const o = v as Record<string, unknown>;
  t.keys(o, "/root", ["path", "readonly"]);
  const p = t.typed<string>(o.path, "/root/path", "string");
  if (p === undefined) return;
  if (o.readonly !== undefined) t.typed(o.readonly, "/root/readonly", "boolean");
  t.add("rootfs", "/root/path", [t.string(path.resolve(bundle, p), "/root/path")]);
}

// Mount options, by what ctr does with them.
/** Flags of ctr's mount forms. */
const FLAG_OPTIONS = new Set(["ro", "nosuid", "nodev", "noexec"]);
/** What ctr does anyway: every mount is read-write unless `ro`, and the container's tree is private (stage 1 makes it so at unshare; detached binds are private). */
const DEFAULT_OPTIONS = new Set(["rw", "private", "rprivate"]);
/** The options ctr's devpts is mounted with (runtime/features/mount/statements.ts). */
const DEVPTS_BUILT_IN = new Set(["newinstance", "ptmxmode=0666", "mode=0620", "mode=620"]);
/** What `mount dev` makes of /dev (runtime/features/mount/mount.ts, mountDev): a tmpfs, nosuid, noexec, mode=755, size=65536k, and the devices the spec's "Default Devices" lists. */
const DEV_BUILT_IN = new Set(["nosuid", "noexec", "mode=755", "mode=0755", "size=65536k"]);

function mounts(t: Translator, v: unknown, bundle: string): void {
  if (v === undefined) return;
  const list = t.typed<unknown[]>(v, "/mounts", "array");
  list?.forEach((m, i) => {
    const ptr = `/mounts/${i}`;
    if (!t.typed(m, ptr, "object")) return;
    const o = m as Record<string, unknown>;
    t.keys(o, ptr, ["destination", "type", "source", "options"]);
    let dst = t.typed<string>(o.destination, `${ptr}/destination`, "string");
    if (dst === undefined) return;
    if (!dst.startsWith("/")) dst = `/${dst}`; // the spec's deprecated relative form: relative to the root
    const options = o.options === undefined ? [] : (t.typed<unknown[]>(o.options, `${ptr}/options`, "array") ?? []);
    const opts: { text: string; ptr: string }[] = [];
    options.forEach((x, j) => {
      const s = t.typed<string>(x, `${ptr}/options/${j}`, "string");
      if (s !== undefined) opts.push({ text: s, ptr: `${ptr}/options/${j}` });
    });
    const type = o.type === undefined ? (opts.some((x) => x.text === "bind" || x.text === "rbind") ? "bind" : undefined) : t.typed<string>(o.type, `${ptr}/type`, "string");
    if (type === undefined) {
      t.error(ptr, "a mount needs a `type` (or a bind option)", 'e.g. "type": "tmpfs"');
      return;
    }
    const dstArg = t.string(dst, `${ptr}/destination`);
    const flags: Arg[] = [];
    const bad = (x: { text: string; ptr: string }, why: string) => t.error(x.ptr, `mount option ${JSON.stringify(x.text)} is not supported yet for ${type}${why ? `: ${why}` : ""}`, "remove it from config.json; ctr refuses a bundle it cannot run in full");
    const flagOrDefault = (x: { text: string; ptr: string }): boolean => {
      if (FLAG_OPTIONS.has(x.text)) flags.push(t.word(x.text, x.ptr));
      else if (!DEFAULT_OPTIONS.has(x.text)) return false;
      return true;
    };
    switch (type) {
      case "proc":
      case "sysfs":
      case "mqueue":
        for (const x of opts) if (!flagOrDefault(x)) bad(x, "");
        t.add("mount", `${ptr}/type`, [t.word(type, `${ptr}/type`), dstArg, ...flags]);
        return;
      case "devpts": {
        const extra: Arg[] = [];
        for (const x of opts) {
          if (flagOrDefault(x) || DEVPTS_BUILT_IN.has(x.text)) continue;
          const gid = /^gid=(\d+)$/.exec(x.text);
          if (gid) extra.push(t.option("gid", t.word(gid[1]!, x.ptr), x.ptr));
          else bad(x, "ctr mounts devpts with newinstance,ptmxmode=0666,mode=0620 and an optional gid=");
        }
        t.add("mount", `${ptr}/type`, [t.word("devpts", `${ptr}/type`), dstArg, ...extra, ...flags]);
        return;
      }
      case "tmpfs": {
        if (dst === "/dev") {
          // The spec's /dev: the runtime also makes the default devices and links, which is `mount dev`.
          for (const x of opts) {
            if (DEV_BUILT_IN.has(x.text) || x.text === "rw") continue;
            if (x.text === "ro" || x.text === "strictatime") flags.push(t.word(x.text, x.ptr));
            else bad(x, "a tmpfs on /dev is `mount dev`, which makes it nosuid,noexec,mode=755,size=65536k");
          }
          t.add("mount", `${ptr}/type`, [t.word("dev", `${ptr}/type`), dstArg, ...flags]);
          return;
        }
        const extra: Arg[] = [];
        for (const x of opts) {
          if (flagOrDefault(x)) continue;
          if (x.text === "strictatime") {
            flags.push(t.word(x.text, x.ptr));
            continue;
          }
          const m = /^(size|mode)=(.+)$/.exec(x.text);
          if (m) extra.push(t.option(m[1]!, t.word(m[1] === "size" ? m[2]!.replace(/^(\d+)([kmg])$/i, "$1$2") : m[2]!, x.ptr), x.ptr));
          else bad(x, "ctr's tmpfs takes size=, mode= and nosuid, nodev, noexec, ro, strictatime");
        }
        t.add("mount", `${ptr}/type`, [t.word("tmpfs", `${ptr}/type`), dstArg, ...extra, ...flags]);
        return;
      }
      case "bind":
      case "none": {
        const src = t.typed<string>(o.source, `${ptr}/source`, "string");
        if (src === undefined) return;
        let recursive: boolean | null = null;
        for (const x of opts) {
          if (x.text === "rbind") recursive = true;
          else if (x.text === "bind") recursive ??= false;
          else if (!flagOrDefault(x)) bad(x, "");
        }
        if (recursive === null) {
          t.error(`${ptr}/type`, `a mount of type ${JSON.stringify(type)} without "bind" or "rbind" is not supported yet`, 'add "rbind" to its options');
          return;
        }
        const source = path.resolve(bundle, src);
        // ctr's binds are recursive (runtime/features/mount/statements.ts): the
        // same as a plain bind of a source with no mount below it.
        if (!recursive && (t.facts === undefined || t.facts.hasSubmounts(source))) {
          const x = opts.find((x) => x.text === "bind")!;
          bad(x, t.facts ? `"${source}" has mounts below it and ctr's binds are recursive; write "rbind"` : "ctr's binds are recursive; write \"rbind\"");
          return;
        }
        t.add("mount", `${ptr}/type`, [t.word("bind", `${ptr}/type`), t.string(source, `${ptr}/source`), dstArg, ...flags]);
        return;
      }
      case "cgroup": {
        // The container's own cgroups, as runc mounts them: `mount cgroup`
        // (runtime/features/mount/cgroupfs.ts). relatime is what a new mount gets anyway.
        for (const x of opts) if (!flagOrDefault(x) && x.text !== "relatime") bad(x, "ctr's cgroup mount takes ro, nosuid, nodev, noexec");
        t.add("mount", `${ptr}/type`, [t.word("cgroup", `${ptr}/type`), dstArg, ...flags]);
        return;
      }
      default:
        t.unsupported(`${ptr}/type`, `a mount of type ${JSON.stringify(type)}`);
    }
  });
}

/**
 * `linux.cgroupsPath` (config-linux.md, "Cgroups path"): a path, absolute from
 * each hierarchy's root or relative to ctr's own cgroup, where the container's
 * cgroups are made in every hierarchy (runtime/features/cgroup/manager.ts,
 * `path`). The systemd form, `slice:prefix:name` (runc --systemd-cgroup), asks
 * for a transient unit of systemd's, which ctr does not make.
 */
function cgroupsPath(t: Translator, v: unknown): void {
  const at = "/linux/cgroupsPath";
  const p = t.typed<string>(v, at, "string");
  if (p === undefined) return;
  if (!p.startsWith("/") && /^[^/:]*:[^/:]*:[^/:]*$/.test(p)) {
    t.unsupported(at, `the systemd form "slice:prefix:name" (${JSON.stringify(p)}): ctr makes cgroups through the cgroup filesystem, not as systemd units; give a path, as podman does with --cgroup-manager cgroupfs`);
    return;
  }
  const parts = p.split("/").filter(Boolean);
  if (parts.length === 0 || parts.some((x) => x === "." || x === "..")) {
    t.error(at, `cgroupsPath ${JSON.stringify(p)} does not name a cgroup below a hierarchy's root`, 'a path such as "/machine/ctr-1" (from each hierarchy\'s root) or "ctr-1" (below ctr\'s own cgroup), without "." or ".."');
    return;
  }
  t.cgroupsPath = { path: `${p.startsWith("/") ? "/" : ""}${parts.join("/")}`, span: t.span(at) };
}

function resources(t: Translator, v: unknown, nodes: ListedNode[]): void {
  const at = "/linux/resources";
  if (!t.typed(v, at, "object")) return;
  const r = v as Record<string, unknown>;
  t.keys(r, at, ["memory", "cpu", "pids", "devices", "blockIO"]);
  if (isObject(r.memory)) {
    const m = r.memory;
    t.keys(m, `${at}/memory`, ["limit", "swap"]);
    if (m.limit !== undefined && m.limit !== -1) {
      const n = t.int(m.limit, `${at}/memory/limit`);
      // The spec's swap is memory and swap together (runc writes it to memory.memsw.limit_in_bytes); ctr's `swap=` is the swap alone.
      let swap: Arg | null = null;
      if (m.swap !== undefined && n !== undefined) {
        if (m.swap === -1) t.unsupported(`${at}/memory/swap`, "unlimited swap (-1): ctr's `limit memory` gives a container no swap, or `swap=` SIZE of it");
        else {
          const total = t.int(m.swap, `${at}/memory/swap`);
          if (total !== undefined && total < n) t.error(`${at}/memory/swap`, `memory.swap (${total}) is below memory.limit (${n})`, "the spec's swap is memory and swap together: at least the limit");
          else if (total !== undefined && total > n) swap = t.option("swap", t.word(String(total - n), `${at}/memory/swap`), `${at}/memory/swap`);
        }
      }
      if (n !== undefined) t.add("limit", `${at}/memory/limit`, [t.word("memory", `${at}/memory`), t.word(String(n), `${at}/memory/limit`), ...(swap ? [swap] : [])]);
    } else if (m.swap !== undefined && m.swap !== -1) t.unsupported(`${at}/memory/swap`, "swap without a memory limit");
  }
  if (isObject(r.cpu)) {
    const c = r.cpu;
    const p = `${at}/cpu`;
    t.keys(c, p, ["quota", "period", "shares", "cpus", "mems"]);
    const args: Arg[] = [];
    if (c.quota !== undefined && c.quota !== -1) {
      const quota = t.int(c.quota, `${p}/quota`);
      const period = c.period === undefined ? 100000 : t.int(c.period, `${p}/period`);
      if (quota !== undefined && period !== undefined && period > 0) {
        if (period % 1000 !== 0) t.error(`${p}/period`, `a period of ${period} µs is not a whole number of milliseconds`, "ctr's `limit cpu period=` takes milliseconds: e.g. 100000");
        else {
          const pct = Math.round((quota / period) * 10000) / 100;
          args.push(t.word(`${pct}%`, `${p}/quota`));
          if (c.period !== undefined) args.push(t.option("period", t.word(`${period / 1000}ms`, `${p}/period`), `${p}/period`));
        }
      }
    } else if (c.period !== undefined) t.unsupported(`${p}/period`, "a period without a quota");
    if (c.shares !== undefined) {
      const n = t.int(c.shares, `${p}/shares`);
      if (n !== undefined) args.push(t.option("shares", t.word(String(n), `${p}/shares`), `${p}/shares`));
    }
    if (args.length > 0) t.add("limit", p, [t.word("cpu", p), ...args]);
    if (c.cpus !== undefined && c.cpus !== "") {
      const cpus = t.typed<string>(c.cpus, `${p}/cpus`, "string");
      const mems = c.mems === undefined || c.mems === "" ? undefined : t.typed<string>(c.mems, `${p}/mems`, "string");
      if (cpus !== undefined) t.add("limit", `${p}/cpus`, [t.word("cpuset", `${p}/cpus`), t.word(cpus, `${p}/cpus`), ...(mems !== undefined ? [t.option("mems", t.word(mems, `${p}/mems`), `${p}/mems`)] : [])]);
    } else if (c.mems !== undefined && c.mems !== "") t.unsupported(`${p}/mems`, "memory nodes without cpus");
  }
  if (isObject(r.pids)) {
    t.keys(r.pids, `${at}/pids`, ["limit"]);
    const lim = r.pids.limit;
    if (lim !== undefined && lim !== -1 && lim !== 0) {
      const n = t.int(lim, `${at}/pids/limit`);
      if (n !== undefined) t.add("limit", `${at}/pids/limit`, [t.word("pids", `${at}/pids`), t.word(String(n), `${at}/pids/limit`)]);
    }
  }
  if (r.blockIO !== undefined) blockIO(t, r.blockIO);
  if (r.devices !== undefined) {
    devices(t, r.devices);
    // A node linux.devices lists is meant to be used: allowed after the config's rules.
    for (const n of nodes) if (n.type !== "p") t.add("device", n.ptr, [t.word("allow", n.ptr), t.word(n.type, `${n.ptr}/type`), t.word(`${n.major}:${n.minor}`, n.ptr), t.word("rwm", n.ptr)]);
  }
}

/** The throttle lists of blockIO, and `limit io`'s option for each. */
const THROTTLES = [
  ["throttleReadBpsDevice", "rbps"],
  ["throttleWriteBpsDevice", "wbps"],
  ["throttleReadIOPSDevice", "riops"],
  ["throttleWriteIOPSDevice", "wiops"],
] as const;

/**
 * `linux.resources.blockIO` (config-linux.md, "Block IO"): `limit io` lines
 * (runtime/features/cgroup/io.ts), the weight and each device's weight and
 * throttles; whether the host's scheduler gives weights is known at run time.
 * leafWeight was CFQ's, which Linux 5.0 removed. A weight or rate of 0 asks for nothing.
 */
function blockIO(t: Translator, v: unknown): void {
  const at = "/linux/resources/blockIO";
  if (!t.typed(v, at, "object")) return;
  const o = v as Record<string, unknown>;
  t.keys(o, at, ["weight", "leafWeight", "weightDevice", ...THROTTLES.map(([k]) => k)]);
  const leaf = (ptr: string) => t.unsupported(ptr, "CFQ's leaf weight: no I/O scheduler of Linux 5.0 and later has one");
  if (o.leafWeight !== undefined && o.leafWeight !== 0) leaf(`${at}/leafWeight`);
  // What the host can tell now, before anything is made: its scheduler's weights, its block devices.
  const noWeight = (ptr: string, device: boolean): boolean => {
    const why = t.facts?.ioWeightProblem?.(device) ?? null;
    if (why) t.unsupported(ptr, `a block I/O weight on this host: ${why}`);
    return why !== null;
  };
  const noDevice = (ptr: string, major: number, minor: number): boolean => {
    const missing = t.facts?.blockDevice?.(major, minor) === false;
    if (missing) t.error(ptr, `no block device ${major}:${minor} on this host`, "give a whole disk's MAJOR:MINOR, as /sys/block/NAME/dev says");
    return missing;
  };
  if (o.weight !== undefined) {
    const w = t.int(o.weight, `${at}/weight`);
    // 0 asks for no weight, as runc reads it (the field's zero value).
    if (w !== undefined && w !== 0 && !noWeight(`${at}/weight`, false)) t.add("limit", `${at}/weight`, [t.word("io", at), t.option("weight", t.word(String(w), `${at}/weight`), `${at}/weight`)]);
  }
  /** Each entry of a device list (keys `major`, `minor`, `key`, and `leafWeight` in weightDevice): its MAJOR:MINOR word and its value. */
  const each = (list: string, key: "weight" | "rate", use: (dev: Arg, value: number, ptr: string) => void) => {
    if (o[list] === undefined) return;
    (t.typed<unknown[]>(o[list], `${at}/${list}`, "array") ?? []).forEach((d, i) => {
      const ptr = `${at}/${list}/${i}`;
      if (!t.typed(d, ptr, "object")) return;
      const e = d as Record<string, unknown>;
      t.keys(e, ptr, ["major", "minor", key, ...(key === "weight" ? ["leafWeight"] : [])]);
      if (key === "weight" && e.leafWeight !== undefined && e.leafWeight !== 0) leaf(`${ptr}/leafWeight`);
      const major = t.int(e.major, `${ptr}/major`);
      const minor = t.int(e.minor, `${ptr}/minor`);
      const value = e[key] === undefined ? undefined : t.int(e[key], `${ptr}/${key}`);
      if (major === undefined || minor === undefined || value === undefined || value === 0 || noDevice(ptr, major, minor)) return;
      if (key === "weight" && noWeight(`${ptr}/weight`, true)) return;
      use(t.word(`${major}:${minor}`, ptr), value, ptr);
    });
  };
  each("weightDevice", "weight", (dev, w, ptr) => t.add("limit", `${ptr}/weight`, [t.word("io", ptr), dev, t.option("weight", t.word(String(w), `${ptr}/weight`), `${ptr}/weight`)]));
  for (const [list, opt] of THROTTLES) {
    each(list, "rate", (dev, rate, ptr) => {
      t.add("limit", `${ptr}/rate`, [t.word("io", ptr), dev, t.option(opt, t.word(String(rate), `${ptr}/rate`), `${ptr}/rate`)]);
    });
  }
}

/** A node of linux.devices, for its rule in the device policy. */
interface ListedNode {
  ptr: string;
  type: "c" | "b" | "p";
  major: number;
  minor: number;
}

/**
 * `linux.devices` (config-linux.md, "Devices"): each a `device node` (runtime/features/devices/node.ts).
 * Type u (unbuffered char) is a char node; fileMode's file-type bits are dropped, as runc
 * does. The nodes are returned for their rules in the device policy (resources).
 */
function linuxDevices(t: Translator, v: unknown): ListedNode[] {
  const at = "/linux/devices";
  const list = t.typed<unknown[]>(v, at, "array");
  const out: ListedNode[] = [];
  list?.forEach((d, i) => {
    const ptr = `${at}/${i}`;
    if (!t.typed(d, ptr, "object")) return;
    const o = d as Record<string, unknown>;
    t.keys(o, ptr, ["path", "type", "major", "minor", "fileMode", "uid", "gid"]);
    const p = t.typed<string>(o.path, `${ptr}/path`, "string");
    const raw = t.typed<string>(o.type, `${ptr}/type`, "string");
    if (p === undefined || raw === undefined) return;
    if (!p.startsWith("/")) return t.error(`${ptr}/path`, `a device's path must be absolute, not ${JSON.stringify(p)}`, "e.g. /dev/fuse");
    const type = raw === "u" ? "c" : raw;
    if (type !== "c" && type !== "b" && type !== "p") return t.error(`${ptr}/type`, `unknown device type ${JSON.stringify(raw)}`, "one of c, b, u (a char device) and p (a FIFO)");
    const args: Arg[] = [t.string(p, `${ptr}/path`), t.word(type, `${ptr}/type`)];
    let major = 0;
    let minor = 0;
    if (type !== "p") {
      const ma = o.major === undefined ? undefined : t.int(o.major, `${ptr}/major`);
      const mi = o.minor === undefined ? undefined : t.int(o.minor, `${ptr}/minor`);
      if (o.major === undefined || o.minor === undefined) return t.error(ptr, `a ${type === "b" ? "block" : "char"} device needs its \`major\` and \`minor\``, 'e.g. "major": 10, "minor": 229');
      if (ma === undefined || mi === undefined) return;
      [major, minor] = [ma, mi];
      args.push(t.word(`${ma}:${mi}`, ptr));
    }
    if (o.fileMode !== undefined) {
      const mode = t.int(o.fileMode, `${ptr}/fileMode`);
      if (mode === undefined) return;
      args.push(t.option("mode", t.word((mode & 0o7777).toString(8).padStart(4, "0"), `${ptr}/fileMode`), `${ptr}/fileMode`));
    }
    for (const k of ["uid", "gid"] as const) {
      if (o[k] === undefined) continue;
      const id = t.int(o[k], `${ptr}/${k}`);
      if (id === undefined) return;
      args.push(t.option(k, t.word(String(id), `${ptr}/${k}`), `${ptr}/${k}`));
    }
    t.add("device", ptr, [t.word("node", ptr), ...args]);
    out.push({ ptr, type, major, minor });
  });
  return out;
}

/**
 * The device cgroup's rules, in order. ctr's policy starts from what runc's
 * does (deny everything, then allow the default devices, which runc adds
 * itself whatever the config says): so a first rule denying all access is
 * that base, `device default`, and the rules after it are `device allow|deny`.
 */
function devices(t: Translator, v: unknown): void {
  const at = "/linux/resources/devices";
  const list = t.typed<unknown[]>(v, at, "array");
  if (!list) return;
  list.forEach((d, i) => {
    const ptr = `${at}/${i}`;
    if (!t.typed(d, ptr, "object")) return;
    const o = d as Record<string, unknown>;
    t.keys(o, ptr, ["allow", "type", "major", "minor", "access"]);
    const allow = t.typed<boolean>(o.allow, `${ptr}/allow`, "boolean");
    if (allow === undefined) return;
    const type = o.type === undefined ? "a" : t.typed<string>(o.type, `${ptr}/type`, "string");
    const access = o.access === undefined ? "rwm" : t.typed<string>(o.access, `${ptr}/access`, "string");
    if (type === undefined || access === undefined) return;
    const num = (k: "major" | "minor") => (o[k] === undefined || o[k] === -1 ? "*" : String(t.int(o[k], `${ptr}/${k}`) ?? "*"));
    if (i === 0 && !allow && type === "a" && o.major === undefined && o.minor === undefined && [...access].sort().join("") === "mrw") {
      t.add("device", ptr, [t.word("default", `${ptr}/allow`)]);
      return;
    }
    const args = [t.word(allow ? "allow" : "deny", `${ptr}/allow`), t.word(type, o.type === undefined ? ptr : `${ptr}/type`)];
    if (type !== "a") args.push(t.word(`${num("major")}:${num("minor")}`, ptr));
    args.push(t.word(access, o.access === undefined ? ptr : `${ptr}/access`));
    t.add("device", ptr, args);
  });
}

function processSpec(t: Translator, p: Record<string, unknown>, readonlyRoot: boolean, linux: Record<string, unknown>): void {
  t.keys(p, "/process", ["args", "env", "cwd", "user", "capabilities", "rlimits", "noNewPrivileges", "terminal", "consoleSize", "oomScoreAdj"]);
  if (p.oomScoreAdj !== undefined) {
    // Not a statement: the supervisor writes it to PID 1's /proc/PID/oom_score_adj before the command's execve, which keeps it (config.ts).
    const n = t.typed<number>(p.oomScoreAdj, "/process/oomScoreAdj", "number");
    if (n !== undefined && (!Number.isInteger(n) || n < -1000 || n > 1000)) t.error("/process/oomScoreAdj", `oomScoreAdj ${n} is not a whole number from -1000 to 1000`, "see proc(5), /proc/PID/oom_score_adj");
    else if (n !== undefined) t.oomScoreAdj = n;
  }
  // A terminal for the command, its master to the caller's console socket (runtime/features/process/console.ts): on the `exec` op (config.ts).
  if (p.terminal !== undefined && t.typed<boolean>(p.terminal, "/process/terminal", "boolean") === true) t.terminal = t.span("/process/terminal");
  // Its window size (rows by columns) from the start; the spec has a runtime ignore it without a terminal.
  if (p.consoleSize !== undefined && t.terminal && t.typed(p.consoleSize, "/process/consoleSize", "object")) {
    const box = p.consoleSize as Record<string, unknown>;
    t.keys(box, "/process/consoleSize", ["height", "width"]);
    const dim = (k: "height" | "width"): number | null => {
      const v = box[k];
      if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff) return v;
      t.error(`/process/consoleSize/${k}`, `\`process.consoleSize.${k}\` must be a whole number from 0 to 65535`);
      return null;
    };
    const rows = dim("height");
    const cols = dim("width");
    if (rows !== null && cols !== null) t.consoleSize = { rows, cols };
  }
  if (p.env !== undefined) {
    const env = t.typed<unknown[]>(p.env, "/process/env", "array");
    const opts: Arg[] = [];
    env?.forEach((e, i) => {
      const ptr = `/process/env/${i}`;
      const s = t.typed<string>(e, ptr, "string");
      if (s === undefined) return;
      const eq = s.indexOf("=");
      if (eq <= 0) t.error(ptr, `malformed environment entry ${JSON.stringify(s)}`, "write NAME=VALUE");
      else opts.push(t.option(s.slice(0, eq), t.string(s.slice(eq + 1), ptr), ptr));
    });
    if (opts.length > 0) t.add("env", "/process/env", opts);
  }
  if (p.cwd !== undefined) {
    const cwd = t.typed<string>(p.cwd, "/process/cwd", "string");
    if (cwd !== undefined) t.add("cwd", "/process/cwd", [t.string(cwd, "/process/cwd")]);
  } else t.error("/process", "`process` needs a `cwd`", 'the spec requires it: "cwd": "/"');
  let uid = 0;
  if (p.user !== undefined && t.typed(p.user, "/process/user", "object")) {
    const u = p.user as Record<string, unknown>;
    t.keys(u, "/process/user", ["uid", "gid", "additionalGids", "umask"]);
    if (u.umask !== undefined) {
      // ctr sets no umask: the process keeps the one it inherits, which is then the one asked for or not.
      const mask = t.int(u.umask, "/process/user/umask");
      const have = t.facts?.umask;
      if (mask !== undefined && mask !== have) t.unsupported("/process/user/umask", `a umask other than the one ctr's processes inherit${have === undefined ? "" : ` (${have.toString(8).padStart(4, "0")})`}`);
    }
    const id = t.int(u.uid, "/process/user/uid");
    const gid = u.gid === undefined ? 0 : t.int(u.gid, "/process/user/gid");
    if (id !== undefined && gid !== undefined) {
      uid = id;
      const args = [t.word(`${id}:${gid}`, "/process/user/uid")];
      const extra = u.additionalGids === undefined ? [] : (t.typed<unknown[]>(u.additionalGids, "/process/user/additionalGids", "array") ?? []);
      const groups = extra.map((g, i) => t.int(g, `/process/user/additionalGids/${i}`)).filter((g): g is number => g !== undefined);
      if (groups.length > 0) args.push(t.option("groups", t.string(groups.join(","), "/process/user/additionalGids"), "/process/user/additionalGids"));
      t.add("user", "/process/user", args);
    }
  }
  if (p.capabilities !== undefined) capabilities(t, p.capabilities, uid);
  if (p.rlimits !== undefined) {
    const list = t.typed<unknown[]>(p.rlimits, "/process/rlimits", "array");
    list?.forEach((r, i) => {
      const ptr = `/process/rlimits/${i}`;
      if (!t.typed(r, ptr, "object")) return;
      const o = r as Record<string, unknown>;
      t.keys(o, ptr, ["type", "soft", "hard"]);
      const type = t.typed<string>(o.type, `${ptr}/type`, "string");
      const value = (k: "soft" | "hard") => (o[k] === RLIM_INFINITY ? "unlimited" : t.int(o[k], `${ptr}/${k}`));
      const soft = value("soft");
      const hard = value("hard");
      if (type === undefined || soft === undefined || hard === undefined) return;
      const m = RLIMIT.exec(type);
      if (!m) {
        t.error(`${ptr}/type`, `unknown rlimit type ${JSON.stringify(type)}`, "e.g. RLIMIT_NOFILE");
        return;
      }
      t.add("rlimit", ptr, [t.word(m[1]!.toLowerCase(), `${ptr}/type`), t.word(`${soft}:${hard}`, ptr)]);
    });
  }
  if (p.noNewPrivileges !== undefined && t.typed(p.noNewPrivileges, "/process/noNewPrivileges", "boolean") === true) t.add("no_new_privs", "/process/noNewPrivileges", []);
  // readonly and mask: the planner applies them after the mounts (runtime/plan.ts).
  if (readonlyRoot) t.add("readonly", "/root/readonly", [t.string("/", "/root/readonly")]);
  for (const [key, stmt] of [["maskedPaths", "mask"], ["readonlyPaths", "readonly"]] as const) {
    const v = linux[key];
    if (v === undefined) continue;
    const list = t.typed<unknown[]>(v, `/linux/${key}`, "array");
    list?.forEach((x, i) => {
      const s = t.typed<string>(x, `/linux/${key}/${i}`, "string");
      if (s !== undefined) t.add(stmt, `/linux/${key}/${i}`, [t.string(s, `/linux/${key}/${i}`)]);
    });
  }
  const args = p.args === undefined ? undefined : t.typed<unknown[]>(p.args, "/process/args", "array");
  if (!args || args.length === 0) {
    if (p.args === undefined || args) t.error(p.args === undefined ? "/process" : "/process/args", "`process.args` needs at least one element: the command", 'e.g. "args": ["sh"]');
    return;
  }
  const argv: Arg[] = [];
  args.forEach((a, i) => {
    const s = t.typed<string>(a, `/process/args/${i}`, "string");
    if (s !== undefined) argv.push(t.string(s, `/process/args/${i}`));
  });
  if (argv.length === args.length) t.add("exec", "/process/args", argv);
}

/**
 * The five capability sets. ctr's `cap` gives later commands one list (kept in
 * the bounding, effective and permitted sets; raised in the ambient set for a
 * non-root user: runtime/features/security/caps.ts), so a config whose sets
 * differ otherwise is refused, naming the set that differs.
 */
function capabilities(t: Translator, v: unknown, uid: number): void {
  const at = "/process/capabilities";
  if (!t.typed(v, at, "object")) return;
  const c = v as Record<string, unknown>;
  t.keys(c, at, ["bounding", "effective", "permitted", "inheritable", "ambient"]);
  const sets: Record<string, string[]> = {};
  for (const k of ["bounding", "effective", "permitted", "inheritable", "ambient"]) {
    const list = c[k] === undefined ? [] : (t.typed<unknown[]>(c[k], `${at}/${k}`, "array") ?? []);
    sets[k] = list.filter((x, i) => t.typed<string>(x, `${at}/${k}/${i}`, "string") !== undefined).map((x) => String(x).toUpperCase());
  }
  const same = (a: string[], b: string[]) => a.length === new Set(b).size && a.every((x) => b.includes(x));
  const bounding = sets.bounding!;
  let ok = true;
  for (const k of ["effective", "permitted"]) {
    if (!same(sets[k]!, bounding)) {
      t.unsupported(`${at}/${k}`, `a ${k} set other than the bounding set (ctr's \`cap\` keeps one list in the bounding, effective and permitted sets)`);
      ok = false;
    }
  }
  for (const k of ["inheritable", "ambient"]) {
    const set = sets[k]!;
    if (uid === 0) {
      // For uid 0, execve gives the bounding set as permitted and effective
      // anyway (capabilities(7)): sets within it grant nothing more.
      if (set.every((x) => bounding.includes(x))) {
        if (set.length > 0) t.warning(`${at}/${k}`, `the ${k} set of uid 0 is left empty: for root it gives nothing beyond the bounding set`, `remove it to silence this`);
        continue;
      }
      t.unsupported(`${at}/${k}`, `an ${k} set beyond the bounding set`);
      ok = false;
    } else if (!same(set, bounding)) {
      t.unsupported(`${at}/${k}`, `for a non-root user ctr raises the kept capabilities in the ${k} set: it must equal the bounding set`);
      ok = false;
    }
  }
  if (!ok) return;
  t.add("cap", at, [t.word("drop", at), t.word("all", at)]);
  if (bounding.length > 0) t.add("cap", `${at}/bounding`, [t.word("add", `${at}/bounding`), ...bounding.map((b, i) => t.word(b.toLowerCase(), `${at}/bounding/${i}`))]);
}

/** `linux.sysctl`: one `sysctl KEY=VALUE...`, whose checker says which keys a namespace of the container holds. */
function sysctl(t: Translator, v: unknown): void {
  const at = "/linux/sysctl";
  if (!t.typed(v, at, "object")) return;
  const opts: Arg[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const ptr = pointer(at, k);
    const value = t.typed<string>(x, ptr, "string");
    if (value !== undefined) opts.push(t.option(k, t.string(value, ptr), ptr));
  }
  if (opts.length > 0) t.add("sysctl", at, opts);
}

/** The OCI seccomp fields ctr's profile reader takes (runtime/features/security/profile.ts): the same names as Docker's JSON profiles. */
const SECCOMP_KEYS = ["defaultAction", "defaultErrnoRet", "architectures", "syscalls"];
const SECCOMP_RULE_KEYS = ["names", "action", "errnoRet", "args"];

/**
 * `linux.seccomp` (config-linux.md, "Seccomp"): checked by the profile reader
 * a `seccomp FILE` uses; its errors point into config.json. `flags`,
 * `listenerPath` and `listenerMetadata` (the seccomp notify socket) are
 * refused by name.
 */
function seccomp(t: Translator, v: unknown): void {
  const at = "/linux/seccomp";
  if (!t.typed(v, at, "object")) return;
  const o = v as Record<string, unknown>;
  t.keys(o, at, SECCOMP_KEYS);
  if (Array.isArray(o.syscalls)) {
    o.syscalls.forEach((r, i) => {
      if (isObject(r)) t.keys(r, `${at}/syscalls/${i}`, SECCOMP_RULE_KEYS);
    });
  }
  if (t.diagnostics.some((d) => d.severity === "error" && d.span.file.includes(at))) return;
  try {
    t.seccomp = { profile: parseProfile(JSON.stringify(o), `${t.file}:${at}`), span: t.span(at) };
  } catch (e) {
    if (!(e instanceof ProfileError)) throw e;
    // The reader's path ($.syscalls[3].names[0]) as a JSON pointer below linux.seccomp.
    const rest = e.path.replace(/^\$/, "").replace(/\[(\d+)\]/g, "/$1").replaceAll(".", "/");
    t.error(`${at}${rest}`, `seccomp: ${e.message}`, e.help ?? "see the OCI runtime spec, config-linux.md, Seccomp");
  }
}

/** `hooks` (config.md, "POSIX-platform Hooks"): each kind the spec defines, run at its point by the supervisor and `delete` (hooks.ts); another kind is refused by name. */
function hooks(t: Translator, v: unknown): void {
  const at = "/hooks";
  if (!t.typed(v, at, "object")) return;
  const o = v as Record<string, unknown>;
  const out: Hooks = noHooks();
  for (const [kind, list] of Object.entries(o)) {
    const ptr = pointer(at, kind);
    if (isEmpty(list)) continue;
    if (!(HOOK_KINDS as readonly string[]).includes(kind)) {
      t.unsupported(ptr, `a hook kind the runtime spec does not define (${HOOK_KINDS.join(", ")})`);
      continue;
    }
    const items = t.typed<unknown[]>(list, ptr, "array") ?? [];
    items.forEach((h, i) => {
      const hp = `${ptr}/${i}`;
      if (!t.typed(h, hp, "object")) return;
      const x = h as Record<string, unknown>;
      t.keys(x, hp, ["path", "args", "env", "timeout"]);
      const file = t.typed<string>(x.path, `${hp}/path`, "string");
      if (file === undefined) return;
      if (!file.startsWith("/")) return t.error(`${hp}/path`, `a hook's path must be absolute, not ${JSON.stringify(file)}`, "the spec: path is an absolute path on the runtime's host");
      const strings = (k: "args" | "env"): string[] | undefined => {
        if (x[k] === undefined) return [];
        const a = t.typed<unknown[]>(x[k], `${hp}/${k}`, "array");
        if (!a) return undefined;
        const s = a.map((e, j) => t.typed<string>(e, `${hp}/${k}/${j}`, "string"));
        return s.every((e) => e !== undefined) ? (s as string[]) : undefined;
      };
      const args = strings("args");
      const env = strings("env");
      let timeout: number | undefined;
      if (x.timeout !== undefined) {
        timeout = t.int(x.timeout, `${hp}/timeout`);
        if (timeout === 0) return t.error(`${hp}/timeout`, "a hook's timeout must be greater than zero", "the spec: seconds, at least 1");
        if (timeout === undefined) return;
      }
      if (args === undefined || env === undefined) return;
      const hook: Hook = { path: file, args: args.length > 0 ? args : [file], env, ...(timeout !== undefined ? { timeout } : {}) };
      out[kind as HookKind].push(hook);
    });
  }
  t.hooks = out;
}
