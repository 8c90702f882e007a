//! DAG-aware extraction: the cheapest cover of a block's e-graph by tiles, where a value
//! used by two chosen tiles (or live out of the block) is computed once into a slot and
//! paid for once.
//!
//! 1. Ways to compute each class: already in a slot (a parameter or a value of another
//!    block, cost 0), a constant by `iconst`, or a tile matched at one of its nodes.
//!    Only nodes computable as early as the class itself count, so a chosen way never
//!    needs an effect that comes later than the value's first use.
//! 2. The cost of a class is its best way's cost plus its slot operands' costs, except
//!    that a *shared* class costs its users nothing: it is computed once on its own
//!    (Bellman-Ford style rounds, as e-graphs have cycles).
//! 3. Shared starts as the roots (effects, live-out values). Choosing from the roots
//!    down, a class that ends up an operand of two chosen tiles becomes shared and the
//!    costs are computed again, until nothing changes. A tile that swallows a shared
//!    class still pays for it inside itself: the class is computed anyway.

use std::collections::{HashMap, HashSet};

use egg::Id;

use super::cover::{BlockCover, Detail, Edge, Instance, Operand, Saturation, SlotRef};
use super::fold::Graph;
use super::graph::{BlockGraph, Effect, Source};
use super::lang::{Node, NodeOp};
use super::tiles::{imm_of, matches, tiles, Match, Tile};
use crate::ir::{Block, BlockId, Body, Module, TermKind, Type, Value};
use crate::stencil::{Kind, Stencil};

