// native/xattr.ts — extended attributes of a path itself (never a symlink's target):
// lsetxattr(2) and lgetxattr(2). overlayfs keeps its own marks in them (opaque
// directories: `trusted.overlay.opaque`, or `user.overlay.opaque` for a mount with
// `userxattr`); the trusted.* namespace needs CAP_SYS_ADMIN in the initial user
// namespace. Conventions (errors, tracing) are in trace.ts.

import { C } from "./libc.ts";
import { en, int, t0 } from "./trace.ts";

/** lsetxattr(2): set `name` on `path` (a symlink itself) to `value`; flags 0, XATTR_CREATE or XATTR_REPLACE. */
export function lsetxattr(path: string, name: string, value: Uint8Array | string, flags = 0): void {
  const s = t0();
  const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
  const r: number = C.lsetxattr(path, name, bytes, bytes.length, flags);
  int("lsetxattr", r, en(r), [path, name], s);
}

/** lgetxattr(2): the value of `name` on `path` (at most 64 KiB, the kernel's limit), or null when it has none. */
export function lgetxattr(path: string, name: string): Uint8Array | null {
  const s = t0();
  const buf = new Uint8Array(65536);
  const r = Number(C.lgetxattr(path, name, buf, buf.length));
  const err = en(r);
  if (err === 61 /* ENODATA */) return null;
  const n = int("lgetxattr", r, err, [path, name], s);
  return buf.slice(0, n);
}
