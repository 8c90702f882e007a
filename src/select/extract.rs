//! DAG-aware extraction: the cheapest cover of a block's e-graph by tiles, where a value
//! used by two chosen tiles (or live out of the block) is computed once into a slot and
//! paid for once.
//!
//! 1. Ways to compute each class: already in a slot (a parameter or a value of another
//!    block, cost 0), a constant by `iconst`, or a tile matched at one of its nodes.
//!    Only nodes computable as early as the class itself count, so a chosen way never
//!    needs an effect that comes later than the value's first use.
//! 2. The cost of a class is its best way's cost plus its slot operands' costs, except
//!    that a *shared* class costs its users nothing: it is computed once on its own.
//!    The costs are found in one pass over the ways, cheapest class first (Knuth's
//!    generalization of Dijkstra's algorithm to and-or graphs: a way's cost is known
//!    once all its operands' are, and never less than any of them), which is exact on
//!    the cycles that e-graphs have.
//! 3. Shared starts as the roots (effects, live-out values). Choosing from the roots
//!    down, a class that ends up an operand of two chosen tiles becomes shared and the
//!    costs are computed again, until nothing changes. A tile that swallows a shared
//!    class still pays for it inside itself: the class is computed anyway.
//!
//! Classes are numbered densely by their canonical ids, so every table is a vector.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use egg::Id;

use super::cover::{
    BlockCover, Covers, Detail, Edge, Instance, Operand, Operands, Saturation, SlotRef,
};
use super::flat::{ix, FastMap, FlatGraph as Graph};
use super::graph::{BlockGraph, Effect, Source};
use super::lang::{Node, NodeOp};
use super::tiles::{imm_of, matches, tile_kinds, tiles, Match, Tile};
use crate::ir::{Block, BlockId, Body, Module, TermKind, Type, Value};
use crate::small::push_all;
use crate::stencil::recipe::Recipe;
use crate::stencil::{Kind, Stencil};
use crate::{Error, ErrorKind};

/// A way to compute a class.
#[derive(Clone, Debug)]
enum Way {
    /// Already in the slot of this value.
    Slot(Value),
    /// The class's constant, materialized by an `iconst` stencil.
    Const(Type, u64),
    /// A tile matched at a node of the class.
    Tile(&'static Tile, Match),
    /// The result of an effect of the skeleton, which puts it in its slot in its turn.
    Effect,
}

/// No way: the cost of a class nothing covers.
const INF: u32 = u32::MAX;
const NONE: u32 = u32::MAX;

/// The sum of two costs: [`INF`] when either is, else at most `INF - 1`. A tree cost
/// doubles with each level of a class used twice, and a chain of thirty such levels
/// passes `u32::MAX`; a class that can be covered must keep a finite cost all the same.
fn add_cost(a: u32, b: u32) -> u32 {
    if a == INF || b == INF {
        INF
    } else {
        a.saturating_add(b).min(INF - 1)
    }
}

/// The stencil that puts constant `bits` of type `ty` in a slot, and its operands.
pub(crate) fn iconst(ty: Type, bits: u64) -> (&'static Stencil, Operands) {
    let (stencil, _, imms, n) = iconst_imms(ty, bits);
    let mut operands = Operands::new();
    push_all(&mut operands, imms[..n].iter().map(|&v| Operand::Imm(v)));
    (stencil, operands)
}

/// [`iconst`]'s stencil, its recipe ([`SpecialRecipes`]) and its immediates, the first
/// `n` of the array.
///
/// [`SpecialRecipes`]: super::tiles::SpecialRecipes
#[inline]
pub(crate) fn iconst_imms(
    ty: Type,
    bits: u64,
) -> (&'static Stencil, Option<&'static Recipe>, [i64; 2], usize) {
    let t = tiles();
    let (sp, r) = (&t.special, &t.recipes);
    match ty {
        Type::I32 => (sp.iconst_i32, r.iconst_i32, [ty.signed(bits), 0], 1),
        Type::I64 if (bits as i64) == (bits as i32 as i64) => {
            (sp.iconst_i64, r.iconst_i64, [bits as i64, 0], 1)
        }
        Type::I64 => (
            sp.iconst_i64_wide,
            r.iconst_i64_wide,
            [bits as u32 as i64, (bits >> 32) as u32 as i64],
            2,
        ),
    }
}

/// The cost of putting constant `bits` of type `ty` in a slot.
pub fn iconst_cost(ty: Type, bits: u64) -> u32 {
    iconst(ty, bits).0.cost
}

/// The cost of moving a class into a slot elsewhere (a branch argument, a call argument
/// or result): `copy_s`, or the `iconst` of a constant that fits an immediate.
fn move_cost(g: &Graph, id: Id) -> u32 {
    let data = g.data(id);
    match (data.konst, data.ty) {
        (Some(bits), Some(ty)) => iconst(ty, bits).0.cost,
        _ => tiles().special.copy.cost,
    }
}

/// Hyperedges for [`Hyper::solve`]: each has a head, a base value and children. The
/// solver's tables are kept with them, so that one `Hyper` serves block after block
/// without allocating.
#[derive(Default)]
struct Hyper {
    nodes: usize,
    head: Vec<u32>,
    base: Vec<u32>,
    /// `children[start[e]..start[e + 1]]` are edge `e`'s children.
    start: Vec<u32>,
    children: Vec<u32>,
    /// What [`Hyper::solve`] found: each node's value and best edge.
    value: Vec<u32>,
    best: Vec<u32>,
    /// The solver's working tables.
    at: Vec<u32>,
    users: Vec<u32>,
    acc: Vec<u32>,
    pending: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, u32)>>,
}

impl Hyper {
    fn new(nodes: usize) -> Hyper {
        let mut h = Hyper::default();
        h.clear(nodes);
        h
    }

    /// No edges, `nodes` nodes, nothing solved.
    fn clear(&mut self, nodes: usize) {
        self.nodes = nodes;
        self.head.clear();
        self.base.clear();
        self.start.clear();
        self.start.push(0);
        self.children.clear();
        self.value.clear();
        self.best.clear();
    }

    fn push(&mut self, head: usize, base: u32, children: impl IntoIterator<Item = usize>) {
        self.head.push(head as u32);
        self.base.push(base);
        self.children.extend(children.into_iter().map(|c| c as u32));
        self.start.push(self.children.len() as u32);
    }

    /// For each node, the edges that have it as a child (once per occurrence, in edge
    /// order): `users[at[n]..at[n + 1]]`.
    fn users(&mut self) {
        let at = &mut self.at;
        at.clear();
        at.resize(self.nodes + 1, 0);
        for &c in &self.children {
            at[c as usize + 1] += 1;
        }
        for n in 0..self.nodes {
            at[n + 1] += at[n];
        }
        // `pending` is free until `solve` fills it: it holds each node's next place.
        let fill = &mut self.pending;
        fill.clear();
        fill.extend_from_slice(&at[..self.nodes]);
        self.users.clear();
        self.users.resize(self.children.len(), 0);
        for e in 0..self.head.len() {
            let (from, to) = (self.start[e] as usize, self.start[e + 1] as usize);
            for &c in &self.children[from..to] {
                self.users[fill[c as usize] as usize] = e as u32;
                fill[c as usize] += 1;
            }
        }
    }

