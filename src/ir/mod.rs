//! The egjit IR: a module of functions made of basic blocks with parameters, in SSA form.
//!
//! The text format and the semantics are specified by IR.md; [`parse`] reads the text,
//! [`print()`] writes it back, [`verify`] checks a module, and [`builder`] constructs one in
//! code. The operations are listed once, in [`oplist`].

pub mod builder;
pub mod oplist;
mod parse;
mod print;
mod verify;

use std::fmt;

pub use oplist::{OpInfo, Opcode, Suffix, OPS};
pub use parse::{parse, parse_bytes};
pub use print::print;
pub use verify::verify;

use crate::Error;

/// An integer type of the IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
}

impl Type {
    /// Width in bits.
    pub fn bits(self) -> u32 {
        match self {
            Type::I32 => 32,
            Type::I64 => 64,
        }
    }

    /// Width in bytes.
    pub fn bytes(self) -> u32 {
        self.bits() / 8
    }

    /// The type's name in the text format.
    pub fn name(self) -> &'static str {
        match self {
            Type::I32 => "i32",
            Type::I64 => "i64",
        }
    }

    /// Slot bits of this type read as a signed integer (an `i32` from its low half).
    pub fn signed(self, bits: u64) -> i64 {
        match self {
            Type::I32 => bits as u32 as i32 as i64,
            Type::I64 => bits as i64,
        }
    }

    /// Parses `i32` or `i64`.
    pub fn from_name(s: &str) -> Option<Type> {
        match s {
            "i32" => Some(Type::I32),
            "i64" => Some(Type::I64),
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl oplist::Operand {
    /// The concrete type of this operand when the suffix type is `t`.
    pub fn resolve(self, t: Type) -> Type {
        match self {
            oplist::Operand::T => t,
            oplist::Operand::I32 => Type::I32,
            oplist::Operand::I64 => Type::I64,
        }
    }
}

impl Opcode {
    /// How many indexes [`Opcode::typed_index`] gives.
    pub const TYPED_COUNT: usize = 3 * Opcode::ALL.len();

    /// A dense index of this operation with type suffix `ty` (none, `i32`, `i64`), for
    /// tables by operation and type; below [`Opcode::TYPED_COUNT`].
    #[inline]
    pub fn typed_index(self, ty: Option<Type>) -> usize {
        3 * self as usize
            + match ty {
                None => 0,
                Some(Type::I32) => 1,
                Some(Type::I64) => 2,
            }
    }

    /// The type `T` its operands and results resolve against when written with suffix
    /// `ty`: `ty` when the operation takes that suffix, `i32` for an operation that takes
    /// none written without one; `None` when the suffix is wrong.
    pub fn suffix_type(self, ty: Option<Type>) -> Option<Type> {
        match (self.info().suffix, ty) {
            (Suffix::None, None) => Some(Type::I32),
            (s, Some(t)) if s != Suffix::None && s.allows(t) => Some(t),
            _ => None,
        }
    }
}

impl Suffix {
    /// True when `ty` is an allowed suffix (for `Suffix::None`, no type is allowed).
    pub fn allows(self, ty: Type) -> bool {
        matches!(
            (self, ty),
            (Suffix::Any, _) | (Suffix::I32, Type::I32) | (Suffix::I64, Type::I64)
        )
    }
}

/// A position in the source text, 1-based. Builder-made items have line 0 (unknown).
///
/// Positions are not part of a module's meaning: two `Loc`s always compare equal, so two
/// modules that differ only in where their text stood are equal.
#[derive(Clone, Copy, Debug, Default)]
pub struct Loc {
    /// Line, from 1; 0 when unknown.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
}

impl Loc {
    /// True when the item came from text.
    pub fn is_known(&self) -> bool {
        self.line != 0
    }
}

impl PartialEq for Loc {
    fn eq(&self, _: &Loc) -> bool {
        true
    }
}
impl Eq for Loc {}

/// An SSA value, numbered densely within its function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);

impl Value {
    /// Dense index of the value within its function.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A basic block of a function; block 0 is the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(pub u32);

impl BlockId {
    /// Dense index of the block within its function.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A function or import of a module (they share one index space).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId(pub u32);

impl FuncId {
    /// Index into [`Module::funcs`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A function's parameter and result types.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signature {
    /// Parameter types.
    pub params: Vec<Type>,
    /// Result types.
    pub results: Vec<Type>,
}

/// Types as the text writes them in a list: `i32, i64`.
pub fn type_list(ts: &[Type]) -> String {
    ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({})", type_list(&self.params))?;
        if !self.results.is_empty() {
            write!(f, " -> {}", type_list(&self.results))?;
        }
        Ok(())
    }
}

/// The module's linear memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Initial size in 64 KiB pages.
    pub initial: u32,
    /// Maximum size in pages, if given.
    pub max: Option<u32>,
    /// Where it was declared.
    pub loc: Loc,
}

/// Bytes copied into memory at instantiation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSegment {
    /// Byte offset in memory.
    pub offset: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Where it was declared.
    pub loc: Loc,
}

/// A function of a module: a definition with a body, or an import without one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// The name without `@`, e.g. `main`, `env.print`.
    pub name: String,
    /// Parameter and result types.
    pub sig: Signature,
    /// The body; `None` for an import.
    pub body: Option<Body>,
    /// Where it was declared.
    pub loc: Loc,
}

