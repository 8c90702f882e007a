//! The single-op cover: one stencil per IR operation, every operand in its value's slot,
//! no e-graph. Classic copy-and-patch, and the baseline every figure is compared with.
//!
//! The emitter places these instances one at a time as it walks the IR
//! ([`crate::emit::emit_single_op`]); [`single_op_cover`] collects them as a [`Cover`]
//! for listings and costs.

use super::cover::{
    BlockCover, Cover, Covers, Detail, Edge, FuncCover, Instance, Operand, Operands, Saturation,
    SlotRef,
};
use super::extract::iconst;
use super::tiles::tiles;
use crate::ir::{Body, FuncId, Inst, Module, Opcode, Target, TermKind, Terminator, Type, Value};
use crate::stencil::{HoleValue, Stencil};
use crate::{Error, ErrorKind};

fn slot(v: Value) -> Operand {
    Operand::Slot(SlotRef::Value(v))
}

fn edge(body: &Body, t: &Target) -> Edge {
    let params = &body.blocks[t.block.index()].params;
    Edge {
        block: t.block,
        moves: params
            .iter()
            .zip(&t.args)
            .map(|(&p, &a)| (p, slot(a)))
            .collect(),
    }
}

/// An instruction's stencil in the single-op cover, and the moves it makes (a call's
/// arguments and results); `None` when the library has none.
pub(crate) fn inst_stencil(module: &Module, inst: &Inst) -> Option<(&'static Stencil, u32)> {
    let t = tiles();
    match inst.op {
        Opcode::Iconst => Some((iconst(inst.ty.unwrap_or(Type::I32), inst.imm).0, 0)),
        Opcode::Call => {
            let import = inst
                .func
                .and_then(|f| module.funcs.get(f.0 as usize))
                .is_some_and(|f| f.is_import());
            let s = if import {
                t.special.call_import
            } else {
                t.special.call
            };
            Some((s, (inst.args.len() + inst.results.len()) as u32))
        }
        // Untyped effects (memory.size, memory.grow) have stencils of no type.
        op => t.all_slots.get(op, inst.ty).map(|s| (s, 0)),
    }
}

/// A terminator's stencil, its name, and the moves it makes (branch arguments, return
/// values).
pub(crate) fn term_stencil(
    body: &Body,
    kind: &TermKind,
) -> Option<(&'static Stencil, &'static str, u32)> {
    let sp = &tiles().special;
    let moves = |ts: &[&Target]| ts.iter().map(|t| t.args.len() as u32).sum();
    Some(match kind {
        TermKind::Jump(t) => (sp.jump, "jump", moves(&[t])),
        TermKind::Brif { cond, then, els } => {
            let s = match body.ty(*cond) {
                Type::I32 => sp.brif_i32,
                Type::I64 => sp.brif_i64,
            };
            (s, "brif", moves(&[then, els]))
        }
        TermKind::BrTable { .. } => (sp.br_table, "br_table", 0),
        TermKind::Return(vals) => (sp.ret, "return", vals.len() as u32),
        TermKind::Trap => (sp.trap, "trap", 0),
    })
}

/// The single-op instance of an instruction of a verified module.
///
/// # Errors
/// An operation without a stencil, located at it.
pub(crate) fn inst_instance(module: &Module, inst: &Inst) -> Result<Instance, Error> {
    let Some((stencil, moves)) = inst_stencil(module, inst) else {
        return Err(Error::new(
            ErrorKind::Unsupported,
            &module.source,
            inst.loc,
            format!("no stencil covers `{}`", inst.mnemonic()),
        ));
    };
    let (operands, result, detail) = match inst.op {
        Opcode::Iconst => (
            iconst(inst.ty.unwrap_or(Type::I32), inst.imm).1,
            Some(SlotRef::Value(inst.results[0])),
            Detail::None,
        ),
        Opcode::Call => {
            let detail = Detail::Call {
                func: inst.func.unwrap_or(FuncId(0)),
                import: std::ptr::eq(stencil, tiles().special.call_import),
                args: inst.args.iter().map(|&a| slot(a)).collect(),
                results: inst.results.iter().map(|&r| Some(r)).collect(),
            };
            (Operands::new(), None, detail)
        }
        op => {
            let has_result = stencil.holes.iter().any(|h| h.value == HoleValue::Result);
            let detail = if op.info().imm == crate::ir::oplist::Imm::Offset {
                Detail::Offset(inst.imm as u32)
            } else {
                Detail::None
            };
            (
                inst.args.iter().map(|&a| slot(a)).collect(),
                inst.results
                    .first()
                    .filter(|_| has_result)
                    .map(|&r| SlotRef::Value(r)),
                detail,
            )
        }
    };
    Ok(Instance {
        stencil,
        covers: Covers::Op(inst.op, inst.ty),
        operands,
        result,
        detail,
        cost: move_cost(stencil, moves),
    })
}

