// native/files.ts — the file operations of Sys (native/seam.ts), through node:fs: the
// calls the executors made before there was a seam, unchanged.
//
// A file of its own so that host code the planner imports (runtime/features/userns/userns.ts, which
// `ctr check` loads) can take `realFiles` without loading the wrappers' modules.

import { chmodSync, closeSync, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import type { Sys } from "./seam.ts";

export type FileOps = Pick<Sys, "exists" | "lstat" | "stat" | "fstat" | "readlink" | "mkdir" | "mkdirp" | "createFile" | "symlink" | "chmod" | "writeFile">;

export const realFiles: FileOps = {
  exists: (path) => existsSync(path),
  lstat: (path) => lstatSync(path),
  stat: (path) => statSync(path),
  fstat: (fd) => fstatSync(fd),
  readlink: (path) => readlinkSync(path),
  mkdir: (path) => mkdirSync(path),
  mkdirp: (path) => void mkdirSync(path, { recursive: true }),
  createFile: (path) => closeSync(openSync(path, "a")),
  symlink: (target, path) => symlinkSync(target, path),
  chmod: (path, mode) => chmodSync(path, mode),
  writeFile: (path, text) => writeFileSync(path, text),
};
