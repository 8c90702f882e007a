//! The ABI between stencils and the runtime, shared by both (this file is `no_std` and
//! included by the stencil crate and by egjit).
//!
//! Every stencil is `unsafe extern "C" fn(frame, mem, ctx) -> u64` (SysV: `rdi`, `rsi`,
//! `rdx`), so that rustc keeps the three in place across the tail calls between stencils;
//! `rcx`, `r8` and `r9` stay free for values passed through registers by later variants.
//! A stencil returns only to end the function: 0 after `return`, a
//! [`crate::semantics::TrapCode`] after a trap. The first stencil of a function is
//! entered by a `call` with the stack aligned as SysV requires, and every stencil leaves
//! the stack as it found it, so a `ret` anywhere returns to that caller.
//!
//! Calls. A JIT function's frame is a run of 8-byte slots; a callee's frame starts
//! right after its caller's (at `frame + caller frame size`). The caller copies the
//! arguments into the callee's slots 0, 1, …, the `call` stencil enters the callee
//! through a [`Callee`] descriptor, and the callee's `return` leaves the results in its
//! slots 0, 1, … for the caller to copy out. Imports take their arguments and give their
//! results through the same area, by an [`ImportHelper`]. After any call the stencil
//! reloads the memory base from [`Ctx::mem_base`]: the callee may have grown memory.

use core::ffi::c_void;

/// The runtime context a running function sees.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// Size of linear memory in bytes.
    pub mem_size: u64,
    /// Nested calls of JIT functions now running (the exported one counts as 1).
    pub depth: u64,
    /// The most nested calls allowed.
    pub max_depth: u64,
    /// One past the last byte of the frame stack.
    pub frame_end: u64,
    /// The base of linear memory: what the stencils' `mem` argument is, reloaded from
    /// here after a call or `memory.grow`.
    pub mem_base: *mut u8,
    /// The runtime's own state, for the helpers; stencils never read it.
    pub host: *mut c_void,
}

impl Default for Ctx {
    fn default() -> Ctx {
        Ctx {
            mem_size: 0,
            depth: 0,
            max_depth: 0,
            frame_end: 0,
            mem_base: core::ptr::null_mut(),
            host: core::ptr::null_mut(),
        }
    }
}

/// The signature every stencil has.
pub type StencilFn = unsafe extern "C" fn(frame: *mut u8, mem: *mut u8, ctx: *mut Ctx) -> u64;

/// How a `call` stencil reaches a JIT function: the runtime places one in the caller's
/// code region (the stencil reads it RIP-relative) and fills it in before the code is
/// made executable.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Callee {
    /// The callee's first stencil.
    pub entry: StencilFn,
    /// The bytes of frame the callee needs; the call traps with `call stack exhausted`
    /// if they pass [`Ctx::frame_end`].
    pub frame_size: u64,
}

/// Calls import `index` with its arguments in `args[0..]` and writes its results over
/// them; returns 0, or the trap code to end the function with (a host error).
pub type ImportHelper = unsafe extern "C" fn(ctx: *mut Ctx, args: *mut u64, index: u64) -> u64;

/// `memory.grow` by `delta` pages: returns the old size in pages, or `u64::MAX` (-1)
/// when memory cannot grow; updates [`Ctx::mem_size`] and [`Ctx::mem_base`].
pub type GrowHelper = unsafe extern "C" fn(ctx: *mut Ctx, delta: u64) -> u64;
