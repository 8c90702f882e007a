//! Instruction selection: each block's operations in an `egg` e-graph, rewritten by
//! rules, then covered by stencils at the least cost.

pub mod fold;
pub mod lang;
pub mod rules;
pub mod single;

pub use fold::{Data, Fold, Graph};
pub use lang::{Node, NodeOp, OpSet, Term};
pub mod cover;
pub mod extract;
pub mod flat;
pub mod graph;
pub mod mine;
pub mod tiles;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use egg::{Id, Rewrite};

use crate::ir::{FuncId, Module, Opcode, Type};
use crate::{Config, Error};
use cover::{Cover, FuncCover, Saturation};
use tiles::tiles;

/// How far rewriting goes in each block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Rounds of applying every rule.
    pub iterations: usize,
    /// E-nodes in a block's graph.
    pub nodes: usize,
    /// Time per block.
    pub time: Duration,
    /// The most classes a block's loaded graph may have to be rewritten by the e-graph.
    /// A larger block is rewritten in place only, leaving out the rewrites that would
    /// merge classes: the e-graph's time grows faster than the block, and past a few
    /// hundred classes it costs more than the rest of compiling.
    pub egg_classes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            iterations: 8,
            nodes: 10_000,
            time: Duration::from_millis(50),
            egg_classes: 256,
        }
    }
}

/// Selection's rules, compiled once, and its limits: covers any number of modules.
///
/// ```
/// use egjit::select::Selector;
/// use egjit::{Config, Module};
///
/// let m = Module::from_text(
///     "func @f(i32) -> i32 {\nentry(v0: i32):\n v1 = iconst.i32 0\n v2 = iadd.i32 v0, v1\n return v2\n}",
///     "f.egir",
/// )?;
/// let cover = Selector::new(&Config::default())?.cover(&m)?;
/// // `x + 0 = x`: the add is gone, and the function returns its argument.
/// assert_eq!(cover.funcs[0].blocks[0].insts.len(), 1);
/// # Ok::<(), egjit::Error>(())
/// ```
pub struct Selector {
    rewrites: Arc<Rulebook>,
    limits: Limits,
}

/// Rewrites ready to search: each with the node kinds its left side needs, so that a
/// block that lacks one of them is not searched for it at all, and its two sides as
/// patterns, to rewrite a block without an e-graph where no classes merge.
pub struct Rulebook {
    rewrites: Vec<Rewrite<Node, Fold>>,
    needs: Vec<OpSet>,
    /// Each rewrite's left side, where it is a pattern.
    patterns: Vec<Option<egg::PatternAst<Node>>>,
    /// The rewrites whose left side is a pattern rooted at a node, by the root's kind
    /// bit: `rooted[at[b]..at[b + 1]]`.
    rooted: Vec<u32>,
    at: Vec<u32>,
    /// The other rewrites: a left side that is a variable, or no pattern.
    unrooted: Vec<u32>,
    /// Each rewrite's right side, as [`saturate_in_place`] applies it.
    rhs: Vec<Rhs>,
}

/// A rewrite's right side.
enum Rhs {
    /// A pattern: its nodes added, its root made equal to the matched class.
    Pattern(egg::PatternAst<Node>),
    /// `sub-const.T`'s: `(iadd.T ?a -c)` for the constant `c` of `?c`.
    NegatedConstant { ty: Type, a: egg::Var, c: egg::Var },
    /// Something else, which only the e-graph applies.
    Opaque,
}

impl Rhs {
    /// `r` with its right side: its pattern, or opaque.
    fn paired(r: Rewrite<Node, Fold>) -> (Rewrite<Node, Fold>, Rhs) {
        let rhs =
            (r.applier.get_pattern_ast()).map_or(Rhs::Opaque, |ast| Rhs::Pattern(ast.clone()));
        (r, rhs)
    }
}

impl Rulebook {
    /// The rulebook of `rewrites`. A right side that is not a pattern is applied only by
    /// the e-graph; [`Selector::new`] gives the built-in ones theirs.
    pub fn new(rewrites: Vec<Rewrite<Node, Fold>>) -> Rulebook {
        Rulebook::with_sides(rewrites.into_iter().map(Rhs::paired))
    }

