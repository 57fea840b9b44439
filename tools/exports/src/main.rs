//! `memwatch-exports <binary>...`: prints every symbol the binaries export,
//! one per line, as the dynamic linker looks them up: ELF dynamic symbols,
//! Mach-O exports without their leading underscore (dlsym adds it), PE export
//! names (MSVC-mangled). Universal (fat) Mach-O files list each slice.
//!
//! Why a tool and not `nm`: the test suite checks the V8 binding's symbol
//! table against node binaries of other platforms (node-darwin-*, node-win-*)
//! on a Linux CI machine, where binutils' nm reads neither Mach-O nor PE
//! exports reliably.

use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64};
use object::{Object, ObjectSymbol};
use std::io::Write;
use std::process::ExitCode;

fn exports_of(data: &[u8], out: &mut Vec<String>) -> Result<(), object::Error> {
    if let Ok(fat) = MachOFatFile32::parse(data) {
        for arch in fat.arches() {
            exports_of(arch.data(data)?, out)?;
        }
        return Ok(());
    }
    if let Ok(fat) = MachOFatFile64::parse(data) {
        for arch in fat.arches() {
            exports_of(arch.data(data)?, out)?;
        }
        return Ok(());
    }
    let file = object::File::parse(data)?;
    match file.format() {
        object::BinaryFormat::Elf => {
            for sym in file.dynamic_symbols() {
                if sym.is_definition() && sym.is_global() {
                    if let Ok(name) = sym.name() {
                        out.push(name.to_owned());
                    }
                }
            }
        }
        _ => {
            for e in file.exports()? {
                let name = String::from_utf8_lossy(e.name());
                let name = match file.format() {
                    // Mach-O C symbols carry a leading underscore that dlsym adds itself.
                    object::BinaryFormat::MachO => {
                        name.strip_prefix('_').unwrap_or(&name).to_owned()
                    }
                    _ => name.into_owned(),
                };
                out.push(name);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: memwatch-exports <binary>...");
        return ExitCode::from(2);
    }
    let mut names = Vec::new();
    for f in &files {
        let data = match std::fs::read(f) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("memwatch-exports: {f}: {e}");
                return ExitCode::from(3);
            }
        };
        if let Err(e) = exports_of(&data, &mut names) {
            eprintln!("memwatch-exports: {f}: {e}");
            return ExitCode::from(3);
        }
    }
    names.sort();
    names.dedup();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for n in names {
        if writeln!(out, "{n}").is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}
