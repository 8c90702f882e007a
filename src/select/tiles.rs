//! Tiles: the stencils of the library as patterns over the selection e-graph.
//!
//! A stencil's `pattern` (`(brif (icmp.slt.i64 (iadd.i64 ?a ?b) ?c))`) is parsed into a
//! tree; its variables, in order of first appearance, are the stencil's operands 0, 1, …
//! (holes `Operand(n)`), each a frame slot or an immediate as the stencil's kinds say.

use std::sync::OnceLock;

use egg::Id;
use smallvec::SmallVec;

use super::flat::FlatGraph as Graph;
use super::lang::{Node, NodeOp, OpSet, Term};
use crate::ir::{Opcode, Type};
use crate::small::push_all;
use crate::stencil::recipe::{recipe, Recipe};
use crate::stencil::{Kind, Stencil, STENCILS};

/// A pattern tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pat {
    /// Operand `n` of the stencil, of a type.
    Var(usize, Type),
    /// A node (its [`NodeOp`] with position and immediate cleared) and its operands. A
    /// terminator's pattern names only its leading operands (the condition or index).
    Node(NodeOp, Vec<Pat>),
}

/// A stencil that covers a pattern rooted at an operation node.
#[derive(Debug)]
pub struct Tile {
    pub stencil: &'static Stencil,
    pub pat: Pat,
    /// Operand kinds and types, by operand index.
    pub operands: Vec<(Kind, Type)>,
    /// True when the pattern holds an effect below its root: a load fused into its user.
    pub fuses_effect: bool,
    /// The node kinds of the pattern: a block that lacks one has no match.
    pub needs: OpSet,
}

/// The stencils with special roles, by name.
#[derive(Debug)]
pub struct Special {
    pub iconst_i32: &'static Stencil,
    pub iconst_i64: &'static Stencil,
    pub iconst_i64_wide: &'static Stencil,
    pub copy: &'static Stencil,
    pub call: &'static Stencil,
    pub call_import: &'static Stencil,
    pub jump: &'static Stencil,
    pub brif_i32: &'static Stencil,
    pub brif_i64: &'static Stencil,
    pub br_table: &'static Stencil,
    pub ret: &'static Stencil,
    pub trap: &'static Stencil,
}

/// Every tile of the library, and the special stencils.
pub struct Tiles {
    pub tiles: Vec<Tile>,
    /// Tiles by the [`NodeOp::kind_index`] of their root's [`root_key`].
    by_root: Vec<Vec<usize>>,
    /// The stencil of one operation with every operand in a slot, by opcode and type.
    pub all_slots: SlotStencils,
    pub special: Special,
    /// The recipes of the special stencils the emitter places most.
    pub(crate) recipes: SpecialRecipes,
}

/// Recipes of special stencils, each kept only when it takes no more than the emitter
/// gives the stencil ([`Recipe::takes`]), so that it is placed without asking.
#[derive(Debug)]
pub(crate) struct SpecialRecipes {
    /// `copy_s`: operand 0 and the result.
    pub copy: Option<&'static Recipe>,
    /// `iconst_i32`, `iconst_i64`: operand 0 and the result.
    pub iconst_i32: Option<&'static Recipe>,
    pub iconst_i64: Option<&'static Recipe>,
    /// `iconst_i64_wide`: operands 0 and 1 and the result.
    pub iconst_i64_wide: Option<&'static Recipe>,
}

/// A table of stencils by opcode and type, for lookups per operation, each with its
/// patch recipe where it has one that takes no more than the operation gives: its
/// operands, its result and its offset ([`Recipe::takes`]).
pub struct SlotStencils(Vec<Option<(&'static Stencil, Option<&'static Recipe>)>>);

impl SlotStencils {
    /// The stencil for `op` at `ty`, if the library has one.
    pub fn get(&self, op: Opcode, ty: Option<Type>) -> Option<&'static Stencil> {
        self.with_recipe(op, ty).map(|(s, _)| s)
    }

    /// The stencil for `op` at `ty` and its recipe ([`recipe`]), in one lookup.
    #[inline]
    pub(crate) fn with_recipe(
        &self,
        op: Opcode,
        ty: Option<Type>,
    ) -> Option<(&'static Stencil, Option<&'static Recipe>)> {
        self.0.get(op.typed_index(ty)).copied().flatten()
    }
}