    /// The least value of every node over its edges, where an edge's value is its base
    /// combined with its children's values (`combine` never gives less than either of
    /// its arguments), except that a `free` child adds nothing to its users. An edge
    /// completes only once all its children have their values, so the best edges never
    /// form a cycle: following them from any node reaches each node once. Returns the
    /// values and the best edge of each node (`NONE` where no edge completes).
    ///
    /// Without free nodes this is exact (cheapest first, as Dijkstra). A free child
    /// lets its user's value drop below the child's own, so a node may settle before a
    /// cheaper edge through a free child completes: the price of never choosing a
    /// value computed from itself. Ties are broken the same way on every run.
    fn solve(
        &mut self,
        combine: fn(u32, u32) -> u32,
        free: &dyn Fn(usize) -> bool,
    ) -> (&[u32], &[u32]) {
        self.users();
        let n = self.nodes;
        let Hyper {
            head,
            base,
            start,
            value,
            best,
            at,
            users,
            acc,
            pending,
            heap,
            ..
        } = self;
        value.clear();
        value.resize(n, INF);
        best.clear();
        best.resize(n, NONE);
        acc.clear();
        acc.extend_from_slice(base);
        pending.clear();
        heap.clear();
        for (e, &a) in acc.iter().enumerate() {
            let p = start[e + 1] - start[e];
            pending.push(p);
            if p == 0 && a < INF {
                heap.push(Reverse((a, e as u32)));
            }
        }
        while let Some(Reverse((v, e))) = heap.pop() {
            let h = head[e as usize] as usize;
            if best[h] != NONE {
                continue;
            }
            value[h] = v;
            best[h] = e;
            let adds = if free(h) { None } else { Some(v) };
            for &u in &users[at[h] as usize..at[h + 1] as usize] {
                let u = u as usize;
                if let Some(v) = adds {
                    acc[u] = combine(acc[u], v);
                }
                pending[u] -= 1;
                if pending[u] == 0 && acc[u] < INF {
                    heap.push(Reverse((acc[u], u as u32)));
                }
            }
        }
        (&self.value, &self.best)
    }
}

/// What extraction keeps from block to block: its tables, cleared rather than made
/// anew for each block.
#[derive(Default)]
pub struct Scratch {
    x: Extractor,
}

impl Scratch {
    /// The most ways kept between modules: past that, tables are not worth keeping.
    const KEEP_WAYS: usize = 1 << 14;

    /// True when the tables grew past what is worth keeping for the next module.
    pub fn is_large(&self) -> bool {
        self.x.ways.capacity() > Self::KEEP_WAYS
    }
}

#[derive(Default)]
struct Extractor {
    /// The number of classes.
    classes: usize,
    /// Every way to compute a class. Way `w` is edge `w` of `edges`, from its class to
    /// its slot operands, with its own cost.
    ways: Vec<Way>,
    edges: Hyper,
    /// The ways of each effect's own node: `effect_ways[a..b]` for `effect_range[k]`.
    effect_ways: Vec<Way>,
    effect_range: Vec<(u32, u32)>,
    shared: Vec<bool>,
    /// By effect position: the loads that may be fused into their only user.
    fusions: Vec<Option<Fusion>>,
    /// By effect position: the user class and way of a load that is fused.
    fused: Vec<Option<(Id, Way)>>,
    /// After which effect each class can be computed.
    earliest: Vec<u32>,
    /// Working tables of [`Extractor::count_uses`] and [`cover_block`].
    uses: Vec<u32>,
    /// By class: how many chosen tiles compute it inside themselves.
    inner: Vec<u32>,
    stack: Vec<Id>,
    seen: Vec<bool>,
    moved: Vec<bool>,
    extra: Vec<Id>,
}

/// A load whose value only one class uses, and the ways to compute that class with the
/// load inside, at the load's own place in the block: nothing moves past anything.
struct Fusion {
    user: Id,
    ways: Vec<Way>,
}

impl Extractor {
    #[cfg(test)]
    fn new(g: &Graph, effects: &[Effect], live: &[(Value, Id)]) -> Extractor {
        let mut x = Extractor::default();
        x.reset(g, effects, &[], live);
        x
    }

    /// The ways of every class and effect of `g`, nothing shared, no costs yet.
    /// Readies the tables for graph `g` of a block with `effects`, whose calls write the
    /// slots `results` (value, and the position after which it is written), and whose
    /// values `live` are live out.
    fn reset(
        &mut self,
        g: &Graph,
        effects: &[Effect],
        results: &[(u32, u32)],
        live: &[(Value, Id)],
    ) {
        let n = g.len();
        self.classes = n;
        earliest(g, n, results, &mut self.earliest);
        let earliest = &self.earliest;
        let present = tile_kinds(g);
        let tile_ways = |id: Id, node: &Node, sink: &mut dyn FnMut(Way)| {
            for tile in tiles().by_root(node.op) {
                if present.covers(&tile.needs) {
                    matches(g, tile, id, Some(node), None, |m| sink(Way::Tile(tile, m)));
                }
            }
        };
        let (ways, edges) = (&mut self.ways, &mut self.edges);
        ways.clear();
        edges.clear(n);
        for class in g.classes() {
            let id = class.id;
            let mut add = |way: Way| {
                edges.push(ix(id), own_cost(&way), slot_operands(&way).map(ix));
                ways.push(way);
            };
            if let Some(v) = class.nodes.iter().find_map(|n| match n.op {
                NodeOp::Slot(_, v) => Some(Value(v)),
                _ => None,
            }) {
                add(Way::Slot(v));
            }
            if let (Some(bits), Some(ty)) = (class.data.konst, class.data.ty) {
                add(Way::Const(ty, bits));
            }
            if class
                .nodes
                .iter()
                .any(|n| matches!(n.op, NodeOp::Effect { .. }))
            {
                add(Way::Effect);
            }
            let first = earliest[ix(id)];
            for node in class.nodes {
                if matches!(node.op, NodeOp::Pure(..))
                    && node_earliest(node, results, earliest) <= first
                {
                    tile_ways(id, node, &mut add);
                }
            }
        }
        let (effect_ways, effect_range) = (&mut self.effect_ways, &mut self.effect_range);
        effect_ways.clear();
        effect_range.clear();
        for e in effects {
            let from = effect_ways.len() as u32;
            if let Some(node) = own_node(g, e) {
                tile_ways(e.class, node, &mut |w| effect_ways.push(w));
            }
            effect_range.push((from, effect_ways.len() as u32));
        }
        fusions(g, effects, live, &self.earliest, n, &mut self.fusions);
        self.shared.clear();
        self.shared.resize(n, false);
        self.fused.clear();
        self.fused.resize(effects.len(), None);
    }

    /// The ways of effect `k`'s own node.
    fn effect_ways(&self, k: usize) -> &[Way] {
        let (a, b) = self.effect_range[k];
        &self.effect_ways[a as usize..b as usize]
    }

