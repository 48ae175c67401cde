/**
 * A small ELF reader and a dynamic-loader emulation, for building root filesystems.
 *
 * Why a root filesystem needs more than the binaries
 * --------------------------------------------------
 * Almost every program on a Linux host is *dynamically linked*: the file `/usr/bin/ls`
 * holds only the code of `ls` itself, and names the shared libraries it needs
 * (`libc.so.6`, `libselinux.so.1`, ...). When the kernel `execve`s such a file it does not
 * start `ls` directly: it reads the program header `PT_INTERP`, which names the *dynamic
 * loader* (`/lib64/ld-linux-x86-64.so.2` on x86-64 glibc), maps that loader too and starts
 * it. The loader then reads the executable's *dynamic section* (`PT_DYNAMIC`), finds every
 * `DT_NEEDED` entry, searches each library by name in a list of directories, maps it,
 * repeats for the library's own `DT_NEEDED` entries, and only then jumps to `main`.
 *
 * So after `chroot`/`pivot_root` into a directory holding just `/bin/ls`, `execve` fails
 * with ENOENT (the kernel cannot find the interpreter) or the loader aborts with
 * "error while loading shared libraries". A root filesystem assembled from host binaries
 * must therefore contain, at the paths the loader will use *inside* the container:
 * the loader named by `PT_INTERP`, and the transitive closure of `DT_NEEDED` libraries.
 * A *static* binary (busybox-static, ldconfig) has neither and runs on its own.
 *
 * How DT_NEEDED is found (what this file does instead of `ldd`)
 * -------------------------------------------------------------
 *  1. ELF header: class (32/64 bit), byte order, machine, and where the program headers are.
 *  2. Program headers: `PT_INTERP` points at a NUL-terminated path in the file;
 *     `PT_DYNAMIC` at an array of (tag, value) pairs; `PT_LOAD` segments say which file
 *     range is mapped at which virtual address.
 *  3. Dynamic section: `DT_NEEDED`, `DT_SONAME`, `DT_RPATH`, `DT_RUNPATH` hold *offsets into
 *     the dynamic string table*; `DT_STRTAB` gives that table's *virtual address* (the
 *     loader reads memory, not the file), so we translate it back to a file offset through
 *     the `PT_LOAD` segment that contains it. (Section headers are only a fallback: they
 *     are optional at run time and `strip` may remove them.)
 *  4. Library search, in the glibc loader's order: `DT_RPATH` of the object and of the
 *     objects that loaded it (only when the object has no `DT_RUNPATH`), `DT_RUNPATH` of the
 *     object, the directories of `/etc/ld.so.conf` (what `/etc/ld.so.cache` indexes), and
 *     the built-in system directories (multiarch first). `$ORIGIN` expands to the directory
 *     of the object. Candidates of the wrong class or machine are skipped, as ld.so does.
 *
 * `LD_LIBRARY_PATH` and `LD_PRELOAD` are ignored on purpose: they describe the caller's
 * environment, not what the container will have. Libraries opened with `dlopen` at run
 * time (NSS modules, gconv, plugins) cannot be seen in the dynamic section; callers add
 * them explicitly when they matter.
 *
 * This module only reads files (node:fs); it never runs the binaries it inspects.
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { posix } from "node:path";

// ---------------------------------------------------------------------------------------
// Constants (from <elf.h>)

const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;

export const ET_EXEC = 2;
export const ET_DYN = 3;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PN_XNUM = 0xffff;

const SHT_DYNAMIC = 6;

const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

export const EM_386 = 3;
export const EM_ARM = 40;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_RISCV = 243;

/** A file is not ELF, or is truncated or inconsistent. */
export class ElfError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "ElfError";
  }
}

/** What the ELF header says: enough to decide whether a library fits an executable. */
export interface ElfIdent {
  /** 32 or 64 (ELFCLASS). */
  bits: 32 | 64;
  littleEndian: boolean;
  /** ET_EXEC (2), ET_DYN (3, shared objects and PIE executables), ... */
  type: number;
  /** e_machine: EM_X86_64, EM_AARCH64, ... */
  machine: number;
}

