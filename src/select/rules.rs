//! Rewrite rules: their text format, parsing to egg patterns, and their check against
//! the IR's semantics.
//!
//! A rules file has one rule per line, `NAME: LHS => RHS`, each side an s-expression in
//! the e-graph language's text form (see [`super::lang`]) with variables `?a`:
//!
//! ```text
//! # x + 0 = x
//! add-zero: (iadd.T ?a 0) => ?a
//! ```
//!
//! - `#` or `;` starts a comment, on its own line or after a rule.
//! - `.T` makes the rule generic: it stands for an `.i32` and an `.i64` version, named
//!   `NAME.i32` and `NAME.i64`. Operations with a fixed suffix (`sextend.i64`) keep it.
//! - An untyped integer literal takes the type of the operand it stands for (from the
//!   operation table); at the root of the right side, the type of the left side. A typed
//!   literal `5:i32` (or `5:T`) is also accepted. Literals are decimal, negative or `0x`
//!   hex, and fit the type as a signed or an unsigned number.
//! - Only pure operations appear: no loads, stores, calls, divisions (they may trap) or
//!   terminators. The left side is an operation, every variable of the right side is
//!   bound on the left, a variable has one type, and both sides have the same type.
//!
//! Each rule is elaborated into typed trees ([`Expr`]), printed as the language's text
//! and parsed by egg ([`egg::Pattern::from_str`]) as the last step. [`check_rule`]
//! evaluates both sides with the interpreter's semantics on edge and random values.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use egg::{Pattern, Rewrite};

use super::fold::Fold;
use super::lang::{truncate, Node};
use crate::error::{Error, ErrorKind};
use crate::interp::eval;
use crate::ir::oplist::Suffix;
use crate::ir::{Loc, Opcode, Type};

/// The deepest nesting of parentheses a rule may have.
const MAX_DEPTH: usize = 32;

/// The shipped rule files, by name.
const SHIPPED: &[(&str, &str)] = &[
    ("rules/arith.rules", include_str!("../../rules/arith.rules")),
    (
        "rules/strength.rules",
        include_str!("../../rules/strength.rules"),
    ),
    (
        "rules/compare.rules",
        include_str!("../../rules/compare.rules"),
    ),
    ("rules/const.rules", include_str!("../../rules/const.rules")),
    (
        "rules/extend.rules",
        include_str!("../../rules/extend.rules"),
    ),
];

/// One side of a rule, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A variable: its name without `?`, its index in [`Rule::vars`], its type.
    Var {
        name: String,
        index: usize,
        ty: Type,
    },
    /// A constant, as slot bits (an `i32` zero-extended).
    Const { ty: Type, bits: u64 },
    /// A pure operation at a type (the suffix type), with its operands.
    Op {
        op: Opcode,
        ty: Type,
        args: Vec<Expr>,
    },
}

impl Expr {
    /// The type of the value the expression computes.
    pub fn ty(&self) -> Type {
        match self {
            Expr::Var { ty, .. } | Expr::Const { ty, .. } => *ty,
            Expr::Op { op, ty, .. } => op.info().results[0].resolve(*ty),
        }
    }

    /// The number of operations and constants (variables are free).
    pub fn size(&self) -> usize {
        match self {
            Expr::Var { .. } => 0,
            Expr::Const { .. } => 1,
            Expr::Op { args, .. } => 1 + args.iter().map(Expr::size).sum::<usize>(),
        }
    }

    /// The value under an assignment of the rule's variables (slot bits), with the IR's
    /// semantics. `Err` names what could not be evaluated.
    pub fn eval(&self, vars: &[u64]) -> Result<u64, String> {
        match self {
            Expr::Var { index, ty, .. } => vars
                .get(*index)
                .map(|&v| truncate(*ty, v))
                .ok_or_else(|| format!("no value for variable {self}")),
            Expr::Const { bits, .. } => Ok(*bits),
            Expr::Op { op, ty, args } => {
                let vals = args
                    .iter()
                    .map(|a| a.eval(vars))
                    .collect::<Result<Vec<u64>, String>>()?;
                match eval(*op, *ty, &vals) {
                    Some(Ok(v)) => Ok(v),
                    Some(Err(trap)) => Err(format!("{}.{ty} traps ({trap:?})", op.name())),
                    None => Err(format!("{}.{ty} cannot be evaluated", op.name())),
                }
            }
        }
    }
}

