//! A block's e-graph: pure operations float, effects form an ordered skeleton.

use egg::Id;

use super::flat::{Dag, FastMap, FlatGraph};
use super::lang::{ids, Node, NodeOp, Term};
use crate::ir::{Block, BlockId, Body, Opcode, TermKind, Type, Value};

/// What an effect of the skeleton is in the IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Instruction `n` of the block.
    Inst(usize),
    /// The terminator.
    Term,
}

/// One effect of the skeleton: its class (which holds its value, if it has one) and its
/// node.
#[derive(Clone, Debug)]
pub struct Effect {
    pub class: Id,
    pub node: Node,
    pub source: Source,
}

/// A block's graph: as loaded ([`Dag`]), or frozen for extraction ([`FlatGraph`]).
pub struct BlockGraph<G = FlatGraph> {
    pub graph: G,
    /// The effects in program order; the terminator last.
    pub effects: Vec<Effect>,
    /// Values defined here and used in other blocks, with their classes: they must end
    /// in their own slots.
    pub live_out: Vec<(Value, Id)>,
}

impl<G> BlockGraph<G> {
    /// The same block over another graph whose classes have the same numbers.
    pub fn with_graph<H>(self, graph: H) -> BlockGraph<H> {
        self.swap_graph(graph).0
    }

    /// The same block over another graph whose classes have the same numbers, and the
    /// graph it had.
    pub fn swap_graph<H>(self, graph: H) -> (BlockGraph<H>, G) {
        let old = BlockGraph {
            graph,
            effects: self.effects,
            live_out: self.live_out,
        };
        (old, self.graph)
    }

    /// The same block over another graph, its classes renamed by `class`, and the graph
    /// it had.
    pub fn map<H>(self, graph: H, class: impl Fn(Id) -> Id) -> (BlockGraph<H>, G) {
        let mapped = BlockGraph {
            graph,
            effects: self
                .effects
                .into_iter()
                .map(|mut e| {
                    e.class = class(e.class);
                    e.node.args.iter_mut().for_each(|a| *a = class(*a));
                    e
                })
                .collect(),
            live_out: self
                .live_out
                .into_iter()
                .map(|(v, c)| (v, class(c)))
                .collect(),
        };
        (mapped, self.graph)
    }
}

/// What building a block's graph needs to know of its function, found once per
/// function.
#[derive(Default)]
pub struct Facts {
    /// The constant each value is, if an `iconst` defines it and every block that uses
    /// it makes it anew.
    pub konst: Vec<Option<u64>>,
    /// For each value, true when a block other than its defining one uses it. Constants
    /// are not (but those [`find`](Self::find) keeps in their slots): every block that
    /// uses one makes it anew.
    pub live: Vec<bool>,
    /// Which block defines each value.
    def: Vec<BlockId>,
}

impl Facts {
    pub fn of(body: &Body) -> Facts {
        let mut facts = Facts::default();
        facts.find(body);
        facts
    }

    /// The facts of `body`, in the room these had.
    pub fn find(&mut self, body: &Body) {
        let n = body.values.len();
        self.konst.clear();
        self.konst.resize(n, None);
        for inst in body.blocks.iter().flat_map(|b| &b.insts) {
            // An i64 constant no immediate holds is built by two stencils: the other
            // blocks that use it read it from its slot, which its own block fills once,
            // rather than build it again on every pass of a loop. All but a power of
            // two, which rules may turn into a shift.
            let wide = inst.ty == Some(Type::I64) && (inst.imm as i64) != (inst.imm as i32 as i64);
            if inst.op == Opcode::Iconst && (!wide || inst.imm.is_power_of_two()) {
                self.konst[inst.results[0].index()] = Some(inst.imm);
            }
        }
        self.def.clear();
        self.def.resize(n, BlockId(0));
        for (b, block) in body.blocks() {
            let results = block.insts.iter().flat_map(|i| &i.results);
            for &v in block.params.iter().chain(results) {
                self.def[v.index()] = b;
            }
        }
        self.live.clear();
        self.live.resize(n, false);
        for (b, block) in body.blocks() {
            let mut mark = |v: Value| {
                if self.def[v.index()] != b && self.konst[v.index()].is_none() {
                    self.live[v.index()] = true;
                }
            };
            block
                .insts
                .iter()
                .flat_map(|i| &i.args)
                .for_each(|&v| mark(v));
            if let Some(t) = &block.term {
                for_each_term_use(&t.kind, &mut mark);
            }
        }
    }
}

/// Every value a terminator reads, to `f`: its condition or index, then its branch
/// arguments in target order (the order of a terminator node's operands).
fn for_each_term_use(t: &TermKind, f: &mut impl FnMut(Value)) {
    match t {
        TermKind::Jump(target) => target.args.iter().for_each(|&v| f(v)),
        TermKind::Brif { cond, then, els } => {
            f(*cond);
            then.args.iter().chain(&els.args).for_each(|&v| f(v));
        }
        TermKind::BrTable { index, .. } => f(*index),
        TermKind::Return(vals) => vals.iter().for_each(|&v| f(v)),
        TermKind::Trap => {}
    }
}

fn term_of(t: &TermKind) -> Term {
    match t {
        TermKind::Jump(_) => Term::Jump,
        TermKind::Brif { .. } => Term::Brif,
        TermKind::BrTable { .. } => Term::BrTable,
        TermKind::Return(_) => Term::Return,
        TermKind::Trap => Term::Trap,
    }
}