    /// The way effect `k` is emitted: fused with its user, or the cheapest of its own.
    fn root_way(&self, k: usize) -> Option<&Way> {
        if let Some((_, w)) = &self.fused[k] {
            return Some(w);
        }
        let ways = self.effect_ways(k);
        self.cheapest(ways).map(|b| &ways[b])
    }

    /// Fuses each load that is cheaper computed together with its only user (given the
    /// current costs): the user's class is then computed by the load's effect.
    fn fuse_loads(&mut self) {
        let mut any = false;
        for k in 0..self.fusions.len() {
            let Some(f) = &self.fusions[k] else { continue };
            let Some(b) = self.cheapest(&f.ways) else {
                continue;
            };
            let fused = self.way_cost(&f.ways[b]);
            let plain = self.root_way(k).map_or(INF, |w| self.way_cost(w));
            let alone = self.cost(f.user);
            if fused < add_cost(plain, alone) {
                let (user, way) = (f.user, f.ways[b].clone());
                self.fused[k] = Some((user, way));
                // Free and without operands: the user's best way from now on.
                self.edges.push(ix(user), own_cost(&Way::Effect), []);
                self.ways.push(Way::Effect);
                self.shared[ix(user)] = true;
                any = true;
            }
        }
        if any {
            self.costs();
        }
    }

    /// The cost of class `id` as last solved.
    fn cost(&self, id: Id) -> u32 {
        self.edges.value.get(ix(id)).copied().unwrap_or(INF)
    }

    /// What a slot operand costs its user.
    fn leaf(&self, id: Id) -> u32 {
        if self.shared[ix(id)] {
            0
        } else {
            self.cost(id)
        }
    }

    fn way_cost(&self, w: &Way) -> u32 {
        slot_operands(w).fold(own_cost(w), |c, o| add_cost(c, self.leaf(o)))
    }

    /// The cost and best way of every class, given the shared set.
    fn costs(&mut self) {
        let shared = &self.shared;
        self.edges.solve(add_cost, &|c| shared[c]);
    }

    /// The cheapest of `ways`, by index.
    fn cheapest(&self, ways: &[Way]) -> Option<usize> {
        (0..ways.len())
            .filter(|&k| self.way_cost(&ways[k]) < INF)
            .min_by_key(|&k| self.way_cost(&ways[k]))
    }

    fn way_of(&self, id: Id) -> Option<&Way> {
        match self.edges.best.get(ix(id)) {
            Some(&w) if w != NONE => Some(&self.ways[w as usize]),
            _ => None,
        }
    }

    /// Counts into `uses` how often each class is a slot operand of the tiles chosen
    /// from the effects' ways, with the classes of `extra` as roots too.
    fn count_uses(&mut self) {
        let mut uses = std::mem::take(&mut self.uses);
        let mut inner = std::mem::take(&mut self.inner);
        let mut stack = std::mem::take(&mut self.stack);
        let mut seen = std::mem::take(&mut self.seen);
        uses.clear();
        uses.resize(self.classes, 0);
        inner.clear();
        inner.resize(self.classes, 0);
        stack.clear();
        stack.extend_from_slice(&self.extra);
        let visit = |w: &Way, uses: &mut Vec<u32>, inner: &mut Vec<u32>, stack: &mut Vec<Id>| {
            for o in slot_operands(w) {
                uses[ix(o)] += 1;
                if uses[ix(o)] == 1 {
                    stack.push(o);
                }
            }
            if let Way::Tile(_, m) = w {
                for &c in &m.interior {
                    inner[ix(c)] += 1;
                }
            }
        };
        for k in 0..self.effect_range.len() {
            if let Some(w) = self.root_way(k) {
                visit(w, &mut uses, &mut inner, &mut stack);
            }
        }
        seen.clear();
        seen.resize(self.classes, false);
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[ix(id)], true) {
                continue;
            }
            if let Some(w) = self.way_of(id) {
                visit(w, &mut uses, &mut inner, &mut stack);
            }
        }
        (self.uses, self.inner, self.stack, self.seen) = (uses, inner, stack, seen);
    }
}

/// The cost of a way without its slot operands.
fn own_cost(w: &Way) -> u32 {
    match w {
        Way::Slot(_) | Way::Effect => 0,
        Way::Const(ty, bits) => iconst_imms(*ty, *bits).0.cost,
        Way::Tile(tile, _) => tile.stencil.cost,
    }
}

/// The classes a way reads from slots, once per occurrence.
fn slot_operands(w: &Way) -> impl Iterator<Item = Id> + '_ {
    let (tile, ops): (Option<&Tile>, &[Id]) = match w {
        Way::Tile(tile, m) => (Some(tile), &m.operands),
        _ => (None, &[]),
    };
    ops.iter()
        .enumerate()
        .filter(move |(i, _)| tile.is_some_and(|t| t.operands[*i].0 == Kind::Slot))
        .map(|(_, &o)| o)
}

/// The operands of a tile's match that it reads from slots.
fn slot_operands_of<'a>(tile: &'a Tile, ops: &'a [Id]) -> impl Iterator<Item = Id> + 'a {
    ops.iter()
        .zip(&tile.operands)
        .filter(|(_, k)| k.0 == Kind::Slot)
        .map(|(&o, _)| o)
}

/// The loads (by effect position) that may be fused into their user: the load's value is
/// not live out and every node that reads it is a pure node of one other class, which
/// holds only pure nodes; a fused tile's other operands are available before the load.
/// Written into `out`, by effect position.
fn fusions(
    g: &Graph,
    effects: &[Effect],
    live: &[(Value, Id)],
    earliest: &[u32],
    n: usize,
    out: &mut Vec<Option<Fusion>>,
) {
    out.clear();
    let is_load = |e: &Effect| {
        matches!(
            e.node.op,
            NodeOp::Effect {
                op: crate::ir::Opcode::Load,
                ..
            }
        )
    };
    if !effects.iter().any(is_load) {
        out.resize_with(effects.len(), || None);
        return;
    }
    let mut readers: Vec<Vec<(Id, bool)>> = vec![Vec::new(); n];
    for class in g.classes() {
        for node in class.nodes {
            let pure = matches!(node.op, NodeOp::Pure(..));
            for &a in &node.args {
                readers[ix(a)].push((class.id, pure));
            }
        }
    }
    let fusion = |(k, e): (usize, &Effect)| {
        if !is_load(e) {
            return None;
        }
        let load = own_node(g, e)?;
        let l = e.class;
        if live.iter().any(|&(_, c)| c == l) {
            return None;
        }
        let &(user, _) = readers[ix(l)].first()?;
        if user == l || readers[ix(l)].iter().any(|&(c, pure)| !pure || c != user) {
            return None;
        }
        let class = g.class(user);
        if class
            .nodes
            .iter()
            .any(|n| !matches!(n.op, NodeOp::Pure(..)))
        {
            return None;
        }
        let mut ways = Vec::new();
        for node in class.nodes {
            for tile in tiles().by_root(node.op).filter(|t| t.fuses_effect) {
                matches(g, tile, user, Some(node), Some(load), |m| {
                    let ready =
                        slot_operands_of(tile, &m.operands).all(|o| earliest[ix(o)] <= k as u32);
                    if ready {
                        ways.push(Way::Tile(tile, m));
                    }
                });
            }
        }
        (!ways.is_empty()).then_some(Fusion { user, ways })
    };
    out.extend(effects.iter().enumerate().map(fusion));
}

