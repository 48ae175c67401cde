// The ctr process that drives an OCI container from `create` to its end: its
// supervisor, as runtime/features/lifecycle/supervise.ts is a named
// container's. `ctr create` starts it in a session of its own, with create's
// standard streams (which the container's process inherits, as with runc
// without a terminal), and returns once the record says "created"; `ctr run`
// is the supervisor itself.
//
// The create/start split is PID 1 waiting: the supervisor sends PID 1 every
// op of the plan up to `exec` (namespaces, mounts, root, process spec), then
// holds `exec` back (ExecuteIO.beforeExec, runtime/execute.ts) until `ctr
// start` asks on the container's start.sock; then PID 1 execve's the
// command, the record says "running", and `start` returns.
//
// After `create` (and `run --detach`), PID 1 is let go: a client's monitor
// (podman's conmon, containerd's shim) is a subreaper that reads PID 1's pid
// from --pid-file and waits for it as its own child, as with runc. So before
// the record says "created", stage 1 is killed (Container.release) and PID 1
// is re-parented to that subreaper (the host's init without one); until
// `start`, the supervisor's end of the channel is what holds PID 1 (its EOF
// ends it, a supervisor that dies takes it along). Once the command runs the
// supervisor exits and leaves everything in place: the cgroups and ctr's
// per-container directory are in the record (`held`), and `delete` removes
// them (teardown.ts). Before that point every failure is torn down here, as
// for a script.
//
// `ctr run` without --detach keeps PID 1 as ctr's own, the supervisor waits
// for the command, and the record says "stopped" with its exit status.
//
// A released container's ctr id carries no owner pid (ctr-oci-XXXXXX-held):
// the sweeps of state directories and cgroups left by a dead ctr
// (runtime/statedir.ts, runtime/features/cgroup/manager.ts) take names that
// end in a pid, and this container's owner is its record, not a process.

import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { cpus } from "node:os";
import { formatLocation } from "../../../lang/diagnostics.ts";
import { SysError } from "../../../native/error.ts";
import { writeAll } from "../../fdio.ts";
import { newContainerId, stateRoot } from "../../paths.ts";
import { processRef, sameProcess } from "../lifecycle/procstat.ts";
import { compileBundle, hostFacts } from "./config.ts";
import { errorText } from "./errors.ts";
import type { OciLog } from "./log.ts";
import { OCI_VERSION, OciStore, type OciRecord } from "./state.ts";
import { containerSpawner, hostSpawner, runHooks, type HookState } from "./hooks.ts";

export interface SuperviseArgs {
  store: OciStore;
  id: string;
  bundle: string;
  log: OciLog;
  /** `ctr run`: no `start` to wait for. */
  startAtOnce: boolean;
  /** A stage 1 started before ctr loaded (runtime/main.ts), to adopt rather than start one. */
  early?: ReturnType<typeof Bun.spawn> | null;
  /** Called once the record says "created" (`ctr run` writes its pid file then). */
  created?(pid1: number): void;
  /** --console-socket: where the master of the command's terminal goes (runtime/features/process/console.ts). */
  console?: string;
}

/** A connected socket to the unix socket at `file` (a long path reached from its directory: sun_path holds 107 bytes). */
export async function connectConsole(file: string): Promise<number> {
  const { AF_UNIX, close, connect, SOCK_CLOEXEC, SOCK_STREAM, socket, unixAddress } = await import("../../../native/index.ts");
  const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC);
  const cwd = process.cwd();
  try {
    if (Buffer.byteLength(file) > 107) process.chdir(path.dirname(file));
    connect(fd, unixAddress(Buffer.byteLength(file) > 107 ? path.basename(file) : file));
    return fd;
  } catch (e) {
    close(fd);
    throw e;
  } finally {
    process.chdir(cwd);
  }
}

