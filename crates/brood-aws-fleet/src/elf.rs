//! What the worker binary is, read from its ELF headers before anything is created: the
//! architecture (x86_64 or aarch64), static or dynamic linking (and the dynamic loader), the
//! highest `GLIBC_x.y` symbol version it needs (from `.gnu.version_r`, the version needs that the
//! loader checks at start), how many bytes of debug information it carries and whether it has a
//! symbol table.
//!
//! A hand-written reader of ELF64 little-endian headers, program headers, section headers,
//! `.gnu.version_r` and its string table: it reads only those ranges of the file, never more than
//! the file holds, and turns anything else (a macOS or Windows binary, a script, a truncated
//! file) into an error that says what the file is and how to get a Linux build.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::pricing::Arch;
use crate::FleetError;

/// The flag every error of this module names.
const FLAG: &str = "--worker-binary";
/// Where a user reads how to build a worker that runs on the instances.
pub const BUILD_DOC: &str = "docs/aws-worker-binary.md";
/// The most bytes read for one section (a real `.dynstr` or `.gnu.version_r` is a few KiB).
const MAX_SECTION: u64 = 16 << 20;
/// The most section headers read (a large binary has about 50).
const MAX_SECTIONS: u64 = 4096;

const PT_INTERP: u32 = 3;
const SHF_ALLOC: u64 = 2;
const SHT_SYMTAB: u32 = 2;
const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;

/// A glibc version, as in a `GLIBC_2.2.5` symbol version: compared part by part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlibcVersion(pub u32, pub u32, pub u32);

impl GlibcVersion {
    /// `2.34` or `2.2.5`; `None` for anything else.
    pub fn parse(text: &str) -> Option<GlibcVersion> {
        let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = match parts.next() {
            None => 0,
            Some(p) => p?,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(GlibcVersion(major, minor, patch))
    }
}

impl std::fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GlibcVersion(a, b, 0) => write!(f, "{a}.{b}"),
            GlibcVersion(a, b, c) => write!(f, "{a}.{b}.{c}"),
        }
    }
}

/// How the binary is linked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Linking {
    /// No dynamic loader: runs on any Linux kernel of its architecture.
    Static,
    /// Started by this loader (`/lib64/ld-linux-x86-64.so.2` for glibc).
    Dynamic { interpreter: String },
}

/// What the instances need to know about a worker binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfInfo {
    pub arch: Arch,
    pub linking: Linking,
    /// The highest `GLIBC_*` version it needs; `None` when it needs none (static, or musl).
    pub glibc: Option<GlibcVersion>,
    /// Bytes in `.debug_*` sections not loaded with the program, which `strip --strip-debug`
    /// removes.
    pub debug_bytes: u64,
    /// It has a symbol table (`.symtab`), which `strip` removes.
    pub symbols: bool,
}

fn invalid(message: impl Into<String>) -> FleetError {
    FleetError::Invalid {
        field: FLAG.into(),
        message: message.into(),
    }
}

/// What a file that is not a Linux ELF executable is, by its first bytes, as an error.
fn not_elf(head: &[u8]) -> FleetError {
    let linux = format!(
        "AWS workers need a Linux build (x86_64 or aarch64): build one with \
         scripts/build-worker.sh and give it with --worker-binary; see {BUILD_DOC}"
    );
    let what = match head {
        [] => "an empty file".to_string(),
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..]
        | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..]
        | [0xca, 0xfe, 0xba, 0xbe, ..] => "a macOS (Mach-O) binary".to_string(),
        [b'M', b'Z', ..] => "a Windows (PE) executable".to_string(),
        [b'#', b'!', ..] => "a script, not the brood executable".to_string(),
        [0x7f, b'E', b'L', b'F', ..] | [0x7f, b'E', b'L'] | [0x7f, b'E'] | [0x7f] => {
            "a truncated ELF file (shorter than its 64-byte header)".to_string()
        }
        _ => "not an executable brood knows (no ELF header)".to_string(),
    };
    invalid(format!("{what}; {linux}"))
}

/// The architecture from the ELF header alone (the first 64 bytes), for the cost preview, which
/// reads no more of the file.
pub fn elf_arch(head: &[u8]) -> Result<Arch, FleetError> {
    Ok(header(head)?.arch)
}

