//! The ABI between stencils and the runtime, shared by both (this file is `no_std` and
//! included by the stencil crate and by egjit).
//!
//! Every stencil is `unsafe extern "C" fn(frame, mem, ctx) -> u64` (SysV: `rdi`, `rsi`,
//! `rdx`), so that rustc keeps the three in place across the tail calls between stencils;
//! `rcx`, `r8` and `r9` stay free for values passed through registers by later variants.
//! A stencil returns to the entry trampoline only to end the call: 0 after `return`, a
//! [`crate::semantics::TrapCode`] after a trap.

/// The runtime context a running function sees.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Ctx {
    /// Size of linear memory in bytes.
    pub mem_size: u64,
    /// Nested calls of JIT functions now running.
    pub depth: u64,
    /// The most nested calls allowed.
    pub max_depth: u64,
    /// One past the last byte of the frame stack.
    pub frame_end: u64,
}

/// The signature every stencil has.
pub type StencilFn = unsafe extern "C" fn(frame: *mut u8, mem: *mut u8, ctx: *mut Ctx) -> u64;