/** What the loader needs to know about one ELF file. */
export interface ElfInfo extends ElfIdent {
  path: string;
  /** PT_INTERP: the dynamic loader's path, or null (static binaries, shared libraries). */
  interp: string | null;
  /** DT_NEEDED entries, in order. */
  needed: string[];
  /** DT_SONAME, if any. */
  soname: string | null;
  /** DT_RPATH entries (colon list split), unexpanded ($ORIGIN kept). */
  rpath: string[];
  /** DT_RUNPATH entries, unexpanded. */
  runpath: string[];
  /**
   * True when the file needs nothing at run time: no PT_INTERP and no DT_NEEDED. Covers
   * classic static executables (no PT_DYNAMIC at all) and static-pie ones (a PT_DYNAMIC for
   * self-relocation only, e.g. Debian's ldconfig).
   */
  isStatic: boolean;
}

// ---------------------------------------------------------------------------------------
// Reading

/** Random access to a file through a descriptor, with bounds checks. */
class FileReader {
  readonly size: number;
  constructor(
    readonly path: string,
    readonly fd: number,
  ) {
    this.size = fstatSync(fd).size;
  }
  read(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new ElfError(this.path, `truncated (wanted ${length} bytes at ${offset}, file has ${this.size})`);
    }
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n <= 0) throw new ElfError(this.path, `short read at ${offset + done}`);
      done += n;
    }
    return buf;
  }
}

/** Field access in the file's byte order and class. */
class Fields {
  constructor(
    readonly le: boolean,
    readonly is64: boolean,
  ) {}
  u16(b: Buffer, o: number): number {
    return this.le ? b.readUInt16LE(o) : b.readUInt16BE(o);
  }
  u32(b: Buffer, o: number): number {
    return this.le ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }
  /** An address/offset/size: 8 bytes in ELF64, 4 in ELF32. */
  addr(b: Buffer, o: number): number {
    if (!this.is64) return this.u32(b, o);
    const v = this.le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  /** A signed dynamic tag (d_tag is Elf64_Sxword / Elf32_Sword). */
  tag(b: Buffer, o: number): number {
    if (!this.is64) return this.le ? b.readInt32LE(o) : b.readInt32BE(o);
    const v = this.le ? b.readBigInt64LE(o) : b.readBigInt64BE(o);
    return v > 0x7fffffffn || v < -0x80000000n ? -1 : Number(v);
  }
}

interface Phdr {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

function parseIdent(path: string, h: Buffer): { ident: ElfIdent; f: Fields } {
  if (h.length < 52 || !ELF_MAGIC.every((m, i) => h[i] === m)) throw new ElfError(path, "not an ELF file");
  const cls = h[4];
  const data = h[5];
  if (cls !== ELFCLASS32 && cls !== ELFCLASS64) throw new ElfError(path, `unknown ELF class ${cls}`);
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) throw new ElfError(path, `unknown ELF byte order ${data}`);
  const f = new Fields(data === ELFDATA2LSB, cls === ELFCLASS64);
  if (f.is64 && h.length < 64) throw new ElfError(path, "truncated ELF header");
  return {
    f,
    ident: { bits: f.is64 ? 64 : 32, littleEndian: f.le, type: f.u16(h, 16), machine: f.u16(h, 18) },
  };
}

/** Read only the ELF identification (class, byte order, type, machine). Throws ElfError if not ELF. */
export function readElfIdent(path: string): ElfIdent {
  const fd = openSync(path, "r");
  try {
    const r = new FileReader(path, fd);
    return parseIdent(path, r.read(0, Math.min(64, r.size))).ident;
  } finally {
    closeSync(fd);
  }
}

/** True when `path` is a readable ELF file (follows symlinks). Never throws. */
export function isElf(path: string): boolean {
  try {
    readElfIdent(path);
    return true;
  } catch {
    return false;
  }
}

/** Parse the program headers and the dynamic section of an ELF file (follows symlinks). */
export function readElf(path: string): ElfInfo {
  const fd = openSync(path, "r");
  try {
    return parse(new FileReader(path, fd));
  } finally {
    closeSync(fd);
  }
}

function parse(r: FileReader): ElfInfo {
  const h = r.read(0, Math.min(64, r.size));
  const { ident, f } = parseIdent(r.path, h);
  const phoff = f.addr(h, f.is64 ? 32 : 28);
  const shoff = f.addr(h, f.is64 ? 40 : 32);
  const phentsize = f.u16(h, f.is64 ? 54 : 42);
  let phnum = f.u16(h, f.is64 ? 56 : 44);
  const shentsize = f.u16(h, f.is64 ? 58 : 46);
  const shnum = f.u16(h, f.is64 ? 60 : 48);

  const readShdr = (i: number) => {
    const s = r.read(shoff + i * shentsize, shentsize);
    return f.is64
      ? { type: f.u32(s, 4), offset: f.addr(s, 24), size: f.addr(s, 32), link: f.u32(s, 40), info: f.u32(s, 44) }
      : { type: f.u32(s, 4), offset: f.addr(s, 16), size: f.addr(s, 20), link: f.u32(s, 24), info: f.u32(s, 28) };
  };

  // More than 0xfffe program headers: the real count is in section header 0's sh_info.
  if (phnum === PN_XNUM && shoff > 0) phnum = readShdr(0).info;
  if (phnum > 0 && phentsize < (f.is64 ? 56 : 32)) throw new ElfError(r.path, `bad program header size ${phentsize}`);

  const phdrs: Phdr[] = [];
  if (phnum > 0) {
    const table = r.read(phoff, phnum * phentsize);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      phdrs.push(
        f.is64
          ? { type: f.u32(table, o), offset: f.addr(table, o + 8), vaddr: f.addr(table, o + 16), filesz: f.addr(table, o + 32) }
          : { type: f.u32(table, o), offset: f.addr(table, o + 4), vaddr: f.addr(table, o + 8), filesz: f.addr(table, o + 16) },
      );
    }
  }

