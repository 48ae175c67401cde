// native/files.ts — the file operations of Sys (native/seam.ts), through node:fs: the
// calls the executors and the host made before there was a seam, unchanged.
//
// A file of its own so that host code the planner imports (runtime/features/userns/userns.ts,
// runtime/features/cgroup/, which `ctr check` and the CLI's early path load) can take
// `realFiles` without loading the wrappers' modules.

import {
  chmodSync, closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync,
  readlinkSync, readSync, rmdirSync, statSync, symlinkSync, writeSync,
} from "node:fs";
import type { Sys } from "./seam.ts";

export type FileOps = Pick<
  Sys,
  "exists" | "lstat" | "stat" | "fstat" | "readlink" | "mkdir" | "mkdirp" | "createFile" | "symlink" | "chmod" | "writeFile" | "readFile" | "readdir" | "rmdir" | "open" | "write" | "pread" | "pwrite"
>;

export const realFiles: FileOps = {
  exists: (path) => existsSync(path),
  lstat: (path) => lstatSync(path),
  stat: (path) => statSync(path),
  fstat: (fd) => fstatSync(fd),
  readlink: (path) => readlinkSync(path),
  mkdir: (path, mode = 0o777) => mkdirSync(path, mode),
  mkdirp: (path) => void mkdirSync(path, { recursive: true }),
  createFile: (path) => closeSync(openSync(path, "a")),
  symlink: (target, path) => symlinkSync(target, path),
  chmod: (path, mode) => chmodSync(path, mode),
  // A kernel file: opened as it is (never created or truncated), then one write(2).
  writeFile: (path, text) => {
    const fd = openSync(path, constants.O_WRONLY);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
  },
  readFile: (path) => readFileSync(path, "utf8"),
  readdir: (path) => readdirSync(path, { withFileTypes: true }),
  rmdir: (path) => rmdirSync(path),
  open: (path, flags) => openSync(path, flags),
  write: (fd, text) => writeSync(fd, text),
  pread: (fd, buf, offset) => readSync(fd, buf, 0, buf.byteLength, offset),
  pwrite: (fd, text, offset) => writeSync(fd, text, offset),
};