/// The node of an effect as it stands in the rebuilt graph (its position identifies it).
fn own_node<'g>(g: &'g Graph, e: &Effect) -> Option<&'g Node> {
    g.nodes(e.class).iter().find(|n| n.op == e.node.op)
}

/// The values the calls of `block` (whose effects are `effects`) return, each with the
/// position after which its slot is written: the call's.
fn call_results(block: &Block, effects: &[Effect]) -> smallvec::SmallVec<[(u32, u32); 8]> {
    let mut results = smallvec::SmallVec::new();
    for e in effects {
        if let (NodeOp::Effect { op, seq, .. }, Source::Inst(n)) = (e.node.op, e.source) {
            if op == crate::ir::Opcode::Call {
                let after = seq.saturating_add(1);
                push_all(
                    &mut results,
                    block.insts[n].results.iter().map(|r| (r.0, after)),
                );
            }
        }
    }
    results
}

/// After which effect each class can be computed (0: at the block's start), by dense
/// index: the least over its nodes of the latest of the node's own position and its
/// operands'. `results` are the slots the block's calls write, with their positions
/// ([`own_position`]).
fn earliest(g: &Graph, n: usize, results: &[(u32, u32)], out: &mut Vec<u32>) {
    if !earliest_in_order(g, n, results, out) {
        *out = earliest_cyclic(g, n, results);
    }
}

/// [`earliest`] in one pass in class order, which is enough when every class is either
/// a leaf (a constant or a slot: 0) or reads only classes before it, as a block that was
/// not rewritten does; false (and `out` unfinished) for any other graph.
fn earliest_in_order(g: &Graph, n: usize, results: &[(u32, u32)], out: &mut Vec<u32>) -> bool {
    out.clear();
    out.resize(n, 0);
    for class in g.classes() {
        let c = ix(class.id);
        if class
            .nodes
            .iter()
            .any(|n| n.args.is_empty() && own_position(n, results) == 0)
        {
            continue;
        }
        let mut best = u32::MAX;
        for node in class.nodes {
            if node.args.iter().any(|&a| ix(a) >= c) {
                return false;
            }
            best = best.min(node_earliest(node, results, out));
        }
        out[c] = best;
    }
    true
}

/// [`earliest`] for any graph.
fn earliest_cyclic(g: &Graph, n: usize, results: &[(u32, u32)]) -> Vec<u32> {
    let mut h = Hyper::new(n);
    for class in g.classes() {
        for node in class.nodes {
            h.push(
                ix(class.id),
                own_position(node, results),
                node.args.iter().map(|&a| ix(a)),
            );
        }
    }
    h.solve(u32::max, &|_| false).0.to_vec()
}

/// After which effect a node itself can run: its own position for an effect; for the
/// slot of a value a call of the block returns (`results`: value, position), the call's
/// position, as the slot is written only there; else 0.
fn own_position(n: &Node, results: &[(u32, u32)]) -> u32 {
    match n.op {
        NodeOp::Effect { seq, .. } | NodeOp::Term(_, seq) => seq.saturating_add(1),
        NodeOp::Slot(_, v) => results.iter().find(|r| r.0 == v).map_or(0, |r| r.1),
        _ => 0,
    }
}

fn node_earliest(n: &Node, results: &[(u32, u32)], e: &[u32]) -> u32 {
    n.args
        .iter()
        .map(|a| e.get(ix(*a)).copied().unwrap_or(u32::MAX))
        .fold(own_position(n, results), u32::max)
}

/// Covers a block from its frozen graph (rewritten or not).
///
/// # Errors
/// An operation no stencil covers (a gap in the stencil library), located at it.
pub fn cover_block(
    module: &Module,
    body: &Body,
    id: BlockId,
    block: &Block,
    bg: &BlockGraph,
    saturation: Saturation,
    scratch: &mut Scratch,
) -> Result<BlockCover, Error> {
    let g = &bg.graph;
    let x = &mut scratch.x;
    let results = call_results(block, &bg.effects);
    x.reset(g, &bg.effects, &results, &bg.live_out);
    for e in &bg.effects {
        x.shared[ix(e.class)] = true;
    }
    for &(_, c) in &bg.live_out {
        x.shared[ix(c)] = true;
    }
    // Operands of calls and branch arguments are moved from slots: they are roots too.
    x.moved.clear();
    x.moved.resize(x.classes, false);
    x.extra.clear();
    x.extra.extend(bg.live_out.iter().map(|&(_, c)| c));
    for &id in bg.effects.iter().flat_map(moved_args) {
        if !std::mem::replace(&mut x.moved[ix(id)], true) {
            x.extra.push(id);
        }
    }
    // Costs, then the classes the choice uses twice become shared, until none does (a
    // few rounds; each round's costs are current when it finds nothing new).
    x.costs();
    x.fuse_loads();
    let mut current = false;
    for round in 0..8 {
        if round > 0 {
            x.costs();
        }
        x.count_uses();
        let mut grew = false;
        for (c, &n) in x.uses.iter().enumerate() {
            // A class in a slot that a tile also computes inside itself is computed
            // twice unless its users read the slot: shared, they may.
            let used_again = n >= 2 || (n >= 1 && (x.moved[c] || x.inner[c] >= 1));
            if used_again && !std::mem::replace(&mut x.shared[c], true) {
                grew = true;
            }
        }
        if !grew {
            current = true;
            break;
        }
    }
    if !current {
        x.costs();
    }
    emit(module, body, id, block, bg, saturation, x)
}

/// Emits the chosen ways of a block, effects in order.
///
/// # Errors
/// An operation no stencil covers (a gap in the stencil library), located at it.
fn emit(
    module: &Module,
    body: &Body,
    id: BlockId,
    block: &Block,
    bg: &BlockGraph,
    saturation: Saturation,
    x: &Extractor,
) -> Result<BlockCover, Error> {
    let mut em = Emitter {
        x,
        g: &bg.graph,
        body,
        // At most an instance per class and effect, but for moves.
        insts: Vec::with_capacity(bg.graph.len() + bg.effects.len()),
        slots: vec![None; bg.graph.len()],
        temps: 0,
        live: &bg.live_out,
        at: 0,
        missing: None,
    };
    for (k, e) in bg.effects.iter().enumerate() {
        em.at = k;
        if e.source == Source::Term {
            em.live_outs();
        }
        em.effect(module, block, k, e);
    }
    if let Some((k, what)) = em.missing {
        let e = &bg.effects[k];
        let (loc, op) = match e.source {
            Source::Inst(n) => (block.insts[n].loc, block.insts[n].mnemonic()),
            Source::Term => (
                block.term.as_ref().map_or(block.loc, |t| t.loc),
                e.node.to_string(),
            ),
        };
        return Err(Error::new(
            ErrorKind::Unsupported,
            &module.source,
            loc,
            format!(
                "no stencil covers {what} (at `{op}` in block {})",
                block.name
            ),
        ));
    }
    let (mut insts, mut temps) = (em.insts, em.temps);
    write_jump_args_in_place(&mut insts, &mut temps);
    write_call_args_in_place(&mut insts, temps);
    keep_call_results(&mut insts, &bg.live_out);
    let entry_params = body.blocks.first().map_or(&[][..], |b| &b.params[..]);
    write_returns_in_place(&mut insts, entry_params);
    let cost = insts.iter().fold(0u32, |a, i| a.saturating_add(i.cost));
    let temps = reuse_temps(&mut insts, temps);
    Ok(BlockCover {
        block: id,
        name: block.name.clone(),
        temps,
        insts,
        saturation,
        cost,
    })
}

