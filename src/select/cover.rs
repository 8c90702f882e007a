//! The cover: what selection chose, as a value of the library and as text.

use std::fmt;

use smallvec::SmallVec;

use super::tiles::Pat;
use crate::ir::{BlockId, FuncId, Opcode, Type, Value};
use crate::stencil::Stencil;

/// The IR operations a stencil instance stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Covers {
    /// One IR instruction, covered by its own stencil (`iadd.i32`).
    Op(Opcode, Option<Type>),
    /// A terminator, a copy or a move, by name (`brif`, `copy`).
    Name(&'static str),
    /// The nodes of a tile's pattern, outermost first (`brif`, `icmp.slt.i32`,
    /// `iadd.i32`).
    Pattern(&'static Pat),
    /// A constant put in a slot (`iconst.i64 5`), as slot bits.
    Const(Type, u64),
}

impl fmt::Display for Covers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Covers::Op(op, Some(t)) => write!(f, "{}.{t}", op.name()),
            Covers::Op(op, None) => f.write_str(op.name()),
            Covers::Name(n) => f.write_str(n),
            Covers::Pattern(p) => {
                for (i, op) in p.ops().iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{op}")?;
                }
                Ok(())
            }
            Covers::Const(ty, bits) => write!(f, "iconst.{ty} {}", ty.signed(*bits)),
        }
    }
}

/// An instance's operands: most have at most four, kept inline.
pub type Operands = SmallVec<[Operand; 4]>;

/// Where a value lives in the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SlotRef {
    /// The slot of an IR value.
    Value(Value),
    /// A temporary of the block: a value the IR does not name (or that only this block
    /// uses).
    Temp(u32),
    /// Slot `i` past the frame, where the next call finds its argument `i` and leaves its
    /// result `i`: an argument written there by the instance that computes it, a result
    /// read there until the next call. Printed `o{i}`.
    Out(u32),
    /// Slot `i` of the frame, where `return` leaves result `i` (the slot of the entry
    /// block's parameter `i`): a returned value written there by the instance that
    /// computes it. Printed `r{i}`.
    Ret(u32),
}

/// An operand of a stencil instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// Read from a frame slot.
    Slot(SlotRef),
    /// A constant patched into the code, signed: an `i32`, or an `i64` that fits 32
    /// bits (the stencil sign-extends it).
    Imm(i64),
}

/// Moves on a control-flow edge: each block parameter gets an operand, in parallel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub block: BlockId,
    pub moves: Vec<(Value, Operand)>,
}

/// A call's results: each value moved back into its own slot, or `None` for one whose
/// readers take it from [`SlotRef::Out`], where the call left it.
pub type CallResults = SmallVec<[Option<Value>; 4]>;

/// What an instance needs beyond its operands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    None,
    /// A load or store: the offset.
    Offset(u32),
    /// A call: the callee, whether it is an import, the arguments (moved into the callee's
    /// frame or the import's argument area) and the result values (moved back).
    Call {
        func: FuncId,
        import: bool,
        args: Vec<Operand>,
        results: CallResults,
    },
    /// `jump`.
    Jump(Edge),
    /// `brif`: taken when true, then when false.
    Brif {
        then: Edge,
        els: Edge,
    },
    /// `br_table`: the targets by index, then the default.
    BrTable {
        targets: Vec<BlockId>,
        default: BlockId,
    },
    /// `return`: the values returned.
    Return(Vec<Operand>),
}

/// One stencil instance of a block's cover.
#[derive(Clone, Debug)]
pub struct Instance {
    pub stencil: &'static Stencil,
    /// The operations it covers.
    pub covers: Covers,
    /// Its operands, by operand index.
    pub operands: Operands,
    /// Where its result goes.
    pub result: Option<SlotRef>,
    pub detail: Detail,
    /// Its cost: the stencil's, plus the moves it makes (arguments, results, branch
    /// arguments) at the cost of the stencils that make them.
    pub cost: u32,
}

impl Instance {
    /// The control-flow edges it takes: a `jump`'s, a `brif`'s two.
    pub fn edges(&self) -> impl Iterator<Item = &Edge> {
        let (a, b) = match &self.detail {
            Detail::Jump(e) => (Some(e), None),
            Detail::Brif { then, els } => (Some(then), Some(els)),
            _ => (None, None),
        };
        a.into_iter().chain(b)
    }

    /// The operands it reads: its operands, then a call's arguments or the values
    /// returned, then its edges' arguments.
    pub fn reads(&self) -> impl Iterator<Item = &Operand> {
        let listed: &[Operand] = match &self.detail {
            Detail::Call { args, .. } | Detail::Return(args) => args,
            _ => &[],
        };
        let moved = self.edges().flat_map(|e| e.moves.iter().map(|(_, o)| o));
        self.operands.iter().chain(listed).chain(moved)
    }

    /// [`reads`](Self::reads), to change them.
    pub fn reads_mut(&mut self) -> impl Iterator<Item = &mut Operand> {
        let (listed, then, els): (&mut [Operand], &mut [_], &mut [_]) = match &mut self.detail {
            Detail::Call { args, .. } | Detail::Return(args) => (args, &mut [], &mut []),
            Detail::Jump(e) => (&mut [], &mut e.moves, &mut []),
            Detail::Brif { then, els } => (&mut [], &mut then.moves, &mut els.moves),
            Detail::None | Detail::Offset(_) | Detail::BrTable { .. } => {
                (&mut [], &mut [], &mut [])
            }
        };
        let moved = then.iter_mut().chain(els).map(|(_, o)| o);
        self.operands
            .iter_mut()
            .chain(listed.iter_mut())
            .chain(moved)
    }
}