impl Function {
    /// True for an import (a host function).
    pub fn is_import(&self) -> bool {
        self.body.is_none()
    }
}

/// What is known of one SSA value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueData {
    /// The number it has in the text (`v17` is 17).
    pub name: u32,
    /// Its type.
    pub ty: Type,
}

/// A function body: blocks and the values they define.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body {
    /// Blocks in text order; the first is the entry.
    pub blocks: Vec<Block>,
    /// Every value of the function, indexed by [`Value`].
    pub values: Vec<ValueData>,
}

impl Body {
    /// The type of a value.
    pub fn ty(&self, v: Value) -> Type {
        self.values[v.index()].ty
    }

    /// A value as it is written in the text (`v17`).
    pub fn value_name(&self, v: Value) -> String {
        match self.values.get(v.index()) {
            Some(d) => format!("v{}", d.name),
            None => format!("v?{}", v.0),
        }
    }

    /// Iterates over the blocks with their ids.
    pub fn blocks(&self) -> impl Iterator<Item = (BlockId, &Block)> {
        self.blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (BlockId(i as u32), b))
    }

    /// The name of a block.
    pub fn block_name(&self, b: BlockId) -> &str {
        self.blocks.get(b.index()).map_or("?", |b| b.name.as_str())
    }
}

/// A basic block: parameters, instructions, one terminator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Its label.
    pub name: String,
    /// Parameters (their types are in [`Body::values`]).
    pub params: Vec<Value>,
    /// Instructions in order.
    pub insts: Vec<Inst>,
    /// The terminator; only a module under construction lacks one.
    pub term: Option<Terminator>,
    /// Where the block label stands.
    pub loc: Loc,
}

/// An instruction's operands or results: no more than four in any operation but a
/// `call`, kept in the instruction without a heap allocation.
pub type Operands = smallvec::SmallVec<[Value; 4]>;

/// One instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inst {
    /// The operation.
    pub op: Opcode,
    /// The type suffix; `None` for untyped operations (`memory.size`, `call`).
    pub ty: Option<Type>,
    /// Value operands.
    pub args: Operands,
    /// The immediate: the constant of `iconst` (as the low bits(T) bits), the offset of a
    /// memory access, 0 otherwise.
    pub imm: u64,
    /// The callee of a `call`.
    pub func: Option<FuncId>,
    /// Results.
    pub results: Operands,
    /// Where the instruction starts.
    pub loc: Loc,
}

impl Inst {
    /// The mnemonic with its suffix, e.g. `icmp.slt.i64`.
    pub fn mnemonic(&self) -> String {
        match self.ty {
            Some(t) => format!("{}.{}", self.op.name(), t),
            None => self.op.name().to_string(),
        }
    }
}

/// A branch target with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The block.
    pub block: BlockId,
    /// Arguments for its parameters.
    pub args: Vec<Value>,
}

/// How a block ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermKind {
    /// `jump target`.
    Jump(Target),
    /// `brif c, then, else`.
    Brif {
        /// Condition, `i32` or `i64`; true when non-zero.
        cond: Value,
        /// Taken when true.
        then: Target,
        /// Taken when false.
        els: Target,
    },
    /// `br_table i, [b0, ...], default`.
    BrTable {
        /// Index, `i32`, unsigned.
        index: Value,
        /// Targets by index.
        targets: Vec<BlockId>,
        /// Taken when the index is out of range.
        default: BlockId,
    },
    /// `return values`.
    Return(Vec<Value>),
    /// `trap`: traps with `unreachable`.
    Trap,
}

/// A terminator with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminator {
    /// What it does.
    pub kind: TermKind,
    /// Where it stands.
    pub loc: Loc,
}

impl Terminator {
    /// The blocks it may go to, with repeats.
    pub fn successors(&self) -> Vec<BlockId> {
        match &self.kind {
            TermKind::Jump(t) => vec![t.block],
            TermKind::Brif { then, els, .. } => vec![then.block, els.block],
            TermKind::BrTable {
                targets, default, ..
            } => {
                let mut v = targets.clone();
                v.push(*default);
                v
            }
            TermKind::Return(_) | TermKind::Trap => Vec::new(),
        }
    }
}

/// A module: memory, data, imports and functions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Module {
    /// The linear memory, if declared.
    pub memory: Option<Memory>,
    /// Data segments in order.
    pub data: Vec<DataSegment>,
    /// Imports and functions, in text order, indexed by [`FuncId`].
    pub funcs: Vec<Function>,
    /// The name of the source (a file name, `<stdin>`, `<builder>`), used in messages.
    pub source: String,
}

impl Module {
    /// Parses and verifies a module from text; `file` names the source in messages.
    ///
    /// # Errors
    /// A located [`Error`] for the first syntax or verification error.
    pub fn from_text(src: &str, file: &str) -> Result<Module, Error> {
        let m = parse(src, file)?;
        verify(&m)?;
        Ok(m)
    }

    /// The function or import called `name` (without `@`).
    pub fn func_by_name(&self, name: &str) -> Option<FuncId> {
        self.funcs
            .iter()
            .position(|f| f.name == name)
            .map(|i| FuncId(i as u32))
    }

    /// The function with this id.
    pub fn func(&self, id: FuncId) -> &Function {
        &self.funcs[id.index()]
    }

    /// The module's text, as [`print()`] writes it.
    pub fn to_text(&self) -> String {
        print(self)
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print(self))
    }
}