  const info: ElfInfo = {
    ...ident,
    path: r.path,
    interp: null,
    needed: [],
    soname: null,
    rpath: [],
    runpath: [],
    isStatic: true,
  };

  const interpHdr = phdrs.find((p) => p.type === PT_INTERP);
  if (interpHdr) info.interp = cString(r.read(interpHdr.offset, interpHdr.filesz), 0);

  const dynHdr = phdrs.find((p) => p.type === PT_DYNAMIC);
  info.isStatic = !interpHdr;
  if (!dynHdr) return info;

  // The dynamic section: (d_tag, d_val) pairs up to DT_NULL.
  const entSize = f.is64 ? 16 : 8;
  const dyn = r.read(dynHdr.offset, Math.min(dynHdr.filesz, r.size - dynHdr.offset));
  const entries: Array<[number, number]> = [];
  for (let o = 0; o + entSize <= dyn.length; o += entSize) {
    const tag = f.tag(dyn, o);
    if (tag === DT_NULL) break;
    entries.push([tag, f.addr(dyn, o + (f.is64 ? 8 : 4))]);
  }

  // Locate the string table: DT_STRTAB is a virtual address; map it through PT_LOAD.
  const strtabAddr = entries.find(([t]) => t === DT_STRTAB)?.[1];
  const strsz = entries.find(([t]) => t === DT_STRSZ)?.[1];
  let strtab: Buffer | null = null;
  if (strtabAddr !== undefined) {
    const seg = phdrs.find((p) => p.type === PT_LOAD && strtabAddr >= p.vaddr && strtabAddr < p.vaddr + p.filesz);
    if (seg) {
      const off = strtabAddr - seg.vaddr + seg.offset;
      const max = seg.offset + seg.filesz - off;
      strtab = r.read(off, Math.min(strsz ?? max, max, r.size - off));
    }
  }
  // Fallback: the SHT_DYNAMIC section's sh_link names the string table section.
  if (!strtab && shoff > 0 && shnum > 0 && shentsize > 0) {
    for (let i = 0; i < shnum && !strtab; i++) {
      const s = readShdr(i);
      if (s.type === SHT_DYNAMIC && s.link < shnum) {
        const st = readShdr(s.link);
        strtab = r.read(st.offset, Math.min(st.size, r.size - st.offset));
      }
    }
  }
  if (!strtab) {
    if (entries.some(([t]) => t === DT_NEEDED)) throw new ElfError(r.path, "dynamic string table not found");
    return info;
  }
  const str = (off: number) => {
    if (off >= strtab!.length) throw new ElfError(r.path, `string offset ${off} outside the dynamic string table`);
    return cString(strtab!, off);
  };
  const splitPath = (s: string) => s.split(":").filter((e) => e !== "");

  for (const [tag, val] of entries) {
    if (tag === DT_NEEDED) info.needed.push(str(val));
    else if (tag === DT_SONAME) info.soname = str(val);
    else if (tag === DT_RPATH) info.rpath.push(...splitPath(str(val)));
    else if (tag === DT_RUNPATH) info.runpath.push(...splitPath(str(val)));
  }
  info.isStatic = info.interp === null && info.needed.length === 0;
  return info;
}

function cString(b: Buffer, off: number): string {
  let end = b.indexOf(0, off);
  if (end < 0) end = b.length;
  return b.toString("utf8", off, end);
}

// ---------------------------------------------------------------------------------------
// Library search, the way ld.so does it

