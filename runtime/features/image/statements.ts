// `rootfs image NAME[:TAG] [keep]` (the form lives in runtime/features/rootfs/statements.ts,
// its checks and plan here) and `show layers` (runtime/features/image/layers.ts).

import { release } from "node:os";
import type { Arg, CheckContext, Command } from "../../../lang/spec.ts";
import { bound, type PlanContext, type PlannedOp } from "../../plan.ts";
import type { InitFiles } from "../../ops.ts";
import { imageRoot, imageUser, ROOT_USER } from "./root.ts";
import { Store, type WhiteoutStyle } from "./store.ts";

/** The checks of `rootfs image`; true when the command is that form (whatever it said). */
export function checkImage(cmd: Command, ctx: CheckContext): boolean {
  const b = bound(cmd);
  const dir = b.args.DIR;
  const image = b.args.IMAGE;
  const keep = b.flags.has("keep");
  if (!dir || dir.text !== "image") {
    if (image) ctx.error(image.span, `\`rootfs ${dir?.text ?? "DIR"}\` takes one argument`, "write `rootfs DIR`, or `rootfs image NAME[:TAG]` for an imported image");
    if (keep) ctx.error(cmd.span, "`keep` is for `rootfs image`: it keeps the container's upper layer", "remove `keep`");
    return false;
  }
  if (!image) {
    ctx.error(dir.span, "`rootfs image` needs the image's NAME[:TAG]", "e.g. `rootfs image busybox:latest`; `ctr image ls` lists the store");
    return true;
  }
  if (!ctx.host) return true; // not allowed to look at the machine
  const store = new Store();
  const img = store.find(image.text);
  if (!img) {
    const names = store.images().flatMap((i) => i.names);
    ctx.error(image.span, `no image "${image.text}" in the store ${store.root}`, names.length ? `images here: ${names.join(", ")}` : "import one first: ctr image import FILE NAME[:TAG]");
    return true;
  }
  const missing = img.layers.find((l) => !store.hasLayer(l));
  if (missing) ctx.error(image.span, `image "${image.text}" lacks its layer ${missing} in the store`, "import the image again");
  else rootlessChecks(image, ctx, img.layers.map((l) => store.layer(l).whiteouts));
  const user = img.config.User;
  if (user && !imageUser(user) && !ROOT_USER.test(user)) ctx.warning?.(image.span, `the image's User "${user}" is malformed and not applied: commands run as root unless the script says \`user\``, "a User is NAME, UID, NAME:GROUP or UID:GID");
  return true;
}

/**
 * Rootless, the overlay reads only user.overlay.* marks (`userxattr`, runtime/features/image/root.ts),
 * and the kernel lets a user namespace's owner mount an overlay only from Linux 5.11: refused
 * here, before anything is made, where either does not hold.
 */
function rootlessChecks(image: Arg, ctx: CheckContext, styles: WhiteoutStyle[]): void {
  if (new Set(styles).size > 1) ctx.error(image.span, `image "${image.text}" has layers imported as root and as an ordinary user: one overlay cannot read both kinds of opaque marks`, "import the image again into a store of one user");
  if ((process.getuid?.() ?? 0) === 0) return;
  if (styles.includes("trusted")) ctx.error(image.span, `image "${image.text}" was imported as root: its opaque directories are marked with trusted.* xattrs, which a rootless overlay (userxattr) does not read`, "import it as this user: ctr image import FILE NAME");
  const [major = 0, minor = 0] = release().split(/[.-]/).map(Number);
  if (major < 5 || (major === 5 && minor < 11)) ctx.error(image.span, `rootless \`rootfs image\` needs an overlay mounted in a user namespace, which Linux ${release()} forbids (5.11 or later)`, "run as root, or on a newer kernel");
}

/** The ops of `rootfs image NAME [keep]`: one `rootfs` op carrying the image (PID 1 mounts the overlay). */
export function planImageRoot(cmd: Command, ctx: PlanContext, initFiles: InitFiles): PlannedOp[] {
  const b = bound(cmd);
  const store = new Store();
  const img = store.get(b.args.IMAGE!.text);
  const keep = b.flags.has("keep");
  const id = ctx.stateDir.slice(ctx.stateDir.lastIndexOf("/") + 1);
  const image = imageRoot(store, b.args.IMAGE!.text, img, ctx.stateDir, keep, id);
  const merged = `${ctx.stateDir}/root`;
  return [{ kind: "rootfs", dir: merged, mode: "pivot", overlay: null, initFiles, image, side: "pid1" }];
}
