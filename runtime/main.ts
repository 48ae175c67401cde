// ctr's entry point (bin/ctr runs this file). Two jobs, both for start-up latency:
//   1. when the command will run a container, start stage 1 before anything else
//      is loaded: Bun's start-up of the stage (~10 ms) then overlaps the loading
//      of ctr itself and the compiling of the script; for `ctr exec`, its enter
//      stage the same way;
//   2. load the CLI from the pre-built bundle of the current sources when there
//      is one (runtime/bundle.ts), else from the sources.
// Hence no static import of ours here: every module imported is loaded (and
// transpiled) before the first line of this file runs.

const root = `${import.meta.dir}/..`;

// The build directory of the current sources: runtime/bundle.ts buildDir()
// (the newest modification time of a .ts file below runtime/, native/ and
// lang/, in whole ms), repeated here so that nothing has to be loaded to find
// it. By Bun's Glob and Bun.file, as there, not node:fs: loading node:fs takes
// a few ms, which would come before the early stages below.
function buildDir(): string {
  let newest = 0;
  for (const f of new Bun.Glob("{runtime,native,lang}/**/*.ts").scanSync({ cwd: root, dot: true })) newest = Math.max(newest, Bun.file(`${root}/${f}`).lastModified);
  return `${root}/dist/${Math.floor(newest)}`;
}
const existsSync = (file: string): boolean => Bun.file(file).size > 0;

// A detached supervisor: the caller's values of the settings its ctr gave it (runtime/features/lifecycle/commands.ts, supervisorEnv).
if (process.env.CTR_SUPERVISOR_CALLER_ENV !== undefined) {
  for (const [k, v] of Object.entries(JSON.parse(process.env.CTR_SUPERVISOR_CALLER_ENV) as Record<string, string | null>)) {
    if (v === null) delete process.env[k];
    else process.env[k] = v;
  }
  delete process.env.CTR_SUPERVISOR_CALLER_ENV;
}
const argv = process.argv.slice(2);
const NOT_A_RUN = new Set(["check", "explain", "rootfs", "image", "volume", "repl", "help", "--help", "-h", "--version", "-V", "ps", "exec", "logs", "stop", "kill", "rm", "inspect"]);
// ctr as an OCI runtime (runtime/features/oci/commands.ts): runc's global flags and verbs start no stage 1 here.
// Its supervisor (`--oci-supervise`) runs a container, and gets its stage 1 early as a script does.
const OCI_WORDS = /^(--root|--log|--log-format|--debug|--systemd-cgroup|--rootless|--criu)(=|$)|^(create|start|state|delete|run|features|spec|list|pause|resume|update|events|checkpoint|restore)$/;
const first = argv.find((a) => a !== "--trace");
// `ctr -d`: the container's own ctr (its supervisor, runtime/features/lifecycle/supervise.ts) starts it, not this one.
const detaching = (() => {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-d" || a === "--detach") return true;
    if (a === "--name") i++;
    else if (a !== "--trace") return false;
  }
  return false;
})();
// `ctr exec` without -t: whether its command gets our standard input (-i); null when
// the line is not that (the CLI then starts the enter stage itself, or refuses the line).
const execStdin = (): "inherit" | "ignore" | null => {
  const at = first === "exec" ? argv.indexOf(first) : -1;
  if (at < 0) return null;
  let interactive = false;
  for (let i = at + 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-i" || a === "--interactive") interactive = true;
    else if (a === "-e" || a === "--env" || a === "-w" || a === "--workdir") i++;
    else if (a === "--" || !a.startsWith("-")) return interactive ? "inherit" : "ignore";
    else return null; // -t, or an option the CLI refuses
  }
  return null;
};
const dir = buildDir();
// The enter stage runs for a few ms: the JIT's work would not pay (commands.ts ENTER_ENV says the same).
const ENTER_ENV = { BUN_JSC_useJIT: "0" };
const singleThread = { BUN_JSC_useConcurrentJIT: "0", BUN_JSC_useConcurrentGC: "0", BUN_JSC_useWarmUpMarkedBlocks: "0", MIMALLOC_PURGE_DELAY: "-1" };

let early: ReturnType<typeof Bun.spawn> | null = null;
const stdin = execStdin();
if (first !== undefined && !NOT_A_RUN.has(first) && !OCI_WORDS.test(first) && !detaching && existsSync(`${dir}/init.js`)) {
  // Same spawn as Launch.spawn in runtime/host.ts, which adopts this process.
  early = Bun.spawn({
    cmd: [process.execPath, `${dir}/init.js`, "stage1"],
    stdio: ["inherit", "inherit", "inherit", "pipe"],
    env: { ...process.env, ...singleThread },
  });
} else if (stdin !== null && existsSync(`${dir}/enter-init.js`) && existsSync(`${dir}/exec-cli.js`)) {
  // `ctr exec`'s enter stage (runtime/features/lifecycle/enter.ts), the same spawn as
  // execCommand's: its start-up overlaps ctr's loading and the reading of the record; it
  // waits for its spec on fd 3, and ends quietly if the CLI refuses the line first.
  early = Bun.spawn({
    cmd: [process.execPath, `${dir}/enter-init.js`, "enter"],
    stdio: [stdin, "inherit", "inherit", "pipe"],
    env: { ...process.env, ...singleThread, ...ENTER_ENV },
  });
}
const whole = async (): Promise<typeof import("./cli.ts")> => (existsSync(`${dir}/cli.js`) ? await import(`${dir}/cli.js`) : await import("./cli.ts"));
// `ctr exec` with its enter stage started above: the CLI's exec alone (runtime/exec-cli.ts).
const running: Promise<number> =
  stdin !== null && early !== null
    ? ((await import(`${dir}/exec-cli.js`)) as typeof import("./exec-cli.ts")).main(argv.slice(argv.indexOf("exec") + 1), early, whole)
    : whole().then((cli) => cli.main(argv, early));
running.then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`ctr: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(125);
  },
);
