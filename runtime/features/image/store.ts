// The image store: layers kept once each, by digest, and the images made of them.
//
//   STORE/layers/HEX/diff/     a layer unpacked (HEX: its diff ID, the sha256 of the
//                              uncompressed tar, the same whatever the archive's format)
//   STORE/layers/HEX/layer.json  its digest, size, file count, how whiteouts are written
//   STORE/images/HEX.json      one image (HEX: its config's sha256, the image ID): names,
//                              config, layer diff IDs from the bottom up
//   STORE/volumes/NAME/_data   volumes (runtime/features/image/volume.ts)
//   STORE/tmp/                 imports in progress: a failed one is removed whole, a
//                              finished one renamed into place (rename(2) is atomic on one
//                              filesystem, which is why tmp/ lives in the store)
//
// STORE is /var/lib/ctr for root, $XDG_DATA_HOME/ctr (~/.local/share/ctr) for other
// users; CTR_STORE overrides both (the tests give each run a store of its own).

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { SysError } from "../../../native/error.ts";

/** The store's root directory, as the rules above choose it. */
export function storeRoot(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  if (env.CTR_STORE) return env.CTR_STORE;
  if (uid === 0) return "/var/lib/ctr";
  const data = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith("/") ? env.XDG_DATA_HOME : `${env.HOME || homedir()}/.local/share`;
  return `${data}/ctr`;
}

/** How a layer's whiteouts and opaque directories are written (runtime/features/image/unpack.ts). */
export type WhiteoutStyle = "trusted" | "user";

export interface LayerRecord {
  /** sha256:HEX of the uncompressed tar. */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
  files: number;
  whiteouts: WhiteoutStyle;
}

export interface ImageConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
}

export interface ImageRecord {
  /** sha256:HEX of the config blob. */
  id: string;
  /** NAME:TAG references, most recent first. */
  names: string[];
  /** Diff IDs from the bottom layer up. */
  layers: string[];
  config: ImageConfig;
  /** The archive's format when imported. */
  format: "docker-archive" | "oci-archive";
  created?: string;
  architecture?: string;
  os?: string;
}

const hexOf = (digest: string): string => digest.replace(/^sha256:/, "");

export class Store {
  constructor(readonly root: string = storeRoot()) {}

  layerDir(diffId: string): string {
    return `${this.root}/layers/${hexOf(diffId)}`;
  }

  /** The unpacked tree of a layer: an overlay lower directory. */
  layerDiff(diffId: string): string {
    return `${this.layerDir(diffId)}/diff`;
  }

  hasLayer(diffId: string): boolean {
    return existsSync(`${this.layerDir(diffId)}/layer.json`);
  }

  layer(diffId: string): LayerRecord {
    return JSON.parse(readFileSync(`${this.layerDir(diffId)}/layer.json`, "utf8")) as LayerRecord;
  }

  /** A fresh directory under STORE/tmp for one import (mode 0700: nobody else looks in while it is unpacked). */
  makeTemp(): string {
    mkdirSync(`${this.root}/tmp`, { recursive: true, mode: 0o700 });
    for (let i = 0; ; i++) {
      const dir = `${this.root}/tmp/import-${process.pid}-${Date.now().toString(36)}-${i}`;
      try {
        mkdirSync(dir, { mode: 0o700 });
        return dir;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || i > 100) throw e;
      }
    }
  }

  /** Move an unpacked layer (DIR/diff + DIR/layer.json) into place; one already there is kept. */
  commitLayer(dir: string, diffId: string): void {
    mkdirSync(`${this.root}/layers`, { recursive: true, mode: 0o755 });
    if (this.hasLayer(diffId)) return;
    const dst = this.layerDir(diffId);
    if (existsSync(dst)) rmSync(dst, { recursive: true, force: true }); // a leftover without layer.json
    renameSync(dir, dst);
  }

  images(): ImageRecord[] {
    const dir = `${this.root}/images`;
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => JSON.parse(readFileSync(`${dir}/${f}`, "utf8")) as ImageRecord);
  }

  /** Write an image's record (temp file + rename), taking its names from every other image. */
  saveImage(img: ImageRecord): void {
    mkdirSync(`${this.root}/images`, { recursive: true, mode: 0o755 });
    for (const other of this.images()) {
      if (other.id === img.id) continue;
      const kept = other.names.filter((n) => !img.names.includes(n));
      if (kept.length !== other.names.length) this.writeRecord({ ...other, names: kept });
    }
    this.writeRecord(img);
  }

  private writeRecord(img: ImageRecord): void {
    const file = `${this.root}/images/${hexOf(img.id)}.json`;
    writeFileSync(`${file}.tmp`, JSON.stringify(img, null, 2) + "\n", { mode: 0o644 });
    renameSync(`${file}.tmp`, file);
  }

  /** An image by NAME[:TAG] (":latest" when no tag), by ID, or by a unique ID prefix of 6 or more hex digits. */
  find(ref: string): ImageRecord | null {
    const all = this.images();
    const name = normalizeName(ref);
    const byName = all.find((i) => i.names.includes(name) || i.names.includes(`localhost/${name}`));
    if (byName) return byName;
    const hex = hexOf(ref);
    if (/^[0-9a-f]{6,64}$/.test(hex)) {
      const hits = all.filter((i) => hexOf(i.id).startsWith(hex));
      if (hits.length === 1) return hits[0]!;
    }
    return null;
  }

  /** The image named `ref`, or an error saying what the store has. */
  get(ref: string): ImageRecord {
    const img = this.find(ref);
    if (img) return img;
    const names = this.images().flatMap((i) => i.names);
    throw new SysError({
      errno: 2,
      code: "ENOENT",
      syscall: "image",
      args: [ref],
      message: `no image "${ref}" in the store ${this.root}`,
      hint: names.length ? `images here: ${names.join(", ")}` : "import one first: ctr image import FILE NAME[:TAG]",
    });
  }

  /**
   * Remove a name (or, given an ID, the image with all its names); an image left
   * with no name goes, and so do the layers no other image uses. Returns the
   * layers removed.
   */
  remove(ref: string): { image: ImageRecord; removedImage: boolean; removedLayers: string[] } {
    const img = this.get(ref);
    const name = normalizeName(ref);
    const names = img.names.includes(name) ? img.names.filter((n) => n !== name) : img.names.includes(`localhost/${name}`) ? img.names.filter((n) => n !== `localhost/${name}`) : [];
    if (names.length > 0) {
      this.writeRecord({ ...img, names });
      return { image: img, removedImage: false, removedLayers: [] };
    }
    rmSync(`${this.root}/images/${hexOf(img.id)}.json`, { force: true });
    const used = new Set(this.images().flatMap((i) => i.layers));
    const removedLayers = img.layers.filter((l, i) => !used.has(l) && img.layers.indexOf(l) === i);
    for (const l of removedLayers) rmSync(this.layerDir(l), { recursive: true, force: true });
    return { image: img, removedImage: true, removedLayers };
  }

  /** Bytes the layers of an image hold, uncompressed. */
  imageSize(img: ImageRecord): number {
    return img.layers.reduce((sum, l) => sum + (this.hasLayer(l) ? this.layer(l).size : 0), 0);
  }
}

/** NAME[:TAG] with ":latest" added when there is no tag (a ":" after the last "/" is a tag, before it a registry port). */
export function normalizeName(ref: string): string {
  const slash = ref.lastIndexOf("/");
  return ref.slice(slash + 1).includes(":") || ref.includes("@") ? ref : `${ref}:latest`;
}

/** True when `path` is a directory. */
export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Bytes for a person: "4.2 MiB". */
export function humanSize(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}
