//! A block's graph as extraction reads it, and the graph a block starts as.
//!
//! [`Dag`] is a block loaded without rewriting: hash-consed and constant-folded exactly as
//! the e-graph does it (a node whose operands are constants joins its constant's class),
//! its classes numbered in the order they are made. A block that no rule can rewrite is
//! covered straight from it, one whose rewrites only add nodes is rewritten in it
//! ([`Dag::add_to`]), and any other is loaded into an `egg` e-graph and rewritten.
//!
//! [`FlatGraph`] is either, frozen: classes numbered densely from 0, the classes of the
//! block's own values keeping their [`Dag`] numbers (the least one, where rewriting merged
//! some) and the classes rewriting made numbered after them in the e-graph's order; each
//! class's nodes sorted, their operands as class numbers. Extraction reads it by index,
//! with no hashing and no union-find, and the same block gives the same graph whichever
//! way it was made.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use egg::{ENodeOrVar, Id, Language, PatternAst, Var};
use smallvec::SmallVec;

use super::fold::{fold, Data, Graph};
use super::lang::{Node, NodeOp, OpSet};

/// Variables bound to classes, as a pattern's match binds them.
pub type Binds = [(Var, Id)];

/// A fast hash map for small keys.
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<rustc_hash::FxHasher>>;

/// The dense index of a class.
pub fn ix(id: Id) -> usize {
    usize::from(id)
}

/// A block's graph before rewriting.
#[derive(Default)]
pub struct Dag {
    /// Every node in the order it was made, with its class.
    nodes: Vec<(Id, Node)>,
    /// What folding knows of each class.
    data: Vec<Data>,
    memo: FastMap<Node, Id>,
}

impl Dag {
    /// A graph with room for about `nodes` nodes.
    pub fn with_capacity(nodes: usize) -> Dag {
        let mut memo = FastMap::default();
        memo.reserve(nodes);
        Dag {
            nodes: Vec::with_capacity(nodes),
            data: Vec::with_capacity(nodes),
            memo,
        }
    }

    /// The class of `node`: the class of an equal node made before, the class of its
    /// constant when its operands fold to one, or a new class.
    pub fn add(&mut self, node: Node) -> Id {
        if let Some(&c) = self.memo.get(&node) {
            return c;
        }
        let data = fold(&node, |a| self.data[ix(a)].konst);
        let class = match (data.konst, data.ty, node.op) {
            (_, _, NodeOp::Const(..)) | (None, _, _) | (_, None, _) => {
                self.data.push(data);
                Id::from(self.data.len() - 1)
            }
            (Some(bits), Some(ty), _) => self.add(Node::constant(ty, bits)),
        };
        self.memo.insert(node.clone(), class);
        self.nodes.push((class, node));
        class
    }

    /// What folding knows of class `id`.
    pub fn data(&self, id: Id) -> Data {
        self.data[ix(id)]
    }

    /// Adds `node` to class `class`, as the e-graph does when a rule makes it equal to
    /// that class: true when it is new, false when the class has it already; `None`,
    /// changing nothing, when the e-graph would merge two classes instead (the node is
    /// in another class, or it folds to a constant the class is not).
    pub fn add_to(&mut self, class: Id, node: Node) -> Option<bool> {
        if let Some(&c) = self.memo.get(&node) {
            return (c == class).then_some(false);
        }
        let data = fold(&node, |a| self.data[ix(a)].konst);
        if data.konst.is_some() && data.konst != self.data[ix(class)].konst {
            return None;
        }
        self.memo.insert(node.clone(), class);
        self.nodes.push((class, node));
        Some(true)
    }

    /// How far the graph has grown, for [`undo`](Self::undo).
    pub fn mark(&self) -> (usize, usize) {
        (self.nodes.len(), self.data.len())
    }

    /// Forgets every node and class made since `mark`.
    pub fn undo(&mut self, mark: (usize, usize)) {
        for (_, n) in self.nodes.drain(mark.0..) {
            self.memo.remove(&n);
        }
        self.data.truncate(mark.1);
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Empty, keeping its tables' room.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.data.clear();
        self.memo.clear();
    }

    /// The room its tables have, in nodes.
    pub fn capacity(&self) -> usize {
        self.nodes.capacity()
    }

    /// The graph as it stands, frozen.
    pub fn flatten(&self) -> FlatGraph {
        let mut out = FlatGraph::default();
        self.flatten_into(&mut out);
        out
    }

