//! The printer: a module back to the text format, in a form the parser reads back to an
//! equal module.

use std::fmt::Write;

use super::oplist::Imm;
use super::{Body, Module, Opcode, Target, TermKind};

/// The module as `.egir` text.
pub fn print(m: &Module) -> String {
    let mut out = String::new();
    if let Some(mem) = &m.memory {
        let _ = write!(out, "memory {}", mem.initial);
        if let Some(max) = mem.max {
            let _ = write!(out, " max {max}");
        }
        out.push('\n');
    }
    for d in &m.data {
        let _ = writeln!(out, "data {} \"{}\"", d.offset, escape(&d.bytes));
    }
    for f in &m.funcs {
        if !out.is_empty() {
            out.push('\n');
        }
        let kw = if f.is_import() { "import" } else { "func" };
        let _ = write!(out, "{kw} @{}{}", f.name, f.sig);
        let Some(body) = &f.body else {
            out.push('\n');
            continue;
        };
        out.push_str(" {\n");
        for (_, block) in body.blocks() {
            out.push_str(&block.name);
            if !block.params.is_empty() {
                let params: Vec<String> = block
                    .params
                    .iter()
                    .map(|&p| format!("{}: {}", body.value_name(p), body.ty(p)))
                    .collect();
                let _ = write!(out, "({})", params.join(", "));
            }
            out.push_str(":\n");
            for inst in &block.insts {
                out.push_str("    ");
                if !inst.results.is_empty() {
                    let _ = write!(out, "{} = ", values(body, &inst.results));
                }
                out.push_str(&inst.mnemonic());
                if inst.op == Opcode::Call {
                    let callee = inst
                        .func
                        .and_then(|c| m.funcs.get(c.index()))
                        .map_or("?", |c| c.name.as_str());
                    let _ = write!(out, " @{callee}({})", values(body, &inst.args));
                } else {
                    if !inst.args.is_empty() {
                        let _ = write!(out, " {}", values(body, &inst.args));
                    }
                    match inst.op.info().imm {
                        Imm::Int => {
                            // The literal is stored as its low bits; print it signed.
                            let v = inst.ty.unwrap_or(super::Type::I64).signed(inst.imm);
                            let _ = write!(out, " {v}");
                        }
                        Imm::Offset if inst.imm != 0 => {
                            let _ = write!(out, ", {}", inst.imm);
                        }
                        _ => {}
                    }
                }
                out.push('\n');
            }
            if let Some(term) = &block.term {
                out.push_str("    ");
                match &term.kind {
                    TermKind::Jump(t) => {
                        let _ = write!(out, "jump {}", target(body, t));
                    }
                    TermKind::Brif { cond, then, els } => {
                        let _ = write!(
                            out,
                            "brif {}, {}, {}",
                            body.value_name(*cond),
                            target(body, then),
                            target(body, els)
                        );
                    }
                    TermKind::BrTable {
                        index,
                        targets,
                        default,
                    } => {
                        let names: Vec<&str> =
                            targets.iter().map(|&b| body.block_name(b)).collect();
                        let _ = write!(
                            out,
                            "br_table {}, [{}], {}",
                            body.value_name(*index),
                            names.join(", "),
                            body.block_name(*default)
                        );
                    }
                    TermKind::Return(vals) => {
                        out.push_str("return");
                        if !vals.is_empty() {
                            let _ = write!(out, " {}", values(body, vals));
                        }
                    }
                    TermKind::Trap => out.push_str("trap"),
                }
                out.push('\n');
            }
        }
        out.push_str("}\n");
    }
    out
}

fn values(body: &Body, vals: &[super::Value]) -> String {
    vals.iter()
        .map(|&v| body.value_name(v))
        .collect::<Vec<_>>()
        .join(", ")
}

fn target(body: &Body, t: &Target) -> String {
    let name = body.block_name(t.block);
    if t.args.is_empty() {
        name.to_string()
    } else {
        format!("{name}({})", values(body, &t.args))
    }
}

fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\{b:02x}");
            }
        }
    }
    s
}
