// The container's root filesystem: `rootfs` (pivot_root) and `chroot`.
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import { bound, type PlanFn } from "../../plan.ts";
import { checkHostPath, defineStatement, type StatementDef } from "../../statement.ts";
import { checkImage, planImageRoot } from "../image/statements.ts";

function rootfsPlan(mode: "pivot" | "chroot"): PlanFn {
  return (cmd, ctx) => {
    const dir = bound(cmd).args.DIR!.text;
    const initFiles = { dir: ctx.stateDir };
    if (dir === "image" && mode === "pivot") return planImageRoot(cmd, ctx, initFiles);
    if (dir === "default") {
      const overlay = { lower: ctx.defaultRootfs, scratch: `${ctx.stateDir}/scratch`, merged: `${ctx.stateDir}/root` };
      return [{ kind: "rootfs", dir, mode, overlay, initFiles, side: "pid1" }];
    }
    return [{ kind: "rootfs", dir, mode, overlay: null, initFiles, side: "pid1" }];
  };
}

/** `rootfs` and `chroot`: the container's new root, entered by pivot_root or chroot. */
function rootStatement(name: "rootfs" | "chroot", mode: "pivot" | "chroot", syntax: string, example: string, summary: string): StatementDef {
  return defineStatement({
    name,
    summary,
    syntax,
    example,
    plan: rootfsPlan(mode),
    side: "pid1",
    requires: ["mnt"],
    affects: "the host's mounts",
    container: true,
    exclusive: "root",
    args: name === "rootfs" ? [{ name: "DIR", kind: "path" }, { name: "IMAGE", kind: "word", optional: true }] : [{ name: "DIR", kind: "path" }],
    ...(name === "rootfs" ? { flags: ["keep"] } : {}),
    check: (cmd, ctx) => {
      const dir = bound(cmd).args.DIR;
      if (name === "rootfs" && checkImage(cmd, ctx)) return;
      if (dir && dir.text !== "default") checkHostPath(ctx, dir, dir.text, name, true, name === "rootfs" ? "create it (e.g. `ctr rootfs busybox DIR`), or use `rootfs default`" : "create it, e.g. with `ctr rootfs busybox DIR`");
    },
  });
}

export const rootfsStatement = rootStatement("rootfs", "pivot", "rootfs DIR|default|image NAME[:TAG] [keep]", "rootfs default", "Make DIR the container's root filesystem (pivot_root); `default` is the embedded minimal rootfs; `image NAME` an overlay of an imported image's layers (`ctr image import`), whose upper layer is removed with the container unless `keep`.");

export const chrootStatement = rootStatement("chroot", "chroot", "chroot DIR", "chroot /srv/rootfs", "Change the container's root directory with chroot (the weaker, escapable cousin of `rootfs`).");
