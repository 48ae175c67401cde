// The language reference in Markdown, generated from the statement registry
// so that it cannot drift from what the checker accepts.
//
//   bun run runtime/reference.ts           print it
//   bun run runtime/reference.ts --write   refresh README.md between the markers
//   bun run runtime/reference.ts --check   exit 1 when README.md is stale

import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NAMESPACES, type ArgSpec, type FormSpec, type StatementSpec, type ValueKind } from "../lang/spec.ts";
import { statements, type StatementDef } from "./registry.ts";
import { SIDE_ROLE } from "./ops.ts";
import { MAX_SCRIPT_BYTES } from "../lang/read.ts";
import { MAX_CALL_DEPTH, MAX_SOURCES, MAX_STEPS, MAX_TEXT, MAX_VALUE } from "../lang/expand.ts";
import { MAX_NESTING } from "../lang/build.ts";
import { MAX_SHOWN } from "../lang/diagnostics.ts";
import { MAX_CPUS, MAX_NODES, formatSize } from "../lang/values.ts";


export const START_MARKER = "<!-- reference:start -->";
export const END_MARKER = "<!-- reference:end -->";

const KINDS: [string, string][] = [
  ["size", "bytes with an optional binary unit: `4096`, `4k`, `64m`, `1.5g`, `1t`"],
  ["percent", "a number followed by `%`: `20%`, `150%`"],
  ["duration", "`500ms`, `2s`, `1m`, `1h`; a plain number is seconds"],
  ["int", "a non-negative whole number"],
  ["cpus", "CPU numbers and ranges: `0`, `0-1`, `0-1,3`"],
  ["cidr", "an IPv4 address with a prefix length: `10.0.0.1/24`"],
  ["mode", "an octal file mode: `755`, `0755`, `1777`"],
  ["namespaces", NAMESPACES.map((n) => "`" + n + "`").join(", ") + ", as a comma or space separated list"],
];

const SYNTAX = `### Syntax

A script is a list of statements, one per line (or separated by \`;\`). A
line ending in \`\\\` continues on the next one. \`#\` starts a comment at the
start of a word, so a \`#!/usr/bin/env ctr\` first line is a comment while
\`a#b\` is a word.

Arguments come in these forms:

| form | examples | notes |
|---|---|---|
| bare word | \`/bin/sh\`, \`-c\`, \`uts\`, \`10.0.0.1/24\`, \`1000:1000\` | no spaces, quotes, \`;\`, \`,\`, braces or parentheses |
| string | \`"hello \${name}\\n"\` | escapes \`\\n \\t \\r \\" \\\\ \\$\`; \`\${...}\` is interpolated |
| raw string | \`'\${not} interpolated'\` | taken as written |
| number | \`100\`, \`20%\`, \`64m\`, \`1.5g\`, \`500ms\`, \`2s\` | a number with an optional unit |
| option | \`size=64m\`, \`lower=/a:/b\`, \`name="x y"\` | no spaces around \`=\` |
| list | \`uts, pid,mnt\` | items separated by commas (spaces allowed after them) |

The scripting layer is expanded before anything runs:

| construct | meaning |
|---|---|
| \`let name = VALUE\` | define a variable (a list stays a list) |
| \`\${name}\`, \`\${name:-default}\` | its value; in a bare word (\`/tmp/\${name}\`) or a string |
| \`\${1}\` … \`\${9}\`, \`\${#}\`, \`\${args}\` | script arguments, their count, all of them (alone as a word, \`\${args}\` becomes several arguments; in a string, they are joined with spaces) |
| \`\${env.HOME}\` | an environment variable of the ctr process |
| \`fn name(a, b) { ... }\` | define a function (at the top level of a file) |
| \`name x y\` or \`name(x, y)\` | call it; functions may call functions defined before them |
| \`if VALUE { } else if A == B { } else { }\` | conditions: \`VALUE\` (true unless empty, \`0\` or \`false\`), \`A == B\`, \`A != B\`, \`! COND\` |
| \`for x in a b c { }\`, \`for x in \${list} { }\` | repeat for each item |
| \`import "std/NAME"\`, \`import "./file.ctr"\` | run a library file once; its \`fn\` and \`let\` become visible |

Using an undefined variable, a missing script argument (without a \`:-\`
default) or an unset environment variable is an error, as is anything the
checker finds below: the whole script is checked before anything touches the
kernel, and every problem is reported, not just the first (the first
${MAX_SHOWN} are printed, then how many more there are).

Whatever the input, checking it takes bounded time and memory: a script, and
each file it imports, must be a regular file of at most ${formatSize(MAX_SCRIPT_BYTES)}
(${formatSize(MAX_SOURCES)} with all its imports); after interpolation a value (a
string, a word, a list, an option) has at most ${formatSize(MAX_VALUE)}, and the whole
expansion at most ${formatSize(MAX_TEXT)} of text and ${MAX_STEPS.toLocaleString("en-US")} statements; calls nest
at most ${MAX_CALL_DEPTH} deep and blocks ${MAX_NESTING} deep. Going over a bound is an error
on the line that did. CPU lists name CPUs up to ${MAX_CPUS - 1} and memory nodes up
to ${MAX_NODES - 1}, the most a kernel can be built for.`;

