// The device policy without root: the rules folded into allowed entries, the v1 writes, the
// v2 program's bytes, and its load and attach calls through the recorder (native/recording.ts).
// The program itself is run on the kernel by test/integration/devices.test.ts.

import { describe, expect, test } from "bun:test";
import { RecordingSys } from "../../native/recording.ts";
import { deviceProgram, encodeProgram } from "../../runtime/features/devices/bpf.ts";
import { attachDeviceProgram } from "../../runtime/features/devices/cgroup.ts";
import { DEFAULT_DEVICES, devicesV1Writes, effectivePolicy, ruleText } from "../../runtime/features/devices/policy.ts";

const c = (major: number | null, minor: number | null, access = "rwm") => ({ type: "c" as const, major, minor, access });

describe("the policy", () => {
  test("allow adds, deny takes back what it covers; a narrower deny under a read/write range is refused", () => {
    const { allowed } = effectivePolicy([
      { allow: true, rule: c(10, 200) },
      { allow: false, rule: c(5, 1) },
      { allow: false, rule: c(1, 3, "w") },
    ]);
    const texts = allowed.map(ruleText);
    expect(texts).toContain("c 10:200 rwm");
    expect(texts).not.toContain("c 5:1 rwm");
    expect(texts).toContain("c 1:3 rm");
    expect(effectivePolicy([{ allow: true, rule: c(null, null, "rw") }, { allow: false, rule: c(1, 3, "r") }]).problem).toContain("narrower");
    // mknod-only wide entries stay: `deny c 1:3` is not a problem under the default's `c *:* m`
    expect(effectivePolicy([{ allow: false, rule: c(1, 3) }]).problem).toBeNull();
    expect(effectivePolicy([{ allow: false, rule: { type: "a", major: null, minor: null, access: "rwm" } }]).allowed).toEqual([]);
  });

  test("v1: deny a first, then one devices.allow line per entry", () => {
    const w = devicesV1Writes(DEFAULT_DEVICES);
    expect(w[0]).toMatchObject({ file: "devices.deny", value: "a" });
    expect(w.slice(1).map((x) => `${x.file} ${x.value}`)).toEqual(DEFAULT_DEVICES.map((r) => `devices.allow ${ruleText(r)}`));
    expect(w[1]!.value).toBe("c *:* m");
  });
});

describe("the v2 program", () => {
  test("prologue, one block per entry with jumps to the next block, deny at the end", () => {
    const prog = deviceProgram([c(1, 3), { type: "b", major: null, minor: null, access: "m" }]);
    const hex = [...encodeProgram(prog)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const insn = (i: number) => hex.slice(i * 16, i * 16 + 16);
    expect(prog.length).toBe(6 + 5 + 6 + 2);
    expect(insn(0)).toBe("6112000000000000"); // r2 = *(u32 *)(r1 + 0)
    expect(insn(1)).toBe("54020000ffff0000"); // w2 &= 0xffff
    expect(insn(3)).toBe("7403000010000000"); // w3 >>= 16
    expect(insn(4)).toBe("6114040000000000"); // r4 = major
    expect(insn(5)).toBe("6115080000000000"); // r5 = minor
    // c 1:3 rwm: type, major, minor, allow
    expect(insn(6)).toBe("5502040002000000"); // if r2 != 2 goto +4
    expect(insn(7)).toBe("5504030001000000"); // if r4 != 1 goto +3
    expect(insn(8)).toBe("5505020003000000"); // if r5 != 3 goto +2
    expect(insn(9)).toBe("b400000001000000"); // w0 = 1
    expect(insn(10)).toBe("9500000000000000"); // exit
    // b *:* m: type, then access (w1 = w3; w1 &= 1; if r1 != r3 goto next)
    expect(insn(11)).toBe("5502050001000000");
    expect(insn(12)).toBe("bc31000000000000");
    expect(insn(13)).toBe("5401000001000000");
    expect(insn(14)).toBe("5d31020000000000");
    expect(insn(17)).toBe("b400000000000000"); // w0 = 0: denied
    expect(insn(18)).toBe("9500000000000000");
  });

  test("loaded and attached to the container's cgroup with BPF_F_ALLOW_MULTI, both fds closed", () => {
    const sys = new RecordingSys({ "/sys/fs/cgroup/ctr-x": "dir" });
    attachDeviceProgram(sys, "/sys/fs/cgroup/ctr-x", DEFAULT_DEVICES);
    expect(sys.effects()).toEqual([
      `bpf(BPF_PROG_LOAD, {prog_type=BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt=${deviceProgram(DEFAULT_DEVICES).length}, license="MIT"})`,
      'openat2(AT_FDCWD, "/sys/fs/cgroup/ctr-x", O_RDONLY|O_DIRECTORY|O_CLOEXEC, 0)',
      "bpf(BPF_PROG_ATTACH, {target_fd=101, attach_bpf_fd=100, attach_type=BPF_CGROUP_DEVICE, attach_flags=BPF_F_ALLOW_MULTI})",
      "close(101)",
      "close(100)",
    ]);
    expect(sys.programs[0]).toEqual(encodeProgram(deviceProgram(DEFAULT_DEVICES)));
  });
});
