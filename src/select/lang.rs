//! The e-graph language of selection, made from the IR's operation table: one node kind
//! per operation and type, constants, slot leaves, and the block's effects.
//!
//! Text forms (egg patterns, rules, covers): `iadd.i32`, `icmp.slt.i64`, a constant
//! `5:i32` or `-1:i64`, a slot `v7:i64`, effects by their mnemonic (`load.i32`,
//! `store.i64`, `memory.grow`, `call`, `brif`, `jump`, `br_table`, `return`, `trap`).

use std::fmt;

use egg::{FromOp, Id, Language};
use smallvec::SmallVec;

use crate::small::small;

use crate::ir::oplist::Suffix;
use crate::ir::{Opcode, Type};

/// A terminator, as an effect node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    Jump,
    Brif,
    BrTable,
    Return,
    Trap,
}

impl Term {
    const ALL: [Term; 5] = [
        Term::Jump,
        Term::Brif,
        Term::BrTable,
        Term::Return,
        Term::Trap,
    ];

    /// The terminator's mnemonic.
    pub fn name(self) -> &'static str {
        match self {
            Term::Jump => "jump",
            Term::Brif => "brif",
            Term::BrTable => "br_table",
            Term::Return => "return",
            Term::Trap => "trap",
        }
    }
}

/// What a node is, without its operands.
///
/// Field order matters: nodes sort by kind, then opcode and type, so the nodes a
/// pattern can match (same [`Language::discriminant`]) are adjacent, as egg's e-class
/// search requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeOp {
    /// A pure operation (and a division proven not to trap): these float and merge.
    Pure(Opcode, Type),
    /// An integer constant of a type; its bits as a slot holds them (an `i32` zero-
    /// extended).
    Const(Type, u64),
    /// A value the block reads from its frame slot: a block parameter, or a value of
    /// another block or of a call.
    Slot(Type, u32),
    /// An operation with an effect (memory, a call, a trap), at position `seq` of the
    /// block's effects; `imm` is its offset or callee. Effects never merge: the position
    /// keeps two alike apart.
    Effect {
        op: Opcode,
        ty: Option<Type>,
        imm: u64,
        seq: u32,
    },
    /// The block's terminator (always the last effect).
    Term(Term, u32),
}

impl NodeOp {
    /// The node op with what patterns do not match on (an effect's position and
    /// immediate) cleared.
    fn key(self) -> NodeOp {
        match self {
            NodeOp::Effect { op, ty, .. } => NodeOp::Effect {
                op,
                ty,
                imm: 0,
                seq: 0,
            },
            NodeOp::Term(t, _) => NodeOp::Term(t, 0),
            other => other,
        }
    }

    /// The number of kinds that [`NodeOp::kind_index`] numbers.
    pub fn kind_count() -> usize {
        6 * crate::ir::OPS.len() + Term::ALL.len()
    }

    /// A dense number, below [`NodeOp::kind_count`], for an operation or terminator by
    /// kind, opcode and type (position and immediate ignored); `None` for constants and
    /// slots.
    pub fn kind_index(self) -> Option<usize> {
        let ty = |t: Option<Type>| match t {
            None => 0,
            Some(Type::I32) => 1,
            Some(Type::I64) => 2,
        };
        let n = 3 * crate::ir::OPS.len();
        match self {
            NodeOp::Pure(op, t) => Some(3 * op as usize + ty(Some(t))),
            NodeOp::Effect { op, ty: t, .. } => Some(n + 3 * op as usize + ty(t)),
            NodeOp::Term(t, _) => Some(2 * n + t as usize),
            NodeOp::Const(..) | NodeOp::Slot(..) => None,
        }
    }

    /// The type of the value the node computes, if it computes one.
    pub fn result_type(self) -> Option<Type> {
        match self {
            NodeOp::Pure(op, ty) => Some(op.info().results[0].resolve(ty)),
            NodeOp::Const(ty, _) | NodeOp::Slot(ty, _) => Some(ty),
            NodeOp::Effect { op, ty, .. } => op
                .info()
                .results
                .first()
                .map(|r| r.resolve(ty.unwrap_or(Type::I32))),
            NodeOp::Term(..) => None,
        }
    }
}

