// `rootfs image NAME[:TAG]`: the container's root is an overlay of the image's layers.
//
// overlayfs joins read-only lower directories (the image's layers, the top one
// first) under one writable upper directory; a file changed in the container is
// copied up, a file deleted gets a whiteout (a 0/0 character device) in the
// upper directory, and the layers in the store never change (chapter 11 of the
// walkthroughs: union filesystems). The upper and work directories are the
// container's own: in its per-container directory, removed with it, or with
// `keep` under STORE/containers/ID, left for the next look.
//
// The layers are given to the kernel one file descriptor at a time
// (fsconfig "lowerdir+", runtime/features/mount/hostmount.ts), not as one
// `lowerdir=A:B:...` string: mount(2)'s data must fit in one page (4 KiB), which
// some 50 layers of long store paths would fill.
//
// The image's config gives the defaults: Env and WorkingDir for every later
// command (a later `env` or `cwd` overrides them), Entrypoint + Cmd for
// `exec default` / `run default`, and User the user later commands run as
// (runtime/features/security/user.ts: names from the image's /etc/passwd) unless
// the script says `user`.
//
// Rootless (uid 65534 with `ns user`), an import marks opaque directories with
// user.overlay.opaque (an ordinary user cannot write trusted.* xattrs), and the
// overlay is mounted with `userxattr` so that it reads those marks; the kernel
// allows an overlay in a user namespace the mounter owns (Linux 5.11+). A store
// whose layers were imported as root (trusted.* marks) is refused rootless at
// check time: the marks would be ignored, and deleted files would come back.

import { realpathSync } from "node:fs";
import { SysError } from "../../../native/error.ts";
import { AT_FDCWD, O_CLOEXEC, O_DIRECTORY, O_PATH } from "../../../native/constants.ts";
import type { AgentState, ImageRoot } from "../../ops.ts";
import { ID_OR_NAME, type UserSetting } from "../security/user.ts";
import { mountOverlayFromHost } from "../mount/hostmount.ts";
import type { ImageRecord, Store } from "./store.ts";

/** What PID 1 needs to mount an image's root: its layers top first, the container's upper and work directories, the config's defaults. */
export function imageRoot(store: Store, name: string, img: ImageRecord, stateDir: string, keep: boolean, id: string): ImageRoot {
  const c = img.config;
  const env: Record<string, string> = {};
  for (const kv of c.Env ?? []) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const rw = keep ? `${store.root}/containers/${id}` : stateDir;
  const root = (() => {
    try {
      return realpathSync(store.root);
    } catch {
      return store.root;
    }
  })();
  return {
    image: name,
    id: img.id,
    layers: [...img.layers].reverse().map((l) => `${root}/layers/${l.replace(/^sha256:/, "")}/diff`),
    upper: `${rw}/upper`,
    work: `${rw}/work`,
    keep,
    env,
    ...(c.WorkingDir ? { cwd: c.WorkingDir } : {}),
    command: [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])],
    ...(img.layers.some((l) => store.layer(l).whiteouts === "user") ? { userxattr: true } : {}),
    ...(imageUser(c.User) ? { user: imageUser(c.User) } : {}),
  };
}

/** A User that is root: nothing to change. */
export const ROOT_USER = /^(0|root)(:(0|root))?$/;

/** The config's User ("name", "uid", "name:group", "uid:gid") as `user` would have it; root, none or a malformed one is undefined. */
export function imageUser(text: string | undefined): UserSetting | undefined {
  if (!text || ROOT_USER.test(text)) return undefined;
  const parts = text.split(":");
  if (parts.length > 2 || !parts.every((p) => ID_OR_NAME.test(p))) return undefined; // warned at check
  const [user, group] = parts as [string, string?];
  return { user, ...(group !== undefined ? { group } : {}) };
}

/** Mount the image's overlay on `merged` (PID 1, before the root is entered) and take its defaults. */
export function mountImageRoot(st: AgentState, merged: string, img: ImageRoot): void {
  st.sys.mkdirp(img.upper);
  st.sys.mkdirp(img.work);
  // `merged` is a host path (the container's state directory), not a path inside a root.
  const at = st.sys.openat2(AT_FDCWD, merged, O_PATH | O_CLOEXEC | O_DIRECTORY, 0);
  try {
    mountOverlayFromHost(st, at, { lower: img.layers, upper: img.upper, work: img.work, userxattr: img.userxattr }, 0);
  } finally {
    st.sys.close(at);
  }
  Object.assign(st.env, img.env);
  if (img.cwd) st.cwd = img.cwd;
  // A `user` before `rootfs image` is kept; one after replaces this default (runtime/agent.ts).
  if (img.user && st.user === undefined) st.user = st.imageUser = img.user;
  st.imageCommand = img.command;
}

/** `exec default` and `run default`: the image's Entrypoint + Cmd. Any other argv is as written. */
export function defaultCommand(st: AgentState, argv: string[]): string[] {
  if (argv.length !== 1 || argv[0] !== "default") return argv;
  if (st.imageCommand && st.imageCommand.length > 0) return st.imageCommand;
  throw new SysError({
    errno: 22,
    code: "EINVAL",
    syscall: "execve",
    args: ["default"],
    message: st.imageCommand ? "the image has no command (neither Entrypoint nor Cmd)" : "`default` is the image's command, and the container's root is not an image",
    hint: "give the command, e.g. exec /bin/sh; or use `rootfs image NAME` first",
  });
}