    /// The rulebook of rewrites with their right sides as rewriting in place applies them.
    fn with_sides(rules: impl IntoIterator<Item = (Rewrite<Node, Fold>, Rhs)>) -> Rulebook {
        let (rewrites, rhs): (Vec<_>, Vec<_>) = rules.into_iter().unzip();
        let needs = rewrites
            .iter()
            .map(|r| {
                r.searcher
                    .get_pattern_ast()
                    .map_or(OpSet::ALL, OpSet::of_pattern)
            })
            .collect();
        let patterns: Vec<_> = rewrites
            .iter()
            .map(|r| r.searcher.get_pattern_ast().cloned())
            .collect();
        let mut by_bit = vec![Vec::new(); OpSet::KIND_BITS];
        let mut unrooted = Vec::new();
        for (r, p) in patterns.iter().enumerate() {
            match p.as_ref().and_then(|p| p.as_ref().last()) {
                Some(egg::ENodeOrVar::ENode(n)) => by_bit[OpSet::kind_bit(n.op)].push(r as u32),
                _ => unrooted.push(r as u32),
            }
        }
        let mut at = vec![0u32];
        let mut rooted = Vec::new();
        for rules in by_bit {
            rooted.extend(rules);
            at.push(rooted.len() as u32);
        }
        Rulebook {
            rewrites,
            needs,
            patterns,
            rooted,
            at,
            unrooted,
            rhs,
        }
    }

    /// The rewrites, in order.
    pub fn rewrites(&self) -> &[Rewrite<Node, Fold>] {
        &self.rewrites
    }

    /// The node kinds each rewrite's left side needs, in order.
    pub fn needs(&self) -> &[OpSet] {
        &self.needs
    }

    /// The rules that may match in a graph holding the kinds `present`, in order: those
    /// rooted at a kind it holds and the unrooted ones, when it holds every kind they
    /// need.
    fn candidates(&self, present: OpSet, out: &mut Vec<u32>) {
        out.clear();
        let rooted_at = |b: usize| &self.rooted[self.at[b] as usize..self.at[b + 1] as usize];
        out.extend(present.kind_bits().flat_map(rooted_at));
        out.extend_from_slice(&self.unrooted);
        out.retain(|&r| present.covers(&self.needs[r as usize]));
        out.sort_unstable();
    }
}

impl Selector {
    /// The selector of `config`: its rules (with the built-in ones unless
    /// `config.default_rules` is false) and its limits.
    ///
    /// # Errors
    /// Two rules of one name, located at the later one.
    pub fn new(config: &Config) -> Result<Selector, Error> {
        static BUILT_IN: OnceLock<Arc<Rulebook>> = OnceLock::new();
        let rewrites = if config.rules.is_empty() && config.default_rules {
            // The shipped rules are parsed, checked and compiled by the tests.
            BUILT_IN
                .get_or_init(|| {
                    let all = rules::rewrites(&rules::default_rules()).unwrap_or_default();
                    Arc::new(with_code_rules(all, true))
                })
                .clone()
        } else {
            let mut all = if config.default_rules {
                rules::default_rules()
            } else {
                Vec::new()
            };
            all.extend(config.rules.iter().cloned());
            let rewrites = rules::rewrites(&all)?;
            Arc::new(with_code_rules(rewrites, config.default_rules))
        };
        Ok(Selector {
            rewrites,
            limits: config.limits,
        })
    }

    /// Covers every function of a verified module.
    ///
    /// # Errors
    /// An operation no stencil covers, located at it.
    pub fn cover(&self, module: &Module) -> Result<Cover, Error> {
        cover_module(module, &self.rewrites, &self.limits)
    }