/// Lets the instance that computes a `jump` argument write it straight into the target's
/// parameter slot, where the jump would have copied it (the increment feeding a loop's
/// block argument): the move goes, and so do a load and a store on every pass along the
/// edge. That holds for an argument in a temporary (a value only this block uses) when
/// nothing after its instance reads the parameter's old value: no later instance, and no
/// other move of the jump. The instance itself may read it, as every stencil reads its
/// operands before it writes its result. An instance that can neither trap nor touch
/// memory moves down past the last reader of the parameter to get there, when none of
/// the instances it passes reads its result or writes what it reads. Reads of the
/// temporary after it read the parameter's slot instead, which holds the same value from
/// then on. Where another move of the jump reads the parameter's old value (a loop that
/// rotates its state, `jump loop(b, a % b)`), a copy of it made first, in a new
/// temporary, is what that move reads: as many copies as before, but the new value no
/// longer goes through a temporary on its way to the next pass. Runs before
/// [`reuse_temps`], while each temporary has one writer; `temps` counts the block's
/// temporaries.
fn write_jump_args_in_place(insts: &mut Vec<Instance>, temps: &mut u32) {
    let Some(mut term) = insts.pop() else {
        return;
    };
    if let Detail::Jump(edge) = &mut term.detail {
        let copy = tiles().special.copy.cost;
        let mut i = 0;
        while i < edge.moves.len() {
            let (p, o) = edge.moves[i];
            let param = Operand::Slot(SlotRef::Value(p));
            let in_place = match o {
                Operand::Slot(temp @ SlotRef::Temp(_)) if !term.operands.contains(&param) => {
                    let others =
                        (edge.moves.iter().enumerate()).any(|(j, &(_, r))| j != i && r == param);
                    let done = write_in_place(insts, temp, p);
                    if done && others {
                        // The copy goes first in the block, where the parameter's slot
                        // still holds the old value (only the writer, later, changes it).
                        let saved = SlotRef::Temp(*temps);
                        *temps += 1;
                        insts.insert(0, copy_instance(SlotRef::Value(p), saved));
                        for (_, r) in edge.moves.iter_mut() {
                            if *r == param {
                                *r = Operand::Slot(saved);
                            }
                        }
                    }
                    done
                }
                _ => false,
            };
            if !in_place {
                i += 1;
                continue;
            }
            edge.moves.remove(i);
            for (_, r) in &mut edge.moves {
                if *r == o {
                    *r = param;
                }
            }
            term.cost = term.cost.saturating_sub(copy);
        }
    }
    insts.push(term);
}

/// Makes the instance that writes `temp` write `p`'s slot instead, moving it down if it
/// must and may (see [`write_jump_args_in_place`]); false if it cannot.
fn write_in_place(insts: &mut [Instance], temp: SlotRef, p: Value) -> bool {
    let param = Operand::Slot(SlotRef::Value(p));
    let Some(k) = insts.iter().rposition(|inst| inst.result == Some(temp)) else {
        return false;
    };
    let reads_param = |inst: &Instance| {
        inst.reads().any(|&r| r == param) || inst.result == Some(SlotRef::Value(p))
    };
    let to = match insts[k + 1..].iter().rposition(reads_param) {
        None => k,
        Some(last) => {
            let to = k + 1 + last;
            let reads: smallvec::SmallVec<[Operand; 4]> = insts[k].reads().copied().collect();
            let passed = &insts[k + 1..=to];
            let blocked = passed.iter().any(|inst| {
                inst.reads().any(|&r| r == Operand::Slot(temp))
                    || inst.result.is_some_and(|w| reads.contains(&Operand::Slot(w)))
                    || matches!(&inst.detail, Detail::Call { results, .. }
                        if results.iter().flatten().any(|&v| reads.contains(&Operand::Slot(SlotRef::Value(v)))))
            });
            if blocked || !floats(&insts[k]) {
                return false;
            }
            insts[k..=to].rotate_left(1);
            to
        }
    };
    insts[to].result = Some(SlotRef::Value(p));
    let from = Operand::Slot(temp);
    for r in insts[to + 1..].iter_mut().flat_map(Instance::reads_mut) {
        if *r == from {
            *r = param;
        }
    }
    true
}

/// Whether an instance can go later in its block: it neither traps nor touches memory,
/// and has no edges.
fn floats(inst: &Instance) -> bool {
    match inst.covers {
        Covers::Pattern(p) => {
            matches!(inst.detail, Detail::None)
                && p.ops().iter().all(|op| matches!(op, NodeOp::Pure(..)))
        }
        _ => false,
    }
}

/// Whether an instance is a call (which overwrites every [`SlotRef::Out`] slot).
fn is_call(inst: &Instance) -> bool {
    matches!(inst.detail, Detail::Call { .. })
}

/// Whether an instance reads `o`.
fn reads(inst: &Instance, o: Operand) -> bool {
    inst.reads().any(|&r| r == o)
}

/// Lets the instance that computes a call's argument write it straight into the callee's
/// slot ([`SlotRef::Out`]), where the call would have copied it: for an argument in a
/// temporary that only the call reads, once, when no other call comes between (a call
/// overwrites those slots). Runs before [`reuse_temps`], while each temporary has one
/// writer; `temps` counts the block's temporaries. One walk to count, one to decide.
fn write_call_args_in_place(insts: &mut [Instance], temps: u32) {
    if !insts.iter().any(is_call) {
        return;
    }
    let copy = tiles().special.copy.cost;
    // Each temporary's writer and number of reads.
    let mut writer = vec![usize::MAX; temps as usize];
    let mut reads = vec![0u32; temps as usize];
    for (k, inst) in insts.iter().enumerate() {
        for r in inst.reads() {
            if let Operand::Slot(SlotRef::Temp(t)) = *r {
                reads[t as usize] += 1;
            }
        }
        if let Some(SlotRef::Temp(t)) = inst.result {
            writer[t as usize] = k;
        }
    }
    // The instance after the last call so far: a writer before it has a call between.
    let mut from = 0;
    for c in 0..insts.len() {
        let (done, rest) = insts.split_at_mut(c);
        let Detail::Call { args, .. } = &mut rest[0].detail else {
            continue;
        };
        let mut saved = 0;
        for (i, a) in args.iter_mut().enumerate() {
            let Operand::Slot(SlotRef::Temp(t)) = *a else {
                continue;
            };
            let k = writer[t as usize];
            if reads[t as usize] == 1 && (from..c).contains(&k) {
                let out = SlotRef::Out(i as u32);
                done[k].result = Some(out);
                *a = Operand::Slot(out);
                saved += copy;
            }
        }
        rest[0].cost = rest[0].cost.saturating_sub(saved);
        from = c + 1;
    }
}