/** Compile, create, wait for start, run, record the end: the container's exit status, or 1 when it was never created. */
export async function supervise(a: SuperviseArgs): Promise<number> {
  const { store, id, log } = a;
  const dir = store.dir(id);
  const fail = (text: string): number => {
    a.early?.kill("SIGKILL"); // not adopted: nothing else ends it
    writeFileSync(`${dir}/error`, text);
    return 1;
  };
  const release = !a.startAtOnce;
  const cid = release ? `ctr-oci-${Math.random().toString(36).slice(2, 8)}-held` : newContainerId();
  const [{ defaultCacheDir }, { hostView }] = await Promise.all([import("../rootfs/cache.ts"), import("../../hostview.ts")]);
  let b;
  try {
    b = compileBundle(a.bundle, { stateDir: `${stateRoot()}/${cid}`, defaultRootfs: `${defaultCacheDir()}/rootfs`, cpus: cpus().length, host: hostView(), facts: hostFacts() });
  } catch (e) {
    return fail(`cannot read the bundle's config.json: ${errorText(e)}`);
  }
  if (!b.ok) {
    // One line each, as a log reads them: where (config.json:POINTER:LINE:COLUMN), what, the fix.
    const shown = b.diagnostics.filter((d) => d.severity === "error").map((d) => `${formatLocation(d.span)}: ${d.message}${d.help ? ` (${d.help})` : ""}`);
    return fail(shown.join("\n"));
  }
  for (const d of b.diagnostics) log.line("warning", `${d.span.file}: ${d.message}`);
  // As runc: a terminal needs a console socket to send its master to, and a console socket a terminal.
  if (b.terminal && !a.console) return fail("process.terminal is true, but no --console-socket was given: ctr sends the terminal's master to the caller, it has no terminal of its own to give");
  if (a.console && !b.terminal) return fail("--console-socket was given, but process.terminal is false");
  let consoleFd: number | undefined;
  if (a.console) {
    try {
      consoleFd = await connectConsole(a.console);
    } catch (e) {
      return fail(`cannot connect to the console socket "${a.console}": ${errorText(e)}`);
    }
  }
  log.line("debug", `${id}: compiled ${b.commands.length} statements into ${b.result.plan.ops.length} ops`);
  const annotations = (b.config?.annotations ?? {}) as Record<string, string>;
  const rec: OciRecord = { id, status: "creating", bundle: b.dir, annotations, created: new Date().toISOString(), supervisor: processRef(process.pid), pid1: null, cid, ...(b.hooks.poststop.length > 0 ? { poststop: b.hooks.poststop } : {}) };
  store.write(rec);
  const hooks = b.hooks;
  const stateOf = (status: HookState["status"], pid: number): HookState => ({ ociVersion: OCI_VERSION, id, status, pid, bundle: b.dir, annotations });
  const onHost = hostSpawner(b.dir);
  const warn = (text: string) => log.line("warning", text);
  // poststart runs before `start` is answered (hooks.ts): awaited before this process goes on to exit.
  let poststart: Promise<void> = Promise.resolve();

  // `start` connects to start.sock and is answered once exec is done (or failed).
  let requested!: () => void;
  const startRequested = new Promise<void>((resolve) => (requested = resolve));
  const waiting: { write(s: string): unknown; end(): unknown }[] = [];
  const answer = (text: string) => {
    for (const s of waiting.splice(0)) {
      s.write(text);
      s.end();
    }
  };
  let server: { stop(close?: boolean): void } | null = null;
  if (!a.startAtOnce) {
    // A relative path: a socket's path is limited to 107 bytes, and --root may be long.
    process.chdir(dir);
    try {
      server = Bun.listen({
        unix: "start.sock",
        socket: {
          data(s, data) {
            if (String(data).trim() !== "start") return void s.end();
            if (rec.status !== "created") {
              s.write(`error cannot start a container that is ${rec.status}\n`);
              return void s.end();
            }
            waiting.push(s);
            requested();
          },
        },
      });
    } finally {
      process.chdir("/");
    }
  } else requested();

  const errors: string[] = [];
  const { Launch } = await import("../../host.ts");
  const { execute } = await import("../../execute.ts");
  let status: number;
  try {
    // process.oomScoreAdj: this process's, inherited by stage 1 and PID 1, whose
    // start score the command takes at its execve (runtime/features/cgroup/oomscore.ts);
    // so a stage 1 of our own, started after the write.
    if (b.oomScoreAdj !== undefined) {
      const { canLowerOomScore } = await import("../cgroup/oom.ts");
      // Without CAP_SYS_RESOURCE a memory limit raises stage 1 to +1000 (oomscore.ts), which the command would inherit instead.
      if (b.result.plan.ops.some((o) => o.kind === "cgroup-limit" && o.limit.controller === "memory") && !canLowerOomScore()) throw new SysError({ message: "`process.oomScoreAdj` with a memory limit is not supported yet without CAP_SYS_RESOURCE: ctr raises its init's score, which the command would inherit" });
      (await import("./oomscore.ts")).setOwnOomScore(b.oomScoreAdj);
    }
    // With a console socket, a stage 1 of our own: it must have the socket as its fd 4.
    if (consoleFd !== undefined || b.oomScoreAdj !== undefined) {
      a.early?.kill("SIGKILL");
      a.early = null;
    }
    const launch = a.early ? Launch.adopt(a.early) : await Launch.start(consoleFd);
    a.early = null;
    if (consoleFd !== undefined) (await import("../../../native/index.ts")).close(consoleFd); // stage 1 has its copy
    status = await execute(cid, b.result.plan, launch, null, {
      trace: false,
      output: (text) => writeAll(1, text),
      traceLine: () => {},
      error: (e) => {
        errors.push(errorText(e));
        log.error(errorText(e));
      },
      notice: (text) => log.line("warning", text),
      // createRuntime (prestart first) on the host, then createContainer in the container, before PID 1 enters the root.
      ...(hooks.prestart.length + hooks.createRuntime.length + hooks.createContainer.length > 0
        ? {
            beforeRoot: async (pid1: number, cgroups: string[]) => {
              const state = stateOf("creating", pid1);
              await runHooks("prestart", hooks.prestart, state, onHost, warn);
              await runHooks("createRuntime", hooks.createRuntime, state, onHost, warn);
              if (hooks.createContainer.length === 0) return;
              const ref = processRef(pid1);
              if (!ref) throw new SysError({ message: "the container's PID 1 ended before its createContainer hooks ran" });
              await runHooks("createContainer", hooks.createContainer, state, containerSpawner(ref, cgroups), warn);
            },
          }
        : {}),
      beforeExec: async (pid1, held) => {
        log.line("debug", `${id}: created, PID 1 is ${pid1}`);
        rec.status = "created";
        rec.pid1 = processRef(pid1);
        if (held) rec.held = held;
        store.write(rec);
        a.created?.(pid1);
        // Killed before `start` (`kill ID` of a created container): nothing will ask, the container is over.
        let watch: ReturnType<typeof setInterval> | undefined;
        const died = new Promise<never>((_, reject) => {
          watch = setInterval(() => {
            if (!sameProcess(rec.pid1)) reject(new SysError({ message: "the container's PID 1 ended before start" }));
          }, 100);
        });
        try {
          await Promise.race([startRequested, died]);
        } finally {
          clearInterval(watch);
        }
        // startContainer: in the container (its root entered), before the command; a failure fails `start`.
        if (hooks.startContainer.length > 0) await runHooks("startContainer", hooks.startContainer, stateOf("created", pid1), containerSpawner(rec.pid1!, held?.cgroups ?? []), warn);
      },
      started: () => {
        if (rec.status !== "created") return; // never created: the error is said below
        rec.status = "running";
        store.write(rec);
        // poststart: after the command is executed, before `start` returns (hooks.ts); a failure is a warning.
        poststart = runHooks("poststart", hooks.poststart, stateOf("running", rec.pid1?.pid ?? 0), onHost, warn).finally(() => answer("ok\n"));
      },
    }, { release, freezer: true, ...(b.cgroupsPath !== undefined ? { cgroupsPath: b.cgroupsPath } : {}), paths: b.nsPaths });
  } catch (e) {
    errors.push(errorText(e));
    status = 1;
  }
  await poststart;
  if (release && rec.status === "running" && errors.length === 0) {
    server?.stop(true);
    // The command runs, PID 1 is the caller's: the record stays "running" (state.ts reads PID 1's life) until `delete`.
    rec.supervisor = null;
    if (store.read(id)) store.write(rec);
    return 0;
  }
  // Answered before the server stops: stopping it closes the connections still waiting.
  answer(`error ${errors.join("; ") || `the container exited with status ${status}`}\n`);
  server?.stop(true);
  const wasCreated = rec.status !== "creating";
  rec.status = "stopped";
  rec.exitStatus = status;
  rec.supervisor = null;
  if (store.read(id)) store.write(rec);
  if (!wasCreated) return fail(errors.join("\n") || `the container could not be created (status ${status})`);
  return status;
}