    /// [`Dag::flatten`] into `out`, reusing its tables.
    pub fn flatten_into(&self, out: &mut FlatGraph) {
        let classes = self.data.len();
        // Each class's nodes go together, in class order: count, place, then sort each
        // class's few nodes.
        let start = &mut out.start;
        start.clear();
        start.resize(classes + 1, 0);
        for (c, _) in &self.nodes {
            start[ix(*c) + 1] += 1;
        }
        for c in 0..classes {
            start[c + 1] += start[c];
        }
        let mut next: SmallVec<[u32; 64]> = SmallVec::from_slice(&start[..classes]);
        out.nodes.clear();
        out.nodes
            .resize(self.nodes.len(), Node::constant(crate::ir::Type::I32, 0));
        for (c, n) in &self.nodes {
            let at = &mut next[ix(*c)];
            out.nodes[*at as usize].clone_from(n);
            *at += 1;
        }
        for c in 0..classes {
            let (a, b) = (start[c] as usize, start[c + 1] as usize);
            if b - a > 1 {
                out.nodes[a..b].sort_unstable();
            }
        }
        out.data.clear();
        out.data.extend_from_slice(&self.data);
        out.by_kind.clear();
        out.indexed = false;
    }

    /// The graph loaded into an e-graph, node by node in the order they were made, and
    /// the e-class of each of its classes.
    pub fn to_egraph(&self) -> (Graph, Vec<Id>) {
        let mut g = Graph::default();
        let mut class = vec![None::<Id>; self.data.len()];
        for (c, node) in &self.nodes {
            let mut n = node.clone();
            for a in n.args.iter_mut() {
                // Operands are made before their users.
                *a = class[ix(*a)].unwrap_or(*a);
            }
            let id = g.add(n);
            match class[ix(*c)] {
                Some(other) => {
                    g.union(other, id);
                }
                None => class[ix(*c)] = Some(id),
            }
        }
        g.rebuild();
        let class = class
            .into_iter()
            .map(|c| g.find(c.unwrap_or(Id::from(0))))
            .collect();
        (g, class)
    }
}

/// A class of a [`FlatGraph`].
#[derive(Clone, Copy, Debug)]
pub struct Class<'a> {
    pub id: Id,
    pub nodes: &'a [Node],
    pub data: Data,
}

/// A block's graph, frozen: classes `0..len()`, each with its sorted nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlatGraph {
    nodes: Vec<Node>,
    /// `nodes[start[c]..start[c + 1]]` are class `c`'s nodes.
    start: Vec<u32>,
    data: Vec<Data>,
    /// (kind bit, class) for the kind of every node, sorted, without repeats: where a
    /// pattern rooted at a node of some kind can match. Made by
    /// [`index_kinds`](Self::index_kinds), emptied when the graph is frozen anew.
    by_kind: Vec<(u16, u32)>,
    indexed: bool,
}

impl FlatGraph {
    /// The number of classes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The number of nodes.
    pub fn total_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Every class, in order.
    pub fn ids(&self) -> impl Iterator<Item = Id> {
        (0..self.len()).map(Id::from)
    }