/// A set of node kinds ([`NodeOp`]s with what patterns do not match on cleared, and a
/// constant's value too), as bits: the kinds a graph holds, or those a pattern needs.
/// Kinds that share a bit only make the set larger, never smaller, so a test of
/// [`OpSet::covers`] may say yes wrongly but never no.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpSet([u64; 8]);

impl OpSet {
    /// Every kind: what a pattern that cannot be read needs.
    pub const ALL: OpSet = OpSet([u64::MAX; 8]);

    fn bit(op: NodeOp) -> usize {
        let i = match (op.kind_index(), op) {
            (Some(k), _) => k,
            (None, NodeOp::Const(t, _)) => NodeOp::kind_count() + t as usize,
            (None, _) => NodeOp::kind_count() + 2,
        };
        i % Self::KIND_BITS
    }

    /// The bit of a constant's value (of a type): a pattern that names a constant needs
    /// it to be in the graph.
    fn value_bit(ty: Type, bits: u64) -> usize {
        let h = (bits ^ (ty as u64) << 63).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Self::KIND_BITS + (h >> 58) as usize
    }

    fn set(&mut self, b: usize) {
        self.0[b / 64] |= 1 << (b % 64);
    }

    pub fn insert(&mut self, op: NodeOp) {
        self.set(Self::bit(op));
        if let NodeOp::Const(ty, bits) = op {
            self.set(Self::value_bit(ty, bits));
        }
    }

    /// The bit of kind `op` (a constant's kind bit, not its value bit).
    pub fn kind_bit(op: NodeOp) -> usize {
        Self::bit(op)
    }

    /// The number of kind bits: [`OpSet::kind_bit`] is below it.
    pub const KIND_BITS: usize = 448;

    /// The kind bits that are set, in order.
    pub fn kind_bits(&self) -> impl Iterator<Item = usize> + '_ {
        (0..Self::KIND_BITS / 64).flat_map(move |w| {
            let mut word = self.0[w];
            std::iter::from_fn(move || {
                (word != 0).then(|| {
                    let b = word.trailing_zeros() as usize;
                    word &= word - 1;
                    64 * w + b
                })
            })
        })
    }

    /// True when every kind of `need` is in the set.
    pub fn covers(&self, need: &OpSet) -> bool {
        self.0.iter().zip(&need.0).all(|(&have, &n)| have & n == n)
    }

    /// The kinds of the nodes of a pattern: what a graph must hold for it to match.
    /// Variables need nothing.
    pub fn of_pattern(ast: &egg::PatternAst<Node>) -> OpSet {
        ast.as_ref()
            .iter()
            .filter_map(|n| match n {
                egg::ENodeOrVar::ENode(n) => Some(n.op),
                egg::ENodeOrVar::Var(_) => None,
            })
            .collect()
    }

    /// The kinds of the nodes of an e-graph.
    pub fn of_graph<N: egg::Analysis<Node>>(g: &egg::EGraph<Node, N>) -> OpSet {
        g.classes().flat_map(|c| c.iter()).map(|n| n.op).collect()
    }
}

impl FromIterator<NodeOp> for OpSet {
    fn from_iter<I: IntoIterator<Item = NodeOp>>(ops: I) -> OpSet {
        let mut s = OpSet::default();
        for op in ops {
            s.insert(op);
        }
        s
    }
}

/// A node of the selection e-graph.
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    pub op: NodeOp,
    pub args: SmallVec<[Id; 3]>,
}

/// Copies the operands as a slice: `SmallVec`'s own `clone` goes through its general
/// `extend` (see [`push_all`](crate::small::push_all)).
impl Clone for Node {
    #[inline]
    fn clone(&self) -> Node {
        Node {
            op: self.op,
            args: SmallVec::from_slice(&self.args),
        }
    }

    #[inline]
    fn clone_from(&mut self, source: &Node) {
        self.op = source.op;
        self.args.clear();
        self.args.extend_from_slice(&source.args);
    }
}

impl Node {
    #[inline]
    pub fn new(op: NodeOp, args: impl IntoIterator<Item = Id>) -> Node {
        Node {
            op,
            args: ids(args),
        }
    }

