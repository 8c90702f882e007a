//! The holes of stencils: which value each takes and which field it is. Shared by
//! `build.rs` (through `check.rs`), which finds them in the compiled object, and by
//! egjit's runtime, which patches them (`no_std`, no dependencies).

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
    /// The caller's frame size: where a callee's frame or an import's arguments start.
    FrameSize,
    /// An import's index, passed to the import helper.
    Index,
    /// A `br_table`'s number of targets, its default not counted.
    Count,
    /// The address of a `abi::Callee` descriptor near the code.
    Callee,
    /// The address of an 8-byte slot near the code holding the `abi::ImportHelper`.
    ImportHelper,
    /// The address of an 8-byte slot near the code holding the `abi::GrowHelper`.
    GrowHelper,
    /// The address of an 8-byte slot near the code holding the address of a jump table
    /// (the `br_table`'s targets in order, then its default).
    Table,
}

impl HoleValue {
    /// The hole a symbol stands for, if it is one.
    pub fn of_symbol(symbol: &str) -> Option<HoleValue> {
        Some(match symbol {
            "_JIT_OPERAND0" => HoleValue::Operand(0),
            "_JIT_OPERAND1" => HoleValue::Operand(1),
            "_JIT_OPERAND2" => HoleValue::Operand(2),
            "_JIT_OPERAND3" => HoleValue::Operand(3),
            "_JIT_RESULT" => HoleValue::Result,
            "_JIT_OFFSET" => HoleValue::Offset,
            "_JIT_CONTINUE" => HoleValue::Continue,
            "_JIT_TARGET" => HoleValue::Target,
            "_JIT_FRAME_SIZE" => HoleValue::FrameSize,
            "_JIT_INDEX" => HoleValue::Index,
            "_JIT_COUNT" => HoleValue::Count,
            "_JIT_CALLEE" => HoleValue::Callee,
            "_JIT_IMPORT_HELPER" => HoleValue::ImportHelper,
            "_JIT_GROW_HELPER" => HoleValue::GrowHelper,
            "_JIT_TABLE" => HoleValue::Table,
            _ => return None,
        })
    }

    /// True for code the stencil jumps to.
    pub fn is_code(self) -> bool {
        matches!(self, HoleValue::Continue | HoleValue::Target)
    }

    /// True for a slot near the code whose contents are a 64-bit address.
    pub fn is_slot(self) -> bool {
        matches!(
            self,
            HoleValue::Callee | HoleValue::ImportHelper | HoleValue::GrowHelper | HoleValue::Table
        )
    }

    /// True for a slot holding code the stencil calls.
    pub fn is_called(self) -> bool {
        self.is_slot() && self != HoleValue::Table
    }
}
