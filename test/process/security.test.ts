// The security steps of the ProcessSpec (runtime/features/security/), through the
// recording double: which calls, in which order, without root.

import { describe, expect, test } from "bun:test";
import { RecordingSys } from "../../native/recording.ts";
import { capChange } from "../../runtime/features/security/caps.ts";
import { applySeccomp, applyUserAndCaps } from "../../runtime/features/security/security.ts";
import { defaultProfile, parseProfile, ProfileError, rulesFor } from "../../runtime/features/security/profile.ts";
import { resolveUser } from "../../runtime/features/security/user.ts";

describe("cap and user steps", () => {
  test("the bounding set is cut before the ids change, capset and ambient after", () => {
    const sys = new RecordingSys();
    const caps = capChange(capChange(undefined, "drop", ["all"]), "add", ["CAP_NET_BIND_SERVICE"]);
    applyUserAndCaps(sys, { caps, user: { uid: 1000, gid: 1000, groups: [], groupsAsked: false } });
    const names = sys.effectNames();
    const firstSetuid = names.indexOf("setresuid");
    const drops = sys.effects().filter((c) => c.includes("PR_CAPBSET_DROP"));
    expect(drops.length).toBe(40); // every capability but net_bind_service
    expect(sys.effects().findIndex((c) => c.includes("PR_CAPBSET_DROP"))).toBeLessThan(firstSetuid);
    expect(names.indexOf("capset")).toBeGreaterThan(firstSetuid);
    expect(sys.effects().some((c) => c.includes("PR_CAP_AMBIENT_RAISE") && c.includes("CAP_NET_BIND_SERVICE"))).toBe(true);
    expect(names.indexOf("setgroups")).toBeLessThan(names.indexOf("setresgid"));
    expect(names.indexOf("setresgid")).toBeLessThan(firstSetuid);
  });

  test("root raises no ambient capability; no `cap` means no capability call", () => {
    const sys = new RecordingSys();
    applyUserAndCaps(sys, { caps: capChange(undefined, "drop", ["CAP_SYS_ADMIN"]) });
    expect(sys.effects().filter((c) => c.includes("PR_CAPBSET_DROP"))).toEqual([expect.stringContaining("CAP_SYS_ADMIN")]);
    expect(sys.effects().some((c) => c.includes("PR_CAP_AMBIENT_RAISE"))).toBe(false);
    const plain = new RecordingSys();
    applyUserAndCaps(plain, { user: { uid: 5, gid: 5, groups: [], groupsAsked: false } });
    expect(plain.effectNames()).toEqual(["setgroups", "setresgid", "setresuid"]);
  });

  test("seccomp goes before the ids without no_new_privs, last with it", () => {
    const rules = rulesFor(defaultProfile(), new Set());
    const sec = { seccomp: { rules, source: "default" } };
    const a = new RecordingSys();
    applySeccomp(a, sec, false, "before-ids");
    applySeccomp(a, sec, false, "last");
    expect(a.effectNames()).toEqual(["seccomp_load"]);
    const b = new RecordingSys();
    applySeccomp(b, sec, true, "before-ids");
    expect(b.effectNames()).toEqual([]);
    applySeccomp(b, sec, true, "last");
    expect(b.effectNames()).toEqual(["seccomp_load"]);
  });
});

describe("profiles", () => {
  const knows = (n: string) => ["read", "write", "sethostname", "clone"].includes(n);
  test("a bad profile names the JSON path and the system call", () => {
    const bad = (text: string) => {
      try {
        parseProfile(text, "p.json", knows);
      } catch (e) {
        if (e instanceof ProfileError) return `${e.path}: ${e.message}`;
        throw e;
      }
      return "no error";
    };
    expect(bad(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO"},{"names":["write","sethostnam"],"action":"SCMP_ACT_ERRNO"}]}`)).toBe('$.syscalls[1].names[1]: unknown system call "sethostnam"');
    expect(bad(`{"defaultAction":"SCMP_ACT_NOPE"}`)).toBe('$.defaultAction: unknown action "SCMP_ACT_NOPE"');
    expect(bad(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":7,"value":1,"op":"SCMP_CMP_EQ"}]}]}`)).toBe("$.syscalls[0].args[0].index: expected an argument index from 0 to 5");
    expect(bad(`{"defaultAction":`)).toMatch(/^\$: not valid JSON/);
  });

  test("includes and excludes by capability decide the rules; one argument twice becomes one rule each", () => {
    const p = defaultProfile();
    const none = rulesFor(p, new Set());
    const admin = rulesFor(p, new Set(["CAP_SYS_ADMIN"]));
    const has = (r: typeof none, name: string) => r.rules.some((x) => x.names.includes(name) && x.args.length === 0);
    expect(has(none, "mount")).toBe(false);
    expect(has(admin, "mount")).toBe(true);
    expect(none.rules.some((x) => x.names.includes("clone") && x.args[0]?.op === "SCMP_CMP_MASKED_EQ")).toBe(true);
    expect(admin.rules.some((x) => x.names.includes("clone") && x.args.length > 0)).toBe(false);
    const two = parseProfile(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]}]}`, "p", knows);
    expect(rulesFor(two, new Set()).rules.map((r) => r.args.map((a) => a.value))).toEqual([[1], [2]]);
  });
});

describe("user", () => {
  const files: Record<string, string> = {
    "/etc/passwd": "root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n",
    "/etc/group": "root:x:0:\nbob:x:1000:\naudio:x:29:bob\nwheel:x:10:\n",
  };
  const read = (p: string) => files[p] ?? null;
  test("names from the container's files, with the user's groups and groups=", () => {
    expect(resolveUser({ user: "bob" }, read)).toEqual({ uid: 1000, gid: 1000, groups: [29] });
    expect(resolveUser({ user: "1000", group: "wheel", groups: ["7"] }, read)).toEqual({ uid: 1000, gid: 10, groups: [29, 7] });
    expect(resolveUser({ user: "4242" }, read)).toEqual({ uid: 4242, gid: 0, groups: [] });
  });
  test("a missing name is a clear error", () => {
    expect(() => resolveUser({ user: "alice" }, read)).toThrow('user "alice" is not in the container\'s /etc/passwd');
    expect(() => resolveUser({ user: "bob", group: "staff" }, read)).toThrow('group "staff" is not in the container\'s /etc/group');
    expect(() => resolveUser({ user: "bob" }, () => null)).toThrow('user "bob": the container has no /etc/passwd');
  });
});
