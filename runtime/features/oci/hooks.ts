// The config's hooks (runtime-spec config.md, "POSIX-platform Hooks", and
// runtime.md, "Lifecycle"): executables the runtime runs at points of the
// container's life, each with the container's state (the JSON `state` prints)
// on its standard input.
//
// ctr runs the two kinds that run in the runtime's namespaces after the
// container's process exists, at the points the spec names:
//   poststart  after the user process is executed, before `start` returns
//              (supervise.ts, once the record says "running");
//   poststop   after the container is deleted (`delete`, and `run` as it
//              removes its record: commands.ts).
// A failing hook of either kind is a warning in the log, and the lifecycle
// goes on, as the spec says for both.
//
// The others are refused by name (translate.ts): prestart and createRuntime
// run before pivot_root, and createContainer and startContainer in the
// container's mount namespace before the command; ctr's plan gives PID 1 its
// root in one run of ops, with no point between them where the supervisor
// could run an executable and wait, so none of them can be honoured yet.

import { specState, type OciRecord } from "./state.ts";

export interface Hook {
  path: string;
  /** argv, args[0] included; the spec's default is `[path]`. */
  args: string[];
  /** The whole environment; absent: none (the spec gives the hook only what it names). */
  env: string[];
  /** Seconds; absent: no limit. */
  timeout?: number;
}

export interface Hooks {
  poststart: Hook[];
  poststop: Hook[];
}

/** The kinds ctr runs, and the kinds it refuses with the reason the error gives. */
export const HOOKS_RUN = ["poststart", "poststop"] as const;
export const HOOKS_REFUSED: Record<string, string> = {
  prestart: "a prestart hook runs before pivot_root, between ops ctr's PID 1 runs in one go",
  createRuntime: "a createRuntime hook runs before pivot_root, between ops ctr's PID 1 runs in one go",
  createContainer: "a createContainer hook runs in the container's mount namespace before pivot_root, between ops ctr's PID 1 runs in one go",
  startContainer: "a startContainer hook runs inside the container just before the command, and ctr's PID 1 execs the command without a fork",
};

/**
 * Run `hooks` in order, each with `state` (JSON) on its standard input. A
 * hook that cannot start, exits non-zero or outlives its timeout is said by
 * `warn`, and the next one runs (poststart and poststop: the spec's rule).
 */
export function runHooks(kind: string, hooks: readonly Hook[], state: Record<string, unknown>, warn: (text: string) => void): void {
  const input = Buffer.from(JSON.stringify(state));
  hooks.forEach((h, i) => {
    const env: Record<string, string> = {};
    for (const e of h.env) {
      const eq = e.indexOf("=");
      if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    try {
      const r = Bun.spawnSync({
        cmd: [h.path, ...h.args.slice(1)],
        argv0: h.args[0] ?? h.path,
        env,
        cwd: typeof state.bundle === "string" ? state.bundle : "/",
        stdin: input,
        stdout: "ignore",
        stderr: "pipe",
        ...(h.timeout !== undefined ? { timeout: h.timeout * 1000, killSignal: "SIGKILL" } : {}),
      });
      const why = r.exitedDueToTimeout ? `timed out after ${h.timeout} s` : r.exitCode !== 0 ? `exited with ${r.exitCode === null ? `signal ${r.signalCode}` : `status ${r.exitCode}`}` : "";
      if (why) warn(`${kind} hook ${i} (${h.path}) ${why}${r.stderr?.length ? `: ${r.stderr.toString().trim()}` : ""}`);
    } catch (e) {
      warn(`${kind} hook ${i} (${h.path}) did not start: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}

/** The poststop hooks a record keeps, run as `delete` (or `run`) removes it, with the state a stopped container has. */
export function runPoststop(rec: OciRecord, warn: (text: string) => void): void {
  if (!rec.poststop?.length) return;
  runHooks("poststop", rec.poststop, { ...specState(rec), status: "stopped", pid: 0 }, warn);
}