/** The Debian-style multiarch triplet for a machine, or null when unknown. */
export function multiarchTriplet(machine: number, bits: 32 | 64): string | null {
  switch (machine) {
    case EM_X86_64:
      return bits === 64 ? "x86_64-linux-gnu" : "x86_64-linux-gnux32";
    case EM_AARCH64:
      return "aarch64-linux-gnu";
    case EM_386:
      return "i386-linux-gnu";
    case EM_ARM:
      return "arm-linux-gnueabihf";
    case EM_RISCV:
      return bits === 64 ? "riscv64-linux-gnu" : null;
    default:
      return null;
  }
}

/** The $PLATFORM value of ld.so for a machine. */
function platformName(machine: number): string {
  switch (machine) {
    case EM_X86_64:
      return "x86_64";
    case EM_AARCH64:
      return "aarch64";
    case EM_386:
      return "i686";
    case EM_ARM:
      return "arm";
    case EM_RISCV:
      return "riscv64";
    default:
      return "unknown";
  }
}

/**
 * The loader's built-in ("trusted") directories for objects of this class and machine,
 * multiarch first: what it searches when nothing else (rpath, runpath, ld.so.cache) did.
 */
export function systemLibraryDirs(machine: number, bits: 32 | 64): string[] {
  const t = multiarchTriplet(machine, bits);
  const dirs: string[] = [];
  if (t) dirs.push(`/lib/${t}`, `/usr/lib/${t}`);
  if (bits === 64) dirs.push("/lib64", "/usr/lib64");
  else dirs.push("/lib32", "/usr/lib32");
  dirs.push("/lib", "/usr/lib");
  return dirs;
}

/**
 * The directories listed in /etc/ld.so.conf and the files it includes (`include` lines
 * with a `*` glob in the last component, as Debian ships). Missing files are ignored.
 */
export function ldSoConfDirs(conf = "/etc/ld.so.conf"): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string, depth: number) => {
    if (depth > 8 || seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return;
    }
    for (let line of text.split("\n")) {
      line = line.replace(/#.*/, "").trim();
      if (!line) continue;
      const inc = /^include\s+(.+)$/.exec(line);
      if (inc) {
        for (const pattern of inc[1]!.split(/\s+/)) {
          const abs = pattern.startsWith("/") ? pattern : posix.join(posix.dirname(file), pattern);
          for (const f of globLast(abs)) visit(f, depth + 1);
        }
        continue;
      }
      if (line.startsWith("hwcap ")) continue; // obsolete syntax
      // "dir=type" (old libc5 syntax) and several dirs per line separated by spaces/commas/colons.
      for (const d of line.split(/[\s,:]+/)) {
        const dir = d.replace(/=.*$/, "");
        if (dir.startsWith("/") && !out.includes(dir)) out.push(dir);
      }
    }
  };
  visit(conf, 0);
  return out;
}

/** Expand a `*`/`?` glob in the last path component only (enough for ld.so.conf.d). */
function globLast(pattern: string): string[] {
  const dir = posix.dirname(pattern);
  const base = posix.basename(pattern);
  if (!/[*?[]/.test(base)) return [pattern];
  const re = new RegExp(
    "^" +
      base
        .replace(/[.+^${}()|\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".") +
      "$",
  );
  try {
    return readdirSync(dir)
      .filter((n) => re.test(n))
      .sort()
      .map((n) => posix.join(dir, n));
  } catch {
    return [];
  }
}

/** Expand $ORIGIN, $LIB and $PLATFORM (also in ${...} form) in one rpath/runpath entry. */
export function expandDynamicTokens(entry: string, origin: string, ident: ElfIdent): string[] {
  const sub = (s: string, name: string, value: string) => s.split(`\${${name}}`).join(value).split(`$${name}`).join(value);
  let e = sub(entry, "ORIGIN", origin);
  e = sub(e, "PLATFORM", platformName(ident.machine));
  if (!e.includes("$LIB") && !e.includes("${LIB}")) return [e];
  // $LIB is "lib64" on most 64-bit distributions and "lib/<triplet>" on Debian: try both.
  const t = multiarchTriplet(ident.machine, ident.bits);
  const libs = [ident.bits === 64 ? "lib64" : "lib", ...(t ? [`lib/${t}`] : []), "lib"];
  return [...new Set(libs.map((l) => sub(e, "LIB", l)))];
}

/** How a library was found: decides where a rootfs must put it. */
export type LibSource = "path" | "rpath" | "runpath" | "ldconfig" | "system";

export interface ResolvedLibrary {
  /** The DT_NEEDED name ("libc.so.6"). */
  name: string;
  /** The host path the loader would open (may be a symlink chain to the real file). */
  path: string;
  /** The directory it was found in. */
  dir: string;
  source: LibSource;
  /** Who needed it first (a path). */
  neededBy: string;
}

export interface DependencyClosure {
  /** The path given (not resolved through symlinks). */
  path: string;
  elf: ElfInfo;
  /** PT_INTERP of the executable, or null for static binaries. */
  interp: string | null;
  /** All libraries, transitively, in breadth-first order, each once. */
  libraries: ResolvedLibrary[];
  /** DT_NEEDED names that could not be found, with who needed them. */
  missing: Array<{ name: string; neededBy: string }>;
}

export interface ResolveOptions {
  /** Directories from ld.so.conf (default: parsed from /etc/ld.so.conf once per call). */
  ldconfigDirs?: string[];
}

/** A candidate library file must exist and have the executable's class and machine. */
function compatible(path: string, want: ElfIdent): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    const id = readElfIdent(path);
    return id.bits === want.bits && id.littleEndian === want.littleEndian && id.machine === want.machine;
  } catch {
    return false;
  }
}

