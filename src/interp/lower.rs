//! Lowering a verified module into the interpreter's flat register code.

use std::collections::HashMap;

use crate::ir::{Body, FuncId, Inst, Module, Opcode, Signature, TermKind, Type};
use crate::semantics::{self as sem, TrapCode};

type BinFn = fn(u64, u64) -> u64;
type BinTrapFn = fn(u64, u64) -> Result<u64, TrapCode>;
type UnFn = fn(u64) -> u64;

/// A branch: where it goes and which moves it makes. `moves` is `(start, n)` in the pool:
/// `n` source registers, then `n` destination registers.
#[derive(Clone, Copy, Debug)]
pub(super) struct Edge {
    pub pc: u32,
    pub moves: (u32, u32),
}

/// One interpreter instruction. Registers are value indices in the frame; `(start, n)`
/// pairs are ranges of the function's pool.
#[derive(Clone, Copy, Debug)]
pub(super) enum Op {
    Const {
        dst: u32,
        val: u64,
    },
    Bin {
        f: BinFn,
        dst: u32,
        a: u32,
        b: u32,
    },
    BinTrap {
        f: BinTrapFn,
        dst: u32,
        a: u32,
        b: u32,
    },
    Un {
        f: UnFn,
        dst: u32,
        a: u32,
    },
    Select {
        dst: u32,
        c: u32,
        a: u32,
        b: u32,
    },
    Load {
        dst: u32,
        addr: u32,
        off: u32,
        bytes: u8,
        signed: bool,
        ty: Type,
    },
    Store {
        addr: u32,
        val: u32,
        off: u32,
        bytes: u8,
    },
    MemSize {
        dst: u32,
    },
    MemGrow {
        dst: u32,
        n: u32,
    },
    Call {
        func: u32,
        args: (u32, u32),
        rets: (u32, u32),
    },
    Jump(Edge),
    Brif {
        cond: u32,
        then: Edge,
        els: Edge,
    },
    /// `table` is `(start, n)` in `edges`.
    BrTable {
        index: u32,
        table: (u32, u32),
        default: Edge,
    },
    Return {
        vals: (u32, u32),
    },
    Trap,
}

/// A function's lowered code.
pub(super) struct FuncCode {
    pub code: Vec<Op>,
    pub nregs: usize,
    /// Registers of the entry block's parameters.
    pub params: Vec<u32>,
    pub pool: Vec<u32>,
    pub edges: Vec<Edge>,
}

/// A function of the program: its code, or `None` for an import.
pub(super) struct ProgFunc {
    pub name: String,
    pub sig: Signature,
    pub code: Option<FuncCode>,
}

/// The whole lowered module.
pub(super) struct Program {
    pub funcs: Vec<ProgFunc>,
    pub by_name: HashMap<String, FuncId>,
}

impl Program {
    /// The code of a function known to have a body.
    pub fn code(&self, f: u32) -> &FuncCode {
        match &self.funcs[f as usize].code {
            Some(c) => c,
            None => unreachable!("frames are only pushed for functions with a body"),
        }
    }
}

macro_rules! bin {
    ($ty:expr, $f:ident) => {
        match $ty {
            Type::I32 => (|a: u64, b: u64| sem::$f::<u32>(a as u32, b as u32) as u64) as BinFn,
            Type::I64 => (|a: u64, b: u64| sem::$f::<u64>(a, b) as u64) as BinFn,
        }
    };
}

macro_rules! bin_trap {
    ($ty:expr, $f:ident) => {
        match $ty {
            Type::I32 => {
                (|a: u64, b: u64| sem::$f::<u32>(a as u32, b as u32).map(|r| r as u64)) as BinTrapFn
            }
            Type::I64 => (|a: u64, b: u64| sem::$f::<u64>(a, b)) as BinTrapFn,
        }
    };
}

macro_rules! un {
    ($ty:expr, $f:ident) => {
        match $ty {
            Type::I32 => (|a: u64| sem::$f::<u32>(a as u32) as u64) as UnFn,
            Type::I64 => (|a: u64| sem::$f::<u64>(a) as u64) as UnFn,
        }
    };
}

/// How a compute operation (pure, or a division) evaluates on slot values: the one map
/// from opcode to semantics, for the interpreter and the constant folder.
#[derive(Clone, Copy)]
pub(crate) enum Compute {
    Bin(BinFn),
    BinTrap(BinTrapFn),
    Un(UnFn),
    Select,
}