const RULES = `### Rules the checker enforces

- Statements that act on a container come after an \`ns\` statement (\`ns none\`
  gives a plain child process with no new namespaces). There is one \`ns\` per script.
- Statements that would otherwise change the host are refused unless their
  namespace is requested: \`hostname\`/\`domainname\` need \`uts\`; \`mount\`,
  \`rootfs\`, \`chroot\`, \`volume\` and \`readonly\` need \`mnt\`; \`map\` needs
  \`user\`; \`net\` needs \`net\`.
- \`exec\` hands the container to its command: nothing acting on the container
  may follow it. \`expect\` checks the last \`run\`, so it must come after one.
- \`rootfs\` and \`chroot\` are exclusive, and given at most once.`;

function code(s: string): string {
  return "`" + s.replace(/\|/g, "\\|") + "`";
}

function kindText(k: ValueKind): string {
  if (typeof k === "object") return k.oneOf.map(code).join(", ");
  return k === "nslist" ? "namespaces" : k;
}

function argsText(args: readonly ArgSpec[] | undefined): string {
  if (!args?.length) return "";
  return args
    .map((a) => {
      let t = `${code(a.name)}: ${kindText(a.kind)}`;
      if (a.rest) t += ", one or more";
      if (a.optional) t += a.default !== undefined ? `, default ${code(a.default)}` : ", optional";
      return t;
    })
    .join("; ");
}

function optionsText(opts: Record<string, ValueKind> | undefined, required: readonly string[] = []): string {
  if (!opts) return "";
  return Object.entries(opts)
    .map(([k, v]) => (k === "*" ? `any ${code("NAME=VALUE")}` : `${code(k + "=")} ${kindText(v)}${required.includes(k) ? " (required)" : ""}`))
    .join(", ");
}

function flagsText(flags: readonly string[] | undefined): string {
  return flags?.length ? flags.map(code).join(", ") : "";
}

function needsText(s: StatementSpec, f?: FormSpec): string {
  const req = [...new Set([...(s.requires ?? []), ...(f?.requires ?? [])])];
  if (req.length) return `${code("ns " + req.join(", "))}`;
  if (s.container) return "an `ns` statement";
  return "";
}

