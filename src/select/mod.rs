//! Instruction selection: each block's operations in an `egg` e-graph, rewritten by
//! rules, then covered by stencils at the least cost.

pub mod fold;
pub mod lang;
pub mod rules;

pub use fold::{Data, Fold, Graph};
pub use lang::{Node, NodeOp, Term};
