// Image archives as real tools write them, read into a temporary directory.
//
// Two formats, both a tar of JSON documents and layer tars:
//   docker-archive (`docker save`, `podman save --format docker-archive`):
//     manifest.json = [{ Config: "HEX.json", RepoTags: ["busybox:latest"], Layers: ["HEX/layer.tar", ...] }],
//     the config's rootfs.diff_ids giving each layer's sha256 (uncompressed);
//     older writers link repeated layers with symlinks between the layer folders.
//   OCI image layout (`podman save --format oci-archive`, `skopeo copy ... oci-archive:`):
//     oci-layout, index.json (manifests by descriptor: mediaType, digest, size, and
//     the name in the annotation org.opencontainers.image.ref.name), every blob at
//     blobs/sha256/HEX; a descriptor may name an image index (one manifest per
//     platform) instead of a manifest.
// The archive itself is refused whole when an entry's name is absolute or climbs
// with "..", as a layer's are (runtime/features/image/unpack.ts).

import { createHash } from "node:crypto";
import { closeSync, createReadStream, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import * as zlib from "node:zlib";
import { extract } from "tar-stream";
import { SysError } from "../../../native/error.ts";
import { entryParts } from "./unpack.ts";

/** A content descriptor of the OCI image spec. */
export interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string };
}

/** What an archive says, once its documents are read and checked. */
export interface ArchiveImage {
  format: "docker-archive" | "oci-archive";
  /** The config's digest (the image ID) and its parsed JSON. */
  configDigest: string;
  config: Record<string, unknown>;
  /** The layers from the bottom up: the file holding each, its diff ID, the blob digest to check (OCI). */
  layers: { file: string; diffId: string; blobDigest?: string; blobSize?: number; name: string }[];
  /** NAME:TAG references the archive carries. */
  names: string[];
}

export function archiveError(file: string, why: string, hint?: string): SysError {
  return new SysError({ errno: 22, code: "EINVAL", syscall: "image import", args: [file], message: `"${file}": ${why}`, hint });
}

