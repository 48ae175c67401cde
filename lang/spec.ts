// The contract between the language front end and the runtime.
//
// lang/ knows nothing of the kernel: it parses, expands the scripting layer
// (let, fn, if, for, import, ${...}) into a flat list of resolved commands, and
// checks each command against a table of StatementSpec supplied by the caller
// (runtime/registry.ts). The runtime turns checked commands into operations.

/** A place in a source file. Lines and columns are 1-based, offset is 0-based. */
export interface Span {
  file: string;
  line: number;
  column: number;
  offset: number;
  /** Length in characters of the spanned text (for the caret underline). */
  length: number;
}

/** The namespaces ctr knows, by their `ns` spelling. */
export const NAMESPACES = ["uts", "ipc", "pid", "mnt", "net", "user", "cgroup", "time"] as const;
export type NsName = (typeof NAMESPACES)[number];

/** Who performs an operation. */
export type Side =
  | "front" // the ctr process itself, no kernel effect (echo, expect, sleep)
  | "host" // the ctr process, acting on the host (cgroups, id maps, veth host end)
  | "creator" // stage 1: the process that unshares the namespaces
  | "pid1"; // stage 2: PID 1 inside the container (mounts, rootfs, hostname, exec)

/** A resolved argument: interpolation done, values known. */
export interface Arg {
  kind: "word" | "string" | "number" | "option" | "list";
  /** The resolved text: for a number "20%", for an option "size=64m", for a list "uts,pid". */
  text: string;
  span: Span;
  /** Set for kind "number": 20% -> {value: 20, unit: "%"}; 64m -> {value: 64, unit: "m"}. */
  number?: { value: number; unit: string };
  /** Set for kind "option": key and its value. */
  key?: string;
  value?: Arg;
  /** Set for kind "list": the comma-separated items. */
  items?: Arg[];
}

/** One statement after expansion of the scripting layer. */
export interface Command {
  name: string;
  nameSpan: Span;
  args: Arg[];
  /** The span of the whole statement. */
  span: Span;
  /** Call stack of user functions / imports that produced this command (outermost first). */
  via?: Span[];
  /**
   * Its arguments as the checker bound them to the statement's syntax: set on
   * every command whose shape checked, before the statement's own `check`, and
   * what `check` and the runtime's plan functions read (they never re-parse).
   */
  bound?: Bound;
}

/** A command's arguments sorted by the checker: form, named positionals, options, flags. */
export interface Bound {
  /** The form word (`mount tmpfs` -> "tmpfs"), or null for a statement without forms. */
  form: string | null;
  /** The positionals after the form, in order (options and flags left out). */
  positional: Arg[];
  /** The positionals by the name of their ArgSpec ("DIR", "SRC"); a `rest` argument is in `rest`. */
  args: Record<string, Arg>;
  /** The values of the `rest` argument (a command and its arguments), if the syntax has one. */
  rest: Arg[];
  /** Options by key: the value of `size=64m` under "size". */
  options: Record<string, Arg>;
  /** Where each option is written (`key=value` as a whole). */
  optionSpans: Record<string, Span>;
  flags: ReadonlySet<string>;
}

/** How a value is validated. Sizes accept k/m/g/t suffixes (and plain bytes). */
export type ValueKind =
  | "word" // any single bare word or string
  | "path" // an absolute or relative path
  | "text" // anything; for commands and messages
  | "int" // non-negative integer
  | "size" // 64m, 1g, 4096
  | "percent" // 20%
  | "duration" // 500ms, 2s, 1m, or plain seconds
  | "idrange" // map: inside outside count
  | "cpus" // 0-1,3
  | "nslist" // a namespace name or comma list of them
  | "cidr" // 10.0.0.1/24
  | "mode" // octal file mode: 755, 0755, 1777
  | { oneOf: readonly string[] };