/// Leaves a call's result where the call put it ([`SlotRef::Out`]) for its readers to
/// take from there rather than copying it into its own slot: for a value no other block
/// reads, when its readers come before the next call (or are that call) and nothing in
/// between writes that slot (an argument of that call written in place). A result
/// nothing reads is not copied at all. One walk finds each result's last reader; then
/// each stretch between two calls is walked once per result of the first.
fn keep_call_results(insts: &mut [Instance], live_out: &[(Value, Id)]) {
    const UNREAD: usize = usize::MAX;
    let mut last: FastMap<Value, usize> = FastMap::default();
    for inst in insts.iter() {
        if let Detail::Call { results, .. } = &inst.detail {
            let local = results
                .iter()
                .flatten()
                .filter(|v| live_out.iter().all(|(l, _)| l != *v));
            last.extend(local.map(|&v| (v, UNREAD)));
        }
    }
    if last.is_empty() {
        return;
    }
    for (k, inst) in insts.iter().enumerate() {
        for r in inst.reads() {
            if let Operand::Slot(SlotRef::Value(v)) = r {
                if let Some(l) = last.get_mut(v) {
                    *l = k;
                }
            }
        }
    }
    let copy = tiles().special.copy.cost;
    let mut c = 0;
    while c < insts.len() {
        if !is_call(&insts[c]) {
            c += 1;
            continue;
        }
        // The next call, or the end: this call's results can be read up to it.
        let next = (insts[c + 1..].iter().position(is_call)).map_or(insts.len() - 1, |n| c + 1 + n);
        let n = match &insts[c].detail {
            Detail::Call { results, .. } => results.len(),
            _ => 0,
        };
        for i in 0..n {
            let Detail::Call { results, .. } = &insts[c].detail else {
                break;
            };
            let Some((v, &end)) = results[i].and_then(|v| last.get(&v).map(|l| (v, l))) else {
                continue;
            };
            let end = if end == UNREAD { c } else { end };
            let out = SlotRef::Out(i as u32);
            // Read after the next call, or the slot written before the last read: copied.
            let between = insts.get(c + 1..end).unwrap_or(&[]);
            if end > next || between.iter().any(|x| x.result == Some(out)) {
                continue;
            }
            let o = Operand::Slot(SlotRef::Value(v));
            for r in insts[c + 1..=end].iter_mut().flat_map(Instance::reads_mut) {
                if *r == o {
                    *r = Operand::Slot(out);
                }
            }
            if let Detail::Call { results, .. } = &mut insts[c].detail {
                results[i] = None;
            }
            insts[c].cost = insts[c].cost.saturating_sub(copy);
        }
        c = next.max(c + 1);
    }
}

/// Lets the instance that computes a returned value write it straight into its result
/// slot ([`SlotRef::Ret`]), where `return` would have copied it: for a value in a
/// temporary that only the `return` reads, returned as result `i` where the entry block
/// has a parameter `i` (whose slot that is) that nothing after the instance reads.
fn write_returns_in_place(insts: &mut [Instance], entry_params: &[Value]) {
    let copy = tiles().special.copy.cost;
    let Some((ret, body)) = insts.split_last_mut() else {
        return;
    };
    let Detail::Return(vals) = &mut ret.detail else {
        return;
    };
    for (i, &p) in entry_params.iter().enumerate().take(vals.len()) {
        let o @ Operand::Slot(temp @ SlotRef::Temp(_)) = vals[i] else {
            continue;
        };
        let param = Operand::Slot(SlotRef::Value(p));
        let Some(k) = body.iter().rposition(|x| x.result == Some(temp)) else {
            continue;
        };
        let once = vals.iter().filter(|&&r| r == o).count() == 1;
        if !once
            || vals.contains(&param)
            || body[k + 1..].iter().any(|x| reads(x, o) || reads(x, param))
        {
            continue;
        }
        body[k].result = Some(SlotRef::Ret(i as u32));
        vals[i] = Operand::Slot(SlotRef::Ret(i as u32));
        ret.cost = ret.cost.saturating_sub(copy);
    }
}

/// Numbers the block's `temps` temporaries anew so that two whose lives do not overlap
/// share a slot, and returns how many numbers that takes. A temporary lives from the
/// instance that writes it to the last that reads it; one that an instance reads for the
/// last time is free for the instances after it, not for that instance's own result, so
/// no stencil writes a slot it still has to read.
fn reuse_temps(insts: &mut [Instance], temps: u32) -> u32 {
    const UNSET: u32 = u32::MAX;
    let n = temps as usize;
    if n == 0 {
        return 0;
    }
    // The last instance that reads each temporary.
    let mut last = vec![UNSET; n];
    for (k, inst) in insts.iter().enumerate() {
        for o in inst.reads() {
            if let Operand::Slot(SlotRef::Temp(t)) = *o {
                last[t as usize] = k as u32;
            }
        }
    }
    let mut number = vec![UNSET; n];
    let mut free: Vec<u32> = Vec::new();
    let mut ending: smallvec::SmallVec<[u32; 4]> = smallvec::SmallVec::new();
    let mut used = 0u32;
    for (k, inst) in insts.iter_mut().enumerate() {
        ending.clear();
        for o in inst.reads_mut() {
            if let Operand::Slot(SlotRef::Temp(t)) = o {
                let old = *t as usize;
                // Every read follows its write; were one not to, it would get a slot of
                // its own rather than another's.
                if number[old] == UNSET {
                    number[old] = used;
                    used += 1;
                }
                if last[old] == k as u32 && !ending.contains(&number[old]) {
                    ending.push(number[old]);
                }
                *t = number[old];
            }
        }
        if let Some(SlotRef::Temp(t)) = &mut inst.result {
            let new = free.pop().unwrap_or_else(|| {
                used += 1;
                used - 1
            });
            number[*t as usize] = new;
            // A result nothing reads is free again at once.
            if last[*t as usize] == UNSET {
                ending.push(new);
            }
            *t = new;
        }
        free.extend(ending.iter().rev());
    }
    used
}

/// The classes an effect moves rather than reads through a tile: call arguments and
/// branch arguments (beyond a terminator's condition or index).
fn moved_args(e: &Effect) -> &[Id] {
    match e.node.op {
        NodeOp::Effect {
            op: crate::ir::Opcode::Call,
            ..
        } => &e.node.args,
        NodeOp::Term(t, _) => {
            let skip = usize::from(matches!(
                t,
                super::lang::Term::Brif | super::lang::Term::BrTable
            ));
            &e.node.args[skip.min(e.node.args.len())..]
        }
        _ => &[],
    }
}

struct Emitter<'a, 'g> {
    x: &'a Extractor,
    g: &'g Graph,
    body: &'a Body,
    insts: Vec<Instance>,
    /// The slot of each class computed so far.
    slots: Vec<Option<SlotRef>>,
    temps: u32,
    live: &'a [(Value, Id)],
    /// The position of the effect being emitted.
    at: usize,
    /// The first effect for which something has no stencil, and what that is.
    missing: Option<(usize, String)>,
}

