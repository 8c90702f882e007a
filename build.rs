//! Builds the stencil library: generates the stencils' Rust sources from the operation
//! table, compiles them with the same rustc that builds the crate, reads the object file
//! and writes one table (`$OUT_DIR/stencil_table.rs`) that `src/stencil/table.rs`
//! includes.
//!
//! Environment read: `RUSTC` (the compiler cargo uses), `OUT_DIR`, `CARGO_MANIFEST_DIR`,
//! `CARGO_CFG_TARGET_ARCH`, `CARGO_CFG_TARGET_OS`.
//!
//! It refuses, naming the stencil: a continuation reached by `call` (the stack would
//! grow), a relocation to a symbol that is no hole (memcpy, a panic path), read-only
//! data, and stack use other than balanced pushes and pops around a call of a callee or
//! helper.

#[allow(dead_code)]
#[path = "src/ir/oplist.rs"]
mod oplist;

#[allow(dead_code)]
#[path = "stencils/generate.rs"]
mod generate;

#[path = "stencils/check.rs"]
mod check;

#[allow(dead_code)]
#[path = "stencils/holes.rs"]
mod holes;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

use check::{Checked, FoundHole};
use generate::{Kind, Variant};
use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget};

fn fail(msg: &str) -> ! {
    eprintln!("error: building the stencil library: {msg}");
    exit(1);
}

