//! Constant folding as an egg [`Analysis`]: every e-class knows its type and, when all
//! its inputs are constants, its value, computed with exactly the IR's semantics (the
//! interpreter's evaluator). A class with a value gets the constant node, so extraction
//! can use it as an immediate. Nothing that may trap is folded.

use egg::{Analysis, DidMerge, EGraph, Id};

use super::lang::{Node, NodeOp};
use crate::interp::eval;
use crate::ir::Type;

/// What the analysis knows of an e-class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Data {
    /// The type of the class's value (`None` for an effect without one).
    pub ty: Option<Type>,
    /// The class's value as slot bits, when it is a constant.
    pub konst: Option<u64>,
}

/// The constant-folding analysis.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fold;

/// The selection e-graph.
pub type Graph = EGraph<Node, Fold>;

/// What folding knows of a node, given the constant (if any) of each operand's class.
pub fn fold(node: &Node, konst: impl Fn(Id) -> Option<u64>) -> Data {
    let ty = node.op.result_type();
    let konst = match node.op {
        NodeOp::Const(_, bits) => Some(bits),
        NodeOp::Pure(op, t) => {
            let mut args = [0u64; 3];
            let mut all = node.args.len() <= args.len();
            for (slot, &a) in args.iter_mut().zip(&node.args) {
                match konst(a) {
                    Some(k) => *slot = k,
                    None => all = false,
                }
            }
            // Pure operations cannot trap; `ok()` keeps that true if one ever did.
            all.then(|| eval(op, t, &args[..node.args.len()]))
                .flatten()
                .and_then(Result::ok)
        }
        _ => None,
    };
    Data { ty, konst }
}

impl Analysis<Node> for Fold {
    type Data = Data;

    fn make(egraph: &mut Graph, enode: &Node) -> Data {
        fold(enode, |a| egraph[a].data.konst)
    }

    fn merge(&mut self, a: &mut Data, b: Data) -> DidMerge {
        // Rules are checked to keep types, so merged classes agree on the type; two
        // constants in one class are equal by the same argument.
        let before = *a;
        if a.ty.is_none() {
            a.ty = b.ty;
        }
        if a.konst.is_none() {
            a.konst = b.konst;
        }
        DidMerge(*a != before, *a != b)
    }

    fn modify(egraph: &mut Graph, id: Id) {
        let data = egraph[id].data;
        if let (Some(bits), Some(ty)) = (data.konst, data.ty) {
            let c = egraph.add(Node::constant(ty, bits));
            egraph.union(id, c);
        }
    }
}