impl Emitter<'_, '_> {
    /// The slot of a class, given on first use: a value's own slot when the class is
    /// one in a slot already or holds a live-out value, else a temporary.
    fn slot(&mut self, id: Id) -> SlotRef {
        if let Some(s) = self.slots[ix(id)] {
            return s;
        }
        let s = if let Some(Way::Slot(v)) = self.x.way_of(id) {
            SlotRef::Value(*v)
        } else if let Some(&(v, _)) = self.live.iter().find(|(_, c)| *c == id) {
            SlotRef::Value(v)
        } else {
            self.temps += 1;
            SlotRef::Temp(self.temps - 1)
        };
        self.slots[ix(id)] = Some(s);
        s
    }

    /// Emits what computes class `id` (and what it needs), once.
    fn compute(&mut self, id: Id) {
        // Operands first, depth first, with a stack of its own: a block may hold a chain
        // of any length. The chosen ways never form a cycle.
        let mut stack: smallvec::SmallVec<[(Id, bool); 16]> = smallvec::smallvec![(id, false)];
        while let Some((id, operands_done)) = stack.pop() {
            if self.slots[ix(id)].is_some() {
                continue;
            }
            let Some(way) = self.x.way_of(id) else {
                let what = match self.g.nodes(id).first() {
                    Some(n) => format!("`{n}`"),
                    None => "a value".to_string(),
                };
                self.missing.get_or_insert((self.at, what));
                continue;
            };
            if !operands_done {
                stack.push((id, true));
                // Pushed in reverse, so that the first operand is computed first.
                let from = stack.len();
                push_all(&mut stack, slot_operands(way).map(|o| (o, false)));
                stack[from..].reverse();
                continue;
            }
            match way.clone() {
                // An effect's result gets its slot when the effect is emitted, which
                // comes before any use (no way of a user is earlier than what it reads).
                Way::Slot(_) | Way::Effect => {
                    self.slot(id);
                }
                Way::Const(ty, bits) => {
                    let (stencil, operands) = iconst(ty, bits);
                    let result = Some(self.slot(id));
                    self.insts.push(Instance {
                        stencil,
                        covers: Covers::Const(ty, bits),
                        operands,
                        result,
                        detail: Detail::None,
                        cost: stencil.cost,
                    });
                }
                Way::Tile(tile, m) => {
                    let operands = self.operands(tile, &m);
                    let result = Some(self.slot(id));
                    self.insts
                        .push(instance(tile, operands, result, Detail::None));
                }
            }
        }
    }

    /// The operands of a match, computing its slot operands first.
    fn operands(&mut self, tile: &Tile, m: &Match) -> Operands {
        let mut operands = Operands::new();
        for (i, &o) in m.operands.iter().enumerate() {
            operands.push(match tile.operands[i] {
                (Kind::Imm, ty) => Operand::Imm(imm_of(self.g, o, ty).unwrap_or(0)),
                (Kind::Slot, _) => {
                    self.compute(o);
                    Operand::Slot(self.slot(o))
                }
            });
        }
        operands
    }

    /// A value moved somewhere: an immediate if a constant that fits, else its slot.
    fn moved(&mut self, id: Id) -> Operand {
        let data = self.g.data(id);
        if let (Some(bits), Some(ty)) = (data.konst, data.ty) {
            return Operand::Imm(ty.signed(bits));
        }
        self.compute(id);
        Operand::Slot(self.slot(id))
    }

    /// Live-out values: computed, and copied into their own slots where their class lives
    /// elsewhere.
    fn live_outs(&mut self) {
        for &(v, c) in self.live {
            self.compute(c);
            let s = self.slot(c);
            if s != SlotRef::Value(v) {
                self.insts.push(copy_instance(s, SlotRef::Value(v)));
            }
        }
    }

    fn effect(&mut self, module: &Module, block: &Block, k: usize, e: &Effect) {
        let id = e.class;
        if let NodeOp::Effect {
            op: crate::ir::Opcode::Call,
            imm,
            ..
        } = e.node.op
        {
            // A call is always an instruction, never a terminator.
            let Source::Inst(n) = e.source else { return };
            let inst = &block.insts[n];
            let func = crate::ir::FuncId(imm as u32);
            let import = module
                .funcs
                .get(func.0 as usize)
                .is_some_and(|f| f.is_import());
            let sp = &tiles().special;
            let stencil = if import { sp.call_import } else { sp.call };
            let args: Vec<Operand> = e.node.args.iter().map(|&a| self.moved(a)).collect();
            let mut cost = stencil.cost;
            for &a in &e.node.args {
                cost = cost.saturating_add(move_cost(self.g, a));
            }
            cost = cost.saturating_add(sp.copy.cost.saturating_mul(inst.results.len() as u32));
            self.insts.push(Instance {
                stencil,
                covers: Covers::Op(inst.op, inst.ty),
                operands: Operands::new(),
                result: None,
                detail: Detail::Call {
                    func,
                    import,
                    args,
                    results: inst.results.iter().map(|&r| Some(r)).collect(),
                },
                cost,
            });
            return;
        }
        let Some(Way::Tile(tile, m)) = self.x.root_way(k).cloned() else {
            self.missing.get_or_insert((k, format!("`{}`", e.node)));
            return;
        };
        // A fused load computes its user's class instead of its own.
        let id = match &self.x.fused[k] {
            Some((user, _)) => *user,
            None => id,
        };
        let operands = self.operands(tile, &m);
        let has_result = tile
            .stencil
            .holes
            .iter()
            .any(|h| h.value == crate::stencil::HoleValue::Result);
        let result = has_result.then(|| self.slot(id));
        let (detail, moves_cost) = match (e.source, &e.node.op) {
            (Source::Term, _) => self.term_detail(block, e),
            (_, NodeOp::Effect { imm, op, .. })
                if op.info().imm == crate::ir::oplist::Imm::Offset =>
            {
                (Detail::Offset(*imm as u32), 0)
            }
            _ => (Detail::None, 0),
        };
        let mut inst = instance(tile, operands, result, detail);
        inst.cost = inst.cost.saturating_add(moves_cost);
        self.insts.push(inst);
    }

    /// A terminator's targets and moves, and what the moves cost.
    fn term_detail(&mut self, block: &Block, e: &Effect) -> (Detail, u32) {
        let Some(term) = &block.term else {
            return (Detail::None, 0);
        };
        let args = e.node.args.clone();
        let mut cost = 0u32;
        let mut edge = |em: &mut Self, target: &crate::ir::Target, from: &[Id]| {
            let params = &em.body.blocks[target.block.index()].params;
            // A parameter passed itself stays where it is.
            let moves = params
                .iter()
                .zip(from)
                .filter_map(|(&p, &a)| {
                    let o = em.moved(a);
                    (o != Operand::Slot(SlotRef::Value(p))).then(|| {
                        cost = cost.saturating_add(move_cost(em.g, a));
                        (p, o)
                    })
                })
                .collect();
            Edge {
                block: target.block,
                moves,
            }
        };
        let detail = match &term.kind {
            TermKind::Jump(t) => Detail::Jump(edge(self, t, &args)),
            TermKind::Brif { then, els, .. } => {
                let n = then.args.len();
                let then_edge = edge(self, then, &args[1..1 + n]);
                let els_edge = edge(self, els, &args[1 + n..]);
                Detail::Brif {
                    then: then_edge,
                    els: els_edge,
                }
            }
            TermKind::BrTable {
                targets, default, ..
            } => Detail::BrTable {
                targets: targets.clone(),
                default: *default,
            },
            TermKind::Return(_) => {
                let vals: Vec<Operand> = args.iter().map(|&a| self.moved(a)).collect();
                for &a in &args {
                    cost = cost.saturating_add(move_cost(self.g, a));
                }
                Detail::Return(vals)
            }
            TermKind::Trap => Detail::None,
        };
        (detail, cost)
    }
}