function statementSection(s: StatementDef): string {
  const out: string[] = [];
  out.push(`#### \`${s.name}\``, "", s.summary, "", "```", s.syntax, "```", "");
  const facts: string[] = [];
  if (s.unsupported) facts.push(`**not supported yet**: ${s.unsupported}; ctr refuses a script that uses it`);
  facts.push(`runs in: ${SIDE_ROLE[s.side]}`);
  const needs = needsText(s);
  if (needs) facts.push(`needs: ${needs}`);
  if (s.final) facts.push("ends the script's work on the container");
  if (s.after?.length) facts.push(`comes after: ${s.after.map(code).join(", ")}`);
  out.push(facts.map((f) => `- ${f}`).join("\n"));
  const a = argsText(s.args);
  if (a) out.push(`- arguments: ${a}`);
  const o = optionsText(s.options, s.requiredOptions);
  if (o) out.push(`- options: ${o}`);
  const fl = flagsText(s.flags);
  if (fl) out.push(`- flags: ${fl}`);
  out.push(`- example: ${code(s.example)}`);
  if (s.forms) {
    out.push("", "| form | syntax | what it does | arguments, options, flags |", "|---|---|---|---|");
    for (const [name, f] of Object.entries(s.forms)) {
      const details = [argsText(f.args), optionsText(f.options, f.requiredOptions), f.flags?.length ? "flags " + flagsText(f.flags) : ""]
        .filter(Boolean)
        .join("; ");
      const side = f.side && f.side !== s.side ? ` Runs in: ${SIDE_ROLE[f.side]}.` : "";
      const notYet = s.unsupportedForms?.[name] ? ` **Not supported yet**: ${s.unsupportedForms[name]}.` : "";
      out.push(`| ${code(name)} | ${code(f.syntax)} | ${f.summary.replace(/\|/g, "\\|")}${side}${notYet} | ${details} |`);
    }
  }
  return out.join("\n");
}

/** The reference section (what goes between the README markers). */
export function referenceMarkdown(specs: readonly StatementDef[] = statements): string {
  const parts: string[] = [];
  parts.push("## Language reference", "");
  parts.push("<!-- Generated from runtime/registry.ts by `bun run runtime/reference.ts --write`; do not edit by hand. -->", "");
  parts.push(SYNTAX, "");
  parts.push("### Statements", "");
  parts.push("| statement | what it does | needs |", "|---|---|---|");
  for (const s of specs) parts.push(`| [\`${s.name}\`](#${s.name}) | ${s.summary.replace(/\|/g, "\\|")}${s.unsupported ? " *(not supported yet)*" : ""} | ${needsText(s)} |`);
  parts.push("");
  parts.push("Value kinds used below:", "");
  parts.push(...KINDS.map(([k, d]) => `- **${k}**: ${d}`), "");
  for (const s of specs) parts.push(statementSection(s), "");
  parts.push(RULES);
  return parts.join("\n");
}

/** Replaces the text between the markers in `readme` (appends the section when absent). */
export function spliceReference(readme: string, section: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  const block = `${START_MARKER}\n${section}\n${END_MARKER}`;
  if (start === -1 || end === -1 || end < start) return readme.replace(/\s*$/, "\n\n") + block + "\n";
  return readme.slice(0, start) + block + readme.slice(end + END_MARKER.length);
}

/** The section currently in `readme`, or undefined. */
export function extractReference(readme: string): string | undefined {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start === -1 || end === -1 || end < start) return undefined;
  return readme.slice(start + START_MARKER.length, end).replace(/^\n/, "").replace(/\n$/, "");
}

export const README_PATH = fileURLToPath(new URL("../README.md", import.meta.url));

const DEFAULT_README = `# ctr

A small scripting language for building Linux containers by hand, one kernel
primitive per statement.

`;

if (import.meta.main) {
  const section = referenceMarkdown();
  const arg = process.argv[2];
  if (arg === "--write") {
    const readme = existsSync(README_PATH) ? readFileSync(README_PATH, "utf8") : DEFAULT_README;
    const next = spliceReference(readme, section);
    if (next !== readme) writeFileSync(README_PATH, next);
    console.log(next === readme ? "README.md is up to date" : "README.md updated");
  } else if (arg === "--check") {
    const readme = existsSync(README_PATH) ? readFileSync(README_PATH, "utf8") : "";
    if (extractReference(readme) !== section) {
      console.error("README.md's language reference is stale: run `bun run runtime/reference.ts --write`");
      process.exit(1);
    }
  } else {
    process.stdout.write(section + "\n");
  }
}
