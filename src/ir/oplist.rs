//! The one list of IR operations.
//!
//! Every part of egjit that needs to know the operations (the parser, the printer, the
//! verifier, the interpreter, and the stencil generator and the e-graph language) reads
//! this table instead of keeping a list of its own. The file is self-contained (no
//! `crate::` paths) so that `build.rs` can `include!` it too.
//!
//! Each line gives: the `Opcode` variant, the mnemonic without its type suffix, which
//! type suffixes it takes, operand and result types (in terms of the suffix type `T`),
//! its immediate, and its effects.

/// Which type suffixes an operation's mnemonic takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suffix {
    /// `.i32` or `.i64`: the operation is polymorphic in `T`.
    Any,
    /// Only `.i32` (e.g. `ireduce.i32`).
    I32,
    /// Only `.i64` (e.g. `sextend.i64`, `load32_s.i64`).
    I64,
    /// No suffix at all (`memory.size`, `memory.grow`, `call`).
    None,
}

/// The type of one operand or result, relative to the suffix type `T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// The suffix type.
    T,
    /// Always `i32` (conditions, addresses, booleans).
    I32,
    /// Always `i64`.
    I64,
}

/// The immediate an operation carries after its value operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imm {
    /// No immediate.
    None,
    /// An integer literal taken modulo 2^bits(T) (`iconst.T k`).
    Int,
    /// An optional unsigned 32-bit memory offset (`load.T addr[, off]`), default 0.
    Offset,
}

/// May trap (division, memory access, call).
pub const MAY_TRAP: u8 = 1;
/// Reads linear memory or its size.
pub const READS_MEMORY: u8 = 2;
/// Writes linear memory or changes its size.
pub const WRITES_MEMORY: u8 = 4;
/// A call: operands and results come from the callee's signature, not from this table.
pub const IS_CALL: u8 = 8;
/// Runs through a runtime helper (host calls, growing memory) rather than a stencil alone.
pub const NEEDS_HELPER: u8 = 16;
/// No effect at all: the operation may float, be duplicated or be removed.
pub const PURE: u8 = 0;

/// What the table says about one operation.
#[derive(Clone, Copy, Debug)]
pub struct OpInfo {
    /// The opcode this entry describes.
    pub opcode: Opcode,
    /// The mnemonic without its type suffix, e.g. `iadd`, `icmp.slt`, `load8_s`.
    pub name: &'static str,
    /// The type suffixes it takes.
    pub suffix: Suffix,
    /// Operand types, in order.
    pub params: &'static [Operand],
    /// Result types, in order.
    pub results: &'static [Operand],
    /// The immediate that follows the operands.
    pub imm: Imm,
    /// Bytes a memory access touches; 0 for the full width of `T` (or no access).
    pub access_bytes: u8,
    /// `MAY_TRAP`, `READS_MEMORY`, `WRITES_MEMORY`, `IS_CALL`, `NEEDS_HELPER`, or `PURE`.
    pub flags: u8,
}

