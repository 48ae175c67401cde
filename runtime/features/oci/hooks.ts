// A bundle's `hooks` (the OCI runtime spec, config.md "POSIX-platform Hooks"
// and runtime.md "Lifecycle"): programs the runtime runs at fixed points of a
// container's life, each given the container's state JSON on its stdin.
//
// When and where ctr runs each kind, in the order of the lifecycle:
//   prestart, createRuntime   during `create`, once the namespaces exist and
//                             PID 1 has made the mounts, before it enters the
//                             root (pivot_root); in the runtime's namespaces
//                             (the supervisor spawns them; a path resolves on
//                             the host). prestart is the deprecated spelling,
//                             run first, as runc does.
//   createContainer           the same moment, in the container's namespaces:
//                             ctr's enter stage (runtime/features/lifecycle/
//                             enter.ts) joins PID 1's namespaces and its root,
//                             which is still the host's tree seen from the
//                             container's mount namespace, and spawns it.
//   startContainer            during `start`, before PID 1 execve's the
//                             command; in the container's namespaces and its
//                             root (entered by PID 1 by then), by the same stage.
//   poststart                 after the command started, before `start` returns;
//                             in the runtime's namespaces.
//   poststop                  at `delete`, once the container is gone (for `ctr
//                             run`, when it ends; for a `create` that failed,
//                             before it returns, as runc's destroy runs them);
//                             in the runtime's namespaces.
// A failing prestart, createRuntime, createContainer or startContainer hook (a
// status other than 0, a signal, its timeout) fails `create` or `start`, and the
// container is torn down; a failing poststart or poststop hook is a warning in
// the log and the lifecycle goes on, as the spec says.
//
// Each hook gets exactly its `env` (none when it has none). A hook in the
// runtime's namespaces gets `args` as its whole argv (args[0] included; without
// `args`, the path alone); one in the container's gets the path as argv[0] and
// the rest of `args` after it (containerSpawner). The
// hooks in the container's namespaces run with the stage's privileges (the
// container's process spec is not applied: it is the command's), in the
// container's cgroups. The state's `pid` is PID 1's in the
// runtime's PID namespace, its `status` "creating" before `create` returned,
// "created" at startContainer, "running" at poststart, "stopped" at poststop.

import { writeFileSync } from "node:fs";
import { wireToError } from "../../channel/codec.ts";
import type { EnterReply, EnterSpec } from "../lifecycle/enter.ts";
import { OCI_VERSION, type OciRecord } from "./state.ts";

export const HOOK_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;
export type HookKind = (typeof HOOK_KINDS)[number];

export interface Hook {
  path: string;
  /** argv, args[0] included; the spec's default is `[path]`. */
  args: string[];
  /** The whole environment; empty: none (the spec gives the hook only what it names). */
  env: string[];
  /** Seconds; absent: no limit. */
  timeout?: number;
}

/** Every kind, each with its hooks in order (checked by translate.ts). */
export type Hooks = Record<HookKind, Hook[]>;

export const noHooks = (): Hooks => ({ prestart: [], createRuntime: [], createContainer: [], startContainer: [], poststart: [], poststop: [] });

/** The state JSON a hook reads on its stdin (runtime.md "State"). */
export interface HookState {
  ociVersion: string;
  id: string;
  status: "creating" | "created" | "running" | "stopped";
  pid?: number;
  bundle: string;
  annotations: Record<string, string>;
}

/** A started hook: its end, what it wrote on stderr, and how to kill it. */
export interface Started {
  exited: Promise<number | null>;
  signalCode(): string | number | null;
  stderr: Promise<string>;
  kill(): void;
}

/** How a hook runs: in the runtime's namespaces or in the container's. `argv[0]` is the hook's args[0]. */
export type Spawner = (path: string, argv: string[], env: Record<string, string>, stdin: string) => Promise<Started>;