export interface ArgSpec {
  name: string; // shown in syntax and messages, e.g. "NAME", "DIR"
  kind: ValueKind;
  optional?: boolean;
  /** Takes all remaining positional arguments (at least one unless optional). */
  rest?: boolean;
  /** For optional arguments: the value used when it is left out (shown in help). */
  default?: string;
}

/** A sub-form selected by the first word, e.g. `mount proc`, `limit cpu`, `show ns`. */
export interface FormSpec {
  summary: string;
  syntax: string;
  example: string;
  args?: ArgSpec[];
  options?: Record<string, ValueKind>;
  flags?: readonly string[]; // bare words allowed anywhere after the positionals: ro, nosuid...
  requires?: readonly NsName[];
  /** Options that must be given (`net veth host=... ctr=...`). */
  requiredOptions?: readonly string[];
  /** Overrides the statement's side for this form. */
  side?: Side;
  /** Extra semantic rules for this form; run after the statement's own `check`. */
  check?: (cmd: Command, ctx: CheckContext) => void;
}

export interface StatementSpec {
  name: string;
  summary: string; // one line
  syntax: string; // e.g. "hostname NAME"
  example: string;
  side: Side;
  /** Namespaces that must be requested by an earlier `ns` for this statement to be safe. */
  requires?: readonly NsName[];
  /** True for statements acting on a container, which must come after `ns`. */
  container?: boolean;
  args?: ArgSpec[];
  /** Option keys (`key=value`) and how their values are validated; the key "*" accepts any key. */
  options?: Record<string, ValueKind>;
  flags?: readonly string[];
  forms?: Record<string, FormSpec>;
  /** Words a user may expect as forms, and why they are not (the help of the error). */
  notForms?: Record<string, string>;
  /** Extra semantic rules; report problems through ctx.error. */
  check?: (cmd: Command, ctx: CheckContext) => void;

  // ---- ordering rules, enforced by the generic checker ----
  /** Options that must be given. */
  requiredOptions?: readonly string[];
  /** What the statement would change on the host without its `requires` (for the error message). */
  affects?: string;
  /** `ns`: its nslist arguments create the container's namespaces (once per script). */
  createsNamespaces?: boolean;
  /** `join`: its nslist arguments are namespaces entered from a running container. */
  joinsNamespaces?: boolean;
  /** `exec`: replaces the container's process; nothing acting on the container may follow. */
  final?: boolean;
  /** `expect`: must come after one of these statements. */
  after?: readonly string[];
  /** Statements sharing a group may appear once per script between them (`rootfs`, `chroot`). */
  exclusive?: string;
}

/**
 * A look at the host's filesystem, for rules on host paths (a rootfs, a bind
 * source): what is at PATH, or null when nothing is. Supplied by the runtime;
 * without it (tests of the language alone) those rules are not checked.
 */
export interface HostView {
  kind(path: string): "dir" | "file" | null;
  /** The host's network links and IPv4 addresses (read-only), or null when they cannot be read. */
  net?(): HostNetView | null;
  /** True when NAME is a program the container would find (for `ps -ef` typed as a statement). */
  isCommand?(name: string): boolean;
}

/** What `net veth`/`net bridge` must not collide with on the host. */
export interface HostNetView {
  links: readonly { name: string; kind: string | null }[];
  addrs: readonly { address: string; prefix: number; link: string }[];
}

export interface CheckContext {
  /** Namespaces requested so far by `ns` statements, in this script or session. */
  namespaces: ReadonlySet<NsName>;
  /** Number of CPUs on this machine (for limit cpu / cpuset bounds). */
  cpus: number;
  /** The host's filesystem, when the caller lets the checker look (ctr check, runs, the REPL). */
  host?: HostView;
  error(span: Span, message: string, help?: string): void;
  warning?(span: Span, message: string, help?: string): void;
}

export interface Diagnostic {
  severity: "error" | "warning";
  span: Span;
  message: string;
  help?: string;
  /** Extra locations, e.g. the function call that expanded into the failing statement. */
  notes?: { span: Span; message: string }[];
}