/// The fields of the ELF header this module uses.
struct Header {
    arch: Arch,
    phoff: u64,
    phentsize: u64,
    phnum: u64,
    shoff: u64,
    shentsize: u64,
    shnum: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn header(head: &[u8]) -> Result<Header, FleetError> {
    if head.len() < 64 || head[..4] != *b"\x7fELF" {
        return Err(not_elf(head));
    }
    if head[4] != 2 {
        return Err(invalid(format!(
            "a 32-bit ELF executable; AWS workers need a 64-bit Linux build (x86_64 or \
             aarch64): see {BUILD_DOC}"
        )));
    }
    if head[5] != 1 {
        return Err(invalid(format!(
            "a big-endian ELF executable; AWS workers need a little-endian x86_64 or aarch64 \
             Linux build: see {BUILD_DOC}"
        )));
    }
    match u16_at(head, 16) {
        2 | 3 => {}
        1 => return Err(invalid("an ELF object file (.o), not an executable")),
        4 => return Err(invalid("an ELF core dump, not an executable")),
        other => {
            return Err(invalid(format!(
                "an ELF file of type {other}, not an executable"
            )))
        }
    }
    let arch = match u16_at(head, 18) {
        0x3e => Arch::X86_64,
        0xb7 => Arch::Arm64,
        other => {
            return Err(invalid(format!(
                "an ELF executable for machine {other:#x}; brood's instances are x86_64 or arm64"
            )))
        }
    };
    Ok(Header {
        arch,
        phoff: u64_at(head, 32),
        phentsize: u64::from(u16_at(head, 54)),
        phnum: u64::from(u16_at(head, 56)),
        shoff: u64_at(head, 40),
        shentsize: u64::from(u16_at(head, 58)),
        shnum: u64::from(u16_at(head, 60)),
    })
}

/// Reads ranges of a file, never past its end and never more than [`MAX_SECTION`] at once.
struct Ranges<'a, R> {
    file: &'a mut R,
    len: u64,
}

impl<R: Read + Seek> Ranges<'_, R> {
    fn read(&mut self, offset: u64, size: u64, what: &str) -> Result<Vec<u8>, FleetError> {
        let end = offset.saturating_add(size);
        if end > self.len {
            return Err(invalid(format!(
                "a truncated or damaged ELF file: its {what} reaches byte {end} but the file has \
                 {} bytes",
                self.len
            )));
        }
        if size > MAX_SECTION {
            return Err(invalid(format!(
                "a damaged ELF file: its {what} claims {size} bytes"
            )));
        }
        let io = |e: std::io::Error| invalid(format!("reading its {what}: {e}"));
        self.file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut buf = vec![0u8; size as usize];
        self.file.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    }
}

/// One section header's fields this module uses.
struct Section {
    name: u32,
    kind: u32,
    flags: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
}

/// Reads a whole ELF file's facts: see [`ElfInfo`].
pub fn inspect<R: Read + Seek>(file: &mut R) -> Result<ElfInfo, FleetError> {
    let io = |e: std::io::Error| invalid(format!("cannot read the file: {e}"));
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut head = Vec::with_capacity(64);
    file.by_ref().take(64).read_to_end(&mut head).map_err(io)?;
    let h = header(&head)?;
    let mut file = Ranges { file, len };

    if h.phnum > 0 && h.phentsize < 56 {
        return Err(invalid(
            "a damaged ELF file: program headers under 56 bytes",
        ));
    }
    let phdrs = file.read(h.phoff, h.phnum * h.phentsize, "program headers")?;
    let mut linking = Linking::Static;
    for p in phdrs.chunks_exact(h.phentsize.max(1) as usize) {
        if u32_at(p, 0) == PT_INTERP {
            let text = file.read(u64_at(p, 8), u64_at(p, 32), "interpreter path")?;
            let interpreter = String::from_utf8_lossy(&text)
                .trim_end_matches('\0')
                .to_string();
            linking = Linking::Dynamic { interpreter };
        }
    }

    if h.shnum > MAX_SECTIONS || (h.shnum > 0 && h.shentsize < 64) {
        return Err(invalid(
            "a damaged ELF file: its section headers make no sense",
        ));
    }
    let shdrs = file.read(h.shoff, h.shnum * h.shentsize, "section headers")?;
    let sections: Vec<Section> = shdrs
        .chunks_exact(h.shentsize.max(1) as usize)
        .map(|s| Section {
            name: u32_at(s, 0),
            kind: u32_at(s, 4),
            flags: u64_at(s, 8),
            offset: u64_at(s, 24),
            size: u64_at(s, 32),
            link: u32_at(s, 40),
            info: u32_at(s, 44),
        })
        .collect();
    let names = match sections.get(u16_at(&head, 62) as usize) {
        Some(s) if s.kind == 3 => file.read(s.offset, s.size, "section names")?,
        _ => Vec::new(),
    };
    let debug_bytes = sections
        .iter()
        // Not `.debug_gdb_scripts`, which is loaded with the program (SHF_ALLOC) and stays.
        .filter(|s| s.flags & SHF_ALLOC == 0 && c_str(&names, s.name).starts_with(b".debug"))
        .map(|s| s.size)
        .sum();

    let symbols = sections.iter().any(|s| s.kind == SHT_SYMTAB);
    let mut glibc = None;
    for needs in sections.iter().filter(|s| s.kind == SHT_GNU_VERNEED) {
        let strings = sections
            .get(needs.link as usize)
            .ok_or_else(|| invalid("a damaged ELF file: .gnu.version_r names no string table"))?;
        let strings = file.read(strings.offset, strings.size, "dynamic strings")?;
        let table = file.read(needs.offset, needs.size, ".gnu.version_r")?;
        for name in version_needs(&table, needs.info)? {
            let version = c_str(&strings, name);
            let parsed = std::str::from_utf8(version)
                .ok()
                .and_then(|v| v.strip_prefix("GLIBC_"))
                .and_then(GlibcVersion::parse);
            glibc = glibc.max(parsed);
        }
    }
    Ok(ElfInfo {
        arch: h.arch,
        linking,
        glibc,
        debug_bytes,
        symbols,
    })
}