/// The evaluation of `op` at type `ty`, or `None` for a constant, memory operation or call.
pub(crate) fn compute(op: Opcode, ty: Type) -> Option<Compute> {
    use Compute::{Bin, BinTrap, Un};
    Some(match op {
        Opcode::Iadd => Bin(bin!(ty, iadd)),
        Opcode::Isub => Bin(bin!(ty, isub)),
        Opcode::Imul => Bin(bin!(ty, imul)),
        Opcode::Band => Bin(bin!(ty, band)),
        Opcode::Bor => Bin(bin!(ty, bor)),
        Opcode::Bxor => Bin(bin!(ty, bxor)),
        Opcode::Ishl => Bin(bin!(ty, ishl)),
        Opcode::Ushr => Bin(bin!(ty, ushr)),
        Opcode::Sshr => Bin(bin!(ty, sshr)),
        Opcode::Rotl => Bin(bin!(ty, rotl)),
        Opcode::Rotr => Bin(bin!(ty, rotr)),
        Opcode::Sdiv => BinTrap(bin_trap!(ty, sdiv)),
        Opcode::Udiv => BinTrap(bin_trap!(ty, udiv)),
        Opcode::Srem => BinTrap(bin_trap!(ty, srem)),
        Opcode::Urem => BinTrap(bin_trap!(ty, urem)),
        Opcode::Clz => Un(un!(ty, clz)),
        Opcode::Ctz => Un(un!(ty, ctz)),
        Opcode::Popcnt => Un(un!(ty, popcnt)),
        Opcode::Eqz => Un(un!(ty, eqz)),
        Opcode::IcmpEq => Bin(bin!(ty, icmp_eq)),
        Opcode::IcmpNe => Bin(bin!(ty, icmp_ne)),
        Opcode::IcmpSlt => Bin(bin!(ty, icmp_slt)),
        Opcode::IcmpSle => Bin(bin!(ty, icmp_sle)),
        Opcode::IcmpSgt => Bin(bin!(ty, icmp_sgt)),
        Opcode::IcmpSge => Bin(bin!(ty, icmp_sge)),
        Opcode::IcmpUlt => Bin(bin!(ty, icmp_ult)),
        Opcode::IcmpUle => Bin(bin!(ty, icmp_ule)),
        Opcode::IcmpUgt => Bin(bin!(ty, icmp_ugt)),
        Opcode::IcmpUge => Bin(bin!(ty, icmp_uge)),
        Opcode::Select => Compute::Select,
        Opcode::Sextend => Un(|v| sem::sextend(v as u32)),
        Opcode::Uextend => Un(|v| sem::uextend(v as u32)),
        Opcode::Ireduce => Un(|v| sem::ireduce(v) as u64),
        Opcode::Sext8 => Un(un!(ty, sext8)),
        Opcode::Sext16 => Un(un!(ty, sext16)),
        Opcode::Sext32 => Un(un!(ty, sext32)),
        _ => return None,
    })
}

/// Evaluates a compute operation on slot values (an `i32` zero-extended): its result as a
/// slot value, or its trap. `None` when `op` is no compute operation or `args` are too
/// few.
pub fn eval(op: Opcode, ty: Type, args: &[u64]) -> Option<Result<u64, TrapCode>> {
    let arg = |i: usize| args.get(i).copied();
    Some(match compute(op, ty)? {
        Compute::Bin(f) => Ok(f(arg(0)?, arg(1)?)),
        Compute::BinTrap(f) => f(arg(0)?, arg(1)?),
        Compute::Un(f) => Ok(f(arg(0)?)),
        Compute::Select => {
            let (c, a, b) = (arg(0)?, arg(1)?, arg(2)?);
            Ok(sem::select::<u64>(c as u32, a, b))
        }
    })
}

/// Lowers every function of a verified module.
pub(super) fn lower(m: &Module) -> Program {
    let funcs = m
        .funcs
        .iter()
        .map(|f| ProgFunc {
            name: f.name.clone(),
            sig: f.sig.clone(),
            code: f.body.as_ref().map(lower_body),
        })
        .collect();
    let by_name = m
        .funcs
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), FuncId(i as u32)))
        .collect();
    Program { funcs, by_name }
}

fn range(pool: &mut Vec<u32>, regs: impl IntoIterator<Item = u32>) -> (u32, u32) {
    let start = pool.len();
    pool.extend(regs);
    (start as u32, (pool.len() - start) as u32)
}

