// Statements of ctr itself, with no kernel effect: `echo`, `expect`, `sleep`.
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import { type Command } from "../../../lang/spec.ts";
import { parseDuration } from "../../../lang/values.ts";
import { bound, type PlannedOp } from "../../plan.ts";
import { KEEP_HALF } from "../process/capture.ts";
import { argv, defineStatement } from "../../statement.ts";
import type { Op } from "../../ops.ts";

function expectPlan(cmd: Command): PlannedOp[] {
  const b = bound(cmd);
  const subject = b.form as "exit" | "output";
  const [test, value] = subject === "exit" ? ["==", b.args.CODE!.text] : [b.args.TEST!.text, b.args.TEXT!.text];
  return [{ kind: "expect", subject, test: test as "==", value, side: "front" }];
}

/** `ctr explain`'s comments on the front ops, which make no call through the seam (runtime/explain.ts). */
export function frontNotes(op: Op): { before?: string[] } {
  if (op.kind === "echo") return { before: [`ctr prints ${JSON.stringify(op.text)}`] };
  if (op.kind === "sleep") return { before: [`ctr sleeps ${op.ms} ms`] };
  if (op.kind === "expect") return { before: [`check the last run: ${op.subject} ${op.test} ${JSON.stringify(op.value)}`] };
  return {};
}

export const echoStatement = defineStatement({
  name: "echo",
  summary: "Print a message (from ctr itself, not from the container).",
  syntax: "echo TEXT...",
  example: 'echo "the container is ready"',
  plan: (cmd) => [{ kind: "echo", text: argv(cmd).join(" "), side: "front" }],
  side: "front",
  args: [{ name: "TEXT", kind: "text", rest: true, optional: true }],
});

export const expectStatement = defineStatement({
  name: "expect",
  summary: "Check the result of the last `run`; the script fails if the check does not hold.",
  syntax: 'expect exit CODE | expect output ==|!=|contains|matches "TEXT"',
  example: "expect exit 0",
  plan: expectPlan,
  side: "front",
  after: ["run"],
  forms: {
    exit: {
      summary: "The exit status of the last `run` is CODE (128+N when killed by signal N).",
      syntax: "expect exit CODE",
      example: "expect exit 0",
      args: [{ name: "CODE", kind: "int" }],
      check: (cmd, ctx) => {
        const a = bound(cmd).args.CODE;
        if (a && Number(a.text) > 255) ctx.error(a.span, `exit status ${a.text} is out of range`, "an exit status goes from 0 to 255");
      },
    },
    output: {
      summary:
        'The output of the last `run` (trailing newline removed) is (==), is not (!=), contains, or matches (a JavaScript regular expression) "TEXT". ' +
        `The output streams through as it comes and is not kept whole: ==, != and contains are decided exactly as it streams, at any size; ` +
        `matches sees all of an output up to ${(2 * KEEP_HALF) >> 20} MiB, else its first and its last ${KEEP_HALF >> 10} KiB, each on its own (a match across the middle is not found).`,
      syntax: 'expect output ==|!=|contains|matches "TEXT"',
      example: 'expect output contains "hello"',
      args: [
        { name: "TEST", kind: { oneOf: ["==", "!=", "contains", "matches"] } },
        { name: "TEXT", kind: "text" },
      ],
      check: (cmd, ctx) => {
        const { TEST: test, TEXT: text } = bound(cmd).args;
        if (test?.text === "matches" && text) {
          try {
            new RegExp(text.text);
          } catch (e) {
            ctx.error(text.span, `invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, "")}`);
          }
        }
      },
    },
  },
});

export const sleepStatement = defineStatement({
  name: "sleep",
  summary: "Wait for a while (500ms, 2s, 1m).",
  syntax: "sleep DURATION",
  example: "sleep 500ms",
  plan: (cmd) => {
    const ms = parseDuration(bound(cmd).args.DURATION!.text) ?? 0; // checked: a valid duration
    return [{ kind: "sleep", ms, side: "front" }];
  },
  side: "front",
  args: [{ name: "DURATION", kind: "duration" }],
});