/// Loads `block` of `body` into a graph.
pub fn build(body: &Body, block: &Block, facts: &Facts) -> BlockGraph<Dag> {
    let dag = Dag::with_capacity(2 * block.insts.len() + block.params.len() + 4);
    build_in(body, block, facts, dag, &mut FastMap::default())
}

/// [`build`] into `g`, emptied first, with `classes` as its table of each value's
/// class: both keep their room from block to block.
pub fn build_in(
    body: &Body,
    block: &Block,
    facts: &Facts,
    mut g: Dag,
    classes: &mut FastMap<Value, Id>,
) -> BlockGraph<Dag> {
    g.clear();
    classes.clear();
    let (konst, live) = (&facts.konst, &facts.live);
    let class_of = |g: &mut Dag, classes: &mut FastMap<Value, Id>, v: Value| -> Id {
        *classes.entry(v).or_insert_with(|| match konst[v.index()] {
            Some(bits) => g.add(Node::constant(body.ty(v), bits)),
            None => g.add(Node::new(NodeOp::Slot(body.ty(v), v.0), [])),
        })
    };
    for &p in &block.params {
        class_of(&mut g, classes, p);
    }
    let mut effects = Vec::new();
    for (n, inst) in block.insts.iter().enumerate() {
        let args = ids(inst.args.iter().map(|&v| class_of(&mut g, classes, v)));
        let ty = inst.ty.unwrap_or(Type::I32);
        if inst.op == Opcode::Iconst {
            let id = g.add(Node::constant(ty, inst.imm));
            classes.insert(inst.results[0], id);
            continue;
        }
        let pure = inst.op.is_pure() || division_cannot_trap(&g, inst.op, ty, &args);
        if pure {
            let mut args = args;
            let op = match (swapped(inst.op), &inst.args[..]) {
                // Canonical operand order: a compare of a constant with a value is loaded
                // as the value's compare with the constant (`5 < x` as `x > 5`), where
                // the constant can be an immediate operand. Done here rather than by a
                // rule, it costs the rewriting nothing.
                (Some(sw), &[a, b]) if konst[a.index()].is_some() && konst[b.index()].is_none() => {
                    args.swap(0, 1);
                    sw
                }
                _ => inst.op,
            };
            let id = g.add(Node {
                op: NodeOp::Pure(op, ty),
                args,
            });
            classes.insert(inst.results[0], id);
            continue;
        }
        let imm = match inst.func {
            Some(f) => f.0 as u64,
            None => inst.imm,
        };
        let node = Node {
            op: NodeOp::Effect {
                op: inst.op,
                ty: inst.ty,
                imm,
                seq: effects.len() as u32,
            },
            args,
        };
        let id = g.add(node.clone());
        if inst.op == Opcode::Call {
            // A call's results are read back from the callee's frame into their slots.
            for &r in &inst.results {
                let leaf = g.add(Node::new(NodeOp::Slot(body.ty(r), r.0), []));
                classes.insert(r, leaf);
            }
        } else if let Some(&r) = inst.results.first() {
            classes.insert(r, id);
        }
        effects.push(Effect {
            class: id,
            node,
            source: Source::Inst(n),
        });
    }
    if let Some(t) = &block.term {
        let mut args = smallvec::SmallVec::<[Id; 3]>::new();
        for_each_term_use(&t.kind, &mut |v| args.push(class_of(&mut g, classes, v)));
        let node = Node {
            op: NodeOp::Term(term_of(&t.kind), effects.len() as u32),
            args,
        };
        let id = g.add(node.clone());
        effects.push(Effect {
            class: id,
            node,
            source: Source::Term,
        });
    }
    let mut live_out: Vec<(Value, Id)> = block
        .insts
        .iter()
        .flat_map(|i| &i.results)
        .filter(|v| live[v.index()])
        .map(|&v| (v, classes[&v]))
        .collect();
    live_out.sort_by_key(|(v, _)| *v);
    BlockGraph {
        graph: g,
        effects,
        live_out,
    }
}

/// The compare that gives the same with its operands swapped.
fn swapped(op: Opcode) -> Option<Opcode> {
    use Opcode::*;
    Some(match op {
        IcmpEq => IcmpEq,
        IcmpNe => IcmpNe,
        IcmpSlt => IcmpSgt,
        IcmpSle => IcmpSge,
        IcmpSgt => IcmpSlt,
        IcmpSge => IcmpSle,
        IcmpUlt => IcmpUgt,
        IcmpUle => IcmpUge,
        IcmpUgt => IcmpUlt,
        IcmpUge => IcmpUle,
        _ => return None,
    })
}

/// True for a division by a constant that is neither 0 nor, signed, -1: it cannot trap,
/// so it may float as a pure node.
fn division_cannot_trap(g: &Dag, op: Opcode, ty: Type, args: &[Id]) -> bool {
    let signed = matches!(op, Opcode::Sdiv | Opcode::Srem);
    if !signed && !matches!(op, Opcode::Udiv | Opcode::Urem) {
        return false;
    }
    let Some(d) = args.get(1).and_then(|&a| g.data(a).konst) else {
        return false;
    };
    let minus_one = match ty {
        Type::I32 => u32::MAX as u64,
        Type::I64 => u64::MAX,
    };
    d != 0 && !(signed && d == minus_one)
}