/// The typed text: what egg parses into a pattern.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Var { name, .. } => write!(f, "?{name}"),
            Expr::Const { ty, bits } => write!(f, "{}:{ty}", ty.signed(*bits)),
            Expr::Op { op, ty, args } => {
                write!(f, "({}.{ty}", op.name())?;
                for a in args {
                    write!(f, " {a}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// A rewrite rule, one type instance of what the file says.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The name, with `.i32` or `.i64` appended for an instance of a generic rule.
    pub name: String,
    /// The file the rule comes from.
    pub file: String,
    /// The line of the rule's name in the file, from 1.
    pub line: u32,
    /// The column of the rule's name, in characters from 1.
    pub col: u32,
    /// The left side, as egg parsed it.
    pub lhs: Pattern<Node>,
    /// The right side, as egg parsed it.
    pub rhs: Pattern<Node>,
    /// The left side, typed.
    pub lhs_expr: Expr,
    /// The right side, typed.
    pub rhs_expr: Expr,
    /// The variables (names without `?`) and their types, in order of first use.
    pub vars: Vec<(String, Type)>,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} => {}", self.name, self.lhs_expr, self.rhs_expr)
    }
}

/// A token of a rule line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Arrow,
    Atom(String),
}

impl Tok {
    fn text(&self) -> &str {
        match self {
            Tok::Open => "(",
            Tok::Close => ")",
            Tok::Arrow => "=>",
            Tok::Atom(s) => s,
        }
    }
}

/// An s-expression as written, with the column where each part starts.
#[derive(Clone, Debug)]
enum Sexp {
    Atom(String, u32),
    List(Vec<Sexp>, u32),
}

impl Sexp {
    fn col(&self) -> u32 {
        match self {
            Sexp::Atom(_, c) | Sexp::List(_, c) => *c,
        }
    }
}

/// A problem at a column of the current line.
type LineError = (u32, String);

