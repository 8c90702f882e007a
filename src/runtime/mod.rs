//! The runtime: executable memory, and (next) frames, calls and traps.

mod code;

pub use code::{CodeBuffer, CodePool, ExecutableCode};