    /// Class `id`.
    pub fn class(&self, id: Id) -> Class<'_> {
        Class {
            id,
            nodes: self.nodes(id),
            data: self.data(id),
        }
    }

    /// Every class, in order.
    pub fn classes(&self) -> impl Iterator<Item = Class<'_>> {
        self.ids().map(|id| self.class(id))
    }

    /// The nodes of class `id`.
    pub fn nodes(&self, id: Id) -> &[Node] {
        &self.nodes[self.start[ix(id)] as usize..self.start[ix(id) + 1] as usize]
    }

    /// What folding knows of class `id`.
    pub fn data(&self, id: Id) -> Data {
        self.data[ix(id)]
    }

    /// Indexes the classes by the kinds of their nodes, which
    /// [`each_match`](Self::each_match) then reads to try a pattern rooted at a node only
    /// at the classes holding its kind.
    pub fn index_kinds(&mut self) {
        self.by_kind.clear();
        for c in 0..self.len() {
            let (a, b) = (self.start[c] as usize, self.start[c + 1] as usize);
            let kinds = self.nodes[a..b]
                .iter()
                .map(|n| OpSet::kind_bit(n.op) as u16);
            self.by_kind.extend(kinds.map(|k| (k, c as u32)));
        }
        self.by_kind.sort_unstable();
        self.by_kind.dedup();
        self.indexed = true;
    }

    /// The classes at which a pattern rooted at a node of kind bit `bit` may match, in
    /// order: by the index where there is one, else every class.
    fn roots(&self, bit: usize) -> impl Iterator<Item = Id> + '_ {
        let bit = bit as u16;
        let (all, indexed) = if self.indexed {
            let from = self.by_kind.partition_point(|&(k, _)| k < bit);
            let to = from + self.by_kind[from..].partition_point(|&(k, _)| k == bit);
            (0..0, &self.by_kind[from..to])
        } else {
            (0..self.len(), &[][..])
        };
        (all.map(Id::from)).chain(indexed.iter().map(|&(_, c)| Id::from(c as usize)))
    }

    /// The kinds of its nodes.
    pub fn kinds(&self) -> OpSet {
        self.nodes.iter().map(|n| n.op).collect()
    }

    /// True when pattern `ast` matches at some class: a node of each pattern node's kind
    /// and operand count, its operands matching in turn, each variable bound to one class
    /// wherever it appears. This is egg's e-matching, on a graph that holds its classes
    /// as the e-graph would.
    pub fn any_match(&self, ast: &PatternAst<Node>) -> bool {
        let mut found = false;
        self.each_match(ast, &mut |_, _| {
            found = true;
            true
        });
        found
    }

    /// Calls `f` with the class and the variables' classes of every match of pattern
    /// `ast` (as [`any_match`](Self::any_match) finds them), class by class, until `f`
    /// returns true.
    pub fn each_match(&self, ast: &PatternAst<Node>, f: &mut dyn FnMut(Id, &Binds) -> bool) {
        let Some(root) = ast.as_ref().len().checked_sub(1) else {
            return;
        };
        let mut todo: SmallVec<[(Id, Id); 16]> = SmallVec::new();
        let mut binds: SmallVec<[(Var, Id); 8]> = SmallVec::new();
        let mut at = |c: Id| {
            todo.push((Id::from(root), c));
            let stop = self.solve(ast, &mut todo, &mut binds, &mut |b| f(c, b));
            todo.clear();
            stop
        };
        match &ast[Id::from(root)] {
            // Only the classes holding a node of the root's kind can match.
            ENodeOrVar::ENode(n) => {
                for c in self.roots(OpSet::kind_bit(n.op)) {
                    if at(c) {
                        return;
                    }
                }
            }
            ENodeOrVar::Var(_) => {
                for c in self.ids() {
                    if at(c) {
                        return;
                    }
                }
            }
        }
    }

    /// Calls `f` with the bindings of every way in which the (pattern node, class) pairs
    /// of `todo` match at once, given the variables bound so far, until `f` returns true;
    /// returns whether it did. Leaves `todo` and `binds` as it found them.
    fn solve(
        &self,
        ast: &PatternAst<Node>,
        todo: &mut SmallVec<[(Id, Id); 16]>,
        binds: &mut SmallVec<[(Var, Id); 8]>,
        f: &mut dyn FnMut(&Binds) -> bool,
    ) -> bool {
        let Some((p, c)) = todo.pop() else {
            return f(binds);
        };
        let stop = match &ast[p] {
            ENodeOrVar::Var(v) => match binds.iter().find(|(x, _)| x == v) {
                Some(&(_, bound)) => bound == c && self.solve(ast, todo, binds, f),
                None => {
                    binds.push((*v, c));
                    let stop = self.solve(ast, todo, binds, f);
                    binds.pop();
                    stop
                }
            },
            ENodeOrVar::ENode(pn) => self.nodes(c).iter().any(|n| {
                if !pn.matches(n) {
                    return false;
                }
                let mark = todo.len();
                for (&p, &c) in pn.args.iter().zip(&n.args) {
                    todo.push((p, c));
                }
                let stop = self.solve(ast, todo, binds, f);
                todo.truncate(mark);
                stop
            }),
        };
        todo.push((p, c));
        stop
    }

    /// A rewritten e-graph, frozen: `first[c]` is the e-class of [`Dag`] class `c`, and
    /// keeps number `c` (the least, where classes merged); the e-graph's other classes
    /// follow in its order. Returns the graph and the number of each e-class, by e-class
    /// id (`u32::MAX` for ids no longer canonical).
    pub fn from_egraph(g: &Graph, first: &[Id]) -> (FlatGraph, Vec<u32>) {
        const NONE: u32 = u32::MAX;
        let ids = g.classes().map(|c| ix(c.id) + 1).max().unwrap_or(0);
        let mut number = vec![NONE; ids];
        let mut order: Vec<Id> = Vec::with_capacity(g.number_of_classes());
        for &e in first {
            let e = g.find(e);
            if number[ix(e)] == NONE {
                number[ix(e)] = order.len() as u32;
                order.push(e);
            }
        }
        let mut rest: Vec<Id> = g
            .classes()
            .map(|c| c.id)
            .filter(|&c| number[ix(c)] == NONE)
            .collect();
        rest.sort_unstable();
        for e in rest {
            number[ix(e)] = order.len() as u32;
            order.push(e);
        }
        let mut nodes = Vec::with_capacity(g.total_number_of_nodes());
        let mut start = Vec::with_capacity(order.len() + 1);
        let mut data = Vec::with_capacity(order.len());
        for &e in &order {
            start.push(nodes.len() as u32);
            let from = nodes.len();
            for n in &g[e].nodes {
                let mut n = n.clone();
                for a in n.args.iter_mut() {
                    *a = Id::from(number[ix(g.find(*a))] as usize);
                }
                nodes.push(n);
            }
            nodes[from..].sort_unstable();
            data.push(g[e].data);
        }
        start.push(nodes.len() as u32);
        let flat = FlatGraph {
            nodes,
            start,
            data,
            by_kind: Vec::new(),
            indexed: false,
        };
        (flat, number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Opcode, Type};

    fn slot(v: u32) -> Node {
        Node::new(NodeOp::Slot(Type::I32, v), [])
    }

    fn add(a: Id, b: Id) -> Node {
        Node::new(NodeOp::Pure(Opcode::Iadd, Type::I32), [a, b])
    }

    #[test]
    fn equal_nodes_share_a_class_and_constants_fold() {
        let mut d = Dag::default();
        let (x, y) = (d.add(slot(1)), d.add(slot(2)));
        let s = d.add(add(x, y));
        assert_eq!(d.add(add(x, y)), s);
        let two = d.add(Node::constant(Type::I32, 2));
        let three = d.add(Node::constant(Type::I32, 3));
        // 2 + 3 is the class of 5, made for it; 1 + 4 joins that class.
        let five = d.add(add(two, three));
        let one = d.add(Node::constant(Type::I32, 1));
        let four = d.add(Node::constant(Type::I32, 4));
        assert_eq!(d.add(add(one, four)), five);
        assert_eq!(d.data(five).konst, Some(5));
        assert_eq!(d.add(Node::constant(Type::I32, 5)), five);
        let f = d.flatten();
        assert_eq!(f.len(), 8);
        // The class of 5: the constant and both adds, sorted.
        let nodes = f.nodes(five);
        assert_eq!(nodes.len(), 3);
        assert!(nodes.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(f.nodes(s), &[add(x, y)]);
    }

    #[test]
    fn an_egraph_without_rewrites_freezes_as_the_dag_does() {
        let mut d = Dag::default();
        let (x, y) = (d.add(slot(1)), d.add(slot(2)));
        let c = d.add(Node::constant(Type::I32, 7));
        let s = d.add(add(x, c));
        let t = d.add(add(s, y));
        let zero = d.add(Node::constant(Type::I32, 0));
        d.add(add(zero, c));
        d.add(add(t, s));
        let (g, first) = d.to_egraph();
        let (f, _) = FlatGraph::from_egraph(&g, &first);
        let direct = d.flatten();
        assert_eq!(f.len(), direct.len());
        for id in f.ids() {
            assert_eq!(f.nodes(id), direct.nodes(id));
            assert_eq!(f.data(id), direct.data(id));
        }
    }

    #[test]
    fn patterns_match_as_egg_matches_them() {
        let mut d = Dag::default();
        let (x, y) = (d.add(slot(1)), d.add(slot(2)));
        // A zero, which no add reads.
        d.add(Node::constant(Type::I32, 0));
        let s = d.add(add(x, y));
        d.add(add(s, x));
        let f = d.flatten();
        let (g, _) = d.to_egraph();
        for (p, expected) in [
            ("(iadd.i32 ?a ?b)", true),
            ("(iadd.i32 (iadd.i32 ?a ?b) ?a)", true),
            ("(iadd.i32 (iadd.i32 ?a ?b) ?b)", false),
            ("(iadd.i32 ?a ?a)", false),
            ("(iadd.i32 ?a 0:i32)", false),
            ("(isub.i32 ?a ?b)", false),
            ("0:i32", true),
            ("1:i32", false),
        ] {
            let pat: egg::Pattern<Node> = p.parse().unwrap();
            assert_eq!(f.any_match(&pat.ast), expected, "{p}");
            // egg agrees.
            assert_eq!(egg::Searcher::search(&pat, &g).is_empty(), !expected, "{p}");
        }
    }

    #[test]
    fn merged_classes_keep_the_least_number() {
        let mut d = Dag::default();
        let x = d.add(slot(1));
        let zero = d.add(Node::constant(Type::I32, 0));
        let s = d.add(add(x, zero));
        let (mut g, first) = d.to_egraph();
        // What `x + 0 = x` does.
        g.union(first[ix(x)], first[ix(s)]);
        g.rebuild();
        let (f, _) = FlatGraph::from_egraph(&g, &first);
        assert_eq!(f.len(), 2);
        // x and x + 0 are class 0, which reads itself.
        assert_eq!(f.nodes(x).len(), 2);
        assert!(f.nodes(x).contains(&add(x, zero)));
    }
}