/// The string-table offsets of every version named in a `.gnu.version_r` section of `count`
/// entries (`Elf64_Verneed`, each with its chain of `Elf64_Vernaux`).
fn version_needs(table: &[u8], count: u32) -> Result<Vec<u32>, FleetError> {
    let damaged = || invalid("a damaged ELF file: .gnu.version_r runs past its end");
    let field = |at: usize, width: usize| -> Result<&[u8], FleetError> {
        table.get(at..at + width).ok_or_else(damaged)
    };
    let mut names = Vec::new();
    let mut need = 0usize;
    for _ in 0..count {
        let aux_count = u16_at(field(need, 16)?, 2);
        let mut aux = need + u32_at(field(need, 16)?, 8) as usize;
        for _ in 0..aux_count {
            let entry = field(aux, 16)?;
            names.push(u32_at(entry, 8));
            match u32_at(entry, 12) {
                0 => break,
                next => aux += next as usize,
            }
        }
        match u32_at(field(need, 16)?, 12) {
            0 => break,
            next => need += next as usize,
        }
    }
    Ok(names)
}

/// The NUL-terminated string at `offset` of a string table (empty when out of range).
fn c_str(table: &[u8], offset: u32) -> &[u8] {
    let rest = table.get(offset as usize..).unwrap_or_default();
    &rest[..rest.iter().position(|b| *b == 0).unwrap_or(rest.len())]
}

/// [`inspect`] on a file.
pub fn inspect_path(path: &Path) -> Result<ElfInfo, FleetError> {
    let mut file = std::fs::File::open(path).map_err(|e| FleetError::Io {
        path: format!("{FLAG} {}", path.display()),
        source: e,
    })?;
    inspect(&mut file)
}

/// [`inspect`] on bytes in memory.
pub fn inspect_bytes(bytes: &[u8]) -> Result<ElfInfo, FleetError> {
    inspect(&mut std::io::Cursor::new(bytes))
}

/// Small ELF files written byte by byte, for tests here and in other crates' tests.
pub mod craft {
    /// A 4 KiB stand-in for a worker binary that every check before an upload accepts: an x86_64
    /// glibc executable needing GLIBC_2.17, padded. For tests whose instances never run it.
    pub fn stand_in_worker() -> Vec<u8> {
        let mut bytes = executable(
            0x3e,
            Some("/lib64/ld-linux-x86-64.so.2"),
            &["GLIBC_2.17"],
            0,
        );
        bytes.resize(4096, 7);
        bytes
    }