/// A copy of slot `from` into slot `to`.
fn copy_instance(from: SlotRef, to: SlotRef) -> Instance {
    let copy = tiles().special.copy;
    Instance {
        stencil: copy,
        covers: Covers::Name("copy"),
        operands: smallvec::smallvec![Operand::Slot(from)],
        result: Some(to),
        detail: Detail::None,
        cost: copy.cost,
    }
}

fn instance(
    tile: &'static Tile,
    operands: Operands,
    result: Option<SlotRef>,
    detail: Detail,
) -> Instance {
    Instance {
        stencil: tile.stencil,
        covers: Covers::Pattern(&tile.pat),
        operands,
        result,
        detail,
        cost: tile.stencil.cost,
    }
}

#[cfg(test)]
mod tests {
    use super::{Hyper, INF, NONE};

    /// A graph with a cycle (0 -> 2 -> 1 -> 0), a child counted twice, an edge that
    /// never completes (3 needs itself) and a node with a dear and a cheap edge.
    fn graph() -> Hyper {
        let mut h = Hyper::new(6);
        h.push(0, 5, []); // edge 0
        h.push(1, 1, [0]); // edge 1: 6
        h.push(1, 10, []); // edge 2: 10
        h.push(2, 1, [1, 1]); // edge 3: 13
        h.push(0, 0, [2]); // edge 4: 13, worse than edge 0
        h.push(3, 1, [3]); // edge 5: never
        h.push(4, 2, [3, 0]); // edge 6: never, 3 has no value
        h.push(5, 20, []); // edge 7
        h.push(5, 1, [1]); // edge 8: 7
        h
    }

    #[test]
    fn sums_take_the_cheapest_edge_through_a_cycle() {
        let mut h = graph();
        let (v, best) = h.solve(u32::saturating_add, &|_| false);
        assert_eq!(v, [5, 6, 13, INF, INF, 7]);
        assert_eq!(best, [0, 1, 3, NONE, NONE, 8]);
    }

    #[test]
    fn a_free_child_adds_nothing_but_is_waited_for() {
        let mut h = graph();
        let (v, best) = h.solve(u32::saturating_add, &|c| c == 1 || c == 3);
        // 2 reads 1 twice for nothing; 5 reads 1 for nothing.
        assert_eq!(v, [5, 6, 1, INF, INF, 1]);
        assert_eq!(best, [0, 1, 3, NONE, NONE, 8]);
    }

    /// One `Hyper` serves graph after graph: cleared and filled again, it solves as a new
    /// one does, whatever it held before.
    #[test]
    fn a_cleared_hyper_solves_its_new_edges_only() {
        let mut h = graph();
        h.solve(u32::saturating_add, &|_| false);
        h.clear(2);
        h.push(1, 4, [0]);
        h.push(0, 3, []);
        let (v, best) = h.solve(u32::saturating_add, &|_| false);
        assert_eq!((v, best), (&[3, 7][..], &[1, 0][..]));
        h.clear(3);
        h.push(2, 1, []);
        let (v, best) = h.solve(u32::saturating_add, &|_| false);
        assert_eq!((v, best), (&[INF, INF, 1][..], &[NONE, NONE, 0][..]));
    }

    #[test]
    fn a_node_never_takes_an_edge_through_itself() {
        // 0 = 1 + 0 (0 free) would be cheaper than 0's own 5, and reads 0 itself.
        let mut h = Hyper::new(1);
        h.push(0, 5, []);
        h.push(0, 1, [0]);
        let (v, best) = h.solve(u32::saturating_add, &|_| true);
        assert_eq!((v[0], best[0]), (5, 0));
    }

    /// An effect left without a stencil is an error located at its instruction, not a
    /// cover that silently lacks it.
    #[test]
    fn an_effect_without_a_stencil_is_a_located_error() {
        use super::super::cover::Saturation;
        use super::super::graph::{build, Facts};
        use super::{emit, Extractor};
        let src =
            "func @f(i32) -> i32 {\nentry(v0: i32):\n    v1 = load.i32 v0, 4\n    return v1\n}\n";
        let m = crate::Module::from_text(src, "gap.egir").unwrap();
        let body = m.funcs[0].body.as_ref().unwrap();
        let (id, block) = body.blocks().next().unwrap();
        let bg = build(body, block, &Facts::of(body));
        let flat = bg.graph.flatten();
        let bg = bg.with_graph(flat);
        let sat = Saturation {
            reason: "no rules",
            iterations: 0,
            nodes: 0,
            classes: 0,
        };
        let mut x = Extractor::new(&bg.graph, &bg.effects, &bg.live_out);
        x.costs();
        assert!(emit(&m, body, id, block, &bg, sat.clone(), &x).is_ok());
        x.effect_range[0].1 = x.effect_range[0].0;
        let e = emit(&m, body, id, block, &bg, sat, &x).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Unsupported);
        assert_eq!(
            e.to_string(),
            "gap.egir:3:5: error: no stencil covers `load.i32` (at `load.i32` in block entry)"
        );
    }

    /// The one-pass `earliest` applies to every corpus block as loaded and agrees with
    /// the general one.
    #[test]
    fn earliest_in_one_pass_is_the_general_solution() {
        use super::super::graph::{build, Facts};
        use super::{call_results, earliest_cyclic, earliest_in_order};
        let mut checked = 0;
        for entry in std::fs::read_dir("tests/programs").unwrap() {
            let path = entry.unwrap().path();
            let src = std::fs::read_to_string(&path).unwrap();
            let m = crate::Module::from_text(&src, "p").unwrap();
            for body in m.funcs.iter().filter_map(|f| f.body.as_ref()) {
                let facts = Facts::of(body);
                for (_, block) in body.blocks() {
                    let bg = build(body, block, &facts);
                    let results = call_results(block, &bg.effects);
                    let g = bg.graph.flatten();
                    let mut one_pass = Vec::new();
                    assert!(
                        earliest_in_order(&g, g.len(), &results, &mut one_pass),
                        "reads backwards"
                    );
                    assert_eq!(one_pass, earliest_cyclic(&g, g.len(), &results));
                    checked += 1;
                }
            }
        }
        assert!(checked > 100);
    }

    #[test]
    fn max_gives_the_latest_child() {
        let mut h = graph();
        let (v, _) = h.solve(u32::max, &|_| false);
        assert_eq!(v, [5, 5, 5, INF, INF, 5]);
    }
}
