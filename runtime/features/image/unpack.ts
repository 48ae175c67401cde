// Unpacking one image layer (a tar stream) into a directory that overlayfs can
// use as a lower layer.
//
// The rules, from the OCI image spec's layer format and the kernel's overlayfs
// documentation (chapter 11 of the walkthroughs: union filesystems):
//   - `.wh.NAME` says NAME of a lower layer is deleted. overlayfs spells that as a
//     character device with device number 0/0 named NAME: made with mknod(2), which
//     needs CAP_MKNOD in the initial user namespace (so as root).
//   - `.wh..wh..opq` in a directory says the directory hides everything below it
//     (it was deleted and made again): overlayfs reads that from the xattr
//     `trusted.overlay.opaque` = "y" (root), or `user.overlay.opaque` for a mount
//     with the `userxattr` option, which is how a user namespace mounts overlay.
//   - Hard links name an earlier entry of the same layer; symlinks are kept as
//     they are (resolved when the container uses them, inside its root); devices,
//     fifos, modes (setuid bits too: chmod after chown, which clears them), owners
//     (as root), mtimes and `SCHILY.xattr.*` PAX records are kept.
//   - No entry may land outside the layer directory: a name that is absolute or
//     climbs with "..", and a name whose parent is a symlink (made by an earlier
//     entry: "link -> /etc", then "link/passwd"), are refused with the entry named.
//     Every parent is looked at with lstat(2): nothing else writes the directory
//     meanwhile (it is under the store's tmp/, mode 0700).
//   - A later entry replaces an earlier one of the same name, except that a
//     directory over a directory only updates its metadata.
// The directory's own times are set last: each entry made in it moved them.
//
// The tar reader is tar-stream (npm): a parser and nothing else, so where and how
// each entry lands is decided here, by the rules above, not by a library's own
// extraction policy; it hands over every header field these rules need (device
// numbers, link names, PAX records for xattrs and long names, GNU long names),
// streams entries without holding a layer in memory, and is the most used tar
// parser on npm (tar-fs and the Docker clients build on it). modern-tar was the
// other candidate: its headers have no device numbers.

import { closeSync, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, chmodSync, writeSync, constants as FS } from "node:fs";
import type { Readable } from "node:stream";
import { extract, type Header } from "tar-stream";
import { lsetxattr } from "../../../native/xattr.ts";
import { makedev, mknod } from "../../../native/ns.ts";
import { S_IFBLK, S_IFCHR, S_IFIFO } from "../../../native/constants.ts";
import { SysError } from "../../../native/error.ts";
import type { WhiteoutStyle } from "./store.ts";

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";

export interface UnpackOptions {
  /** Where whiteouts' marks go: trusted.* as root, user.* rootless (overlay's `userxattr`). */
  whiteouts: WhiteoutStyle;
  /** chown to the archive's owners (root only: anyone else keeps their own uid). */
  chown: boolean;
  /** The layer, for messages ("layer 2 (sha256:ab12…)"). */
  what: string;
}

export interface UnpackResult {
  files: number;
  whiteouts: number;
  opaque: number;
}

/** An error about one entry of a layer: it names the entry and the layer. */
export function entryError(what: string, entry: string, why: string, hint?: string): SysError {
  return new SysError({ errno: 22, code: "EINVAL", syscall: "image import", args: [entry], message: `${what}: entry "${entry}": ${why}`, hint });
}

/**
 * An entry's name as path components inside the layer, or an error: absolute
 * names and names that climb with ".." are refused, not cleaned.
 */
export function entryParts(what: string, name: string): string[] {
  if (name.startsWith("/")) throw entryError(what, name, "is an absolute path", "a layer's entries are relative to its root; this archive was not written by an image tool, or was altered");
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw entryError(what, name, "climbs out of the layer with \"..\"", "a layer's entries must stay inside it; this archive is refused whole");
  return parts;
}

/** Make (or check) the parents of `parts` inside `root`: each a real directory, never a symlink. */
function parentsOf(root: string, parts: string[], what: string, name: string): string {
  let dir = root;
  for (const p of parts.slice(0, -1)) {
    dir = `${dir}/${p}`;
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      mkdirSync(dir, { mode: 0o755 });
      continue;
    }
    if (st.isSymbolicLink()) throw entryError(what, name, `its parent "${dir.slice(root.length + 1)}" is a symlink: writing through it could land outside the layer`, "a layer may not write through a symlink it made; this archive is refused whole");
    if (!st.isDirectory()) throw entryError(what, name, `its parent "${dir.slice(root.length + 1)}" is not a directory`);
  }
  return dir;
}

