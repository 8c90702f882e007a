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
//! data, and any use of the stack.

#[allow(dead_code)]
#[path = "src/ir/oplist.rs"]
mod oplist;

#[allow(dead_code)]
#[path = "stencils/generate.rs"]
mod generate;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

use generate::{Kind, Variant};
use iced_x86::{
    Code, Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind, Register,
};
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

    let variants = generate::single_op_variants();
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
        // A stencil needs no frame pointer: it uses no stack at all.
        .args(["-C", "force-frame-pointers=no"])
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run {rustc}: {e}")));
    if !status.success() {
        fail(&format!("{rustc} failed on {}", src.display()));
    }
}

/// Which value a hole takes: the build-time twin of `egjit::stencil::HoleValue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HoleValue {
    Operand(u8),
    Result,
    Offset,
    Continue,
    Target,
}

impl HoleValue {
    /// The hole a symbol stands for, if it is one.
    fn of_symbol(symbol: &str) -> Option<HoleValue> {
        Some(match symbol {
            "_JIT_OPERAND0" => HoleValue::Operand(0),
            "_JIT_OPERAND1" => HoleValue::Operand(1),
            "_JIT_OPERAND2" => HoleValue::Operand(2),
            "_JIT_RESULT" => HoleValue::Result,
            "_JIT_OFFSET" => HoleValue::Offset,
            "_JIT_CONTINUE" => HoleValue::Continue,
            "_JIT_TARGET" => HoleValue::Target,
            _ => return None,
        })
    }

    /// True for code the stencil jumps to.
    fn is_code(self) -> bool {
        matches!(self, HoleValue::Continue | HoleValue::Target)
    }
}

/// A hole as found in the object.
struct FoundHole {
    offset: u32,
    reloc: &'static str,
    value: HoleValue,
    addend: i64,
}

struct Found {
    code: Vec<u8>,
    holes: Vec<FoundHole>,
    cost: u32,
    tail_jmp: u32,
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
            let Some(value) = HoleValue::of_symbol(&target) else {
                if target.starts_with(".rodata") || target.starts_with(".data") {
                    fail(&format!(
                        "stencil `{name}` reads data `{target}` that a stencil cannot carry"
                    ));
                }
                fail(&format!("stencil `{name}` refers to `{target}`, which is no hole (a call into a library or a panic path?)"));
            };
            let r_type = match reloc.flags() {
                RelocationFlags::Elf { r_type } => r_type,
                _ => fail(&format!("stencil `{name}`: relocation that is not ELF")),
            };
            let kind = match r_type {
                object::elf::R_X86_64_32 => "Reloc::Abs32",
                object::elf::R_X86_64_32S => "Reloc::Abs32S",
                object::elf::R_X86_64_PC32 | object::elf::R_X86_64_PLT32 => "Reloc::PcRel32",
                other => fail(&format!(
                    "stencil `{name}`: relocation type {other} to `{target}` is not handled"
                )),
            };
            holes.push(FoundHole {
                offset,
                reloc: kind,
                value,
                addend: reloc.addend(),
            });
        }
        holes.sort_by_key(|h| h.offset);
        let (cost, tail_jmp) = check_code(name, &code, &holes);
        found.insert(
            name.to_string(),
            Found {
                code,
                holes,
                cost,
                tail_jmp,
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

/// Checks a stencil's instructions and returns its cost and the length of a trailing
/// `jmp` to the continuation (0 if none).
///
/// Cost: one per instruction, one more per memory operand, one more per branch that can
/// leave the stencil (a dropped trailing `jmp` is not counted), and 20 more per division
/// (its latency). Saturating.
fn check_code(name: &str, code: &[u8], holes: &[FoundHole]) -> (u32, u32) {
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut insts: Vec<Instruction> = Vec::new();
    while decoder.can_decode() {
        let i = decoder.decode();
        if i.code() == Code::INVALID {
            fail(&format!(
                "stencil `{name}` has bytes that do not decode at {:#x}",
                i.ip()
            ));
        }
        insts.push(i);
    }
    let hole_in = |i: &Instruction| {
        holes
            .iter()
            .find(|h| (h.offset as u64) >= i.ip() && (h.offset as u64) < i.next_ip())
    };
    let mut cost: u32 = 0;
    for i in &insts {
        let stack = matches!(
            i.mnemonic(),
            Mnemonic::Push | Mnemonic::Pop | Mnemonic::Call | Mnemonic::Enter | Mnemonic::Leave
        ) || (0..i.op_count()).any(|k| {
            i.op_kind(k) == OpKind::Register
                && matches!(i.op_register(k), Register::RSP | Register::ESP)
        }) || i.memory_base() == Register::RSP;
        let to_code = hole_in(i).is_some_and(|h| h.value.is_code());
        if stack {
            let what = if i.mnemonic() == Mnemonic::Call && to_code {
                "reaches its continuation by `call` instead of `jmp` (the stack would grow)"
            } else {
                "uses the stack"
            };
            fail(&format!("stencil `{name}` {what} at {:#x}", i.ip()));
        }
        let branch = matches!(
            i.flow_control(),
            FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch
        );
        if to_code && !branch {
            fail(&format!(
                "stencil `{name}` uses its continuation at {:#x} other than as a jump",
                i.ip()
            ));
        }
        let mem = (0..i.op_count())
            .filter(|&k| i.op_kind(k) == OpKind::Memory)
            .count() as u32;
        let leaves = to_code && branch;
        let div = matches!(i.mnemonic(), Mnemonic::Div | Mnemonic::Idiv) as u32 * 20;
        cost = cost.saturating_add(1 + mem + leaves as u32 + div);
    }
    // A trailing `jmp rel32` to the continuation can be dropped when it follows.
    let tail_jmp = match insts.last() {
        Some(last)
            if last.mnemonic() == Mnemonic::Jmp
                && last.len() == 5
                && hole_in(last).is_some_and(|h| h.value == HoleValue::Continue) =>
        {
            cost = cost.saturating_sub(2);
            5
        }
        _ => 0,
    };
    (cost, tail_jmp)
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
                    "Hole {{ offset: {}, reloc: {}, value: HoleValue::{:?}, addend: {} }}",
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
            "    Stencil {{ name: {:?}, opcode: {}, ty: {}, kinds: &[{}], pattern: {:?}, code: b\"{code}\", holes: &[{}], cost: {}, tail_jmp: {} }},",
            v.name,
            v.opcode.as_ref().map_or("None".to_string(), |o| format!("Some(Opcode::{o})")),
            v.ty.map_or("None".to_string(), |t| format!("Some(Type::{})", if t.name() == "i32" { "I32" } else { "I64" })),
            kinds.join(", "),
            v.pattern,
            holes.join(", "),
            f.cost,
            f.tail_jmp,
        );
    }
    s.push_str("];\n");
    s
}