function envOf(list: readonly string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

/** In the runtime's namespaces: a child of this process, its cwd the bundle (as runc's, which runs in the bundle). */
export function hostSpawner(bundle: string): Spawner {
  return async (path, argv, env, stdin) => {
    const p = Bun.spawn({ cmd: [path, ...argv.slice(1)], argv0: argv[0], env, cwd: bundle, stdin: new Blob([stdin]), stdout: "ignore", stderr: "pipe" });
    return { exited: p.exited, signalCode: () => p.signalCode, stderr: new Response(p.stderr).text(), kill: () => p.kill("SIGKILL") };
  };
}

/**
 * In the container's namespaces: ctr's enter stage joins PID 1's (`pid1`,
 * checked by its start time) and its root, and spawns the hook as its child
 * there, with the container's cgroups when it has them. The stage execs the
 * path with the rest of args; args[0] itself is not passed on (the stage's
 * spawn takes the program as argv[0]).
 */
export function containerSpawner(pid1: { pid: number; start: number }, cgroups: readonly string[]): Spawner {
  return async (path, argv, env, stdin) => {
    const [{ ensureInitBundle, SINGLE_THREAD_ENV }, { NAMESPACES }] = await Promise.all([import("../../bundle.ts"), import("../../../lang/spec.ts")]);
    const spec: EnterSpec = {
      pid: pid1.pid,
      start: pid1.start,
      namespaces: [...NAMESPACES].filter((n) => n !== "time"),
      cgroups: [...cgroups],
      argv: [path, ...argv.slice(1)],
      env,
      cwd: "/",
      rlimits: [],
      noNewPrivs: false,
    };
    const stage = Bun.spawn({
      cmd: [process.execPath, await ensureInitBundle(), "enter"],
      stdio: [new Blob([stdin]), "ignore", "pipe", "pipe"],
      env: { ...process.env, ...SINGLE_THREAD_ENV },
    });
    const fd = (stage.stdio as unknown[])[3] as number;
    writeFileSync(fd, JSON.stringify(spec) + "\n");
    // The stage's one line: the hook's host pid (to kill it at its timeout), or why it could not start.
    let hookPid = 0;
    const reply = (async () => {
      let text = "";
      const dec = new TextDecoder();
      for await (const chunk of Bun.file(fd).stream()) {
        text += dec.decode(chunk);
        const nl = text.indexOf("\n");
        if (nl >= 0 && hookPid === 0) {
          const r = JSON.parse(text.slice(0, nl)) as EnterReply;
          if ("pid" in r) hookPid = r.pid;
        }
      }
      return text;
    })();
    const stderr = new Response(stage.stderr as ReadableStream).text();
    const exited = stage.exited.then(async (code) => {
      const line = (await reply).split("\n")[0] ?? "";
      const r = line ? (JSON.parse(line) as EnterReply) : null;
      if (r && "error" in r) throw wireToError(r.error);
      return code;
    });
    const kill = () => {
      // The hook first: the stage's death alone does not end its child.
      if (hookPid > 0) {
        try {
          process.kill(hookPid, "SIGKILL");
        } catch {
          // ended meanwhile
        }
      }
      stage.kill("SIGKILL");
    };
    return { exited, signalCode: () => stage.signalCode, stderr, kill };
  };
}

/**
 * Runs `list`, the hooks of one kind, in order. The first that fails throws (a
 * failure of the lifecycle); for poststart and poststop a failure is said by
 * `warn` and the next one runs (the spec's rule for both).
 */
export async function runHooks(kind: HookKind, list: readonly Hook[], state: HookState, spawn: Spawner, warn: (text: string) => void): Promise<void> {
  for (let i = 0; i < list.length; i++) {
    const h = list[i]!;
    const what = `${kind} hook ${i} (${h.path})`;
    let failure: string | null = null;
    try {
      const p = await spawn(h.path, h.args.length > 0 ? h.args : [h.path], envOf(h.env), JSON.stringify(state));
      let timer: ReturnType<typeof setTimeout> | undefined;
      let timedOut = false;
      if (h.timeout !== undefined) {
        timer = setTimeout(() => {
          timedOut = true;
          p.kill();
        }, h.timeout * 1000);
      }
      let code: number | null;
      try {
        code = await p.exited;
      } finally {
        clearTimeout(timer);
      }
      // What it said, unless a child of its own holds its stderr open past its end.
      const said = (await Promise.race([p.stderr, Bun.sleep(1000).then(() => "")])).trim();
      const tail = said ? `: ${said}` : "";
      if (timedOut) failure = `${what} timed out after ${h.timeout} s`;
      else if (p.signalCode()) failure = `${what} exited with signal ${p.signalCode()}${tail}`;
      else if (code !== 0) failure = `${what} exited with status ${code}${tail}`;
    } catch (e) {
      failure = `${what} did not start: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (failure === null) continue;
    if (kind === "poststart" || kind === "poststop") {
      warn(failure);
      continue;
    }
    throw new Error(failure);
  }
}

/** The poststop hooks a record keeps, run as `delete` (or `run`) removes it, with the state a stopped container has. */
export async function runPoststop(rec: OciRecord, warn: (text: string) => void): Promise<void> {
  if (!rec.poststop?.length) return;
  const state: HookState = { ociVersion: OCI_VERSION, id: rec.id, status: "stopped", pid: 0, bundle: rec.bundle, annotations: rec.annotations };
  await runHooks("poststop", rec.poststop, state, hostSpawner(rec.bundle), warn);
}