    /// A constant: `bits` truncated to the type.
    pub fn constant(ty: Type, bits: u64) -> Node {
        Node::new(NodeOp::Const(ty, truncate(ty, bits)), [])
    }
}

/// Node operands from `args` (see [`small`]).
#[inline]
pub fn ids(args: impl IntoIterator<Item = Id>) -> SmallVec<[Id; 3]> {
    small(args)
}

/// `bits` as a slot of type `ty` holds them.
pub fn truncate(ty: Type, bits: u64) -> u64 {
    match ty {
        Type::I32 => bits as u32 as u64,
        Type::I64 => bits,
    }
}

impl Language for Node {
    type Discriminant = NodeOp;

    fn discriminant(&self) -> NodeOp {
        self.op.key()
    }

    #[inline]
    fn matches(&self, other: &Self) -> bool {
        // `key` equality, without making the keys.
        let ops = match (self.op, other.op) {
            (NodeOp::Effect { op: a, ty: s, .. }, NodeOp::Effect { op: b, ty: t, .. }) => {
                a == b && s == t
            }
            (NodeOp::Term(a, _), NodeOp::Term(b, _)) => a == b,
            (a, b) => a == b,
        };
        ops && self.args.len() == other.args.len()
    }

    fn children(&self) -> &[Id] {
        &self.args
    }

    fn children_mut(&mut self) -> &mut [Id] {
        &mut self.args
    }
}

impl fmt::Display for NodeOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NodeOp::Pure(op, ty) => write!(f, "{}.{ty}", op.name()),
            NodeOp::Const(ty, bits) => write!(f, "{}:{ty}", ty.signed(bits)),
            NodeOp::Slot(ty, v) => write!(f, "v{v}:{ty}"),
            NodeOp::Effect {
                op, ty: Some(ty), ..
            } => write!(f, "{}.{ty}", op.name()),
            NodeOp::Effect { op, ty: None, .. } => f.write_str(op.name()),
            NodeOp::Term(t, _) => f.write_str(t.name()),
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.op.fmt(f)
    }
}

/// Why a node's text did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeError(pub String);

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NodeError {}

/// `name.ty` split at the last dot when what follows is a type.
fn split_type(s: &str) -> (&str, Option<Type>) {
    match s.rsplit_once('.') {
        Some((name, t)) => match Type::from_name(t) {
            Some(ty) => (name, Some(ty)),
            None => (s, None),
        },
        None => (s, None),
    }
}

/// Parses an integer as the IR does: decimal, optionally negative, or `0x` hex.
fn parse_int(s: &str) -> Option<i128> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let v = match digits.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16).ok()?,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<i128>().ok()?
        }
        None => return None,
    };
    Some(if neg { -v } else { v })
}

/// A typed integer `N:ty` as slot bits, if in range for the type (signed or unsigned).
pub fn parse_typed_int(s: &str) -> Option<(Type, u64)> {
    let (n, t) = s.rsplit_once(':')?;
    let ty = Type::from_name(t)?;
    let v = parse_int(n)?;
    let bits = ty.bits();
    let lo = -(1i128 << (bits - 1));
    let hi = (1i128 << bits) - 1;
    (lo..=hi).contains(&v).then(|| (ty, truncate(ty, v as u64)))
}

impl FromOp for Node {
    type Error = NodeError;