    /// The graph of `block` rewritten in place and by the e-graph, each with why it
    /// stopped; the first is `None` when rewriting in place declines. Selection uses
    /// the first where there is one, so the two must agree (`tests/cover.rs`).
    #[doc(hidden)]
    pub fn rewrite_both_ways(
        &self,
        body: &crate::ir::Body,
        block: &crate::ir::Block,
        facts: &graph::Facts,
    ) -> (
        Option<(flat::FlatGraph, Saturation)>,
        (flat::FlatGraph, Saturation),
    ) {
        let (book, limits) = (&*self.rewrites, &self.limits);
        let mut bg = graph::build(body, block, facts);
        let mut flat = bg.graph.flatten();
        let tables = &mut InPlace::default();
        let merges = Merges::ToTheEGraph;
        let in_place = saturate_in_place(&mut bg.graph, book, limits, &mut flat, tables, merges)
            .map(|(iterations, reason)| {
                let (nodes, classes) = (flat.total_nodes(), flat.len());
                let saturation = Saturation {
                    reason,
                    iterations,
                    nodes,
                    classes,
                };
                (flat, saturation)
            });
        let (by_egg, saturation, _) =
            saturate_by_egg(graph::build(body, block, facts), book, limits);
        (in_place, (by_egg.graph, saturation))
    }

    /// How many rewrites the selector applies.
    pub fn rule_count(&self) -> usize {
        self.rewrites.rewrites.len()
    }
}

/// The built-in rewrites that a rule file cannot say, as they compute a constant:
/// `sub-const.T`, `x - c = x + (-c)` for a constant `c` (so a counter counted down fuses
/// into add-compare-branch like one counted up).
pub fn code_rewrites() -> Vec<Rewrite<Node, Fold>> {
    code_rules().into_iter().map(|(r, _)| r).collect()
}

/// [`code_rewrites`] with their right sides.
fn code_rules() -> Vec<(Rewrite<Node, Fold>, Rhs)> {
    [Type::I32, Type::I64]
        .into_iter()
        .filter_map(|ty| {
            let lhs: egg::Pattern<Node> = format!("(isub.{ty} ?a ?c)").parse().ok()?;
            let (a, c) = ("?a".parse().ok()?, "?c".parse().ok()?);
            let rewrite =
                Rewrite::new(format!("sub-const.{ty}"), lhs, NegatedConstant { a, c, ty }).ok()?;
            Some((rewrite, Rhs::NegatedConstant { ty, a, c }))
        })
        .collect()
}

/// The rulebook of `rewrites` (their right sides patterns), then the built-in ones when
/// `code` is true.
fn with_code_rules(rewrites: Vec<Rewrite<Node, Fold>>, code: bool) -> Rulebook {
    let code = if code { code_rules() } else { Vec::new() };
    Rulebook::with_sides(rewrites.into_iter().map(Rhs::paired).chain(code))
}

/// Applies `(isub.T ?a ?c) => (iadd.T ?a -c)` where `?c` is a constant.
struct NegatedConstant {
    a: egg::Var,
    c: egg::Var,
    ty: Type,
}

impl egg::Applier<Node, Fold> for NegatedConstant {
    fn apply_one(
        &self,
        g: &mut Graph,
        eclass: egg::Id,
        subst: &egg::Subst,
        _ast: Option<&egg::PatternAst<Node>>,
        _rule: egg::Symbol,
    ) -> Vec<egg::Id> {
        let Some(bits) = g[subst[self.c]].data.konst else {
            return Vec::new();
        };
        let neg = g.add(Node::constant(self.ty, bits.wrapping_neg()));
        let add = g.add(Node::new(
            NodeOp::Pure(Opcode::Iadd, self.ty),
            [subst[self.a], neg],
        ));
        if g.union(eclass, add) {
            vec![add]
        } else {
            Vec::new()
        }
    }
}

/// Covers every function of a verified module: each block's e-graph rewritten with
/// `rules` within `limits`, then covered at the least cost.
///
/// # Errors
/// An operation no stencil covers, located at it.
pub fn cover_module(module: &Module, rules: &Rulebook, limits: &Limits) -> Result<Cover, Error> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Scratch> = Default::default();
    }
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut scratch) => {
            let out = cover_with(module, rules, limits, &mut scratch);
            if scratch.is_large() {
                *scratch = Scratch::default();
            }
            out
        }
        // Selection does not call itself; were it to, it would work on its own tables.
        Err(_) => cover_with(module, rules, limits, &mut Scratch::default()),
    })
}