function exists(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** The xattrs of a PAX header (`SCHILY.xattr.NAME`), those whose value came through as text intact. */
function paxXattrs(h: Header): [string, string][] {
  const pax = (h.pax ?? {}) as Record<string, string>;
  return Object.entries(pax)
    .filter(([k, v]) => k.startsWith("SCHILY.xattr.") && !v.includes("\uFFFD"))
    .map(([k, v]) => [k.slice("SCHILY.xattr.".length), v]);
}

/** Unpack the tar stream `tar` (uncompressed) into the empty directory `root`. */
export async function unpackLayer(tar: Readable, root: string, opts: UnpackOptions): Promise<UnpackResult> {
  const result: UnpackResult = { files: 0, whiteouts: 0, opaque: 0 };
  const dirTimes: [string, Date][] = [];
  const ex = extract();
  tar.on("error", (e) => ex.destroy(e));
  tar.pipe(ex);
  for await (const entry of ex) {
    const h = entry.header;
    await place(root, h, entry as AsyncIterable<Uint8Array>, opts, result, dirTimes);
    entry.resume(); // whatever place() did not read
  }
  // Deepest first: setting a parent's times before its child's would move them again.
  for (const [dir, mtime] of dirTimes.reverse()) lutimesSync(dir, mtime, mtime);
  return result;
}

async function place(root: string, h: Header, body: AsyncIterable<Uint8Array>, opts: UnpackOptions, result: UnpackResult, dirTimes: [string, Date][]): Promise<void> {
  const { what } = opts;
  const parts = entryParts(what, h.name);
  if (parts.length === 0) {
    // The layer's root itself ("./"): its mode and times only.
    if (h.type === "directory") {
      chmodSync(root, h.mode & 0o7777);
      dirTimes.push([root, h.mtime]);
    }
    return;
  }
  const dir = parentsOf(root, parts, what, h.name);
  const base = parts[parts.length - 1]!;
  if (base === OPAQUE_MARKER) {
    lsetxattr(dir, `${opts.whiteouts}.overlay.opaque`, "y");
    result.opaque++;
    return;
  }
  if (base.startsWith(WHITEOUT_PREFIX)) {
    const target = `${dir}/${base.slice(WHITEOUT_PREFIX.length)}`;
    if (exists(target)) rmSync(target, { recursive: true, force: true });
    try {
      mknod(target, S_IFCHR | 0o000, 0);
    } catch (e) {
      if (e instanceof SysError && e.code === "EPERM") throw entryError(what, h.name, "a whiteout is a 0/0 character device for overlayfs, and mknod(2) of one needs root (CAP_MKNOD)", "import this image as root (sudo ctr image import ...)");
      throw e;
    }
    result.whiteouts++;
    return;
  }
  const path = `${dir}/${base}`;
  const old = exists(path);
  if (old && !(old.isDirectory() && h.type === "directory")) rmSync(path, { recursive: true, force: true });
  const mode = h.mode & 0o7777;
  switch (h.type) {
    case "directory":
      if (!old || !old.isDirectory()) mkdirSync(path, { mode: 0o700 });
      dirTimes.push([path, h.mtime]);
      break;
    case "file":
    case "contiguous-file": {
      const fd = openSync(path, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW, 0o600);
      try {
        for await (const chunk of body) writeSync(fd, chunk);
      } finally {
        closeSync(fd);
      }
      break;
    }
    case "symlink":
      symlinkSync(h.linkname, path);
      break;
    case "link": {
      const to = entryParts(what, h.linkname ?? "");
      if (to.length === 0) throw entryError(what, h.name, `is a hard link to the layer's root`);
      const target = `${parentsOf(root, to, what, h.linkname)}/${to[to.length - 1]}`;
      const st = exists(target);
      if (!st) throw entryError(what, h.name, `is a hard link to "${h.linkname}", which the layer does not have (before it)`);
      if (st.isDirectory()) throw entryError(what, h.name, `is a hard link to the directory "${h.linkname}"`);
      linkSync(target, path);
      result.files++;
      return; // the link shares its target's inode: owner, mode and times are the target's
    }
    case "character-device":
    case "block-device":
    case "fifo": {
      const type = h.type === "fifo" ? S_IFIFO : h.type === "block-device" ? S_IFBLK : S_IFCHR;
      try {
        mknod(path, type | mode, h.type === "fifo" ? 0 : makedev(h.devmajor, h.devminor));
      } catch (e) {
        if (e instanceof SysError && e.code === "EPERM") throw entryError(what, h.name, `is a device node (${h.devmajor}:${h.devminor}), and mknod(2) needs root (CAP_MKNOD)`, "import this image as root (sudo ctr image import ...)");
        throw e;
      }
      break;
    }
    default:
      throw entryError(what, h.name, `has a tar entry type ctr does not unpack (${h.type as string})`);
  }
  if (opts.chown) lchownSync(path, h.uid, h.gid);
  if (h.type !== "symlink") chmodSync(path, mode); // after chown, which clears setuid bits; the umask masked the creation's mode
  for (const [name, value] of paxXattrs(h)) lsetxattr(path, name, value);
  if (h.type !== "directory") lutimesSync(path, h.mtime, h.mtime);
  result.files++;
}