/**
 * The transitive closure of shared libraries an executable needs, found like ld.so finds
 * them (see the header comment for the order). Does not run anything.
 */
export function resolveDependencies(path: string, opts: ResolveOptions = {}): DependencyClosure {
  const elf = readElf(path);
  const ldconfigDirs = opts.ldconfigDirs ?? ldSoConfDirs();
  const system = systemLibraryDirs(elf.machine, elf.bits);
  const closure: DependencyClosure = { path, elf, interp: elf.interp, libraries: [], missing: [] };
  const byName = new Map<string, ResolvedLibrary>();

  interface Node {
    elf: ElfInfo;
    /** $ORIGIN: the real directory for the executable (/proc/self/exe), the found directory for libraries. */
    origin: string;
    /** DT_RPATH entries of the objects that loaded this one (already expanded), innermost first. */
    inheritedRpath: string[];
  }
  let originOfMain: string;
  try {
    originOfMain = posix.dirname(realpathSync(path));
  } catch {
    originOfMain = posix.dirname(path);
  }
  const queue: Node[] = [{ elf, origin: originOfMain, inheritedRpath: [] }];

  while (queue.length) {
    const node = queue.shift()!;
    const expand = (list: string[]) => list.flatMap((e) => expandDynamicTokens(e, node.origin, elf));
    const ownRpath = node.elf.runpath.length ? [] : expand(node.elf.rpath);
    // DT_RPATH applies to this object's needs and (unless they have DT_RUNPATH) their needs.
    const rpath = node.elf.runpath.length ? [] : [...ownRpath, ...node.inheritedRpath];
    const runpath = expand(node.elf.runpath);

    for (const name of node.elf.needed) {
      if (byName.has(name)) continue;
      let found: { path: string; dir: string; source: LibSource } | null = null;
      if (name.includes("/")) {
        const p = name.startsWith("/") ? name : posix.join(node.origin, name);
        if (compatible(p, elf)) found = { path: p, dir: posix.dirname(p), source: "path" };
      } else {
        const tiers: Array<[LibSource, string[]]> = [
          ["rpath", rpath],
          ["runpath", runpath],
          ["ldconfig", ldconfigDirs],
          ["system", system],
        ];
        search: for (const [source, dirs] of tiers) {
          for (const dir of dirs) {
            const p = posix.join(dir, name);
            if (compatible(p, elf)) {
              found = { path: p, dir, source };
              break search;
            }
          }
        }
      }
      if (!found) {
        if (!closure.missing.some((m) => m.name === name)) closure.missing.push({ name, neededBy: node.elf.path });
        continue;
      }
      const lib: ResolvedLibrary = { name, ...found, neededBy: node.elf.path };
      byName.set(name, lib);
      closure.libraries.push(lib);
      let libElf: ElfInfo;
      try {
        libElf = readElf(found.path);
      } catch (e) {
        throw new ElfError(found.path, `cannot read library needed by ${node.elf.path}: ${(e as Error).message}`);
      }
      // Also register it under its SONAME, as the loader does, so a later DT_NEEDED of the
      // same SONAME is not searched again.
      if (libElf.soname && !byName.has(libElf.soname)) byName.set(libElf.soname, lib);
      queue.push({ elf: libElf, origin: found.dir, inheritedRpath: rpath });
    }
  }
  return closure;
}