fn main() {
    let manifest = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| fail("CARGO_MANIFEST_DIR is not set")),
    );
    let out =
        PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR is not set")));
    for f in ["build.rs", "src/ir/oplist.rs", "stencils"] {
        println!("cargo:rerun-if-changed={f}");
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch != "x86_64" || os != "linux" {
        fail(&format!(
            "egjit emits x86-64 code for Linux (SysV); this target is {arch}-{os}"
        ));
    }

    let mut variants = generate::single_op_variants();
    let list_path = manifest.join("stencils/superstencils.list");
    let list = std::fs::read_to_string(&list_path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", list_path.display())));
    let supers = generate::superstencil_variants(&list, &variants).unwrap_or_else(|e| fail(&e));
    variants.extend(supers);
    let dir = manifest.join("stencils");
    let src = generate::crate_source(&variants, &dir.display().to_string());
    let src_path = out.join("stencils.rs");
    let obj_path = out.join("stencils.o");
    std::fs::write(&src_path, src)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", src_path.display())));
    compile(&src_path, &obj_path);
    let data = std::fs::read(&obj_path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", obj_path.display())));
    let stencils = read_object(&data, &variants);
    let table = write_table(&variants, &stencils);
    let table_path = out.join("stencil_table.rs");
    std::fs::write(&table_path, table)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", table_path.display())));
}

/// Compiles the stencil crate to an ELF object with cargo's own rustc.
fn compile(src: &Path, obj: &Path) {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let status = Command::new(&rustc)
        .arg(src)
        .args(["--edition", "2021"])
        // A library of functions, no main, no dependencies.
        .arg("--crate-type=lib")
        .args(["--crate-name", "egjit_stencils"])
        // Just the object file: build.rs reads it, nothing links it.
        .arg("--emit=obj")
        .arg("-o")
        .arg(obj)
        // Optimized as the stencils will run: tail calls become jumps only when optimized.
        .args(["-C", "opt-level=3"])
        // No unwinding tables or landing pads: a stencil never unwinds.
        .args(["-C", "panic=abort"])
        // Absolute addresses for holes: operand offsets become R_X86_64_32S displacements
        // and immediates R_X86_64_32, exactly a field of the instruction.
        .args(["-C", "relocation-model=static"])
        // Symbols are assumed to fit 32 bits, so holes are 32-bit fields (not movabs).
        .args(["-C", "code-model=small"])
        // One unit, so every stencil is optimized the same way, deterministically.
        .args(["-C", "codegen-units=1"])
        // Nothing to debug in generated stencils; keeps the object small.
        .args(["-C", "debuginfo=0"])
        // No frame pointer: most stencils use no stack at all, and the stack check follows
        // only pushes, pops and constant adjustments.
        .args(["-C", "force-frame-pointers=no"])
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run {rustc}: {e}")));
    if !status.success() {
        fail(&format!("{rustc} failed on {}", src.display()));
    }
}

struct Found {
    code: Vec<u8>,
    holes: Vec<FoundHole>,
    checked: Checked,
}

fn read_object(data: &[u8], variants: &[Variant]) -> HashMap<String, Found> {
    let file = object::File::parse(data)
        .unwrap_or_else(|e| fail(&format!("cannot read the stencil object: {e}")));
    let wanted: HashMap<&str, &Variant> = variants.iter().map(|v| (v.name.as_str(), v)).collect();
    let mut found = HashMap::new();
    for sym in file.symbols() {
        let Ok(name) = sym.name() else { continue };
        if !wanted.contains_key(name) || !sym.is_definition() {
            continue;
        }
        let Some(index) = sym.section_index() else {
            continue;
        };
        let section = file
            .section_by_index(index)
            .unwrap_or_else(|e| fail(&format!("stencil `{name}`: {e}")));
        let bytes = section
            .data()
            .unwrap_or_else(|e| fail(&format!("stencil `{name}`: {e}")));
        let start = sym.address() - section.address();
        let code = bytes[start as usize..(start + sym.size()) as usize].to_vec();
        let mut holes = Vec::new();
        for (offset, reloc) in section.relocations() {
            if offset < start || offset >= start + sym.size() {
                continue;
            }
            let offset = (offset - start) as u32;
            let target = match reloc.target() {
                RelocationTarget::Symbol(i) => file
                    .symbol_by_index(i)
                    .ok()
                    .and_then(|s| {
                        s.name().ok().map(|n| {
                            if n.is_empty() {
                                // A section symbol: name the section.
                                s.section_index()
                                    .and_then(|si| file.section_by_index(si).ok())
                                    .and_then(|sec| sec.name().ok().map(str::to_string))
                                    .unwrap_or_default()
                            } else {
                                n.to_string()
                            }
                        })
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let r_type = match reloc.flags() {
                RelocationFlags::Elf { r_type } => r_type,
                _ => fail(&format!("stencil `{name}`: relocation that is not ELF")),
            };
            let hole = check::hole_of_relocation(name, offset, &target, r_type, reloc.addend())
                .unwrap_or_else(|e| fail(&e));
            holes.push(hole);
        }
        holes.sort_by_key(|h| h.offset);
        let checked = check::check_code(name, &code, &holes).unwrap_or_else(|e| fail(&e));
        found.insert(
            name.to_string(),
            Found {
                code,
                holes,
                checked,
            },
        );
    }
    for v in variants {
        if !found.contains_key(&v.name) {
            fail(&format!("stencil `{}` is missing from the object", v.name));
        }
    }
    found
}

fn write_table(variants: &[Variant], found: &HashMap<String, Found>) -> String {
    let mut s = String::from("/// Every stencil of the library, generated by `build.rs`.\npub static STENCILS: &[Stencil] = &[\n");
    for v in variants {
        let f = &found[&v.name];
        let kinds: Vec<&str> = v
            .kinds
            .iter()
            .map(|k| match k {
                Kind::Slot => "Kind::Slot",
                Kind::Imm => "Kind::Imm",
            })
            .collect();
        let holes: Vec<String> = f
            .holes
            .iter()
            .map(|h| {
                format!(
                    "Hole {{ offset: {}, reloc: Reloc::{:?}, value: HoleValue::{:?}, addend: {} }}",
                    h.offset, h.reloc, h.value, h.addend
                )
            })
            .collect();
        let mut code = String::new();
        for b in &f.code {
            let _ = write!(code, "\\x{b:02x}");
        }
        let _ = writeln!(
            s,
            "    Stencil {{ name: {:?}, opcode: {}, ty: {}, kinds: &[{}], pattern: {:?}, code: b\"{code}\", holes: &[{}], cost: {}, tail_jmp: {}, tail_jcc: {}, stack: {} }},",
            v.name,
            v.opcode.as_ref().map_or("None".to_string(), |o| format!("Some(Opcode::{o})")),
            v.ty.map_or("None".to_string(), |t| format!("Some(Type::{})", if t.name() == "i32" { "I32" } else { "I64" })),
            kinds.join(", "),
            v.pattern,
            holes.join(", "),
            f.checked.cost,
            f.checked.tail_jmp,
            f.checked.tail_jcc,
            f.checked.stack,
        );
    }
    s.push_str("];\n");
    s
}