    /// An ELF64 little-endian executable for `machine` (0x3e x86_64, 0xb7 aarch64) with a
    /// `PT_INTERP` when `interpreter` is given, `.gnu.version_r` needing `versions` of
    /// `libc.so.6` when any are given, and a `.debug_info` of `debug` bytes.
    pub fn executable(
        machine: u16,
        interpreter: Option<&str>,
        versions: &[&str],
        debug: usize,
    ) -> Vec<u8> {
        // Layout: header (64) | program header (56) | payloads | section headers.
        let mut payload = Vec::new();
        let at = |payload: &Vec<u8>| 64 + 56 + payload.len() as u64;
        let interp = interpreter.map(|i| {
            let offset = at(&payload);
            payload.extend_from_slice(i.as_bytes());
            payload.push(0);
            (offset, i.len() as u64 + 1)
        });
        // .dynstr: "\0libc.so.6\0GLIBC_2.17\0..."
        let dynstr_offset = at(&payload);
        let mut dynstr = vec![0u8];
        let file_name = dynstr.len() as u32;
        dynstr.extend_from_slice(b"libc.so.6\0");
        let mut names = Vec::new();
        for v in versions {
            names.push(dynstr.len() as u32);
            dynstr.extend_from_slice(v.as_bytes());
            dynstr.push(0);
        }
        payload.extend_from_slice(&dynstr);
        // .gnu.version_r: one Verneed for libc.so.6 with one Vernaux per version.
        let verneed_offset = at(&payload);
        let mut verneed = Vec::new();
        if !versions.is_empty() {
            verneed.extend_from_slice(&1u16.to_le_bytes());
            verneed.extend_from_slice(&(versions.len() as u16).to_le_bytes());
            verneed.extend_from_slice(&file_name.to_le_bytes());
            verneed.extend_from_slice(&16u32.to_le_bytes());
            verneed.extend_from_slice(&0u32.to_le_bytes());
            for (i, name) in names.iter().enumerate() {
                verneed.extend_from_slice(&0u32.to_le_bytes()); // hash
                verneed.extend_from_slice(&0u16.to_le_bytes()); // flags
                verneed.extend_from_slice(&(i as u16 + 2).to_le_bytes());
                verneed.extend_from_slice(&name.to_le_bytes());
                let next: u32 = if i + 1 < names.len() { 16 } else { 0 };
                verneed.extend_from_slice(&next.to_le_bytes());
            }
        }
        payload.extend_from_slice(&verneed);
        let debug_offset = at(&payload);
        payload.resize(payload.len() + debug, 0x5a);
        let shstrtab_offset = at(&payload);
        let shstrtab = b"\0.dynstr\0.gnu.version_r\0.debug_info\0.shstrtab\0";
        payload.extend_from_slice(shstrtab);
        let shoff = at(&payload);

        let mut out = b"\x7fELF\x02\x01\x01".to_vec();
        out.resize(16, 0);
        out.extend_from_slice(&3u16.to_le_bytes()); // ET_DYN
        out.extend_from_slice(&machine.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // entry
        out.extend_from_slice(&64u64.to_le_bytes()); // phoff
        out.extend_from_slice(&shoff.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // flags
        out.extend_from_slice(&64u16.to_le_bytes()); // ehsize
        out.extend_from_slice(&56u16.to_le_bytes());
        out.extend_from_slice(&u16::from(interp.is_some()).to_le_bytes());
        out.extend_from_slice(&64u16.to_le_bytes());
        out.extend_from_slice(&5u16.to_le_bytes()); // shnum
        out.extend_from_slice(&4u16.to_le_bytes()); // shstrndx
                                                    // The program header: PT_INTERP, or an unused PT_NULL.
        let mut ph = vec![0u8; 56];
        if let Some((offset, size)) = interp {
            ph[..4].copy_from_slice(&3u32.to_le_bytes());
            ph[8..16].copy_from_slice(&offset.to_le_bytes());
            ph[32..40].copy_from_slice(&size.to_le_bytes());
        }
        out.extend_from_slice(&ph);
        out.extend_from_slice(&payload);
        let section = |name: u32, kind: u32, offset: u64, size: u64, link: u32, info: u32| {
            let mut s = Vec::with_capacity(64);
            s.extend_from_slice(&name.to_le_bytes());
            s.extend_from_slice(&kind.to_le_bytes());
            s.resize(24, 0);
            s.extend_from_slice(&offset.to_le_bytes());
            s.extend_from_slice(&size.to_le_bytes());
            s.extend_from_slice(&link.to_le_bytes());
            s.extend_from_slice(&info.to_le_bytes());
            s.resize(64, 0);
            s
        };
        out.extend(section(0, 0, 0, 0, 0, 0));
        out.extend(section(1, 3, dynstr_offset, dynstr.len() as u64, 0, 0));
        let (kind, count) = if versions.is_empty() {
            (1, 0)
        } else {
            (super::SHT_GNU_VERNEED, 1)
        };
        out.extend(section(
            9,
            kind,
            verneed_offset,
            verneed.len() as u64,
            1,
            count,
        ));
        out.extend(section(24, 1, debug_offset, debug as u64, 0, 0));
        out.extend(section(36, 3, shstrtab_offset, shstrtab.len() as u64, 0, 0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::craft::executable;
    use super::*;

    const LD_X86: &str = "/lib64/ld-linux-x86-64.so.2";

    #[test]
    fn architecture_linking_and_the_glibc_floor_come_from_the_headers() {
        let x86 = executable(0x3e, Some(LD_X86), &["GLIBC_2.2.5", "GLIBC_2.17"], 0);
        let info = inspect_bytes(&x86).unwrap();
        assert_eq!(info.arch, Arch::X86_64);
        assert_eq!(
            info.linking,
            Linking::Dynamic {
                interpreter: LD_X86.into()
            }
        );
        assert_eq!(info.glibc, Some(GlibcVersion(2, 17, 0)));
        assert_eq!(info.debug_bytes, 0);

        let arm = executable(
            0xb7,
            Some("/lib/ld-linux-aarch64.so.1"),
            &["GLIBC_2.39", "GLIBC_PRIVATE", "GLIBC_2.17", "GLIBC_2.34"],
            0,
        );
        let info = inspect_bytes(&arm).unwrap();
        assert_eq!(info.arch, Arch::Arm64);
        assert_eq!(info.glibc, Some(GlibcVersion(2, 39, 0)));
        assert_eq!(info.glibc.unwrap().to_string(), "2.39");
    }

    #[test]
    fn a_static_binary_needs_no_glibc_and_debug_sections_are_counted() {
        let info = inspect_bytes(&executable(0x3e, None, &[], 4096)).unwrap();
        assert_eq!(info.linking, Linking::Static);
        assert_eq!(info.glibc, None);
        assert_eq!(info.debug_bytes, 4096);
    }

    #[test]
    fn other_files_are_named_with_the_way_to_a_linux_build() {
        let error = |bytes: &[u8]| inspect_bytes(bytes).unwrap_err().to_string();
        let mach_o = error(b"\xcf\xfa\xed\xfe\x07\x00\x00\x01 rest of a macOS binary");
        assert!(
            mach_o.starts_with("--worker-binary: a macOS (Mach-O) binary;"),
            "{mach_o}"
        );
        assert!(mach_o.contains("scripts/build-worker.sh") && mach_o.contains(BUILD_DOC));
        assert!(error(b"\xca\xfe\xba\xbe universal").contains("Mach-O"));
        assert!(error(b"MZ\x90\x00").contains("Windows (PE)"));
        assert!(error(b"#!/bin/sh\nexec brood \"$@\"\n").contains("a script"));
        assert!(error(b"").contains("an empty file"));
        assert!(error(b"\x7fELF\x02\x01").contains("truncated"));
        let mut elf32 = executable(0x3e, None, &[], 0);
        elf32[4] = 1;
        assert!(error(&elf32).contains("32-bit"));
        let mut riscv = executable(0x3e, None, &[], 0);
        riscv[18] = 0xf3;
        assert!(error(&riscv).contains("machine 0xf3"));
    }

    #[test]
    fn a_truncated_file_is_an_error_not_a_panic() {
        let whole = executable(0x3e, Some(LD_X86), &["GLIBC_2.17"], 100);
        for len in [64, 100, 130, whole.len() - 64, whole.len() - 1] {
            let e = inspect_bytes(&whole[..len]).unwrap_err().to_string();
            assert!(e.contains("truncated"), "{len}: {e}");
        }
        // The header alone still tells the architecture, for the cost preview.
        assert_eq!(elf_arch(&whole[..64]).unwrap(), Arch::X86_64);
        // Headers that claim absurd sizes are refused without reading them.
        let mut absurd = whole.clone();
        absurd[60..62].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(inspect_bytes(&absurd).is_err());
    }

    #[test]
    fn glibc_versions_compare_part_by_part() {
        let v = |t: &str| GlibcVersion::parse(t).unwrap();
        assert!(v("2.2.5") < v("2.17"));
        assert!(v("2.17") < v("2.34"));
        assert!(v("2.34") < v("2.39"));
        assert_eq!(v("2.2.5").to_string(), "2.2.5");
        assert_eq!(GlibcVersion::parse("PRIVATE"), None);
        assert_eq!(GlibcVersion::parse("2"), None);
        assert_eq!(GlibcVersion::parse("2.3.4.5"), None);
    }

    /// The test binary itself is a real ELF file built on this machine.
    #[test]
    fn this_machines_build_is_read_as_what_it_is() {
        let exe = std::env::current_exe().unwrap();
        let info = inspect_path(&exe).unwrap();
        let expected = if cfg!(target_arch = "aarch64") {
            Arch::Arm64
        } else {
            Arch::X86_64
        };
        assert_eq!(info.arch, expected);
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(matches!(info.linking, Linking::Dynamic { .. }), "{info:?}");
            let floor = info.glibc.expect("a glibc build needs some GLIBC_ version");
            assert!(floor >= GlibcVersion(2, 2, 5), "{floor}");
        }
    }
}