macro_rules! define_ops {
    ($( $variant:ident = $name:literal $suffix:ident ( $($p:ident),* ) -> ( $($r:ident),* )
        $imm:ident $bytes:literal $flags:expr ; )*) => {
        /// An IR operation, without its type. See [`OPS`] for what each one is.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Opcode { $( $variant, )* }

        /// The operation table, indexed by `Opcode as usize`.
        pub static OPS: &[OpInfo] = &[ $( OpInfo {
            opcode: Opcode::$variant,
            name: $name,
            suffix: Suffix::$suffix,
            params: &[ $( Operand::$p ),* ],
            results: &[ $( Operand::$r ),* ],
            imm: Imm::$imm,
            access_bytes: $bytes,
            flags: $flags,
        }, )* ];

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &'static [Opcode] = &[ $( Opcode::$variant, )* ];

            /// The mnemonic (without type suffix) to opcode.
            pub fn from_name(name: &str) -> Option<Opcode> {
                match name {
                    $( $name => Some(Opcode::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

define_ops! {
    Iconst = "iconst" Any () -> (T) Int 0 PURE;
    Iadd = "iadd" Any (T, T) -> (T) None 0 PURE;
    Isub = "isub" Any (T, T) -> (T) None 0 PURE;
    Imul = "imul" Any (T, T) -> (T) None 0 PURE;
    Band = "band" Any (T, T) -> (T) None 0 PURE;
    Bor = "bor" Any (T, T) -> (T) None 0 PURE;
    Bxor = "bxor" Any (T, T) -> (T) None 0 PURE;
    Ishl = "ishl" Any (T, T) -> (T) None 0 PURE;
    Ushr = "ushr" Any (T, T) -> (T) None 0 PURE;
    Sshr = "sshr" Any (T, T) -> (T) None 0 PURE;
    Rotl = "rotl" Any (T, T) -> (T) None 0 PURE;
    Rotr = "rotr" Any (T, T) -> (T) None 0 PURE;
    Sdiv = "sdiv" Any (T, T) -> (T) None 0 MAY_TRAP;
    Udiv = "udiv" Any (T, T) -> (T) None 0 MAY_TRAP;
    Srem = "srem" Any (T, T) -> (T) None 0 MAY_TRAP;
    Urem = "urem" Any (T, T) -> (T) None 0 MAY_TRAP;
    Clz = "clz" Any (T) -> (T) None 0 PURE;
    Ctz = "ctz" Any (T) -> (T) None 0 PURE;
    Popcnt = "popcnt" Any (T) -> (T) None 0 PURE;
    Eqz = "eqz" Any (T) -> (I32) None 0 PURE;
    IcmpEq = "icmp.eq" Any (T, T) -> (I32) None 0 PURE;
    IcmpNe = "icmp.ne" Any (T, T) -> (I32) None 0 PURE;
    IcmpSlt = "icmp.slt" Any (T, T) -> (I32) None 0 PURE;
    IcmpSle = "icmp.sle" Any (T, T) -> (I32) None 0 PURE;
    IcmpSgt = "icmp.sgt" Any (T, T) -> (I32) None 0 PURE;
    IcmpSge = "icmp.sge" Any (T, T) -> (I32) None 0 PURE;
    IcmpUlt = "icmp.ult" Any (T, T) -> (I32) None 0 PURE;
    IcmpUle = "icmp.ule" Any (T, T) -> (I32) None 0 PURE;
    IcmpUgt = "icmp.ugt" Any (T, T) -> (I32) None 0 PURE;
    IcmpUge = "icmp.uge" Any (T, T) -> (I32) None 0 PURE;
    Select = "select" Any (I32, T, T) -> (T) None 0 PURE;
    Sextend = "sextend" I64 (I32) -> (I64) None 0 PURE;
    Uextend = "uextend" I64 (I32) -> (I64) None 0 PURE;
    Ireduce = "ireduce" I32 (I64) -> (I32) None 0 PURE;
    Sext8 = "sext8" Any (T) -> (T) None 0 PURE;
    Sext16 = "sext16" Any (T) -> (T) None 0 PURE;
    Sext32 = "sext32" I64 (T) -> (T) None 0 PURE;
    Load = "load" Any (I32) -> (T) Offset 0 MAY_TRAP | READS_MEMORY;
    Load8S = "load8_s" Any (I32) -> (T) Offset 1 MAY_TRAP | READS_MEMORY;
    Load8U = "load8_u" Any (I32) -> (T) Offset 1 MAY_TRAP | READS_MEMORY;
    Load16S = "load16_s" Any (I32) -> (T) Offset 2 MAY_TRAP | READS_MEMORY;
    Load16U = "load16_u" Any (I32) -> (T) Offset 2 MAY_TRAP | READS_MEMORY;
    Load32S = "load32_s" I64 (I32) -> (T) Offset 4 MAY_TRAP | READS_MEMORY;
    Load32U = "load32_u" I64 (I32) -> (T) Offset 4 MAY_TRAP | READS_MEMORY;
    Store = "store" Any (I32, T) -> () Offset 0 MAY_TRAP | WRITES_MEMORY;
    Store8 = "store8" Any (I32, T) -> () Offset 1 MAY_TRAP | WRITES_MEMORY;
    Store16 = "store16" Any (I32, T) -> () Offset 2 MAY_TRAP | WRITES_MEMORY;
    Store32 = "store32" I64 (I32, T) -> () Offset 4 MAY_TRAP | WRITES_MEMORY;
    MemorySize = "memory.size" None () -> (I32) None 0 READS_MEMORY;
    MemoryGrow = "memory.grow" None (I32) -> (I32) None 0 READS_MEMORY | WRITES_MEMORY | NEEDS_HELPER;
    Call = "call" None () -> () None 0 IS_CALL | MAY_TRAP | READS_MEMORY | WRITES_MEMORY | NEEDS_HELPER;
}

impl Opcode {
    /// This operation's table entry.
    pub fn info(self) -> &'static OpInfo {
        &OPS[self as usize]
    }

    /// The mnemonic without its type suffix.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// True when the operation has no effect and cannot trap.
    pub fn is_pure(self) -> bool {
        self.info().flags == PURE
    }

    /// True when the operation may trap.
    pub fn may_trap(self) -> bool {
        self.info().flags & MAY_TRAP != 0
    }

    /// True when the operation runs through a runtime helper.
    pub fn needs_helper(self) -> bool {
        self.info().flags & NEEDS_HELPER != 0
    }

    /// True when the operation reads or writes linear memory (or its size).
    pub fn touches_memory(self) -> bool {
        self.info().flags & (READS_MEMORY | WRITES_MEMORY) != 0
    }
}