    fn from_op(op: &str, children: Vec<Id>) -> Result<Node, NodeError> {
        let arity = |n: usize| -> Result<(), NodeError> {
            if children.len() == n {
                Ok(())
            } else {
                Err(NodeError(format!(
                    "`{op}` takes {n} operand{}, not {}",
                    if n == 1 { "" } else { "s" },
                    children.len()
                )))
            }
        };
        if let Some(t) = Term::ALL.iter().find(|t| t.name() == op) {
            return Ok(Node::new(NodeOp::Term(*t, 0), children));
        }
        if let Some((ty, bits)) = parse_typed_int(op) {
            arity(0)?;
            return Ok(Node::new(NodeOp::Const(ty, bits), []));
        }
        if let Some(rest) = op.strip_prefix('v') {
            if let Some((n, t)) = rest.split_once(':') {
                if let (Ok(n), Some(ty)) = (n.parse::<u32>(), Type::from_name(t)) {
                    arity(0)?;
                    return Ok(Node::new(NodeOp::Slot(ty, n), []));
                }
            }
        }
        let (name, ty) = split_type(op);
        let Some(opcode) = Opcode::from_name(name) else {
            return Err(NodeError(format!("unknown operation `{op}`")));
        };
        let info = opcode.info();
        match ty {
            Some(t) if !info.suffix.allows(t) => {
                return Err(NodeError(format!("`{name}` has no type `{t}`")))
            }
            None if info.suffix != Suffix::None => {
                return Err(NodeError(format!("`{name}` needs a type suffix")))
            }
            _ => {}
        }
        if opcode == Opcode::Iconst {
            return Err(NodeError(format!(
                "`{op}`: write a constant as `N:i32` or `N:i64`"
            )));
        }
        if opcode != Opcode::Call {
            arity(info.params.len())?;
        }
        Ok(if opcode.is_pure() {
            Node::new(NodeOp::Pure(opcode, ty.unwrap_or(Type::I32)), children)
        } else {
            Node::new(
                NodeOp::Effect {
                    op: opcode,
                    ty,
                    imm: 0,
                    seq: 0,
                },
                children,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Node, OpSet};
    use crate::select::Graph;

    fn graph(exprs: &[&str]) -> Graph {
        let mut g = Graph::default();
        for e in exprs {
            g.add_expr(&e.parse().unwrap());
        }
        g.rebuild();
        g
    }

    fn needs(pattern: &str) -> OpSet {
        let p: egg::Pattern<Node> = pattern.parse().unwrap();
        OpSet::of_pattern(&p.ast)
    }

    #[test]
    fn a_pattern_needs_its_operations_and_constants() {
        let add_zero = needs("(iadd.i32 ?a 0:i32)");
        // An add of another constant is not enough; an add of zero is.
        let g = graph(&["(iadd.i32 v1:i32 5:i32)"]);
        assert!(!OpSet::of_graph(&g).covers(&add_zero));
        let g = graph(&["(iadd.i32 v1:i32 5:i32)", "(imul.i32 v2:i32 0:i32)"]);
        assert!(OpSet::of_graph(&g).covers(&add_zero));
        // Zero of the other type, or an add of the other type, is not enough.
        let g = graph(&["(iadd.i32 v1:i32 5:i32)", "(iadd.i64 v2:i64 0:i64)"]);
        assert!(!OpSet::of_graph(&g).covers(&add_zero));
    }

    #[test]
    fn nested_operations_are_needed_too() {
        let need = needs("(brif (icmp.slt.i64 (iadd.i64 ?a ?b) ?c))");
        let g = graph(&["(brif (icmp.slt.i64 v1:i64 v2:i64))"]);
        assert!(!OpSet::of_graph(&g).covers(&need));
        let g = graph(&["(brif (icmp.slt.i64 (iadd.i64 v1:i64 v3:i64) v2:i64))"]);
        assert!(OpSet::of_graph(&g).covers(&need));
        assert!(OpSet::ALL.covers(&need));
        assert!(OpSet::of_graph(&g).covers(&OpSet::default()));
    }

    #[test]
    fn kind_bits_are_the_kinds_inserted_and_no_value_bits() {
        use super::{NodeOp, Term};
        use crate::ir::{Opcode, Type};
        let ops = [
            NodeOp::Pure(Opcode::Iadd, Type::I32),
            NodeOp::Pure(Opcode::Imul, Type::I64),
            NodeOp::Const(Type::I64, 7),
            NodeOp::Term(Term::Return, 3),
        ];
        let set: OpSet = ops.into_iter().collect();
        let mut want: Vec<usize> = ops.into_iter().map(OpSet::kind_bit).collect();
        want.sort_unstable();
        want.dedup();
        assert_eq!(want.len(), 4, "four kinds, four bits");
        assert_eq!(set.kind_bits().collect::<Vec<_>>(), want);
        assert_eq!(OpSet::default().kind_bits().count(), 0);
        assert_eq!(OpSet::ALL.kind_bits().count(), OpSet::KIND_BITS);
    }
}
