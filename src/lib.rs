//! egjit: a copy-and-patch JIT back end whose instruction selection is done by an e-graph.
//!
//! A language runtime hands egjit a function in its IR ([`ir`], specified by IR.md) and
//! gets native x86-64 code back. Today the crate has the IR (text format, builder,
//! verifier), the reference interpreter (the oracle every other engine is checked
//! against), the stencil library ([`stencil`]) with executable memory ([`runtime`]),
//! e-graph selection ([`select`]), emission ([`emit`]) and the JIT ([`Jit`]).
//!
//! # Examples
//!
//! ```
//! use egjit::{Config, Imports, Instance, Module, Value};
//!
//! let src = "
//! func @add(i64, i64) -> i64 {
//! entry(v0: i64, v1: i64):
//!     v2 = iadd.i64 v0, v1
//!     return v2
//! }";
//! let module = Module::from_text(src, "add.egir")?;
//! let mut instance = Instance::new(&module, Imports::new(), &Config::default())?;
//! let results = instance.call("add", &[Value::I64(40), Value::I64(2)])?;
//! assert_eq!(results, vec![Value::I64(42)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
pub mod emit;
mod error;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod runtime;
pub mod select;
pub mod stencil;
pub mod typed;
mod value;

/// The semantics of every operation, shared with the stencils.
#[path = "../stencils/semantics.rs"]
#[doc(hidden)]
pub mod semantics;
mod small;

pub use config::Config;
pub use error::{Error, ErrorKind};
pub use interp::{CallError, Caller, HostFn, Imports, Instance};
pub use ir::builder::{FunctionBuilder, ModuleBuilder};
pub use ir::{Module, Type};
pub use jit::{CompiledModule, Jit, JitInstance, TypedFunc};
pub use value::{Trap, Value};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
