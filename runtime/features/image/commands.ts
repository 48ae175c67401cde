// `ctr image import|ls|rm|inspect`: the store seen from the command line.
// These return the text to print; runtime/cli.ts prints it (only the CLI prints).

import { SysError } from "../../../native/error.ts";
import { importImage } from "./import.ts";
import { humanSize, Store } from "./store.ts";

export const IMAGE_USAGE = "ctr image import FILE [NAME[:TAG]] | ls | rm NAME... | inspect NAME";

const short = (digest: string): string => digest.replace(/^sha256:/, "").slice(0, 12);

function usageError(message: string): SysError {
  return new SysError({ errno: 22, code: "EINVAL", syscall: "image", args: [], message, hint: `usage: ${IMAGE_USAGE}` });
}

export async function imageCommand(args: string[], store = new Store()): Promise<string> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "import": {
      const [file, name, extra] = rest;
      if (!file || extra !== undefined) throw usageError("image import: give FILE and, optionally, NAME[:TAG]");
      const r = await importImage(file, name, store);
      const lines = r.layers.map((l, i) => `  layer ${i + 1}: ${short(l.diffId)}  ${humanSize(l.size)}  ${l.files} entries${l.added ? "" : "  (already in the store)"}`);
      const named = r.image.names.length ? r.image.names.join(", ") : "(no name: use its ID)";
      return `imported ${named} ${short(r.image.id)} (${r.image.format}, ${r.layers.length} layer${r.layers.length === 1 ? "" : "s"}) in ${Math.round(r.ms)} ms into ${store.root}\n${lines.join("\n")}\n`;
    }
    case "ls": {
      const rows = store.images().flatMap((img) => (img.names.length ? img.names : ["<none>"]).map((n) => [n, short(img.id), String(img.layers.length), humanSize(store.imageSize(img)), img.created?.slice(0, 19).replace("T", " ") ?? ""]));
      const all = [["NAME", "ID", "LAYERS", "SIZE", "CREATED"], ...rows];
      const widths = all[0]!.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
      return all.map((r) => r.map((v, c) => v.padEnd(widths[c]!)).join("  ").trimEnd()).join("\n") + "\n";
    }
    case "rm": {
      if (rest.length === 0) throw usageError("image rm: give NAME[:TAG] or an ID");
      const out: string[] = [];
      for (const ref of rest) {
        const r = store.remove(ref);
        out.push(r.removedImage ? `removed ${short(r.image.id)}${r.removedLayers.length ? ` and ${r.removedLayers.length} layer${r.removedLayers.length === 1 ? "" : "s"} no other image uses` : ""}` : `untagged ${ref}`);
      }
      return out.join("\n") + "\n";
    }
    case "inspect": {
      const [ref] = rest;
      if (!ref) throw usageError("image inspect: give NAME[:TAG] or an ID");
      const img = store.get(ref);
      const layers = img.layers.map((l) => {
        const rec = store.hasLayer(l) ? store.layer(l) : null;
        return { diffId: l, size: rec?.size ?? null, files: rec?.files ?? null, dir: store.layerDiff(l) };
      });
      return JSON.stringify({ ...img, size: store.imageSize(img), layers }, null, 2) + "\n";
    }
    default:
      throw usageError(sub ? `unknown image command \`${sub}\`` : "image: give a command");
  }
}