/// What selection keeps from block to block, and from module to module on a thread:
/// its tables, emptied rather than made anew.
#[derive(Default)]
struct Scratch {
    facts: graph::Facts,
    dag: flat::Dag,
    classes: flat::FastMap<crate::ir::Value, Id>,
    flat: flat::FlatGraph,
    in_place: InPlace,
    extract: extract::Scratch,
}

impl Scratch {
    /// The most nodes a block's tables keep room for between modules.
    const KEEP_NODES: usize = 1 << 12;

    /// True when the tables grew past what is worth keeping for the next module.
    fn is_large(&self) -> bool {
        self.dag.capacity() > Self::KEEP_NODES || self.extract.is_large()
    }
}

/// [`cover_module`] with the tables of `scratch`.
fn cover_with(
    module: &Module,
    rules: &Rulebook,
    limits: &Limits,
    scratch: &mut Scratch,
) -> Result<Cover, Error> {
    let mut out = Cover::default();
    for (i, f) in module.funcs.iter().enumerate() {
        let Some(body) = &f.body else { continue };
        scratch.facts.find(body);
        let facts = &scratch.facts;
        let mut blocks = Vec::new();
        for b in crate::emit::layout::layout(body) {
            let block = &body.blocks[b.index()];
            let dag = std::mem::take(&mut scratch.dag);
            let bg = graph::build_in(body, block, facts, dag, &mut scratch.classes);
            let spare = std::mem::take(&mut scratch.flat);
            let (bg, saturation, dag) = saturate(bg, rules, limits, spare, &mut scratch.in_place);
            scratch.dag = dag;
            let cover = extract::cover_block(
                module,
                body,
                b,
                block,
                &bg,
                saturation,
                &mut scratch.extract,
            );
            scratch.flat = bg.graph;
            blocks.push(cover?);
        }
        let cost = blocks.iter().fold(0u32, |a, b| a.saturating_add(b.cost));
        out.funcs.push(FuncCover {
            func: FuncId(i as u32),
            name: f.name.clone(),
            blocks,
            cost,
            single_op_cost: single_op_cost(module, body),
        });
    }
    Ok(out)
}

/// Rewrites a block's graph with `rules` until nothing changes or a limit is reached,
/// and freezes it. Each iteration searches every rule whose node kinds the graph holds,
/// applies all their matches, then rebuilds. A block whose rewrites only add nodes (none
/// at all, for most) is rewritten in its loaded graph ([`saturate_in_place`]); only one
/// where some rewrite merges classes is loaded into an e-graph.
fn saturate(
    bg: graph::BlockGraph<flat::Dag>,
    book: &Rulebook,
    limits: &Limits,
    spare: flat::FlatGraph,
    tables: &mut InPlace,
) -> (graph::BlockGraph, Saturation, flat::Dag) {
    // The clock starts when the e-graph does: a block rewritten in place or not at all
    // reads no clock.
    let first_stop = if book.rewrites.is_empty() {
        Some("no rules")
    } else if limits.iterations == 0 {
        Some("iteration limit")
    } else if bg.graph.len() > limits.nodes {
        Some("node limit")
    } else {
        None
    };
    let mut loaded = spare;
    bg.graph.flatten_into(&mut loaded);
    let mut bg = bg;
    let merges = if loaded.len() > limits.egg_classes {
        Merges::LeaveOut
    } else {
        Merges::ToTheEGraph
    };
    let done = match first_stop {
        Some(why) => Some((0, why)),
        None => saturate_in_place(&mut bg.graph, book, limits, &mut loaded, tables, merges),
    };
    if let Some((iterations, reason)) = done {
        let saturation = Saturation {
            reason,
            iterations,
            nodes: loaded.total_nodes(),
            classes: loaded.len(),
        };
        let (bg, dag) = bg.swap_graph(loaded);
        return (bg, saturation, dag);
    }
    saturate_by_egg(bg, book, limits)
}

