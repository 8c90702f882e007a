//! The single-op cover: one stencil per IR operation, every operand in its value's slot,
//! no e-graph. Classic copy-and-patch, and the baseline every figure is compared with.

use super::cover::{
    BlockCover, Cover, Detail, Edge, FuncCover, Instance, Operand, Saturation, SlotRef,
};
use super::extract::iconst;
use super::tiles::tiles;
use crate::ir::{Body, FuncId, Module, Opcode, Target, TermKind, Type, Value};
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

fn named(name: &str) -> Result<&'static Stencil, String> {
    Stencil::by_name(name).ok_or_else(|| format!("the stencil library lacks `{name}`"))
}

/// Covers every function of a verified module with one stencil per operation.
///
/// # Errors
/// An operation without a stencil, located at it.
pub fn single_op_cover(module: &Module) -> Result<Cover, Error> {
    let t = tiles();
    let sp = &t.special;
    let mut out = Cover::default();
    for (i, f) in module.funcs.iter().enumerate() {
        let Some(body) = &f.body else { continue };
        let mut blocks = Vec::with_capacity(body.blocks.len());
        for (b, block) in body.blocks() {
            let mut insts = Vec::with_capacity(block.insts.len() + 1);
            for inst in &block.insts {
                let ty = inst.ty.unwrap_or(Type::I32);
                let new = |stencil: &'static Stencil, operands, result, detail| Instance {
                    stencil,
                    covers: vec![inst.mnemonic()],
                    operands,
                    result,
                    detail,
                    cost: stencil.cost,
                };
                insts.push(match inst.op {
                    Opcode::Iconst => {
                        let (s, ops) = iconst(ty, inst.imm);
                        new(s, ops, Some(SlotRef::Value(inst.results[0])), Detail::None)
                    }
                    Opcode::Call => {
                        let func = inst.func.unwrap_or(FuncId(0));
                        let import = module
                            .funcs
                            .get(func.0 as usize)
                            .is_some_and(|f| f.is_import());
                        let s = if import { sp.call_import } else { sp.call };
                        new(
                            s,
                            Vec::new(),
                            None,
                            Detail::Call {
                                func,
                                import,
                                args: inst.args.iter().map(|&a| slot(a)).collect(),
                                results: inst.results.clone(),
                            },
                        )
                    }
                    op => {
                        let Some(&s) = t.all_slots.get(&(op, inst.ty)) else {
                            return Err(Error::new(
                                ErrorKind::Unsupported,
                                &module.source,
                                inst.loc,
                                format!("no stencil covers `{}`", inst.mnemonic()),
                            ));
                        };
                        let has_result = s.holes.iter().any(|h| h.value == HoleValue::Result);
                        let result = inst
                            .results
                            .first()
                            .filter(|_| has_result)
                            .map(|&r| SlotRef::Value(r));
                        let detail = if op.info().imm == crate::ir::oplist::Imm::Offset {
                            Detail::Offset(inst.imm as u32)
                        } else {
                            Detail::None
                        };
                        new(
                            s,
                            inst.args.iter().map(|&a| slot(a)).collect(),
                            result,
                            detail,
                        )
                    }
                });
            }
            if let Some(term) = &block.term {
                let (name, operands, detail) = match &term.kind {
                    TermKind::Jump(target) => ("jump", vec![], Detail::Jump(edge(body, target))),
                    TermKind::Brif { cond, then, els } => (
                        match body.ty(*cond) {
                            Type::I32 => "brif_i32_s",
                            Type::I64 => "brif_i64_s",
                        },
                        vec![slot(*cond)],
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
                        "br_table_i32_s",
                        vec![slot(*index)],
                        Detail::BrTable {
                            targets: targets.clone(),
                            default: *default,
                        },
                    ),
                    TermKind::Return(vals) => (
                        "ret",
                        vec![],
                        Detail::Return(vals.iter().map(|&v| slot(v)).collect()),
                    ),
                    TermKind::Trap => ("trap", vec![], Detail::None),
                };
                let stencil = named(name)
                    .map_err(|m| Error::new(ErrorKind::Unsupported, &module.source, term.loc, m))?;
                insts.push(Instance {
                    stencil,
                    covers: vec![name.split('_').next().unwrap_or(name).to_string()],
                    operands,
                    result: None,
                    detail,
                    cost: stencil.cost,
                });
            }
            let cost = insts.iter().fold(0u32, |a, i| a.saturating_add(i.cost));
            blocks.push(BlockCover {
                block: b,
                name: block.name.clone(),
                insts,
                temps: 0,
                saturation: Saturation {
                    reason: "single-op".to_string(),
                    iterations: 0,
                    nodes: 0,
                    classes: 0,
                },
                cost,
            });
        }
        let single = super::single_op_cost(module, body);
        out.funcs.push(FuncCover {
            func: FuncId(i as u32),
            name: f.name.clone(),
            blocks,
            cost: single,
            single_op_cost: single,
        });
    }
    Ok(out)
}
