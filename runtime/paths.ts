// Where ctr keeps its per-container directories (no kernel work here, so the
// front end can name them in `explain` without loading the native layer).

/** The parent of per-container directories: /run/ctr as root, else the user's runtime dir. */
export function stateRoot(): string {
  if (process.getuid?.() === 0) return "/run/ctr";
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  return runtimeDir ? `${runtimeDir}/ctr` : `/tmp/ctr-${process.getuid?.()}`;
}

/** A fresh container id. It ends in the owner's PID so stale directories can be swept. */
export function newContainerId(): string {
  return `ctr-${Math.random().toString(36).slice(2, 8)}-${process.pid}`;
}
