// `show layers`: the layers of the container's root as the kernel has them, the
// overlay counterpart of the walkthrough's /sys/fs/aufs/si_*/br* listing (chapter 11).
// The host reads PID 1's /proc/PID/mountinfo: the root's overlay lists each lower
// directory (`lowerdir+=`, one per layer, the top one first), its upperdir and
// workdir. A lower directory in the image store is named by the layer's diff ID
// (runtime/features/image/store.ts), which gives its digest and size. The upper
// directory is then walked for what the container changed: whiteouts (0/0
// character devices, a lower file deleted) and opaque directories.

import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { lgetxattr } from "../../../native/xattr.ts";
import { table, unescapeMountPath } from "../show/show.ts";
import { humanSize, type LayerRecord } from "./store.ts";

interface RootLayers {
  lower: string[];
  upper?: string;
  work?: string;
}

/** The overlay mounted at the container's "/", from PID 1's mountinfo, or null. */
export function rootOverlay(pid1: number): RootLayers | null {
  let found: RootLayers | null = null;
  for (const line of readFileSync(`/proc/${pid1}/mountinfo`, "utf8").split("\n")) {
    const [left, right] = line.split(" - ");
    if (!right) continue;
    const f = left!.split(" ");
    const [fstype, , opts] = right.split(" ");
    if (fstype !== "overlay" || unescapeMountPath(f[4]!) !== "/") continue;
    const r: RootLayers = { lower: [] };
    for (const o of (opts ?? "").split(",")) {
      const eq = o.indexOf("=");
      const key = o.slice(0, eq);
      const value = unescapeMountPath(o.slice(eq + 1));
      if (key === "lowerdir+" || key === "datadir+") r.lower.push(value);
      else if (key === "lowerdir") r.lower.push(...value.split(":"));
      else if (key === "upperdir") r.upper = value;
      else if (key === "workdir") r.work = value;
    }
    found = r; // the last one mounted on "/" is the one in use
  }
  return found;
}

function layerOf(dir: string): LayerRecord | null {
  if (!dir.endsWith("/diff")) return null;
  try {
    return JSON.parse(readFileSync(`${dir.slice(0, -5)}/layer.json`, "utf8")) as LayerRecord;
  } catch {
    return null;
  }
}

/** Whiteouts and opaque directories under `upper`, as container paths. */
export function changes(upper: string): { whiteouts: string[]; opaque: string[] } {
  const out = { whiteouts: [] as string[], opaque: [] as string[] };
  const walk = (dir: string, rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const path = `${dir}/${n}`;
      const st = lstatSync(path);
      if (st.isCharacterDevice() && st.rdev === 0) out.whiteouts.push(`${rel}/${n}`);
      else if (st.isDirectory()) {
        for (const ns of ["trusted", "user"]) {
          try {
            if (new TextDecoder().decode(lgetxattr(path, `${ns}.overlay.opaque`) ?? new Uint8Array()) === "y") out.opaque.push(`${rel}/${n}`);
          } catch {
            // no xattrs there
          }
        }
        walk(path, `${rel}/${n}`);
      }
    }
  };
  walk(upper, "");
  return out;
}

export function showLayers(pid1: number): string {
  const r = rootOverlay(pid1);
  if (!r) return "the container's root is not an overlay (use `rootfs image NAME` or `rootfs default`)\n";
  const rows = [["LAYER", "DIGEST", "SIZE", "DIRECTORY"]];
  r.lower.forEach((d, i) => {
    const rec = layerOf(d);
    rows.push([`lower ${i + 1}${i === 0 ? " (top)" : i === r.lower.length - 1 ? " (bottom)" : ""}`, rec ? rec.diffId.slice(0, 19) : "-", rec ? humanSize(rec.size) : "-", d]);
  });
  if (r.upper) rows.push(["upper", "-", "-", r.upper]);
  if (r.work) rows.push(["work", "-", "-", r.work]);
  let text = table(rows);
  if (r.upper && !existsSync(r.upper)) text += "whiteouts in the upper layer: not visible from the host (the upper layer is on the container's own tmpfs)\n";
  else if (r.upper) {
    const c = changes(r.upper);
    text += `whiteouts in the upper layer (deleted from a lower one): ${c.whiteouts.length ? c.whiteouts.join(" ") : "none"}\n`;
    if (c.opaque.length) text += `opaque directories in the upper layer: ${c.opaque.join(" ")}\n`;
  }
  return text;
}
