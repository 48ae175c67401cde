// Four of node:path's POSIX functions, by hand, for the paths walked on every
// container's start (PID 1's command look-up and mount targets, the host's
// state directory): loading
// node:path costs a Bun process ~2.5 ms of CPU, the price of the first `node:`
// module (runtime/lazy-builtins.ts), on the container's critical path. Same
// results as posix.resolve, join, dirname and basename
// (test/process/posix-path.test.ts compares them); a relative base goes to
// node:path itself.

import { posix } from "node:path";

/** The components of `path` with "." and ".." applied; ".." above the root stays at the root. */
function components(path: string, absolute: boolean): string[] {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(part);
  }
  return out;
}

/** posix.resolve(base, path) for an absolute `base`: absolute, normalized, no trailing slash. */
export function resolvePath(base: string, path: string): string {
  if (!path.startsWith("/") && !base.startsWith("/")) return posix.resolve(base, path);
  return "/" + components(path.startsWith("/") ? path : `${base}/${path}`, true).join("/");
}

/** posix.join(dir, name): the two joined and normalized (a trailing slash of `name` kept; "." for nothing). */
export function joinPath(dir: string, name: string): string {
  const joined = [dir, name].filter((p) => p !== "").join("/");
  if (joined === "") return ".";
  const absolute = joined.startsWith("/");
  const body = components(joined, absolute).join("/");
  const trailing = joined.endsWith("/") ? "/" : "";
  return absolute ? `/${body}${body === "" ? "" : trailing}` : `${body || "."}${trailing}`;
}

/** posix.dirname(path): up to the slash before the last component (trailing slashes ignored); "/" or "." when none. */
export function dirnameOf(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  let end = -1;
  let inName = false;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] !== "/") inName = true;
    else if (inName) {
      end = i;
      break;
    }
  }
  if (end === -1) return rooted ? "/" : ".";
  return rooted && end === 1 ? "//" : path.slice(0, end);
}

/** posix.basename(path): the last component, trailing slashes ignored. */
export function basenameOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}