/** The compression of a stream, from its first bytes. */
export function compressionOf(head: Uint8Array): "gzip" | "zstd" | "none" {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

function firstBytes(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const b = new Uint8Array(4);
    readSync(fd, b, 0, 4, 0);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** A decompressor for what `path` holds (gzip and zstd from the runtime), or null for a plain tar. */
export function decompressorFor(path: string, what: string): NodeJS.ReadWriteStream | null {
  const kind = compressionOf(firstBytes(path));
  if (kind === "gzip") return createGunzip();
  if (kind === "zstd") {
    const z = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
    if (!z) throw archiveError(what, "is zstd-compressed, and this runtime has no zstd decompressor");
    return z();
  }
  return null;
}

/** The sha256 of a file, as "sha256:HEX". */
export async function fileDigest(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Uint8Array);
  return `sha256:${h.digest("hex")}`;
}

/** The archive's regular files, each copied to a file of its own in `dir`; symlinks and hard links as names. */
class Contents {
  files = new Map<string, string>();
  links = new Map<string, string>();
  constructor(readonly archive: string) {}

  /** The copy of `name`, following the archive's symlinks, or null. */
  find(name: string): string | null {
    let n = posix.normalize(name).replace(/^\.\//, "");
    for (let hops = 0; hops < 16; hops++) {
      const f = this.files.get(n);
      if (f) return f;
      const to = this.links.get(n);
      if (to === undefined) return null;
      n = to;
    }
    return null;
  }

  get(name: string): string {
    const f = this.find(name);
    if (!f) throw archiveError(this.archive, `has no "${name}", which its manifest names`, "the archive is incomplete (truncated?) or not an image archive");
    return f;
  }

  json<T>(name: string): T {
    const f = this.get(name);
    try {
      return JSON.parse(readFileSync(f, "utf8")) as T;
    } catch (e) {
      throw archiveError(this.archive, `"${name}" is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
  }
}

async function readContents(file: string, dir: string): Promise<Contents> {
  const c = new Contents(file);
  const what = `archive "${file}"`;
  const src = createReadStream(file);
  const unz = decompressorFor(file, file);
  const ex = extract();
  const input: Readable = unz ? (src.pipe(unz) as unknown as Readable) : src;
  src.on("error", (e) => ex.destroy(e));
  unz?.on("error", (e: Error) => ex.destroy(e));
  input.pipe(ex);
  let n = 0;
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const parts = entryParts(what, h.name);
      const name = parts.join("/");
      if (h.type === "file" || h.type === "contiguous-file") {
        const copy = `${dir}/${n++}`;
        const fd = openSync(copy, "wx", 0o600);
        try {
          for await (const chunk of entry) writeSync(fd, chunk as Uint8Array);
        } finally {
          closeSync(fd);
        }
        c.files.set(name, copy);
      } else if (h.type === "symlink" || h.type === "link") {
        const base = h.type === "symlink" ? posix.dirname(name) : ".";
        const target = h.linkname.startsWith("/") ? null : posix.normalize(posix.join(base, h.linkname));
        if (target === null || target.startsWith("..")) throw archiveError(file, `entry "${h.name}" links outside the archive (to "${h.linkname}")`);
        c.links.set(name, target);
      }
      entry.resume();
    }
  } catch (e) {
    if (e instanceof SysError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw archiveError(file, `cannot be read as a tar archive: ${why}`, /end of|unexpected end/i.test(why) ? "the file is truncated" : "give an archive written by `docker save`, `podman save` or `skopeo copy ... oci-archive:`");
  }
  return c;
}

const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);
const GOARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/** Read an archive into `dir` (a temporary directory) and check its documents' digests. */
export async function readArchive(file: string, dir: string): Promise<ArchiveImage> {
  const c = await readContents(file, dir);
  if (c.find("index.json")) return readOci(c, file);
  if (c.find("manifest.json")) return readDocker(c, file);
  throw archiveError(file, "is neither a docker-archive (no manifest.json) nor an OCI image layout (no index.json)", "make one with `podman save --format docker-archive|oci-archive IMAGE -o FILE`");
}

function diffIdsOf(config: Record<string, unknown>, file: string): string[] {
  const ids = (config.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids;
  if (!Array.isArray(ids) || ids.some((d) => typeof d !== "string" || !/^sha256:[0-9a-f]{64}$/.test(d))) throw archiveError(file, "the image config has no valid rootfs.diff_ids");
  return ids as string[];
}

/** Check a blob against its descriptor: the sha256 of its bytes and its size. */
async function checkBlob(c: Contents, file: string, d: Descriptor): Promise<string> {
  if (!/^sha256:[0-9a-f]{64}$/.test(d.digest ?? "")) throw archiveError(file, `a descriptor has the digest "${d.digest}", not sha256:HEX`);
  const path = c.get(`blobs/sha256/${d.digest.slice(7)}`);
  const got = await fileDigest(path);
  if (got !== d.digest) throw archiveError(file, `blob ${d.digest}: its content has the digest ${got}`, "the archive was altered or damaged: nothing was imported");
  return path;
}

async function readOci(c: Contents, file: string): Promise<ArchiveImage> {
  let index = c.json<{ manifests?: Descriptor[] }>("index.json");
  let chosen: Descriptor | undefined;
  let name: string | undefined;
  for (let depth = 0; depth < 4; depth++) {
    const ms = index.manifests ?? [];
    if (ms.length === 0) throw archiveError(file, "index.json lists no manifest");
    const arch = GOARCH[process.arch] ?? process.arch;
    const d = ms.find((m) => !m.platform || (m.platform.architecture === arch && (m.platform.os ?? "linux") === "linux")) ?? ms[0]!;
    name ??= d.annotations?.["io.containerd.image.name"] ?? d.annotations?.["org.opencontainers.image.ref.name"];
    if (!INDEX_TYPES.has(d.mediaType ?? "")) {
      chosen = d;
      break;
    }
    index = JSON.parse(readFileSync(await checkBlob(c, file, d), "utf8"));
  }
  if (!chosen) throw archiveError(file, "image indexes nested too deep");
  const manifest = JSON.parse(readFileSync(await checkBlob(c, file, chosen), "utf8")) as { config?: Descriptor; layers?: Descriptor[] };
  if (!manifest.config || !Array.isArray(manifest.layers)) throw archiveError(file, `manifest ${chosen.digest} has no config or no layers`);
  const config = JSON.parse(readFileSync(await checkBlob(c, file, manifest.config), "utf8")) as Record<string, unknown>;
  const diffIds = diffIdsOf(config, file);
  if (diffIds.length !== manifest.layers.length) throw archiveError(file, `the manifest has ${manifest.layers.length} layers, the config ${diffIds.length} diff IDs`);
  const layers = manifest.layers.map((d, i) => {
    if (!/^sha256:[0-9a-f]{64}$/.test(d.digest ?? "")) throw archiveError(file, `layer ${i + 1} has the digest "${d.digest}", not sha256:HEX`);
    return { file: c.get(`blobs/sha256/${d.digest.slice(7)}`), diffId: diffIds[i]!, blobDigest: d.digest, blobSize: d.size, name: `blobs/sha256/${d.digest.slice(7)}` };
  });
  return { format: "oci-archive", configDigest: manifest.config.digest, config, layers, names: name && /[:/]/.test(name) ? [name] : [] };
}

async function readDocker(c: Contents, file: string): Promise<ArchiveImage> {
  const list = c.json<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }[]>("manifest.json");
  const m = Array.isArray(list) ? list[0] : undefined;
  if (!m || typeof m.Config !== "string" || !Array.isArray(m.Layers)) throw archiveError(file, "manifest.json has no image (Config and Layers)");
  if (list.length > 1) throw archiveError(file, `holds ${list.length} images; ctr imports one archive per image`, "save one image per archive");
  const configPath = c.get(m.Config);
  const configDigest = await fileDigest(configPath);
  // The config's name is its digest (HEX.json, or blobs/sha256/HEX in newer writers): check it.
  const named = /([0-9a-f]{64})(\.json)?$/.exec(m.Config);
  if (named && `sha256:${named[1]}` !== configDigest) throw archiveError(file, `config "${m.Config}": its content has the digest ${configDigest}`, "the archive was altered or damaged: nothing was imported");
  const config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  const diffIds = diffIdsOf(config, file);
  if (diffIds.length !== m.Layers.length) throw archiveError(file, `manifest.json has ${m.Layers.length} layers, the config ${diffIds.length} diff IDs`);
  const layers = m.Layers.map((l, i) => ({ file: c.get(l), diffId: diffIds[i]!, name: l }));
  return { format: "docker-archive", configDigest, config, layers, names: (m.RepoTags ?? []).filter((t) => typeof t === "string") };
}