/// A way to compute a class.
#[derive(Clone, Debug)]
enum Way {
    /// Already in the slot of this value.
    Slot(Value),
    /// The class's constant, materialized by an `iconst` stencil.
    Const(Type, u64),
    /// A tile matched at a node of the class.
    Tile(&'static Tile, Match),
}

const INF: u32 = u32::MAX;

/// The stencil that puts constant `bits` of type `ty` in a slot, and its operands.
fn iconst(ty: Type, bits: u64) -> (&'static Stencil, Vec<Operand>) {
    let sp = &tiles().special;
    match ty {
        Type::I32 => (sp.iconst_i32, vec![Operand::Imm(bits as u32 as i32 as i64)]),
        Type::I64 if (bits as i64) == (bits as i32 as i64) => {
            (sp.iconst_i64, vec![Operand::Imm(bits as i64)])
        }
        Type::I64 => (
            sp.iconst_i64_wide,
            vec![
                Operand::Imm(bits as u32 as i64),
                Operand::Imm((bits >> 32) as u32 as i64),
            ],
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
    let data = g[id].data;
    match (data.konst, data.ty) {
        (Some(bits), Some(ty)) => iconst(ty, bits).0.cost,
        _ => tiles().special.copy.cost,
    }
}

struct Extractor {
    ways: HashMap<Id, Vec<Way>>,
    /// The ways of each effect's own node, by effect position.
    effect_ways: Vec<Vec<Way>>,
    shared: HashSet<Id>,
    cost: HashMap<Id, u32>,
    best: HashMap<Id, usize>,
}

impl Extractor {
    fn new(g: &Graph, effects: &[Effect]) -> Extractor {
        let earliest = earliest(g);
        let by_root = &tiles().by_root;
        let mut ways: HashMap<Id, Vec<Way>> = HashMap::new();
        for class in g.classes() {
            let id = class.id;
            let mut w = Vec::new();
            if let Some(v) = class.nodes.iter().find_map(|n| match n.op {
                NodeOp::Slot(_, v) => Some(Value(v)),
                _ => None,
            }) {
                w.push(Way::Slot(v));
            }
            if let (Some(bits), Some(ty)) = (class.data.konst, class.data.ty) {
                w.push(Way::Const(ty, bits));
            }
            let first = earliest[&id];
            for node in &class.nodes {
                if !matches!(node.op, NodeOp::Pure(..)) || node_earliest(node, &earliest) > first {
                    continue;
                }
                for &t in by_root
                    .get(&super::tiles::root_key(node.op))
                    .into_iter()
                    .flatten()
                {
                    let tile = &tiles().tiles[t];
                    for m in matches(g, tile, id, Some(node)) {
                        w.push(Way::Tile(tile, m));
                    }
                }
            }
            ways.insert(id, w);
        }
        let effect_ways = effects
            .iter()
            .map(|e| {
                let id = g.find(e.class);
                let Some(node) = own_node(g, e) else {
                    return Vec::new();
                };
                let mut w = Vec::new();
                for &t in by_root
                    .get(&super::tiles::root_key(node.op))
                    .into_iter()
                    .flatten()
                {
                    let tile = &tiles().tiles[t];
                    for m in matches(g, tile, id, Some(&node)) {
                        w.push(Way::Tile(tile, m));
                    }
                }
                w
            })
            .collect();
        Extractor {
            ways,
            effect_ways,
            shared: HashSet::new(),
            cost: HashMap::new(),
            best: HashMap::new(),
        }
    }

    /// What a slot operand costs its user.
    fn leaf(&self, id: Id) -> u32 {
        if self.shared.contains(&id) {
            0
        } else {
            self.cost.get(&id).copied().unwrap_or(INF)
        }
    }

    fn way_cost(&self, w: &Way) -> u32 {
        match w {
            Way::Slot(_) => 0,
            Way::Const(ty, bits) => iconst(*ty, *bits).0.cost,
            Way::Tile(tile, m) => {
                let mut c = tile.stencil.cost;
                for (i, &o) in m.operands.iter().enumerate() {
                    if tile.operands[i].0 == Kind::Slot {
                        c = c.saturating_add(self.leaf(o));
                    }
                }
                c
            }
        }
    }

    /// Rounds of relaxation until no class gets cheaper.
    fn costs(&mut self) {
        self.cost.clear();
        self.best.clear();
        let ids: Vec<Id> = self.ways.keys().copied().collect();
        for _ in 0..=ids.len() {
            let mut changed = false;
            for &id in &ids {
                for (k, w) in self.ways[&id].iter().enumerate() {
                    let c = self.way_cost(w);
                    if c < self.cost.get(&id).copied().unwrap_or(INF) {
                        self.cost.insert(id, c);
                        self.best.insert(id, k);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// The cheapest of `ways`, by index.
    fn cheapest(&self, ways: &[Way]) -> Option<usize> {
        (0..ways.len())
            .filter(|&k| self.way_cost(&ways[k]) < INF)
            .min_by_key(|&k| self.way_cost(&ways[k]))
    }

    fn way_of(&self, id: Id) -> Option<&Way> {
        self.best.get(&id).map(|&k| &self.ways[&id][k])
    }

    /// Counts how often each class is a slot operand of the tiles chosen from `roots`.
    fn count_uses(&self, roots: &[Option<&Way>], extra: &[Id]) -> HashMap<Id, u32> {
        let mut uses: HashMap<Id, u32> = HashMap::new();
        let mut stack: Vec<Id> = extra.to_vec();
        let visit = |w: &Way, uses: &mut HashMap<Id, u32>, stack: &mut Vec<Id>| {
            if let Way::Tile(tile, m) = w {
                for (i, &o) in m.operands.iter().enumerate() {
                    if tile.operands[i].0 == Kind::Slot {
                        let n = uses.entry(o).or_insert(0);
                        *n += 1;
                        if *n == 1 {
                            stack.push(o);
                        }
                    }
                }
            }
        };
        for w in roots.iter().flatten() {
            visit(w, &mut uses, &mut stack);
        }
        let mut seen = HashSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(w) = self.way_of(id) {
                visit(w, &mut uses, &mut stack);
            }
        }
        uses
    }
}

/// The node of an effect as it stands in the rebuilt graph (its position identifies it).
fn own_node(g: &Graph, e: &Effect) -> Option<Node> {
    g[g.find(e.class)]
        .nodes
        .iter()
        .find(|n| n.op == e.node.op)
        .cloned()
}

/// After which effect each class can be computed (0: at the block's start).
fn earliest(g: &Graph) -> HashMap<Id, u32> {
    let mut e: HashMap<Id, u32> = g.classes().map(|c| (c.id, u32::MAX)).collect();
    loop {
        let mut changed = false;
        for class in g.classes() {
            let best = class
                .nodes
                .iter()
                .map(|n| node_earliest(n, &e))
                .min()
                .unwrap_or(u32::MAX);
            if best < e[&class.id] {
                e.insert(class.id, best);
                changed = true;
            }
        }
        if !changed {
            return e;
        }
    }
}

fn node_earliest(n: &Node, e: &HashMap<Id, u32>) -> u32 {
    let own = match n.op {
        NodeOp::Effect { seq, .. } | NodeOp::Term(_, seq) => seq.saturating_add(1),
        _ => 0,
    };
    n.args
        .iter()
        .map(|a| e.get(a).copied().unwrap_or(u32::MAX))
        .fold(own, u32::max)
}

/// Covers a block whose e-graph has been rewritten.
pub fn cover_block(
    module: &Module,
    body: &Body,
    id: BlockId,
    block: &Block,
    bg: &BlockGraph,
    saturation: Saturation,
) -> BlockCover {
    let g = &bg.egraph;
    let mut x = Extractor::new(g, &bg.effects);
    for e in &bg.effects {
        x.shared.insert(g.find(e.class));
    }
    for &(_, c) in &bg.live_out {
        x.shared.insert(g.find(c));
    }
    // Operands of calls and branch arguments are moved from slots: they are roots too.
    let moved: HashSet<Id> = bg.effects.iter().flat_map(|e| moved_args(e, g)).collect();
    let extra: Vec<Id> = bg
        .live_out
        .iter()
        .map(|&(_, c)| g.find(c))
        .chain(moved.iter().copied())
        .collect();
    // Costs, then the classes the choice uses twice become shared, until none does (a
    // few rounds; each round's costs are current when it finds nothing new).
    let mut current = false;
    for _ in 0..8 {
        x.costs();
        let roots: Vec<Option<&Way>> = x
            .effect_ways
            .iter()
            .map(|w| x.cheapest(w).map(|k| &w[k]))
            .collect();
        let uses = x.count_uses(&roots, &extra);
        let mut grew = false;
        for (&id, &n) in &uses {
            let used_again = n >= 2 || (n >= 1 && moved.contains(&id));
            if used_again && x.shared.insert(id) {
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
    let mut em = Emitter {
        x: &x,
        g,
        body,
        insts: Vec::new(),
        slots: HashMap::new(),
        temps: 0,
        live: &bg.live_out,
    };
    for (k, e) in bg.effects.iter().enumerate() {
        if e.source == Source::Term {
            em.live_outs();
        }
        em.effect(module, block, k, e);
    }
    let cost = em.insts.iter().fold(0u32, |a, i| a.saturating_add(i.cost));
    BlockCover {
        block: id,
        name: block.name.clone(),
        temps: em.temps,
        insts: em.insts,
        saturation,
        cost,
    }
}

/// The classes an effect moves rather than reads through a tile: call arguments and
/// branch arguments (beyond a terminator's condition or index).
fn moved_args(e: &Effect, g: &Graph) -> Vec<Id> {
    match e.node.op {
        NodeOp::Effect {
            op: crate::ir::Opcode::Call,
            ..
        } => e.node.args.iter().map(|&a| g.find(a)).collect(),
        NodeOp::Term(t, _) => {
            let skip = usize::from(matches!(
                t,
                super::lang::Term::Brif | super::lang::Term::BrTable
            ));
            e.node.args.iter().skip(skip).map(|&a| g.find(a)).collect()
        }
        _ => Vec::new(),
    }
}

struct Emitter<'a, 'g> {
    x: &'a Extractor,
    g: &'g Graph,
    body: &'a Body,
    insts: Vec<Instance>,
    slots: HashMap<Id, SlotRef>,
    temps: u32,
    live: &'a [(Value, Id)],
}

impl Emitter<'_, '_> {
    /// The slot of a class, given on first use: a value's own slot when the class is
    /// one in a slot already or holds a live-out value, else a temporary.
    fn slot(&mut self, id: Id) -> SlotRef {
        let id = self.g.find(id);
        if let Some(&s) = self.slots.get(&id) {
            return s;
        }
        let s = if let Some(Way::Slot(v)) = self.x.way_of(id) {
            SlotRef::Value(*v)
        } else if let Some(&(v, _)) = self.live.iter().find(|(_, c)| self.g.find(*c) == id) {
            SlotRef::Value(v)
        } else {
            self.temps += 1;
            SlotRef::Temp(self.temps - 1)
        };
        self.slots.insert(id, s);
        s
    }

    /// Emits what computes class `id` (and what it needs), once.
    fn compute(&mut self, id: Id) {
        let id = self.g.find(id);
        if self.slots.contains_key(&id) {
            return;
        }
        let Some(way) = self.x.way_of(id).cloned() else {
            return;
        };
        match way {
            Way::Slot(_) => {
                self.slot(id);
            }
            Way::Const(ty, bits) => {
                let (stencil, operands) = iconst(ty, bits);
                let result = Some(self.slot(id));
                let v = match ty {
                    Type::I32 => bits as u32 as i32 as i64,
                    Type::I64 => bits as i64,
                };
                self.insts.push(Instance {
                    stencil,
                    covers: vec![format!("iconst.{ty} {v}")],
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
                    .push(instance(tile, &m, operands, result, Detail::None));
            }
        }
    }

    /// The operands of a match, computing its slot operands first.
    fn operands(&mut self, tile: &Tile, m: &Match) -> Vec<Operand> {
        m.operands
            .iter()
            .enumerate()
            .map(|(i, &o)| match tile.operands[i] {
                (Kind::Imm, ty) => Operand::Imm(imm_of(self.g, o, ty).unwrap_or(0)),
                (Kind::Slot, _) => {
                    self.compute(o);
                    Operand::Slot(self.slot(o))
                }
            })
            .collect()
    }

    /// A value moved somewhere: an immediate if a constant that fits, else its slot.
    fn moved(&mut self, id: Id) -> Operand {
        let data = self.g[self.g.find(id)].data;
        if let (Some(bits), Some(ty)) = (data.konst, data.ty) {
            return Operand::Imm(match ty {
                Type::I32 => bits as u32 as i32 as i64,
                Type::I64 => bits as i64,
            });
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
                let copy = tiles().special.copy;
                self.insts.push(Instance {
                    stencil: copy,
                    covers: vec!["copy".to_string()],
                    operands: vec![Operand::Slot(s)],
                    result: Some(SlotRef::Value(v)),
                    detail: Detail::None,
                    cost: copy.cost,
                });
            }
        }
    }

    fn effect(&mut self, module: &Module, block: &Block, k: usize, e: &Effect) {
        let id = self.g.find(e.class);
        if let NodeOp::Effect {
            op: crate::ir::Opcode::Call,
            imm,
            ..
        } = e.node.op
        {
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
                covers: vec![inst.mnemonic()],
                operands: Vec::new(),
                result: None,
                detail: Detail::Call {
                    func,
                    import,
                    args,
                    results: inst.results.clone(),
                },
                cost,
            });
            return;
        }
        let ways = &self.x.effect_ways[k];
        let Some(best) = self.x.cheapest(ways) else {
            return;
        };
        let Way::Tile(tile, m) = ways[best].clone() else {
            return;
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
        let mut inst = instance(tile, &m, operands, result, detail);
        inst.cost = inst.cost.saturating_add(moves_cost);
        self.insts.push(inst);
    }

    /// A terminator's targets and moves, and what the moves cost.
    fn term_detail(&mut self, block: &Block, e: &Effect) -> (Detail, u32) {
        let Some(term) = &block.term else {
            return (Detail::None, 0);
        };
        let args: Vec<Id> = e.node.args.iter().map(|&a| self.g.find(a)).collect();
        let mut cost = 0u32;
        let mut edge = |em: &mut Self, target: &crate::ir::Target, from: &[Id]| {
            let params = &em.body.blocks[target.block.index()].params;
            let moves = params
                .iter()
                .zip(from)
                .map(|(&p, &a)| {
                    cost = cost.saturating_add(move_cost(em.g, a));
                    (p, em.moved(a))
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

fn instance(
    tile: &Tile,
    m: &Match,
    operands: Vec<Operand>,
    result: Option<SlotRef>,
    detail: Detail,
) -> Instance {
    Instance {
        stencil: tile.stencil,
        covers: m.covered.iter().map(|(_, n)| n.to_string()).collect(),
        operands,
        result,
        detail,
        cost: tile.stencil.cost,
    }
}
