// The host's writes of a user namespace's id maps (runtime/features/userns/userns.ts writeIdMaps), to a
// RecordingSys instead of /proc/PID/*: which files get which text, in which order. Which
// branch runs follows the caller's euid (root writes any map itself; another user only a
// map of its own id, setgroups denied first): both are tested, the caller's ids given.

import { describe, expect, test } from "bun:test";
import { RecordingSys } from "../../native/recording.ts";
import { SysError } from "../../native/index.ts";
import { writeIdMaps, type IdMaps } from "../../runtime/features/userns/userns.ts";

const span = { file: "t.ctr", line: 2, column: 1, offset: 7, length: 22 };
const ROOT = { euid: 0, egid: 0 };
const USER = { euid: 1000, egid: 1000 };

describe("writeIdMaps", () => {
  test("as root: uid_map then gid_map, each one write of every line", () => {
    const sys = new RecordingSys();
    const maps: IdMaps = { uid: [{ inside: 0, outside: 100000, count: 65536 }], gid: [{ inside: 0, outside: 100000, count: 65536 }, { inside: 65536, outside: 0, count: 1 }] };
    expect(writeIdMaps(4242, maps, undefined, sys, ROOT)).toEqual(["/proc/4242/uid_map", "/proc/4242/gid_map"]);
    expect(sys.effects()).toEqual(['write("/proc/4242/uid_map", "0 100000 65536\\n")', 'write("/proc/4242/gid_map", "0 100000 65536\\n65536 0 1\\n")']);
  });

  test("as root: a refused write names the file and the text, with status 125 and the map's span", () => {
    const sys = new RecordingSys().fail("write", "EPERM", (a) => String(a[0]).endsWith("gid_map"));
    const maps: IdMaps = { uid: [{ inside: 0, outside: 0, count: 1 }], gid: [{ inside: 0, outside: 0, count: 1 }] };
    let err: unknown;
    try {
      writeIdMaps(7, maps, (which) => (which === "gid" ? span : undefined), sys, ROOT);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).message).toBe('write /proc/7/gid_map = "0 0 1": EPERM');
    expect((err as SysError).status).toBe(125);
    expect((err as SysError).span).toEqual(span);
    expect(sys.effectNames()).toEqual(["write", "write"]);
  });

  test("as another user, a map of one's own ids: uid_map, then setgroups denied, then gid_map", () => {
    const sys = new RecordingSys();
    const { euid: uid, egid: gid } = USER;
    writeIdMaps(4242, { uid: [{ inside: 0, outside: uid, count: 1 }], gid: [{ inside: 0, outside: gid, count: 1 }] }, undefined, sys, USER);
    expect(sys.effects()).toEqual([`write("/proc/4242/uid_map", "0 ${uid} 1\\n")`, 'write("/proc/4242/setgroups", "deny")', `write("/proc/4242/gid_map", "0 ${gid} 1\\n")`]);
  });
});