/// [`saturate`] by the e-graph: `bg` loaded into it, rewritten within `limits`, frozen.
fn saturate_by_egg(
    bg: graph::BlockGraph<flat::Dag>,
    book: &Rulebook,
    limits: &Limits,
) -> (graph::BlockGraph, Saturation, flat::Dag) {
    let rules = &book.rewrites;
    let stop = |iterations: usize, size: usize, start: Instant| {
        if iterations >= limits.iterations {
            Some("iteration limit")
        } else if start.elapsed() >= limits.time {
            Some("time limit")
        } else if size > limits.nodes {
            Some("node limit")
        } else {
            None
        }
    };
    let (mut g, first) = bg.graph.to_egraph();
    // The clock starts once the block is loaded: the first e-graph of a process also
    // calibrates egg's clock (`quanta`), which takes milliseconds on a loaded machine
    // and would otherwise end a block's rewriting before its first round.
    let start = Instant::now();
    let mut iterations = 0;
    let mut found = Vec::new();
    let reason = loop {
        if let Some(why) = stop(iterations, g.total_size(), start) {
            break why;
        }
        let present = OpSet::of_graph(&g);
        found.clear();
        for (rule, need) in rules.iter().zip(&book.needs) {
            if present.covers(need) {
                let m = rule.search(&g);
                if !m.is_empty() {
                    found.push((rule, m));
                }
            }
        }
        iterations += 1;
        if found.is_empty() {
            break "saturated";
        }
        let size = (g.total_size(), g.number_of_classes());
        let mut unions = false;
        let mut full = false;
        for (rule, m) in &found {
            unions |= !rule.apply(&mut g, m).is_empty();
            if g.total_size() > limits.nodes {
                full = true;
                break;
            }
        }
        g.rebuild();
        if full {
            break "node limit";
        }
        if !unions && size == (g.total_size(), g.number_of_classes()) {
            break "saturated";
        }
    };
    let (flat, number) = flat::FlatGraph::from_egraph(&g, &first);
    let saturation = Saturation {
        reason,
        iterations,
        nodes: flat.total_nodes(),
        classes: flat.len(),
    };
    let class = |c: Id| Id::from(number[usize::from(g.find(first[usize::from(c)]))] as usize);
    let (bg, dag) = bg.map(flat, class);
    (bg, saturation, dag)
}

/// The tables of [`saturate_in_place`], kept from block to block.
#[derive(Default)]
struct InPlace {
    /// The rules that may match.
    rules: Vec<u32>,
    /// The matches of a round.
    found: Vec<Match>,
}

/// A match: the rule, the class, the variables' classes.
type Match = (usize, Id, smallvec::SmallVec<[(egg::Var, Id); 4]>);

/// What rewriting in place does with a rewrite it cannot apply without the e-graph (one
/// that would merge classes, or whose right side is not a pattern).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Merges {
    /// Gives the block to the e-graph: [`saturate_in_place`] returns `None`.
    ToTheEGraph,
    /// Leaves the rewrite out and goes on: the block keeps every other rewrite.
    LeaveOut,
}

/// Rewrites `dag`, whose graph `flat` holds, as the e-graph would, without it, while
/// every rule application only adds nodes, no two classes merging: round by round,
/// every match of every rule in the graph as the round found it applied, up to a round
/// that finds no match or changes nothing. Returns the number of rounds, which is the
/// number of iterations the e-graph takes to saturate the same way, and why it stopped,
/// with `flat` holding the result.
///
/// With [`Merges::ToTheEGraph`], `None`, with `dag` as it was, when a rule's left side is
/// not a pattern, an application would merge classes or a limit would be reached: the
/// e-graph then does it all. With [`Merges::LeaveOut`], such rewrites are left out (the
/// nodes an application made before it found the merge stay, unused, in classes of their
/// own) and a limit ends the rewriting with what it has.
fn saturate_in_place(
    dag: &mut flat::Dag,
    book: &Rulebook,
    limits: &Limits,
    flat: &mut flat::FlatGraph,
    tables: &mut InPlace,
    merges: Merges,
) -> Option<(usize, &'static str)> {
    let mark = dag.mark();
    let InPlace { rules, found } = tables;
    let leave_out = merges == Merges::LeaveOut;
    let mut iterations = 0;
    let mut left_out = false;
    // The reason a round ends the rewriting with what it has.
    let finished = |left_out: bool| {
        if left_out {
            "saturated, merges left out"
        } else {
            "saturated"
        }
    };
    let done = loop {
        if iterations >= limits.iterations || dag.len() > limits.nodes {
            break leave_out.then(|| {
                let why = if iterations >= limits.iterations {
                    "iteration limit"
                } else {
                    "node limit"
                };
                (iterations, why)
            });
        }
        book.candidates(flat.kinds(), rules);
        if !rules.is_empty() {
            flat.index_kinds();
        }
        found.clear();
        let mut opaque = false;
        for &r in rules.iter() {
            let r = r as usize;
            match &book.patterns[r] {
                Some(lhs) => flat.each_match(lhs, &mut |c, binds| {
                    found.push((r, c, binds.iter().copied().collect()));
                    false
                }),
                None => opaque = true,
            }
        }
        if opaque && !leave_out {
            break None;
        }
        left_out |= opaque;
        iterations += 1;
        if found.is_empty() {
            break Some((iterations, finished(left_out)));
        }
        let mut changed = false;
        let mut merged = false;
        for (r, c, binds) in found.iter() {
            match apply_in_place(dag, &book.rhs[*r], *c, binds) {
                Some(added) => changed |= added,
                None if leave_out => left_out = true,
                None => {
                    merged = true;
                    break;
                }
            }
        }
        if merged || (dag.len() > limits.nodes && !leave_out) {
            break None;
        }
        if !changed {
            break Some((iterations, finished(left_out)));
        }
        dag.flatten_into(flat);
    };
    if done.is_none() {
        dag.undo(mark);
    }
    done
}

