//! What every generated stencil uses: the holes and their accessors.
//!
//! A hole is an extern symbol whose *address* is the value the JIT patches in. Compiled
//! with `-C relocation-model=static -C code-model=small`, rustc turns a frame slot at a
//! hole's offset into a `R_X86_64_32S` displacement (`mov 0x0(%rdi),%rax`) and an
//! immediate into a `R_X86_64_32` (`mov $0x0,%eax`); a tail call to a continuation
//! becomes `jmp rel32` / `jcc rel32` (`R_X86_64_PLT32`). Reading the *value* of an
//! extern static (a callee, a helper, a jump table) becomes a RIP-relative load or
//! `call *0x0(%rip)` (`R_X86_64_PC32`) from a slot the runtime places near the code.

#![allow(dead_code)]

use crate::abi::{Callee, Ctx, GrowHelper, ImportHelper, StencilFn};

extern "C" {
    /// Operand 0, 1, 2, 3: a frame-slot offset or a 32-bit immediate, per the stencil's kinds.
    pub static _JIT_OPERAND0: u8;
    pub static _JIT_OPERAND1: u8;
    pub static _JIT_OPERAND2: u8;
    pub static _JIT_OPERAND3: u8;
    /// The frame-slot offset of the result.
    pub static _JIT_RESULT: u8;
    /// The unsigned 32-bit offset of a memory access.
    pub static _JIT_OFFSET: u8;
    /// What runs next: the following stencil, or a jump's target.
    pub fn _JIT_CONTINUE(frame: *mut u8, mem: *mut u8, ctx: *mut Ctx) -> u64;
    /// A conditional branch's taken target.
    pub fn _JIT_TARGET(frame: *mut u8, mem: *mut u8, ctx: *mut Ctx) -> u64;
    /// The caller's frame size: where a callee's frame, or an import's arguments, start.
    pub static _JIT_FRAME_SIZE: u8;
    /// An import's index, for the import helper.
    pub static _JIT_INDEX: u8;
    /// The number of targets of a `br_table`, its default not counted.
    pub static _JIT_COUNT: u8;

    // The holes below are 8- or 16-byte slots the runtime places in the code region and
    // fills in: their *contents* are 64-bit addresses, read RIP-relative (`R_X86_64_PC32`),
    // so nothing assumes where code memory lands.

    /// The JIT function a `call` enters.
    pub static _JIT_CALLEE: Callee;
    /// The runtime's helper for calls of imports.
    pub static _JIT_IMPORT_HELPER: ImportHelper;
    /// The runtime's helper for `memory.grow`.
    pub static _JIT_GROW_HELPER: GrowHelper;
    /// The address of a `br_table`'s jump table: its targets, then its default.
    pub static _JIT_TABLE: *const StencilFn;
}

/// The value of a hole: its symbol's address.
#[inline(always)]
pub fn hole(h: *const u8) -> usize {
    h as usize
}

/// The 8-byte frame slot at the hole's offset.
#[inline(always)]
pub unsafe fn slot(frame: *mut u8, h: *const u8) -> *mut u64 {
    frame.add(hole(h)).cast()
}

/// An `i32` operand from a slot (the low 32 bits).
#[inline(always)]
pub unsafe fn get32(frame: *mut u8, h: *const u8) -> u32 {
    *slot(frame, h) as u32
}

/// An `i64` operand from a slot.
#[inline(always)]
pub unsafe fn get64(frame: *mut u8, h: *const u8) -> u64 {
    *slot(frame, h)
}

/// A 32-bit immediate as an `i32`.
#[inline(always)]
pub fn imm32(h: *const u8) -> u32 {
    hole(h) as u32
}

/// A 32-bit immediate sign-extended to an `i64`.
#[inline(always)]
pub fn imm64(h: *const u8) -> u64 {
    hole(h) as u32 as i32 as i64 as u64
}

/// Stores a result; an `i32` is kept zero-extended in its slot.
#[inline(always)]
pub unsafe fn put(frame: *mut u8, h: *const u8, v: u64) {
    *slot(frame, h) = v;
}

/// Reads `n` (1, 2, 4, 8) little-endian bytes at `p`, zero-extended.
#[inline(always)]
pub unsafe fn read_n(p: *const u8, n: u32) -> u64 {
    match n {
        1 => *p as u64,
        2 => u16::from_le(core::ptr::read_unaligned(p.cast::<u16>())) as u64,
        4 => u32::from_le(core::ptr::read_unaligned(p.cast::<u32>())) as u64,
        _ => u64::from_le(core::ptr::read_unaligned(p.cast::<u64>())),
    }
}

/// Writes the low `n` (1, 2, 4, 8) bytes of `v` at `p`, little-endian.
#[inline(always)]
pub unsafe fn write_n(p: *mut u8, n: u32, v: u64) {
    match n {
        1 => *p = v as u8,
        2 => core::ptr::write_unaligned(p.cast::<u16>(), (v as u16).to_le()),
        4 => core::ptr::write_unaligned(p.cast::<u32>(), (v as u32).to_le()),
        _ => core::ptr::write_unaligned(p.cast::<u64>(), v.to_le()),
    }
}