/// Splits a line into tokens with their columns (in characters, from 1); a comment ends
/// the line. Also returns the column just past the last token.
fn lex(line: &str) -> (Vec<(Tok, u32)>, u32) {
    let chars: Vec<char> = line.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut end = 1;
    while i < chars.len() {
        let c = chars[i];
        let col = i as u32 + 1;
        if c == '#' || c == ';' {
            break;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let is_arrow = |j: usize| chars[j] == '=' && chars.get(j + 1) == Some(&'>');
        if c == '(' {
            toks.push((Tok::Open, col));
            i += 1;
        } else if c == ')' {
            toks.push((Tok::Close, col));
            i += 1;
        } else if is_arrow(i) {
            toks.push((Tok::Arrow, col));
            i += 2;
        } else {
            let start = i;
            while i < chars.len() {
                let c = chars[i];
                if c.is_whitespace() || matches!(c, '(' | ')' | '#' | ';') || is_arrow(i) {
                    break;
                }
                i += 1;
            }
            toks.push((Tok::Atom(chars[start..i].iter().collect()), col));
        }
        end = i as u32 + 1;
    }
    (toks, end)
}

/// How a found token or the end of the line reads in a message.
fn found(t: Option<&(Tok, u32)>) -> String {
    match t {
        Some((t, _)) => format!("`{}`", t.text()),
        None => "the end of the line".to_string(),
    }
}

/// Reads one s-expression at `*pos`; the caller has checked a token is there and is not
/// `=>`.
fn parse_sexp(toks: &[(Tok, u32)], pos: &mut usize, depth: usize) -> Result<Sexp, LineError> {
    let (tok, col) = toks[*pos].clone();
    *pos += 1;
    match tok {
        Tok::Atom(s) => Ok(Sexp::Atom(s, col)),
        Tok::Close => Err((col, "unmatched `)`".to_string())),
        Tok::Arrow => Err((col, "unexpected `=>`".to_string())),
        Tok::Open => {
            if depth >= MAX_DEPTH {
                return Err((col, format!("nesting deeper than {MAX_DEPTH} levels")));
            }
            let mut items = Vec::new();
            loop {
                match toks.get(*pos) {
                    None | Some((Tok::Arrow, _)) => return Err((col, "unclosed `(`".into())),
                    Some((Tok::Close, _)) => {
                        *pos += 1;
                        return Ok(Sexp::List(items, col));
                    }
                    Some(_) => items.push(parse_sexp(toks, pos, depth + 1)?),
                }
            }
        }
    }
}

/// A rule name: letters, digits, `_`, `-` and `.`, starting with a letter or `_`.
fn valid_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A variable name after `?`: letters, digits and `_`, starting with a letter or `_`.
fn valid_var(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// True for an atom that is an integer literal (it starts with a digit, or `-` and one).
fn is_literal(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_digit() => true,
        Some(b'-') => b.get(1).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

/// True when an atom names something at type `T` (an operation `.T` or a literal `:T`).
fn is_generic_atom(s: &str) -> bool {
    !s.starts_with('?') && (s.ends_with(".T") || s.ends_with(":T"))
}

/// The digits of a literal as a number: `Ok(None)` when well-formed but beyond any type.
fn parse_number(s: &str) -> Result<Option<i128>, ()> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let (radix, digits) = match digits.strip_prefix("0x") {
        Some(h) => (16, h),
        None => (10, digits),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(());
    }
    // Beyond 2^64 nothing fits; 20 hex or 21 decimal digits already exceed i128 checks.
    let v = match i128::from_str_radix(digits, radix) {
        Ok(v) if v < 1i128 << 64 => v,
        _ => return Ok(None),
    };
    Ok(Some(if neg { -v } else { v }))
}

/// True for a slot leaf `vN` or `vN:ty`.
fn is_slot(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let n = rest.split_once(':').map_or(rest, |(n, _)| n);
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
}

/// Which side of a rule is being elaborated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Lhs,
    Rhs,
}

/// Elaborates the sides of one type instance of a rule.
struct Elab {
    /// The type `T` stands for, in an instance of a generic rule.
    t: Option<Type>,
    /// Variables: name, type, column of first use.
    vars: Vec<(String, Type, u32)>,
    index: HashMap<String, usize>,
}

impl Elab {
    /// The operation an atom names, at its type.
    fn resolve_op(&self, atom: &str, col: u32) -> Result<(Opcode, Type), LineError> {
        let err = |m: String| Err((col, m));
        let (base, suffix) = match atom.rsplit_once('.') {
            Some((b, s @ ("i32" | "i64" | "T"))) => (b, Some(s)),
            _ => (atom, None),
        };
        if matches!(base, "jump" | "brif" | "br_table" | "return" | "trap") {
            return err(format!(
                "{atom} is a terminator; rules use pure operations only"
            ));
        }
        if is_slot(atom) {
            return err(format!(
                "slot {atom} cannot appear in a rule; use a variable such as ?a"
            ));
        }
        let Some(op) = Opcode::from_name(base) else {
            return err(format!("unknown operation {atom}"));
        };
        if op == Opcode::Iconst {
            return err(format!(
                "write a constant as a literal (5 or 5:i32), not {atom}"
            ));
        }
        if !op.is_pure() {
            let why = if op.may_trap() {
                "may trap"
            } else {
                "has an effect"
            };
            return err(format!("{atom} {why}; rules use pure operations only"));
        }
        let ty = match suffix {
            None => return err(format!("{atom} needs a type suffix (.i32, .i64 or .T)")),
            Some("T") => self.t.unwrap_or(Type::I32),
            Some(s) => Type::from_name(s).unwrap_or(Type::I32),
        };
        let allowed = match op.info().suffix {
            Suffix::Any => true,
            Suffix::I32 => ty == Type::I32,
            Suffix::I64 => ty == Type::I64,
            Suffix::None => false,
        };
        if !allowed {
            return err(format!("{base} has no type {ty}"));
        }
        Ok((op, ty))
    }

    /// A literal atom at the type `expected` (from where it stands).
    fn literal(&self, s: &str, col: u32, expected: Option<Type>) -> Result<Expr, LineError> {
        let (num, ty) = match s.split_once(':') {
            Some((n, t)) => {
                let ty = match t {
                    "T" => self.t,
                    _ => Type::from_name(t),
                };
                match ty {
                    Some(ty) => (n, Some(ty)),
                    None => {
                        return Err((
                            col,
                            format!("bad literal type in {s} (write i32, i64 or T)"),
                        ))
                    }
                }
            }
            None => (s, None),
        };
        let Ok(v) = parse_number(num) else {
            return Err((col, format!("bad integer literal {s}")));
        };
        let ty = match (ty, expected) {
            (Some(t), Some(e)) if t != e => {
                return Err((col, format!("literal {s} is {t} where {e} is expected")))
            }
            (Some(t), _) | (None, Some(t)) => t,
            (None, None) => {
                return Err((
                    col,
                    "the left side cannot be a constant; it must be an operation".into(),
                ))
            }
        };
        let bits = ty.bits();
        let fits = v.is_some_and(|v| (-(1i128 << (bits - 1))..=(1i128 << bits) - 1).contains(&v));
        match v {
            Some(v) if fits => Ok(Expr::Const {
                ty,
                bits: truncate(ty, v as u64),
            }),
            _ => Err((col, format!("literal {num} does not fit {ty}"))),
        }
    }

    /// A variable atom (with its `?`).
    fn var(
        &mut self,
        s: &str,
        col: u32,
        expected: Option<Type>,
        side: Side,
    ) -> Result<Expr, LineError> {
        let name = &s[1..];
        if !valid_var(name) {
            return Err((col, format!("bad variable name {s}")));
        }
        let Some(ty) = expected else {
            return Err((
                col,
                "the left side cannot be a bare variable; it must be an operation".into(),
            ));
        };
        match self.index.get(name) {
            Some(&i) => {
                let (_, t, first) = self.vars[i];
                if t != ty {
                    return Err((
                        col,
                        format!("variable {s} is {ty} here but {t} at column {first}"),
                    ));
                }
                Ok(Expr::Var {
                    name: name.to_string(),
                    index: i,
                    ty,
                })
            }
            None if side == Side::Rhs => Err((
                col,
                format!("variable {s} of the right side is not bound on the left side"),
            )),
            None => {
                let i = self.vars.len();
                self.vars.push((name.to_string(), ty, col));
                self.index.insert(name.to_string(), i);
                Ok(Expr::Var {
                    name: name.to_string(),
                    index: i,
                    ty,
                })
            }
        }
    }

    /// The type of the root of an expression, where it is known without elaborating it
    /// (an operation, a typed literal or a bound variable), with the column of the token
    /// that gives it.
    fn root_type(&self, e: &Sexp) -> Option<(u32, Type)> {
        match e {
            Sexp::Atom(s, c) if s.starts_with('?') => {
                let &i = self.index.get(&s[1..])?;
                Some((*c, self.vars[i].1))
            }
            Sexp::Atom(s, c) if is_literal(s) => {
                let (_, t) = s.split_once(':')?;
                let ty = if t == "T" { self.t } else { Type::from_name(t) };
                Some((*c, ty?))
            }
            Sexp::Atom(s, c) => self.op_result(s, *c),
            Sexp::List(items, _) => match items.first()? {
                Sexp::Atom(s, c) if !s.starts_with('?') && !is_literal(s) => self.op_result(s, *c),
                _ => None,
            },
        }
    }

    fn op_result(&self, s: &str, c: u32) -> Option<(u32, Type)> {
        let (op, ty) = self.resolve_op(s, c).ok()?;
        Some((c, op.info().results[0].resolve(ty)))
    }

    /// Elaborates an expression whose type must be `expected` (`None` at the root of the
    /// left side).
    fn expr(&mut self, e: &Sexp, expected: Option<Type>, side: Side) -> Result<Expr, LineError> {
        let (head, head_col, args): (&str, u32, &[Sexp]) = match e {
            Sexp::Atom(s, col) if s.starts_with('?') => return self.var(s, *col, expected, side),
            Sexp::Atom(s, col) if is_literal(s) => return self.literal(s, *col, expected),
            Sexp::Atom(s, col) => (s, *col, &[]),
            Sexp::List(items, col) => match items.split_first() {
                None => return Err((*col, "empty list `()`".into())),
                Some((Sexp::List(_, c), _)) => {
                    return Err((*c, "expected an operation after `(`, found `(`".into()))
                }
                Some((Sexp::Atom(s, c), rest)) => {
                    if s.starts_with('?') {
                        return Err((*c, format!("variable {s} cannot take operands")));
                    }
                    if is_literal(s) {
                        return Err((*c, format!("literal {s} cannot take operands")));
                    }
                    (s, *c, rest)
                }
            },
        };
        let (op, ty) = self.resolve_op(head, head_col)?;
        let info = op.info();
        if args.len() != info.params.len() {
            let n = info.params.len();
            return Err((
                head_col,
                format!(
                    "{head} takes {n} operand{}, not {}",
                    if n == 1 { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        let result = info.results[0].resolve(ty);
        if let Some(want) = expected {
            if result != want {
                return Err((
                    head_col,
                    format!("{head} gives {result} where {want} is expected"),
                ));
            }
        }
        let args = args
            .iter()
            .zip(info.params)
            .map(|(a, p)| self.expr(a, Some(p.resolve(ty)), side))
            .collect::<Result<Vec<Expr>, LineError>>()?;
        Ok(Expr::Op { op, ty, args })
    }
}

/// What one rule line says, before elaboration.
struct RuleText {
    name: String,
    name_col: u32,
    lhs: Sexp,
    rhs: Sexp,
    generic: bool,
}

/// Reads the shape `NAME: LHS => RHS` of a non-empty line. Errors name the rule once its
/// name is known.
fn parse_line(toks: Vec<(Tok, u32)>, end: u32) -> Result<RuleText, LineError> {
    let mut toks = toks.into_iter().peekable();
    let Some((first, name_col)) = toks.next() else {
        return Err((end, "expected a rule name (NAME: LHS => RHS)".into()));
    };
    let Tok::Atom(first) = first else {
        return Err((
            name_col,
            format!(
                "expected a rule name (NAME: LHS => RHS), found `{}`",
                first.text()
            ),
        ));
    };
    // The name ends at the first `:`, in its own atom or at the start of the next one;
    // what follows the colon in that atom is the start of the left side.
    let (name, rest) = match first.split_once(':') {
        Some((n, r)) => {
            let col = name_col + n.chars().count() as u32 + 1;
            (n.to_string(), (r.to_string(), col))
        }
        None => match toks.peek() {
            Some((Tok::Atom(a), col)) if a.starts_with(':') => {
                let rest = (a[1..].to_string(), col + 1);
                toks.next();
                (first, rest)
            }
            other => {
                if !valid_name(&first) {
                    return Err((name_col, format!("bad rule name {first}")));
                }
                let col = other.map_or(end, |t| t.1);
                return Err((
                    col,
                    format!("rule {first}: missing `:` after the rule name"),
                ));
            }
        },
    };
    if name.is_empty() {
        return Err((name_col, "expected a rule name before `:`".into()));
    }
    if !valid_name(&name) {
        return Err((name_col, format!("bad rule name {name}")));
    }
    let mut body: Vec<(Tok, u32)> = Vec::new();
    if !rest.0.is_empty() {
        body.push((Tok::Atom(rest.0), rest.1));
    }
    body.extend(toks);
    let at = |m: &str| format!("rule {name}: {m}");
    let mut pos = 0;
    let lhs = match body.first() {
        None => return Err((end, at("expected the left side, found the end of the line"))),
        Some((Tok::Arrow, col)) => return Err((*col, at("the left side is empty"))),
        Some(_) => parse_sexp(&body, &mut pos, 0).map_err(|(c, m)| (c, at(&m)))?,
    };
    let arrow_col = match body.get(pos) {
        Some((Tok::Arrow, col)) => *col,
        Some((Tok::Close, col)) => return Err((*col, at("unmatched `)`"))),
        other => {
            let col = other.map_or(end, |t| t.1);
            return Err((
                col,
                at(&format!(
                    "expected `=>` after the left side, found {}",
                    found(other)
                )),
            ));
        }
    };
    pos += 1;
    let rhs = match body.get(pos) {
        None => return Err((arrow_col, at("the right side is empty"))),
        Some((Tok::Arrow, col)) => return Err((*col, at("unexpected `=>`"))),
        Some(_) => parse_sexp(&body, &mut pos, 0).map_err(|(c, m)| (c, at(&m)))?,
    };
    match body.get(pos) {
        None => {}
        Some((Tok::Close, col)) => return Err((*col, at("unmatched `)`"))),
        Some((t, col)) => {
            return Err((
                *col,
                at(&format!("unexpected `{}` after the right side", t.text())),
            ))
        }
    }
    let generic = body
        .iter()
        .any(|(t, _)| matches!(t, Tok::Atom(a) if is_generic_atom(a)));
    Ok(RuleText {
        name,
        name_col,
        lhs,
        rhs,
        generic,
    })
}

/// Elaborates one type instance of a rule and has egg parse both sides.
fn instance(text: &RuleText, t: Option<Type>, file: &str, line: u32) -> Result<Rule, LineError> {
    let at = |(c, m): LineError| (c, format!("rule {}: {m}", text.name));
    let mut el = Elab {
        t,
        vars: Vec::new(),
        index: HashMap::new(),
    };
    let lhs = el.expr(&text.lhs, None, Side::Lhs).map_err(at)?;
    if !matches!(lhs, Expr::Op { .. }) {
        // `expr` refuses a bare variable or constant on the left already.
        return Err(at((
            text.lhs.col(),
            "the left side must be an operation".into(),
        )));
    }
    let want = lhs.ty();
    // The root of the right side must have the left side's type.
    if let Some((col, got)) = el.root_type(&text.rhs) {
        if got != want {
            return Err(at((
                col,
                format!("the right side gives {got} but the left side gives {want}"),
            )));
        }
    }
    let rhs = el.expr(&text.rhs, Some(want), Side::Rhs).map_err(at)?;
    let name = match t {
        Some(t) => format!("{}.{t}", text.name),
        None => text.name.clone(),
    };
    let parse = |e: &Expr| {
        Pattern::<Node>::from_str(&e.to_string()).map_err(|err| {
            at((
                text.name_col,
                format!("the pattern {e} does not parse: {err}"),
            ))
        })
    };
    Ok(Rule {
        lhs: parse(&lhs)?,
        rhs: parse(&rhs)?,
        name,
        file: file.to_string(),
        line,
        col: text.name_col,
        lhs_expr: lhs,
        rhs_expr: rhs,
        vars: el.vars.into_iter().map(|(n, t, _)| (n, t)).collect(),
    })
}

fn rules_error(file: &str, line: u32, col: u32, message: String) -> Error {
    Error::new(ErrorKind::Rules, file, Loc { line, col }, message)
}

/// Parses a rules file; `file` names it in messages.
///
/// # Errors
/// The first malformed rule, located at the offending token:
/// `FILE:LINE:COL: error: rule NAME: ...`.
pub fn parse_rules(text: &str, file: &str) -> Result<Vec<Rule>, Error> {
    let mut rules = Vec::new();
    // Name -> (line, column) of the rule that has it.
    let mut seen: HashMap<String, (u32, u32)> = HashMap::new();
    for (i, line) in text.split('\n').enumerate() {
        let line_no = i as u32 + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (toks, end) = lex(line);
        if toks.is_empty() {
            continue;
        }
        let rt = parse_line(toks, end).map_err(|(c, m)| rules_error(file, line_no, c, m))?;
        let types: &[Option<Type>] = if rt.generic {
            &[Some(Type::I32), Some(Type::I64)]
        } else {
            &[None]
        };
        for &t in types {
            let rule = instance(&rt, t, file, line_no)
                .map_err(|(c, m)| rules_error(file, line_no, c, m))?;
            if let Some(&(l, c)) = seen.get(&rule.name) {
                let what = if rule.name == rt.name {
                    String::new()
                } else {
                    format!(" {}", rule.name)
                };
                return Err(rules_error(
                    file,
                    line_no,
                    rt.name_col,
                    format!("rule {}: duplicate name{what} (first at {l}:{c})", rt.name),
                ));
            }
            seen.insert(rule.name.clone(), (line_no, rt.name_col));
            rules.push(rule);
        }
    }
    Ok(rules)
}

/// Parses a rules file given as bytes (it must be UTF-8).
///
/// # Errors
/// Text that is not UTF-8, located at the first bad byte, or what [`parse_rules`] finds.
pub fn parse_rules_bytes(bytes: &[u8], file: &str) -> Result<Vec<Rule>, Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_rules(text, file),
        Err(e) => {
            let good = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let line = good.matches('\n').count() as u32 + 1;
            let col = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
            Err(rules_error(
                file,
                line,
                col,
                format!(
                    "the text is not valid UTF-8 (byte 0x{:02x})",
                    bytes[e.valid_up_to()]
                ),
            ))
        }
    }
}

/// The shipped rules (`rules/*.rules`, embedded in the binary), parsed once.
pub fn default_rules() -> Vec<Rule> {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            let mut all = Vec::new();
            for (file, text) in SHIPPED {
                match parse_rules(text, file) {
                    Ok(rules) => all.extend(rules),
                    // A test parses the shipped files; this cannot happen in a build that
                    // passed it.
                    Err(e) => panic!("shipped rules do not parse: {e}"),
                }
            }
            all
        })
        .clone()
}

/// The first rule whose name an earlier rule of the list already has.
///
/// # Errors
/// The duplicate, located at the later rule.
pub fn check_unique(rules: &[Rule]) -> Result<(), Error> {
    let mut seen: HashMap<&str, &Rule> = HashMap::new();
    for r in rules {
        if let Some(first) = seen.insert(&r.name, r) {
            return Err(rules_error(
                &r.file,
                r.line,
                r.col,
                format!(
                    "rule {}: duplicate name (first at {}:{}:{})",
                    r.name, first.file, first.line, first.col
                ),
            ));
        }
    }
    Ok(())
}

/// The rules as egg rewrites.
///
/// # Errors
/// Two rules of one name, or a rule egg refuses (a variable of the right side unbound:
/// [`parse_rules`] refuses those already).
pub fn rewrites(rules: &[Rule]) -> Result<Vec<Rewrite<Node, Fold>>, Error> {
    check_unique(rules)?;
    rules
        .iter()
        .map(|r| {
            Rewrite::new(r.name.as_str(), r.lhs.clone(), r.rhs.clone())
                .map_err(|m| rules_error(&r.file, r.line, r.col, format!("rule {}: {m}", r.name)))
        })
        .collect()
}

/// A small deterministic generator (xorshift64*), enough for test values.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The edge values of a type, as slot bits: 0, ±1, ±2, 3, MIN, MAX, MIN+1, MAX-1, shift
/// counts 31, 32, 63, 64, every power of two, and powers of two less one.
pub fn edge_values(ty: Type) -> Vec<u64> {
    let bits = ty.bits();
    let min = 1u64 << (bits - 1);
    let max = min - 1;
    let mut v = vec![
        0,
        1,
        2,
        3,
        u64::MAX,
        u64::MAX - 1,
        min,
        max,
        min + 1,
        max - 1,
        31,
        32,
        63,
        64,
    ];
    for k in 0..bits {
        v.push(1 << k);
        v.push((1 << k) - 1);
    }
    let mut out: Vec<u64> = Vec::new();
    for x in v {
        let x = truncate(ty, x);
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

/// A pseudo-random value of a type: wide, small, near a power of two, or masked.
fn random_value(rng: &mut XorShift, ty: Type) -> u64 {
    let r = rng.next();
    let v = match r % 4 {
        0 => rng.next(),
        1 => (rng.next() % 129).wrapping_sub(64),
        2 => {
            (1u64 << (rng.next() % ty.bits() as u64)).wrapping_add((rng.next() % 3).wrapping_sub(1))
        }
        _ => rng.next() & rng.next(),
    };
    truncate(ty, v)
}

/// Assignments of the full edge product up to this many; beyond it, a sample.
const FULL_PRODUCT: usize = 200_000;
/// Edge assignments sampled when the product is larger.
const EDGE_SAMPLES: usize = 50_000;
/// Random assignments tried after the edge values.
const RANDOM: usize = 4_000;

/// Checks a rule against the IR's semantics: both sides agree on every assignment of
/// edge values to the variables (a sample of them when there are too many) and on
/// seeded pseudo-random values.
///
/// # Errors
/// A counterexample: the rule, the values and what each side gives.
pub fn check_rule(rule: &Rule) -> Result<(), String> {
    if rule.lhs_expr.ty() != rule.rhs_expr.ty() {
        return Err(format!(
            "rule {}: the left side gives {} but the right side {}",
            rule.name,
            rule.lhs_expr.ty(),
            rule.rhs_expr.ty()
        ));
    }
    let ty = rule.lhs_expr.ty();
    let edges: Vec<Vec<u64>> = rule.vars.iter().map(|(_, t)| edge_values(*t)).collect();
    let mut vals = vec![0u64; rule.vars.len()];
    let try_one = |vals: &[u64]| -> Result<(), String> {
        let l = rule.lhs_expr.eval(vals);
        let r = rule.rhs_expr.eval(vals);
        if l == r {
            return Ok(());
        }
        let show = |x: &Result<u64, String>| match x {
            Ok(v) => format!("{}", ty.signed(*v)),
            Err(e) => e.clone(),
        };
        let assignment = rule
            .vars
            .iter()
            .zip(vals)
            .map(|((n, t), v)| format!("?{n} = {}", t.signed(*v)))
            .collect::<Vec<_>>()
            .join(", ");
        let with = if assignment.is_empty() {
            String::new()
        } else {
            format!(" with {assignment}")
        };
        Err(format!(
            "rule {}: counterexample{with}: the left side gives {}, the right side {}",
            rule.name,
            show(&l),
            show(&r)
        ))
    };
    let product = edges
        .iter()
        .try_fold(1usize, |acc, e| acc.checked_mul(e.len()))
        .filter(|&n| n <= FULL_PRODUCT);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    match product {
        Some(n) => {
            for mut k in 0..n {
                for (slot, e) in vals.iter_mut().zip(&edges) {
                    *slot = e[k % e.len()];
                    k /= e.len();
                }
                try_one(&vals)?;
            }
        }
        None => {
            for _ in 0..EDGE_SAMPLES {
                for (slot, e) in vals.iter_mut().zip(&edges) {
                    *slot = e[(rng.next() % e.len() as u64) as usize];
                }
                try_one(&vals)?;
            }
        }
    }
    for _ in 0..RANDOM {
        for (slot, (_, t)) in vals.iter_mut().zip(&rule.vars) {
            *slot = random_value(&mut rng, *t);
        }
        try_one(&vals)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_rules_parse() {
        for (file, text) in SHIPPED {
            if let Err(e) = parse_rules(text, file) {
                panic!("{e}");
            }
        }
        assert!(!default_rules().is_empty());
    }

    #[test]
    fn generic_rules_expand_to_both_types() {
        let rules = parse_rules("add-zero: (iadd.T ?a 0) => ?a\n", "t.rules").unwrap();
        let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["add-zero.i32", "add-zero.i64"]);
        assert_eq!(rules[0].lhs_expr.to_string(), "(iadd.i32 ?a 0:i32)");
        assert_eq!(rules[1].lhs_expr.to_string(), "(iadd.i64 ?a 0:i64)");
        assert_eq!(rules[1].rhs_expr.to_string(), "?a");
    }

    #[test]
    fn edge_values_are_typed() {
        let e32 = edge_values(Type::I32);
        assert!(e32.iter().all(|&v| v <= u32::MAX as u64));
        assert!(e32.contains(&0x8000_0000) && e32.contains(&0x7fff_ffff));
        assert!(e32.contains(&0xffff_ffff) && e32.contains(&32));
        let e64 = edge_values(Type::I64);
        assert!(e64.contains(&(1 << 63)) && e64.contains(&u64::MAX) && e64.contains(&64));
    }
}
