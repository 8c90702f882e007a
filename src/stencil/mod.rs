//! The stencil library as the runtime sees it: the generated table, holes modelled as
//! relocation records, and the checked patch functions.
//!
//! A [`Stencil`] is like a section of an object file: machine code with [`Hole`]s, each
//! like a relocation record (where, what kind of field, which value it takes, addend).
//! Copying a stencil and patching its holes is the whole of code generation.

#[path = "../../stencils/abi.rs"]
pub mod abi;
mod listing;
mod patch;
mod table;

pub use listing::listing;
pub use patch::{patch, PatchError};
pub use table::STENCILS;

use crate::ir::{Opcode, Type};

/// How an operand reaches a stencil.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An 8-byte frame slot at an offset patched into the code.
    Slot,
    /// A 32-bit immediate patched into the code (sign-extended for `i64`).
    Imm,
}

/// The field a hole is: which relocation the compiler emitted for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reloc {
    /// `R_X86_64_32`: 32 bits, zero-extended by the instruction.
    Abs32,
    /// `R_X86_64_32S`: 32 bits, sign-extended by the instruction (a displacement).
    Abs32S,
    /// `R_X86_64_PC32` / `PLT32`: a 32-bit displacement from the end of the field
    /// (with the addend, -4), to a jump target or a data slot.
    PcRel32,
}

/// Which value a hole takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoleValue {
    /// Operand `n`: its frame-slot offset or its immediate, per the stencil's kinds.
    Operand(u8),
    /// The frame-slot offset of the result.
    Result,
    /// The offset of a memory access.
    Offset,
    /// The address of what runs next.
    Continue,
    /// The address of a conditional branch's taken target.
    Target,
}

/// A place in a stencil's code to patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hole {
    /// Byte offset of the field in the stencil's code.
    pub offset: u32,
    /// The kind of field.
    pub reloc: Reloc,
    /// Which value it takes.
    pub value: HoleValue,
    /// Added to the value (for `PcRel32`, -4: the field's end is the reference point).
    pub addend: i64,
}

/// One stencil: machine code compiled by rustc from `stencils/`, with its holes.
#[derive(Debug)]
pub struct Stencil {
    /// Its symbol, e.g. `iadd_i64_si`.
    pub name: &'static str,
    /// The operation it implements, if it implements one.
    pub opcode: Option<Opcode>,
    /// The type suffix it is for.
    pub ty: Option<Type>,
    /// Operand kinds, in operand order.
    pub kinds: &'static [Kind],
    /// The IR pattern it covers, in the rules' s-expression syntax.
    pub pattern: &'static str,
    /// The machine code.
    pub code: &'static [u8],
    /// The holes, by offset.
    pub holes: &'static [Hole],
    /// Cost from its machine code: one per instruction, one more per memory operand, one
    /// more per branch out of the stencil (a droppable trailing `jmp` not counted), 20
    /// more per division. Saturating.
    pub cost: u32,
    /// Length of the trailing `jmp` to the continuation, dropped when the continuation
    /// is laid out next; 0 if there is none.
    pub tail_jmp: u32,
}

impl Stencil {
    /// The stencil called `name`.
    pub fn by_name(name: &str) -> Option<&'static Stencil> {
        STENCILS.iter().find(|s| s.name == name)
    }
}