/// Why rewriting a block's e-graph stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saturation {
    /// `saturated`, `iteration limit`, `node limit`, `time limit`, or `no rules`.
    pub reason: &'static str,
    pub iterations: usize,
    pub nodes: usize,
    pub classes: usize,
}

/// A block's cover.
#[derive(Clone, Debug)]
pub struct BlockCover {
    pub block: BlockId,
    pub name: String,
    pub insts: Vec<Instance>,
    /// Temporaries the block uses (`Temp(0)` to `Temp(temps - 1)`).
    pub temps: u32,
    pub saturation: Saturation,
    pub cost: u32,
}

/// A function's cover.
#[derive(Clone, Debug)]
pub struct FuncCover {
    pub func: FuncId,
    pub name: String,
    pub blocks: Vec<BlockCover>,
    /// The sum of its instances' costs. Saturating.
    pub cost: u32,
    /// The cost of covering each IR operation by its own stencil (slot operands,
    /// constants by `iconst`), moves counted alike: the baseline. Saturating.
    pub single_op_cost: u32,
}

/// The cover of a module: its functions with bodies, in order.
#[derive(Clone, Debug, Default)]
pub struct Cover {
    pub funcs: Vec<FuncCover>,
}

/// Prints covers with value names as the text writes them.
pub struct Names<'a> {
    pub body: &'a crate::ir::Body,
    pub module: &'a crate::ir::Module,
}

impl Names<'_> {
    fn slot(&self, s: SlotRef) -> String {
        match s {
            SlotRef::Value(v) => self.body.value_name(v),
            SlotRef::Temp(t) => format!("t{t}"),
            SlotRef::Out(i) => format!("o{i}"),
            SlotRef::Ret(i) => format!("r{i}"),
        }
    }

    fn operand(&self, o: &Operand) -> String {
        match o {
            Operand::Slot(s) => self.slot(*s),
            Operand::Imm(i) => format!("{i}"),
        }
    }

    fn edge(&self, e: &Edge) -> String {
        let moves: Vec<String> = e
            .moves
            .iter()
            .map(|(v, o)| format!("{} <- {}", self.body.value_name(*v), self.operand(o)))
            .collect();
        let name = self.body.block_name(e.block);
        if moves.is_empty() {
            name.to_string()
        } else {
            format!("{name}({})", moves.join(", "))
        }
    }

    /// One instance as a line.
    pub fn instance(&self, i: &Instance) -> String {
        let mut s = String::new();
        if let Some(r) = i.result {
            s.push_str(&format!("{} = ", self.slot(r)));
        }
        s.push_str(i.stencil.name);
        let ops: Vec<String> = i.operands.iter().map(|o| self.operand(o)).collect();
        if !ops.is_empty() {
            s.push(' ');
            s.push_str(&ops.join(", "));
        }
        match &i.detail {
            Detail::None => {}
            Detail::Offset(o) => s.push_str(&format!(" +{o}")),
            Detail::Call {
                func,
                args,
                results,
                ..
            } => {
                let name = self
                    .module
                    .funcs
                    .get(func.0 as usize)
                    .map_or("?", |f| f.name.as_str());
                let args: Vec<String> = args.iter().map(|o| self.operand(o)).collect();
                let res: Vec<String> = (results.iter().enumerate())
                    .map(|(i, v)| {
                        v.map_or_else(
                            || self.slot(SlotRef::Out(i as u32)),
                            |v| self.body.value_name(v),
                        )
                    })
                    .collect();
                s.push_str(&format!(" @{name}({})", args.join(", ")));
                if !res.is_empty() {
                    s.push_str(&format!(" -> {}", res.join(", ")));
                }
            }
            Detail::Jump(e) => s.push_str(&format!(" -> {}", self.edge(e))),
            Detail::Brif { then, els } => {
                s.push_str(&format!(" -> {} | {}", self.edge(then), self.edge(els)))
            }
            Detail::BrTable { targets, default } => {
                let t: Vec<&str> = targets.iter().map(|b| self.body.block_name(*b)).collect();
                s.push_str(&format!(
                    " -> [{}] | {}",
                    t.join(", "),
                    self.body.block_name(*default)
                ));
            }
            Detail::Return(vals) => {
                let v: Vec<String> = vals.iter().map(|o| self.operand(o)).collect();
                if !v.is_empty() {
                    s.push_str(&format!(" {}", v.join(", ")));
                }
            }
        }
        format!("{s:<52} ; {} (cost {})", i.covers, i.cost)
    }
}

impl Cover {
    /// The cover as text: per function its totals, per block why rewriting stopped, per
    /// instance a line.
    pub fn display<'a>(&'a self, module: &'a crate::ir::Module) -> impl fmt::Display + 'a {
        CoverText {
            cover: self,
            module,
        }
    }
}

struct CoverText<'a> {
    cover: &'a Cover,
    module: &'a crate::ir::Module,
}

impl fmt::Display for CoverText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for fc in &self.cover.funcs {
            let Some(body) = self.module.funcs[fc.func.0 as usize].body.as_ref() else {
                continue;
            };
            let names = Names {
                body,
                module: self.module,
            };
            writeln!(
                f,
                "func @{}: total cost {} (single-op {})",
                fc.name, fc.cost, fc.single_op_cost
            )?;
            for b in &fc.blocks {
                let s = &b.saturation;
                writeln!(
                    f,
                    "  {}: cost {}, {} temps; rules: {} after {} iterations, {} nodes in {} classes",
                    b.name, b.cost, b.temps, s.reason, s.iterations, s.nodes, s.classes
                )?;
                for i in &b.insts {
                    writeln!(f, "    {}", names.instance(i))?;
                }
            }
        }
        Ok(())
    }
}
