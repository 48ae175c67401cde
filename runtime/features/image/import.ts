// `ctr image import FILE [NAME[:TAG]]`: an archive into the store, all or nothing.
//
// Everything happens in one directory under STORE/tmp: the archive's files are
// copied out, each layer is decompressed (gzip or zstd by its first bytes),
// hashed and unpacked in one pass, and its diff ID (the sha256 of the
// uncompressed tar, from the image config) and, for OCI, its blob digest are
// checked when the stream ends. Only when every layer is good are the layer
// directories renamed into STORE/layers and the image record written; on any
// error the temporary directory is removed and the store is as it was.

import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { PassThrough, Transform, pipeline, type Readable } from "node:stream";
import { readArchive, archiveError, decompressorFor, type ArchiveImage } from "./archive.ts";
import { normalizeName, Store, type ImageConfig, type ImageRecord, type LayerRecord } from "./store.ts";
import { unpackLayer } from "./unpack.ts";

export interface ImportResult {
  image: ImageRecord;
  /** Each layer, and whether it was new to the store. */
  layers: { diffId: string; size: number; files: number; added: boolean }[];
  ms: number;
}

/** A stream stage that hashes and counts what passes through. */
function tap(): { stream: Transform; digest: () => string; bytes: () => number } {
  const h = createHash("sha256");
  let n = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      h.update(chunk);
      n += chunk.length;
      done(null, chunk);
    },
  });
  let hex: string | null = null;
  return { stream, digest: () => `sha256:${(hex ??= h.digest("hex"))}`, bytes: () => n };
}

function configOf(raw: Record<string, unknown>): ImageConfig {
  const c = (raw.config ?? {}) as Record<string, unknown>;
  const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((s) => typeof s === "string") ? (v as string[]) : undefined);
  const out: ImageConfig = {};
  if (strings(c.Env)) out.Env = strings(c.Env);
  if (strings(c.Cmd)) out.Cmd = strings(c.Cmd);
  if (strings(c.Entrypoint)) out.Entrypoint = strings(c.Entrypoint);
  if (typeof c.WorkingDir === "string" && c.WorkingDir) out.WorkingDir = c.WorkingDir;
  if (typeof c.User === "string" && c.User) out.User = c.User;
  return out;
}

async function unpackOne(file: string, layer: ArchiveImage["layers"][number], index: number, dir: string, rootless: boolean): Promise<{ record: LayerRecord }> {
  const what = `layer ${index + 1} (${layer.name})`;
  const outer = tap();
  const inner = tap();
  const unz = decompressorFor(layer.file, `${file}: ${layer.name}`);
  const out = new PassThrough();
  const stages: NodeJS.ReadWriteStream[] = [outer.stream, ...(unz ? [unz] : []), inner.stream];
  // pipeline() destroys every stage on an error; `out` then carries it to the unpacker.
  pipeline([createReadStream(layer.file), ...stages, out] as unknown as [Readable, ...NodeJS.ReadWriteStream[]], (err) => {
    if (err) out.destroy(err);
  });
  mkdirSync(`${dir}/diff`, { mode: 0o755 });
  let result;
  try {
    result = await unpackLayer(out, `${dir}/diff`, { whiteouts: rootless ? "user" : "trusted", chown: !rootless, what });
  } catch (e) {
    if (e instanceof Error && !("syscall" in e)) throw archiveError(file, `${what} cannot be unpacked: ${e.message}`, /unexpected end|end of file|premature/i.test(e.message) ? "the layer is truncated" : undefined);
    throw e;
  }
  if (layer.blobDigest && outer.digest() !== layer.blobDigest) throw archiveError(file, `${what}: its blob has the digest ${outer.digest()}, the manifest says ${layer.blobDigest}`, "the archive was altered or damaged: nothing was imported");
  if (inner.digest() !== layer.diffId) throw archiveError(file, `${what}: the uncompressed layer has the digest ${inner.digest()}, the config's diff ID is ${layer.diffId}`, "the archive was altered or damaged: nothing was imported");
  const record: LayerRecord = { diffId: layer.diffId, size: inner.bytes(), files: result.files, whiteouts: rootless ? "user" : "trusted" };
  writeFileSync(`${dir}/layer.json`, JSON.stringify(record, null, 2) + "\n");
  return { record };
}

/** Import `file` into `store`, named `name` (else as the archive names it). */
export async function importImage(file: string, name: string | undefined, store = new Store()): Promise<ImportResult> {
  const t0 = performance.now();
  const rootless = (process.getuid?.() ?? 0) !== 0;
  const tmp = store.makeTemp();
  try {
    mkdirSync(`${tmp}/archive`);
    const img = await readArchive(file, `${tmp}/archive`);
    const unpacked: { dir: string; record: LayerRecord; added: boolean }[] = [];
    for (const [i, layer] of img.layers.entries()) {
      const dir = `${tmp}/layer-${i}`;
      mkdirSync(dir, { mode: 0o755 });
      const { record } = await unpackOne(file, layer, i, dir, rootless);
      unpacked.push({ dir, record, added: !store.hasLayer(layer.diffId) });
    }
    // Every layer is good: into place, then the record that makes the image visible.
    for (const u of unpacked) store.commitLayer(u.dir, u.record.diffId);
    const c = img.config;
    const image: ImageRecord = {
      id: img.configDigest,
      names: (name ? [normalizeName(name)] : img.names.map(normalizeName)).filter((n, i, a) => a.indexOf(n) === i),
      layers: img.layers.map((l) => l.diffId),
      config: configOf(c),
      format: img.format,
      ...(typeof c.created === "string" ? { created: c.created } : {}),
      ...(typeof c.architecture === "string" ? { architecture: c.architecture } : {}),
      ...(typeof c.os === "string" ? { os: c.os } : {}),
    };
    const before = store.find(image.id);
    if (before) image.names = [...image.names, ...before.names.filter((n) => !image.names.includes(n))];
    store.saveImage(image);
    return { image, layers: unpacked.map((u) => ({ diffId: u.record.diffId, size: u.record.size, files: u.record.files, added: u.added })), ms: performance.now() - t0 };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