/// The library's tiles, built once.
pub fn tiles() -> &'static Tiles {
    static TILES: OnceLock<Tiles> = OnceLock::new();
    TILES.get_or_init(|| {
        let named = |n: &str| {
            // The library is generated with these names; a missing one is a build bug
            // that the stencil tests catch first.
            Stencil::by_name(n).unwrap_or_else(|| panic!("the stencil library lacks `{n}`"))
        };
        let special = Special {
            iconst_i32: named("iconst_i32"),
            iconst_i64: named("iconst_i64"),
            iconst_i64_wide: named("iconst_i64_wide"),
            copy: named("copy_s"),
            call: named("call"),
            call_import: named("call_import"),
            jump: named("jump"),
            brif_i32: named("brif_i32_s"),
            brif_i64: named("brif_i64_s"),
            br_table: named("br_table_i32_s"),
            ret: named("ret"),
            trap: named("trap"),
        };
        let tiles = STENCILS
            .iter()
            .filter_map(|s| {
                let pat = parse_pattern(s.pattern, s.ty)?;
                let mut operands = Vec::new();
                collect_vars(&pat, &mut operands);
                if operands.len() != s.kinds.len() {
                    return None;
                }
                let operands = operands
                    .iter()
                    .zip(s.kinds)
                    .map(|(&t, &k)| (k, t))
                    .collect();
                let fuses_effect = match &pat {
                    Pat::Node(_, args) => args.iter().any(holds_effect),
                    Pat::Var(..) => false,
                };
                let mut needs = OpSet::default();
                pattern_kinds(&pat, &mut needs);
                Some(Tile {
                    stencil: s,
                    pat,
                    operands,
                    fuses_effect,
                    needs,
                })
            })
            .collect::<Vec<Tile>>();
        let mut by_root = vec![Vec::new(); NodeOp::kind_count()];
        for (i, t) in tiles.iter().enumerate() {
            if let Pat::Node(op, _) = t.pat {
                if let Some(k) = root_key(op).kind_index() {
                    by_root[k].push(i);
                }
            }
        }
        let mut all_slots = SlotStencils(vec![None; Opcode::TYPED_COUNT]);
        for t in &tiles {
            if let Some(op) = t.stencil.opcode {
                if t.operands.iter().all(|o| o.0 == Kind::Slot) {
                    let at = op.typed_index(t.stencil.ty);
                    let info = op.info();
                    let r = recipe(t.stencil)
                        .filter(|r| r.takes(info.params.len(), !info.results.is_empty()));
                    all_slots.0[at].get_or_insert((t.stencil, r));
                }
            }
        }
        let taking = |s: &'static Stencil, operands| recipe(s).filter(|r| r.takes(operands, true));
        let recipes = SpecialRecipes {
            copy: taking(special.copy, 1),
            iconst_i32: taking(special.iconst_i32, 1),
            iconst_i64: taking(special.iconst_i64, 1),
            iconst_i64_wide: taking(special.iconst_i64_wide, 2),
        };
        Tiles {
            tiles,
            by_root,
            all_slots,
            special,
            recipes,
        }
    })
}

impl Pat {
    /// The pattern's nodes, root first (pre-order).
    pub fn ops(&self) -> Vec<NodeOp> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(p) = stack.pop() {
            if let Pat::Node(op, args) = p {
                out.push(*op);
                stack.extend(args.iter().rev());
            }
        }
        out
    }
}

impl Tiles {
    /// The tiles whose root can cover a node of op `op`.
    pub fn by_root(&self, op: NodeOp) -> impl Iterator<Item = &Tile> + '_ {
        let at = root_key(op).kind_index();
        at.and_then(|k| self.by_root.get(k))
            .into_iter()
            .flatten()
            .map(|&t| &self.tiles[t])
    }
}

/// The kinds of a graph's nodes as tiles match them (see [`root_key`]).
pub fn tile_kinds(g: &Graph) -> OpSet {
    g.classes()
        .flat_map(|c| c.nodes)
        .map(|n| root_key(n.op))
        .collect()
}

fn pattern_kinds(p: &Pat, out: &mut OpSet) {
    if let Pat::Node(op, args) = p {
        out.insert(*op);
        args.iter().for_each(|a| pattern_kinds(a, out));
    }
}

fn holds_effect(p: &Pat) -> bool {
    match p {
        Pat::Var(..) => false,
        Pat::Node(op, args) => matches!(op, NodeOp::Effect { .. }) || args.iter().any(holds_effect),
    }
}

fn collect_vars(p: &Pat, out: &mut Vec<Type>) {
    match p {
        Pat::Var(n, t) => {
            if *n >= out.len() {
                out.resize(*n + 1, *t);
            }
        }
        Pat::Node(_, args) => args.iter().for_each(|a| collect_vars(a, out)),
    }
}

