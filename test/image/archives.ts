// Image archives for the tests: layers written with the same tar library ctr reads
// them with (tar-stream), laid out as the OCI image spec and docker-archive say; and
// real archives from podman (`podman import` + `podman save`), in a podman store of
// the test's own (--root/--runroot in a temporary directory).

import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pack, type Header } from "tar-stream";

export type Entry = Partial<Header> & { name: string; body?: string };

/** A tar of `entries`, in order. */
export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((res, rej) => {
    p.on("end", () => res());
    p.on("error", rej);
  });
  for (const { body, ...h } of entries) {
    await new Promise<void>((res, rej) => p.entry({ mode: h.type === "directory" ? 0o755 : 0o644, ...h }, body ?? "", (e) => (e ? rej(e) : res())));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const sha = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export interface ImageSpec {
  layers: Buffer[];
  config?: Record<string, unknown>;
  name?: string;
  /** gzip the layer blobs (OCI) */
  gzip?: boolean;
  /** Change a built archive before it is written (to make a bad one). */
  tamper?: (files: Map<string, Uint8Array>) => void;
}

function configOf(spec: ImageSpec): Buffer {
  return Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: spec.config ?? {}, rootfs: { type: "layers", diff_ids: spec.layers.map(sha) } }));
}

async function writeArchive(file: string, files: Map<string, Uint8Array>, spec: ImageSpec): Promise<string> {
  spec.tamper?.(files);
  writeFileSync(file, await tarOf([...files].map(([name, b]) => ({ name, body: Buffer.from(b) as unknown as string }))));
  return file;
}

/** An OCI image layout archive (oci-archive). */
export async function ociArchive(file: string, spec: ImageSpec): Promise<string> {
  const files = new Map<string, Uint8Array>();
  const blob = (b: Uint8Array, mediaType: string) => {
    files.set(`blobs/sha256/${sha(b).slice(7)}`, b);
    return { mediaType, digest: sha(b), size: b.length };
  };
  const config = blob(configOf(spec), "application/vnd.oci.image.config.v1+json");
  const layers = spec.layers.map((l) => (spec.gzip ? blob(gzipSync(l), "application/vnd.oci.image.layer.v1.tar+gzip") : blob(l, "application/vnd.oci.image.layer.v1.tar")));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers }));
  const m = blob(manifest, "application/vnd.oci.image.manifest.v1+json");
  files.set("oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  files.set("index.json", Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ ...m, annotations: spec.name ? { "org.opencontainers.image.ref.name": spec.name } : {} }] })));
  return writeArchive(file, files, spec);
}

/** A docker-archive (docker save). */
export async function dockerArchive(file: string, spec: ImageSpec): Promise<string> {
  const files = new Map<string, Uint8Array>();
  const config = configOf(spec);
  files.set(`${sha(config).slice(7)}.json`, config);
  const names = spec.layers.map((l) => `${sha(l).slice(7)}/layer.tar`);
  spec.layers.forEach((l, i) => files.set(names[i]!, l));
  files.set("manifest.json", Buffer.from(JSON.stringify([{ Config: `${sha(config).slice(7)}.json`, RepoTags: spec.name ? [spec.name] : null, Layers: names }])));
  return writeArchive(file, files, spec);
}

const PODMAN = ["/usr/bin/podman", "/usr/local/bin/podman"].find((p) => existsSync(p));

/** podman's own archives of a busybox image it imported, or the reason there are none. */
export function podmanArchives(dir: string, rootfsDir: string): { docker: string; oci: string } | string {
  if (!PODMAN) return "podman is not installed (apt-get install podman)";
  if (process.getuid?.() !== 0) return "podman's own store needs root here";
  const store = mkdtempSync(join(tmpdir(), "ctr-podman-"));
  const P = [PODMAN, "--root", `${store}/root`, "--runroot", `${store}/run`, "--storage-driver", "vfs"];
  const run = (args: string[]) => {
    const r = Bun.spawnSync([...P, ...args], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`podman ${args.join(" ")}: ${r.stderr.toString()}`);
  };
  try {
    const tar = join(dir, "rootfs.tar");
    const t = Bun.spawnSync(["tar", "-C", rootfsDir, "-cf", tar, "."], { stderr: "pipe" });
    if (t.exitCode !== 0) throw new Error(`tar: ${t.stderr.toString()}`);
    run(["import", "--change", "CMD [\"/bin/sh\",\"-c\",\"echo from-cmd\"]", "--change", "ENV GREETING=hello", "--change", "WORKDIR /tmp", tar, "localhost/ctrtest-bb:1"]);
    const docker = join(dir, "bb-docker.tar");
    const oci = join(dir, "bb-oci.tar");
    run(["save", "--format", "docker-archive", "-o", docker, "localhost/ctrtest-bb:1"]);
    run(["save", "--format", "oci-archive", "-o", oci, "localhost/ctrtest-bb:1"]);
    return { docker, oci };
  } finally {
    Bun.spawnSync([...P, "rmi", "-a", "-f"], { stdout: "ignore", stderr: "ignore" });
    rmSync(store, { recursive: true, force: true });
  }
}