fn lower_inst(inst: &Inst, pool: &mut Vec<u32>) -> Op {
    let ty = inst.ty.unwrap_or(Type::I32);
    let a = |i: usize| inst.args.get(i).map_or(0, |v| v.0);
    let dst = inst.results.first().map_or(0, |v| v.0);
    let (x, y) = (a(0), a(1));
    let bin = |f: BinFn| Op::Bin { f, dst, a: x, b: y };
    let bin_trap = |f: BinTrapFn| Op::BinTrap { f, dst, a: x, b: y };
    let un = |f: UnFn| Op::Un { f, dst, a: x };
    let access = || {
        let bytes = match inst.op.info().access_bytes {
            0 => ty.bytes() as u8,
            n => n,
        };
        (inst.imm as u32, bytes)
    };
    let load = |signed: bool| {
        let (off, bytes) = access();
        Op::Load {
            dst,
            addr: x,
            off,
            bytes,
            signed,
            ty,
        }
    };
    let store = || {
        let (off, bytes) = access();
        Op::Store {
            addr: x,
            val: y,
            off,
            bytes,
        }
    };
    match compute(inst.op, ty) {
        Some(Compute::Bin(f)) => return bin(f),
        Some(Compute::BinTrap(f)) => return bin_trap(f),
        Some(Compute::Un(f)) => return un(f),
        Some(Compute::Select) => {
            return Op::Select {
                dst,
                c: x,
                a: y,
                b: a(2),
            }
        }
        None => {}
    }
    match inst.op {
        Opcode::Iconst => Op::Const { dst, val: inst.imm },
        Opcode::Load | Opcode::Load8U | Opcode::Load16U | Opcode::Load32U => load(false),
        Opcode::Load8S | Opcode::Load16S | Opcode::Load32S => load(true),
        Opcode::Store | Opcode::Store8 | Opcode::Store16 | Opcode::Store32 => store(),
        Opcode::MemorySize => Op::MemSize { dst },
        Opcode::MemoryGrow => Op::MemGrow { dst, n: x },
        Opcode::Call => Op::Call {
            func: inst.func.map_or(0, |f| f.0),
            args: range(pool, inst.args.iter().map(|v| v.0)),
            rets: range(pool, inst.results.iter().map(|v| v.0)),
        },
        // Every other operation is a compute operation, handled above.
        _ => Op::Trap,
    }
}

fn lower_body(body: &Body) -> FuncCode {
    let mut code = Vec::new();
    let mut pool = Vec::new();
    let mut edges = Vec::new();
    // First pass: where each block starts (its instructions, then one terminator op).
    let mut starts = Vec::with_capacity(body.blocks.len());
    let mut pc = 0u32;
    for b in &body.blocks {
        starts.push(pc);
        pc += b.insts.len() as u32 + 1;
    }
    let edge = |pool: &mut Vec<u32>, t: &crate::ir::Target| {
        let params = &body.blocks[t.block.index()].params;
        let start = pool.len() as u32;
        pool.extend(t.args.iter().map(|v| v.0));
        pool.extend(params.iter().map(|v| v.0));
        Edge {
            pc: starts[t.block.index()],
            moves: (start, t.args.len() as u32),
        }
    };
    for b in &body.blocks {
        for inst in &b.insts {
            code.push(lower_inst(inst, &mut pool));
        }
        let Some(term) = &b.term else {
            code.push(Op::Trap);
            continue;
        };
        let op = match &term.kind {
            TermKind::Jump(t) => Op::Jump(edge(&mut pool, t)),
            TermKind::Brif { cond, then, els } => Op::Brif {
                cond: cond.0,
                then: edge(&mut pool, then),
                els: edge(&mut pool, els),
            },
            TermKind::BrTable {
                index,
                targets,
                default,
            } => {
                let start = edges.len() as u32;
                for t in targets {
                    edges.push(Edge {
                        pc: starts[t.index()],
                        moves: (0, 0),
                    });
                }
                Op::BrTable {
                    index: index.0,
                    table: (start, targets.len() as u32),
                    default: Edge {
                        pc: starts[default.index()],
                        moves: (0, 0),
                    },
                }
            }
            TermKind::Return(vals) => Op::Return {
                vals: range(&mut pool, vals.iter().map(|v| v.0)),
            },
            TermKind::Trap => Op::Trap,
        };
        code.push(op);
    }
    FuncCode {
        code,
        nregs: body.values.len(),
        params: body.blocks[0].params.iter().map(|v| v.0).collect(),
        pool,
        edges,
    }
}