/// Applies right side `rhs` to class `class` with the variables' classes `binds`: true
/// when it added a node, false when the class had it already; `None` when the e-graph
/// would merge classes (or the right side is opaque).
fn apply_in_place(
    dag: &mut flat::Dag,
    rhs: &Rhs,
    class: Id,
    binds: &[(egg::Var, Id)],
) -> Option<bool> {
    let bound = |v: &egg::Var| binds.iter().find(|(x, _)| x == v).map(|&(_, c)| c);
    match rhs {
        Rhs::Pattern(ast) => {
            let nodes = ast.as_ref();
            let mut ids: smallvec::SmallVec<[Id; 8]> = smallvec::SmallVec::new();
            for (i, n) in nodes.iter().enumerate() {
                let id = match n {
                    egg::ENodeOrVar::Var(v) => bound(v)?,
                    egg::ENodeOrVar::ENode(node) => {
                        let mut node = node.clone();
                        for a in node.args.iter_mut() {
                            *a = ids[usize::from(*a)];
                        }
                        if i + 1 == nodes.len() {
                            return dag.add_to(class, node);
                        }
                        dag.add(node)
                    }
                };
                ids.push(id);
            }
            // A right side that is a variable: equal to the class, or a merge.
            (ids.last() == Some(&class)).then_some(false)
        }
        Rhs::NegatedConstant { ty, a, c } => {
            let (a, c) = (bound(a)?, bound(c)?);
            let Some(bits) = dag.data(c).konst else {
                return Some(false);
            };
            let neg = dag.add(Node::constant(*ty, bits.wrapping_neg()));
            dag.add_to(class, Node::new(NodeOp::Pure(Opcode::Iadd, *ty), [a, neg]))
        }
        Rhs::Opaque => None,
    }
}

/// The cost of one stencil per IR operation: constants by `iconst`, every other
/// operation by its all-slot stencil, calls and branches with their moves by `copy_s`
/// (the cost of [`single::single_op_cover`], found without building it).
pub fn single_op_cost(module: &Module, body: &crate::ir::Body) -> u32 {
    let copy = tiles().special.copy.cost;
    let with_moves = |(s, moves): (&crate::stencil::Stencil, u32)| {
        s.cost.saturating_add(copy.saturating_mul(moves))
    };
    let mut cost = 0u32;
    for block in &body.blocks {
        for inst in &block.insts {
            let c = single::inst_stencil(module, inst).map_or(0, with_moves);
            cost = cost.saturating_add(c);
        }
        if let Some(term) = &block.term {
            let c =
                single::term_stencil(body, &term.kind).map_or(0, |(s, _, m)| with_moves((s, m)));
            cost = cost.saturating_add(c);
        }
    }
    cost
}