/// The single-op instance of a terminator of a verified module.
///
/// # Errors
/// A terminator without a stencil, located at it.
pub(crate) fn term_instance(
    module: &Module,
    body: &Body,
    term: &Terminator,
) -> Result<Instance, Error> {
    let (stencil, name, moves) = term_stencil(body, &term.kind).ok_or_else(|| {
        Error::new(
            ErrorKind::Unsupported,
            &module.source,
            term.loc,
            "no stencil covers the terminator",
        )
    })?;
    let (operands, detail) = match &term.kind {
        TermKind::Jump(target) => (Operands::new(), Detail::Jump(edge(body, target))),
        TermKind::Brif { cond, then, els } => (
            smallvec::smallvec![slot(*cond)],
            Detail::Brif {
                then: edge(body, then),
                els: edge(body, els),
            },
        ),
        TermKind::BrTable {
            index,
            targets,
            default,
        } => (
            smallvec::smallvec![slot(*index)],
            Detail::BrTable {
                targets: targets.clone(),
                default: *default,
            },
        ),
        TermKind::Return(vals) => (
            Operands::new(),
            Detail::Return(vals.iter().map(|&v| slot(v)).collect()),
        ),
        TermKind::Trap => (Operands::new(), Detail::None),
    };
    Ok(Instance {
        stencil,
        covers: Covers::Name(name),
        operands,
        result: None,
        detail,
        cost: move_cost(stencil, moves),
    })
}

/// A stencil's cost with `moves` copies on top.
fn move_cost(stencil: &Stencil, moves: u32) -> u32 {
    let copy = tiles().special.copy.cost;
    stencil.cost.saturating_add(copy.saturating_mul(moves))
}

/// Covers every function of a verified module with one stencil per operation.
///
/// # Errors
/// An operation without a stencil, located at it.
pub fn single_op_cover(module: &Module) -> Result<Cover, Error> {
    let mut out = Cover::default();
    for (i, f) in module.funcs.iter().enumerate() {
        let Some(body) = &f.body else { continue };
        let mut blocks = Vec::with_capacity(body.blocks.len());
        for b in crate::emit::layout::layout(body) {
            let block = &body.blocks[b.index()];
            let mut insts = Vec::with_capacity(block.insts.len() + 1);
            for inst in &block.insts {
                insts.push(inst_instance(module, inst)?);
            }
            if let Some(term) = &block.term {
                insts.push(term_instance(module, body, term)?);
            }
            let cost = insts.iter().fold(0u32, |a, i| a.saturating_add(i.cost));
            blocks.push(BlockCover {
                block: b,
                name: block.name.clone(),
                insts,
                temps: 0,
                saturation: Saturation {
                    reason: "single-op",
                    iterations: 0,
                    nodes: 0,
                    classes: 0,
                },
                cost,
            });
        }
        let cost = blocks.iter().fold(0u32, |a, b| a.saturating_add(b.cost));
        out.funcs.push(FuncCover {
            func: FuncId(i as u32),
            name: f.name.clone(),
            blocks,
            cost,
            single_op_cost: cost,
        });
    }
    Ok(out)
}