/// Parses a stencil's pattern; `None` for the patterns of the special stencils
/// (constants, moves, calls), which are not matched against nodes.
fn parse_pattern(text: &str, ty: Option<Type>) -> Option<Pat> {
    let tokens: Vec<&str> = text
        .split_inclusive(['(', ')', ' '])
        .flat_map(|t| {
            let (body, delim) = t.split_at(t.len() - 1);
            let delim = delim.trim();
            [body.trim(), delim]
        })
        .filter(|t| !t.is_empty())
        .collect();
    let mut vars: Vec<String> = Vec::new();
    let mut pos = 0;
    let pat = parse_tree(&tokens, &mut pos, &mut vars, ty.unwrap_or(Type::I32), None)?;
    (pos == tokens.len()).then_some(pat)
}

fn parse_tree(
    tokens: &[&str],
    pos: &mut usize,
    vars: &mut Vec<String>,
    suffix: Type,
    var_ty: Option<Type>,
) -> Option<Pat> {
    let tok = *tokens.get(*pos)?;
    *pos += 1;
    if let Some(name) = tok.strip_prefix('?') {
        let n = match vars.iter().position(|v| v == name) {
            Some(n) => n,
            None => {
                vars.push(name.to_string());
                vars.len() - 1
            }
        };
        return Some(Pat::Var(n, var_ty.unwrap_or(suffix)));
    }
    if tok != "(" {
        return None;
    }
    let head = *tokens.get(*pos)?;
    *pos += 1;
    let (op, param_types): (NodeOp, Vec<Type>) = match head {
        "jump" => (NodeOp::Term(Term::Jump, 0), vec![]),
        "brif" => (NodeOp::Term(Term::Brif, 0), vec![suffix]),
        "br_table" => (NodeOp::Term(Term::BrTable, 0), vec![Type::I32]),
        "return" => (NodeOp::Term(Term::Return, 0), vec![]),
        "trap" => (NodeOp::Term(Term::Trap, 0), vec![]),
        _ => {
            let node =
                <Node as egg::FromOp>::from_op(head, vec![Id::from(0); arity(head)?]).ok()?;
            let (opcode, ty) = match node.op {
                NodeOp::Pure(o, t) => (o, Some(t)),
                NodeOp::Effect { op, ty, .. } => (op, ty),
                _ => return None,
            };
            if opcode == Opcode::Call {
                return None;
            }
            let t = ty.unwrap_or(Type::I32);
            let params = opcode.info().params.iter().map(|p| p.resolve(t)).collect();
            (node.op, params)
        }
    };
    let mut args = Vec::new();
    while tokens.get(*pos) != Some(&")") {
        let t = param_types.get(args.len()).copied();
        args.push(parse_tree(tokens, pos, vars, suffix, t)?);
    }
    *pos += 1;
    Some(Pat::Node(op, args))
}

/// The operand count of a mnemonic (with its suffix), for building a probe node.
fn arity(head: &str) -> Option<usize> {
    let name = match head.rsplit_once('.') {
        Some((n, t)) if Type::from_name(t).is_some() => n,
        _ => head,
    };
    Opcode::from_name(name).map(|o| o.info().params.len())
}

/// True when node op `n` is what pattern op `p` asks for.
#[inline]
fn op_matches(p: NodeOp, n: NodeOp) -> bool {
    match (p, n) {
        // The common case, without making the keys: two pure nodes have equal keys when
        // they are equal.
        (NodeOp::Pure(a, s), NodeOp::Pure(b, t)) => a == b && s == t,
        _ => root_key(p) == root_key(n),
    }
}

/// What a pattern matches a node on: its op without position or immediate. A division
/// proven not to trap is a pure node but is covered by the division's stencils all the
/// same.
pub fn root_key(o: NodeOp) -> NodeOp {
    match o {
        NodeOp::Effect { op, ty, .. } => NodeOp::Effect {
            op,
            ty,
            imm: 0,
            seq: 0,
        },
        NodeOp::Pure(op, ty) if !op.is_pure() => NodeOp::Effect {
            op,
            ty: Some(ty),
            imm: 0,
            seq: 0,
        },
        NodeOp::Term(t, _) => NodeOp::Term(t, 0),
        other => other,
    }
}

/// One way a tile covers a class: the class each operand is bound to, and the classes of
/// the pattern's nodes below its root, which the tile computes inside itself.
#[derive(Debug, PartialEq, Eq)]
pub struct Match {
    pub operands: SmallVec<[Id; 4]>,
    pub interior: SmallVec<[Id; 2]>,
}

/// Copies the classes as slices (see [`push_all`]).
impl Clone for Match {
    #[inline]
    fn clone(&self) -> Match {
        Match {
            operands: SmallVec::from_slice(&self.operands),
            interior: SmallVec::from_slice(&self.interior),
        }
    }
}

/// How many matches of one tile in one class are kept (interior classes with many
/// equivalent nodes multiply them).
const MAX_MATCHES: usize = 16;

