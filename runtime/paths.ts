// Where ctr keeps its per-container directories (no kernel work here, so the
// front end can name them in `explain` without loading the native layer).
// runtime/statedir.ts makes and removes them, and checks that nobody else can
// have planted or redirected what this names.

import { lstatSync } from "node:fs";

/**
 * The parent of per-container directories: /run/ctr as root; else
 * $XDG_RUNTIME_DIR/ctr when that is a real directory of the user's that nobody
 * else can write (as systemd's /run/user/UID is); else /tmp/ctr-UID, which
 * anyone could have made first: runtime/statedir.ts refuses it then.
 */
export function stateRoot(): string {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return "/run/ctr";
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  if (runtimeDir && usableRuntimeDir(runtimeDir, uid)) return `${runtimeDir.replace(/\/+$/, "")}/ctr`;
  return `/tmp/ctr-${uid}`;
}

/** An absolute path to a directory (not a symlink) owned by `uid`, not writable by group or others. */
function usableRuntimeDir(dir: string, uid: number): boolean {
  if (!dir.startsWith("/")) return false;
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** A fresh container id. It ends in the owner's PID so stale directories can be swept. */
export function newContainerId(): string {
  return `ctr-${Math.random().toString(36).slice(2, 8)}-${process.pid}`;
}