/// The matches of `tile` rooted at a node of class `id` (for `only`, only at that node),
/// up to [`MAX_MATCHES`], in order: by the node chosen at the root, then in each operand
/// from the first. Below the root, a tile covers pure nodes only, and the effect node
/// `swallow` if given (a load fused into its user).
pub fn matches(
    g: &Graph,
    tile: &Tile,
    id: Id,
    only: Option<&Node>,
    swallow: Option<&Node>,
    mut found: impl FnMut(Match),
) {
    let Pat::Node(op, args) = &tile.pat else {
        return;
    };
    let mut m = Matcher {
        g,
        tile,
        swallow,
        operands: smallvec::smallvec![None; tile.operands.len()],
        todo: SmallVec::new(),
        interior: SmallVec::new(),
        count: 0,
    };
    for node in g.nodes(id) {
        if only.is_some_and(|o| o != node) || !op_matches(*op, node.op) {
            continue;
        }
        // A terminator's pattern names only its leading operands.
        let is_term = matches!(node.op, NodeOp::Term(..));
        if node.args.len() < args.len() || (!is_term && node.args.len() != args.len()) {
            continue;
        }
        push_all(
            &mut m.todo,
            args.iter().zip(node.args.iter().copied()).rev(),
        );
        m.solve(&mut found);
        m.todo.clear();
        if m.count >= MAX_MATCHES {
            break;
        }
    }
}

/// A depth-first search for the bindings of a tile's operands.
struct Matcher<'a> {
    g: &'a Graph,
    tile: &'a Tile,
    swallow: Option<&'a Node>,
    operands: SmallVec<[Option<Id>; 4]>,
    /// What is left to match, the next on top: (pattern, class).
    todo: SmallVec<[(&'a Pat, Id); 8]>,
    /// The classes of the pattern nodes below the root matched so far.
    interior: SmallVec<[Id; 2]>,
    count: usize,
}

impl<'a> Matcher<'a> {
    /// Reports every way to match all of `todo` given the operands bound so far, and
    /// leaves `todo` and the operands as it found them.
    fn solve(&mut self, found: &mut impl FnMut(Match)) {
        if self.count >= MAX_MATCHES {
            return;
        }
        let Some((p, id)) = self.todo.pop() else {
            self.count += 1;
            found(Match {
                operands: {
                    let mut ops = SmallVec::new();
                    push_all(
                        &mut ops,
                        self.operands.iter().map(|o| o.unwrap_or(Id::from(0))),
                    );
                    ops
                },
                interior: SmallVec::from_slice(&self.interior),
            });
            return;
        };
        match p {
            Pat::Var(n, _) => {
                let (kind, ty) = self.tile.operands[*n];
                let fits = type_fits(self.g, id, ty)
                    && (kind == Kind::Slot || imm_of(self.g, id, ty).is_some());
                match self.operands[*n] {
                    _ if !fits => {}
                    Some(bound) if bound != id => {}
                    Some(_) => self.solve(found),
                    None => {
                        self.operands[*n] = Some(id);
                        self.solve(found);
                        self.operands[*n] = None;
                    }
                }
            }
            Pat::Node(op, args) => {
                let g = self.g;
                for node in g.nodes(id) {
                    if !op_matches(*op, node.op) || node.args.len() != args.len() {
                        continue;
                    }
                    // An effect is never swallowed by a tile rooted elsewhere (it runs at
                    // its own place in the block), but for the one fused on purpose.
                    if is_effect(node) && self.swallow != Some(node) {
                        continue;
                    }
                    let mark = self.todo.len();
                    push_all(
                        &mut self.todo,
                        args.iter().zip(node.args.iter().copied()).rev(),
                    );
                    self.interior.push(id);
                    self.solve(found);
                    self.interior.pop();
                    self.todo.truncate(mark);
                }
            }
        }
        self.todo.push((p, id));
    }
}

/// True when class `id` holds a value of type `ty` (a `brif` on an `i64` is not one on
/// an `i32`, though both patterns read `?a`).
fn type_fits(g: &Graph, id: Id, ty: Type) -> bool {
    g.data(id).ty.is_none_or(|t| t == ty)
}

fn is_effect(n: &Node) -> bool {
    matches!(n.op, NodeOp::Effect { .. } | NodeOp::Term(..))
}

/// The immediate a class can be as an operand of type `ty`: its constant, when it fits
/// a 32-bit hole (any `i32`, given signed; an `i64` that sign-extends from 32 bits).
pub fn imm_of(g: &Graph, id: Id, ty: Type) -> Option<i64> {
    let bits = g.data(id).konst?;
    let v = ty.signed(bits);
    i32::try_from(v).is_ok().then_some(v)
}
