//! The parser for the `.egir` text format (IR.md, "Grammar").
//!
//! A lexer turns the text into tokens with their positions; a recursive-descent parser
//! builds the [`Module`]. Names are resolved as the text goes: values and blocks per
//! function (forward references allowed, resolved at the function's end), functions per
//! module (resolved at the module's end). Every error names the line and column and
//! says what was expected and what was found. Type rules and SSA dominance are the
//! verifier's.

use std::collections::HashMap;

use super::oplist::{Imm, Suffix};
use super::{
    Block, BlockId, Body, DataSegment, FuncId, Function, Inst, Loc, Memory, Module, Opcode,
    Operands, Signature, Target, TermKind, Terminator, Type, Value, ValueData,
};
use crate::error::{Error, ErrorKind};

/// Largest `memory` size in pages (4 GiB).
const MAX_PAGES: i128 = 65536;

/// Parses a module from bytes, refusing invalid UTF-8 with the position of the first bad
/// byte. `file` names the source in messages. The module is not verified.
///
/// # Errors
/// The first syntax error, located.
pub fn parse_bytes(src: &[u8], file: &str) -> Result<Module, Error> {
    match std::str::from_utf8(src) {
        Ok(text) => parse(text, file),
        Err(e) => {
            let good = &src[..e.valid_up_to()];
            // The prefix is valid UTF-8, so positions can be counted in characters.
            let good = std::str::from_utf8(good).unwrap_or_default();
            let line = good.matches('\n').count() as u32 + 1;
            let col = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
            Err(Error::new(
                ErrorKind::Syntax,
                file,
                Loc { line, col },
                format!(
                    "the text is not valid UTF-8 (byte 0x{:02x})",
                    src[e.valid_up_to()]
                ),
            ))
        }
    }
}

/// Parses a module from text; `file` names the source in messages. The module is not
/// verified (see [`super::verify`]).
///
/// # Errors
/// The first syntax error, located.
pub fn parse(src: &str, file: &str) -> Result<Module, Error> {
    let tokens = Lexer::new(src, file).run()?;
    let mut p = Parser {
        toks: tokens,
        pos: 0,
        file,
        module: Module {
            source: file.to_string(),
            ..Module::default()
        },
        func_names: HashMap::new(),
        calls: Vec::new(),
    };
    p.module()?;
    Ok(p.module)
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Func(String),
    /// An integer literal in `[-2^63, 2^64)`.
    Int(i128),
    Str(Vec<u8>),
    Punct(char),
    Arrow,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Func(s) => format!("`@{s}`"),
            Tok::Int(v) => format!("integer `{v}`"),
            Tok::Str(_) => "a string".to_string(),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Arrow => "`->`".to_string(),
            Tok::Eof => "end of file".to_string(),
        }
    }
}

struct Token {
    tok: Tok,
    loc: Loc,
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    file: &'a str,
    line: u32,
    col: u32,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str, file: &'a str) -> Self {
        Lexer {
            chars: src.chars().peekable(),
            file,
            line: 1,
            col: 1,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn loc(&self) -> Loc {
        Loc {
            line: self.line,
            col: self.col,
        }
    }

    fn err(&self, loc: Loc, msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Syntax, self.file, loc, msg)
    }

    fn word(&mut self, first: char) -> String {
        let mut s = String::from(first);
        while let Some(&c) = self.chars.peek() {
            if !is_ident_char(c) {
                break;
            }
            s.push(c);
            self.bump();
        }
        s
    }

    fn run(mut self) -> Result<Vec<Token>, Error> {
        let mut out = Vec::new();
        loop {
            let loc = self.loc();
            let Some(c) = self.bump() else {
                out.push(Token { tok: Tok::Eof, loc });
                return Ok(out);
            };
            let tok = match c {
                ' ' | '\t' | '\r' | '\n' => continue,
                ';' => {
                    while self.chars.peek().is_some_and(|&c| c != '\n') {
                        self.bump();
                    }
                    continue;
                }
                '(' | ')' | '{' | '}' | '[' | ']' | ',' | ':' | '=' => Tok::Punct(c),
                '-' => match self.chars.peek() {
                    Some('>') => {
                        self.bump();
                        Tok::Arrow
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let d = self.bump().unwrap_or('0');
                        self.int(loc, d, true)?
                    }
                    _ => return Err(self.err(loc, "expected `->` or a negative integer after `-`")),
                },
                '0'..='9' => self.int(loc, c, false)?,
                '@' => {
                    match self.chars.peek() {
                        Some(&c) if is_ident_start(c) => {
                            self.bump();
                            Tok::Func(self.word(c))
                        }
                        _ => return Err(self.err(
                            loc,
                            "expected a function name after `@` (`@` followed by a letter or `_`)",
                        )),
                    }
                }
                '"' => self.string(loc)?,
                c if is_ident_start(c) => Tok::Ident(self.word(c)),
                c => {
                    return Err(self.err(loc, format!("unexpected character {c:?}")));
                }
            };
            out.push(Token { tok, loc });
        }
    }

    fn int(&mut self, loc: Loc, first: char, negative: bool) -> Result<Tok, Error> {
        let mut text = String::from(first);
        while let Some(&c) = self.chars.peek() {
            if !(c.is_ascii_alphanumeric() || c == '_') {
                break;
            }
            text.push(c);
            self.bump();
        }
        let sign = if negative { "-" } else { "" };
        let (digits, radix) = match text.strip_prefix("0x") {
            Some(hex) => (hex, 16),
            None => (text.as_str(), 10),
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return Err(self.err(
                loc,
                format!("invalid integer literal `{sign}{text}` (decimal or 0x hex digits)"),
            ));
        }
        let too_big = || {
            self.err(
                loc,
                format!("integer literal `{sign}{text}` does not fit in 64 bits"),
            )
        };
        let mag = u128::from_str_radix(digits, radix).map_err(|_| too_big())?;
        let value = if negative {
            if mag > 1u128 << 63 {
                return Err(too_big());
            }
            -(mag as i128)
        } else {
            if mag > u64::MAX as u128 {
                return Err(too_big());
            }
            mag as i128
        };
        Ok(Tok::Int(value))
    }

    fn string(&mut self, loc: Loc) -> Result<Tok, Error> {
        let mut bytes = Vec::new();
        loop {
            let here = self.loc();
            match self.bump() {
                None => return Err(self.err(loc, "unterminated string (missing closing `\"`)")),
                Some('"') => return Ok(Tok::Str(bytes)),
                Some('\\') => match self.bump() {
                    Some('n') => bytes.push(b'\n'),
                    Some('t') => bytes.push(b'\t'),
                    Some('\\') => bytes.push(b'\\'),
                    Some('"') => bytes.push(b'"'),
                    Some(h) if h.is_ascii_hexdigit() => {
                        let l = self
                            .bump()
                            .filter(|c| c.is_ascii_hexdigit())
                            .ok_or_else(|| {
                                self.err(here, "a `\\` hex escape takes two hex digits (`\\41`)")
                            })?;
                        let hi = h.to_digit(16).unwrap_or(0) as u8;
                        let lo = l.to_digit(16).unwrap_or(0) as u8;
                        bytes.push(hi * 16 + lo);
                    }
                    other => {
                        let found = other.map_or("end of file".to_string(), |c| format!("{c:?}"));
                        return Err(self.err(
                            here,
                            format!(
                                "unknown escape in string: expected `\\n`, `\\t`, `\\\\`, `\\\"` or two hex digits, found {found}"
                            ),
                        ));
                    }
                },
                Some(c) => {
                    let mut buf = [0; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }
}

/// Per-function name tables.
#[derive(Default)]
struct FuncScope {
    /// Text number to value, with the place of its definition (if seen) and first use.
    values: HashMap<u32, (Value, Option<Loc>, Loc)>,
    data: Vec<ValueData>,
    /// Block name to temporary id (first mention), with its definition (index, place)
    /// and first use.
    blocks: HashMap<String, (u32, Option<BlockDef>, Loc)>,
}

/// Where a block is defined: its index in the function, and its label's place.
type BlockDef = (usize, Loc);

struct PendingCall {
    func: usize,
    block: usize,
    inst: usize,
    name: String,
    loc: Loc,
}

struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    file: &'a str,
    module: Module,
    func_names: HashMap<String, (FuncId, Loc)>,
    calls: Vec<PendingCall>,
}

const TERMINATORS: [&str; 5] = ["jump", "brif", "br_table", "return", "trap"];

fn value_number(s: &str) -> Option<&str> {
    let digits = s.strip_prefix('v')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        let i = (self.pos + n).min(self.toks.len() - 1);
        &self.toks[i].tok
    }

    fn loc(&self) -> Loc {
        self.toks[self.pos].loc
    }

    fn next(&mut self) -> &Token {
        let i = self.pos;
        if i + 1 < self.toks.len() {
            self.pos += 1;
        }
        &self.toks[i]
    }

    fn err(&self, loc: Loc, msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Syntax, self.file, loc, msg)
    }

    fn expected(&self, what: &str) -> Error {
        self.err(
            self.loc(),
            format!("expected {what}, found {}", self.peek().describe()),
        )
    }

    fn is_punct(&self, c: char) -> bool {
        *self.peek() == Tok::Punct(c)
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.is_punct(c) {
            self.next();
            true
        } else {
            false
        }
    }

    fn punct(&mut self, c: char) -> Result<(), Error> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{c}`")))
        }
    }

    fn int(&mut self, what: &str) -> Result<(i128, Loc), Error> {
        match *self.peek() {
            Tok::Int(v) => {
                let loc = self.loc();
                self.next();
                Ok((v, loc))
            }
            _ => Err(self.expected(what)),
        }
    }

    /// An integer in `0..=max`, for sizes and offsets.
    fn unsigned(&mut self, what: &str, max: i128) -> Result<i128, Error> {
        let (v, loc) = self.int(what)?;
        if !(0..=max).contains(&v) {
            return Err(self.err(
                loc,
                format!("{what} must be between 0 and {max}, found {v}"),
            ));
        }
        Ok(v)
    }

    fn ty(&mut self) -> Result<Type, Error> {
        if let Tok::Ident(s) = self.peek() {
            if let Some(t) = Type::from_name(s) {
                self.next();
                return Ok(t);
            }
            if s == "f32" || s == "f64" {
                return Err(self.err(
                    self.loc(),
                    format!("type `{s}` is reserved for a later version; use i32 or i64"),
                ));
            }
        }
        Err(self.expected("a type (`i32` or `i64`)"))
    }

    fn types(&mut self) -> Result<Vec<Type>, Error> {
        let mut v = vec![self.ty()?];
        while self.eat_punct(',') {
            v.push(self.ty()?);
        }
        Ok(v)
    }

    fn signature(&mut self) -> Result<Signature, Error> {
        self.punct('(')?;
        let params = if self.is_punct(')') {
            Vec::new()
        } else {
            self.types()?
        };
        self.punct(')')?;
        let results = if *self.peek() == Tok::Arrow {
            self.next();
            self.types()?
        } else {
            Vec::new()
        };
        Ok(Signature { params, results })
    }

    fn module(&mut self) -> Result<(), Error> {
        loop {
            let loc = self.loc();
            let word = match self.peek() {
                Tok::Eof => break,
                Tok::Ident(w) => w.clone(),
                _ => return Err(self.expected("`memory`, `data`, `import` or `func`")),
            };
            match word.as_str() {
                "memory" => {
                    self.next();
                    if let Some(first) = &self.module.memory {
                        return Err(self.err(
                            loc,
                            format!(
                                "a module has at most one `memory` (the first is at {}:{})",
                                first.loc.line, first.loc.col
                            ),
                        ));
                    }
                    let initial = self.unsigned("the memory size in pages", MAX_PAGES)? as u32;
                    let max = if matches!(self.peek(), Tok::Ident(w) if w == "max") {
                        self.next();
                        Some(self.unsigned("the maximum memory size in pages", MAX_PAGES)? as u32)
                    } else {
                        None
                    };
                    self.module.memory = Some(Memory { initial, max, loc });
                }
                "data" => {
                    self.next();
                    let offset = self.unsigned("the data offset", u32::MAX as i128)? as u64;
                    let bytes = match self.peek() {
                        Tok::Str(b) => b.clone(),
                        _ => return Err(self.expected("a string")),
                    };
                    self.next();
                    self.module.data.push(DataSegment { offset, bytes, loc });
                }
                "import" | "func" => {
                    self.next();
                    let name = match self.peek() {
                        Tok::Func(n) => n.clone(),
                        _ => return Err(self.expected("a function name (`@name`)")),
                    };
                    let name_loc = self.loc();
                    self.next();
                    let id = FuncId(self.module.funcs.len() as u32);
                    if let Some((_, first)) = self.func_names.get(&name) {
                        return Err(self.err(
                            name_loc,
                            format!(
                                "function `@{name}` is defined twice (first at {}:{})",
                                first.line, first.col
                            ),
                        ));
                    }
                    self.func_names.insert(name.clone(), (id, loc));
                    let sig = self.signature()?;
                    let body = if word == "func" {
                        Some(self.body(id.index())?)
                    } else {
                        None
                    };
                    self.module.funcs.push(Function {
                        name,
                        sig,
                        body,
                        loc,
                    });
                }
                _ => return Err(self.expected("`memory`, `data`, `import` or `func`")),
            }
        }
        self.resolve_calls()
    }

    fn resolve_calls(&mut self) -> Result<(), Error> {
        for call in std::mem::take(&mut self.calls) {
            let Some(&(callee, _)) = self.func_names.get(&call.name) else {
                return Err(self.err(
                    call.loc,
                    format!("call to undefined function `@{}`", call.name),
                ));
            };
            let results = self.module.funcs[callee.index()].sig.results.clone();
            let Some(body) = self.module.funcs[call.func].body.as_mut() else {
                continue;
            };
            let inst = &mut body.blocks[call.block].insts[call.inst];
            inst.func = Some(callee);
            for (v, t) in inst.results.iter().zip(results) {
                body.values[v.index()].ty = t;
            }
        }
        Ok(())
    }

    fn body(&mut self, func: usize) -> Result<Body, Error> {
        self.punct('{')?;
        let mut scope = FuncScope::default();
        let mut blocks: Vec<Block> = Vec::new();
        // Temporary block ids, in order of first mention, used until the function ends.
        let mut temp_names: Vec<String> = Vec::new();
        loop {
            if self.is_punct('}') {
                if blocks.is_empty() {
                    return Err(self.expected("a block (a function has at least one)"));
                }
                self.next();
                break;
            }
            let block = self.block(func, blocks.len(), &mut scope, &mut temp_names)?;
            blocks.push(block);
        }
        // Undefined blocks and values, at their first use.
        let mut undefined: Vec<(Loc, String)> = Vec::new();
        for (name, (_, def, first)) in &scope.blocks {
            if def.is_none() {
                undefined.push((*first, format!("undefined block `{name}`")));
            }
        }
        for (num, (_, def, first)) in &scope.values {
            if def.is_none() {
                undefined.push((*first, format!("undefined value `v{num}`")));
            }
        }
        if let Some((loc, msg)) = undefined.into_iter().min_by_key(|(l, _)| (l.line, l.col)) {
            return Err(self.err(loc, msg));
        }
        // Temporary ids to definition order.
        let remap: Vec<BlockId> = temp_names
            .iter()
            .map(|n| BlockId(scope.blocks[n].1.map_or(0, |(i, _)| i) as u32))
            .collect();
        let fix = |b: &mut BlockId| *b = remap[b.index()];
        for block in &mut blocks {
            if let Some(term) = &mut block.term {
                match &mut term.kind {
                    TermKind::Jump(t) => fix(&mut t.block),
                    TermKind::Brif { then, els, .. } => {
                        fix(&mut then.block);
                        fix(&mut els.block);
                    }
                    TermKind::BrTable {
                        targets, default, ..
                    } => {
                        targets.iter_mut().for_each(fix);
                        fix(default);
                    }
                    TermKind::Return(_) | TermKind::Trap => {}
                }
            }
        }
        Ok(Body {
            blocks,
            values: scope.data,
        })
    }

    /// A value reference (a use): creates the value on first mention.
    fn use_value(&mut self, scope: &mut FuncScope) -> Result<Value, Error> {
        let loc = self.loc();
        let num = self.value_token("a value (`v` and digits)")?;
        Ok(Self::value(scope, num, loc).0)
    }

    fn value_token(&mut self, what: &str) -> Result<u32, Error> {
        let loc = self.loc();
        let Tok::Ident(s) = self.peek() else {
            return Err(self.expected(what));
        };
        let Some(digits) = value_number(s) else {
            return Err(self.expected(what));
        };
        let num = digits.parse::<u32>().map_err(|_| {
            self.err(
                loc,
                format!("value number `{s}` is too large (at most v{})", u32::MAX),
            )
        })?;
        self.next();
        Ok(num)
    }

    fn value(scope: &mut FuncScope, num: u32, loc: Loc) -> &mut (Value, Option<Loc>, Loc) {
        let next = Value(scope.data.len() as u32);
        let entry = scope.values.entry(num).or_insert((next, None, loc));
        if entry.0 == next {
            scope.data.push(ValueData {
                name: num,
                ty: Type::I32,
            });
        }
        entry
    }

    /// A value definition of type `ty`.
    fn def_value(
        &mut self,
        scope: &mut FuncScope,
        num: u32,
        ty: Type,
        loc: Loc,
    ) -> Result<Value, Error> {
        let entry = Self::value(scope, num, loc);
        if let Some(first) = entry.1 {
            return Err(self.err(
                loc,
                format!(
                    "value `v{num}` is defined twice (first at {}:{}); each value is defined once",
                    first.line, first.col
                ),
            ));
        }
        entry.1 = Some(loc);
        let v = entry.0;
        scope.data[v.index()].ty = ty;
        Ok(v)
    }

    fn block_ref(
        &mut self,
        scope: &mut FuncScope,
        temp_names: &mut Vec<String>,
    ) -> Result<BlockId, Error> {
        let loc = self.loc();
        let name = match self.peek() {
            Tok::Ident(s) if !s.contains('.') => s.clone(),
            _ => return Err(self.expected("a block name")),
        };
        self.next();
        Ok(BlockId(Self::block_entry(scope, temp_names, name, loc).0))
    }

    /// The name table entry of block `name`, made (with the next temporary id) on its
    /// first mention at `loc`.
    fn block_entry<'s>(
        scope: &'s mut FuncScope,
        temp_names: &mut Vec<String>,
        name: String,
        loc: Loc,
    ) -> &'s mut (u32, Option<BlockDef>, Loc) {
        let next = temp_names.len() as u32;
        let entry = scope
            .blocks
            .entry(name.clone())
            .or_insert((next, None, loc));
        if entry.0 == next {
            temp_names.push(name);
        }
        entry
    }

    fn target(
        &mut self,
        scope: &mut FuncScope,
        temp_names: &mut Vec<String>,
    ) -> Result<Target, Error> {
        let block = self.block_ref(scope, temp_names)?;
        let mut args = Vec::new();
        if self.eat_punct('(') {
            if !self.is_punct(')') {
                args.push(self.use_value(scope)?);
                while self.eat_punct(',') {
                    args.push(self.use_value(scope)?);
                }
            }
            self.punct(')')?;
        }
        Ok(Target { block, args })
    }

    fn block(
        &mut self,
        func: usize,
        index: usize,
        scope: &mut FuncScope,
        temp_names: &mut Vec<String>,
    ) -> Result<Block, Error> {
        let loc = self.loc();
        let name = match (self.peek(), self.peek_at(1)) {
            (Tok::Ident(s), Tok::Punct(':') | Tok::Punct('(')) => {
                if s.contains('.') {
                    return Err(self.err(loc, format!("block name `{s}` may not contain `.`")));
                }
                s.clone()
            }
            (tok, _) if index > 0 && *tok != Tok::Eof => {
                return Err(self.err(
                    loc,
                    format!(
                        "expected a block label (`name:` or `name(v0: i64):`) or `}}`, found {}; the block before already ended with its terminator",
                        tok.describe()
                    ),
                ))
            }
            _ => return Err(self.expected("a block label (`name:` or `name(v0: i64):`)")),
        };
        self.next();
        let entry = Self::block_entry(scope, temp_names, name.clone(), loc);
        if let Some((_, first)) = entry.1 {
            return Err(self.err(
                loc,
                format!(
                    "block `{name}` is defined twice (first at {}:{})",
                    first.line, first.col
                ),
            ));
        }
        entry.1 = Some((index, loc));
        let mut params = Vec::new();
        if self.eat_punct('(') {
            loop {
                let vloc = self.loc();
                let num = self.value_token("a block parameter (`v0: i64`)")?;
                self.punct(':')?;
                let ty = self.ty()?;
                params.push(self.def_value(scope, num, ty, vloc)?);
                if !self.eat_punct(',') {
                    break;
                }
            }
            self.punct(')')?;
        }
        self.punct(':')?;
        let mut insts = Vec::new();
        loop {
            let here = self.loc();
            let word = match self.peek() {
                Tok::Ident(w) => w.clone(),
                Tok::Punct('}') => {
                    return Err(self.err(
                        here,
                        format!(
                            "block `{name}` has no terminator: expected `jump`, `brif`, `br_table`, `return` or `trap` before `}}`"
                        ),
                    ))
                }
                _ => return Err(self.expected("an instruction or a terminator")),
            };
            if TERMINATORS.contains(&word.as_str()) {
                let term = self.terminator(scope, temp_names)?;
                return Ok(Block {
                    name,
                    params,
                    insts,
                    term: Some(term),
                    loc,
                });
            }
            let next = self.peek_at(1).clone();
            if value_number(&word).is_none() && (next == Tok::Punct(':') || next == Tok::Punct('('))
            {
                return Err(self.err(
                    here,
                    format!(
                        "block `{name}` has no terminator: expected `jump`, `brif`, `br_table`, `return` or `trap` before block `{word}`"
                    ),
                ));
            }
            let inst = self.inst(scope, func, index, insts.len())?;
            insts.push(inst);
        }
    }

    fn inst(
        &mut self,
        scope: &mut FuncScope,
        func: usize,
        block: usize,
        index: usize,
    ) -> Result<Inst, Error> {
        let loc = self.loc();
        // Results, if any.
        let mut result_names: Vec<(u32, Loc)> = Vec::new();
        if let Tok::Ident(w) = self.peek() {
            if value_number(w).is_some()
                && matches!(self.peek_at(1), Tok::Punct('=') | Tok::Punct(','))
            {
                loop {
                    let vloc = self.loc();
                    result_names.push((self.value_token("a value")?, vloc));
                    if !self.eat_punct(',') {
                        break;
                    }
                }
                self.punct('=')?;
            }
        }
        let op_loc = self.loc();
        let mnemonic = match self.peek() {
            Tok::Ident(w) => w.clone(),
            _ => return Err(self.expected("an operation")),
        };
        let (op, ty) = self.mnemonic(&mnemonic, op_loc)?;
        self.next();
        let info = op.info();
        let mut args = Operands::new();
        let mut imm = 0u64;
        if op == Opcode::Call {
            let name = match self.peek() {
                Tok::Func(n) => n.clone(),
                _ => return Err(self.expected("a function name (`@name`) after `call`")),
            };
            let name_loc = self.loc();
            self.next();
            self.punct('(')?;
            if !self.is_punct(')') {
                args.push(self.use_value(scope)?);
                while self.eat_punct(',') {
                    args.push(self.use_value(scope)?);
                }
            }
            self.punct(')')?;
            self.calls.push(PendingCall {
                func,
                block,
                inst: index,
                name,
                loc: name_loc,
            });
        } else {
            for i in 0..info.params.len() {
                if i > 0 {
                    self.punct(',')?;
                }
                args.push(self.use_value(scope)?);
            }
            match info.imm {
                Imm::None => {}
                Imm::Int => {
                    let (v, _) = self.int("an integer literal")?;
                    let bits = ty.map_or(64, Type::bits);
                    imm = (v as u64) & (u64::MAX >> (64 - bits));
                }
                Imm::Offset => {
                    if self.eat_punct(',') {
                        imm = self.unsigned("the memory offset", u32::MAX as i128)? as u64;
                    }
                }
            }
        }
        // Results: their number comes from the table (or, for calls, the signature).
        let result_types: Vec<Type> = if op == Opcode::Call {
            vec![Type::I32; result_names.len()]
        } else {
            let t = ty.unwrap_or(Type::I32);
            info.results.iter().map(|r| r.resolve(t)).collect()
        };
        if op != Opcode::Call && result_names.len() != result_types.len() {
            let m = match ty {
                Some(t) => format!("{}.{t}", info.name),
                None => info.name.to_string(),
            };
            return Err(self.err(
                loc,
                format!(
                    "`{m}` has {} result{}, but {} {} named",
                    result_types.len(),
                    if result_types.len() == 1 { "" } else { "s" },
                    result_names.len(),
                    if result_names.len() == 1 { "is" } else { "are" },
                ),
            ));
        }
        let mut results = Operands::new();
        for ((num, vloc), t) in result_names.into_iter().zip(result_types) {
            results.push(self.def_value(scope, num, t, vloc)?);
        }
        Ok(Inst {
            op,
            ty,
            args,
            imm,
            func: None,
            results,
            loc,
        })
    }

    fn mnemonic(&self, word: &str, loc: Loc) -> Result<(Opcode, Option<Type>), Error> {
        let (base, ty) = match word.rsplit_once('.') {
            Some((base, suffix)) => match Type::from_name(suffix) {
                Some(t) => (base, Some(t)),
                None if suffix == "f32" || suffix == "f64" => {
                    return Err(self.err(
                        loc,
                        format!("type `{suffix}` is reserved for a later version; use i32 or i64"),
                    ))
                }
                None => (word, None),
            },
            None => (word, None),
        };
        let Some(op) = Opcode::from_name(base) else {
            let what = if value_number(word).is_some() {
                format!("`{word}` is a value; to define it write `{word} = OPERATION ...`")
            } else {
                format!("unknown operation `{word}`")
            };
            return Err(self.err(loc, what));
        };
        let suffix = op.info().suffix;
        match (suffix, ty) {
            (Suffix::None, None) => Ok((op, None)),
            (Suffix::None, Some(_)) => Err(self.err(loc, format!("`{base}` takes no type suffix"))),
            (_, None) => Err(self.err(
                loc,
                format!(
                    "`{base}` needs a type suffix ({})",
                    suffix_help(suffix, base)
                ),
            )),
            (s, Some(t)) if s.allows(t) => Ok((op, Some(t))),
            (s, Some(_)) => Err(self.err(
                loc,
                format!(
                    "`{word}` has the wrong type suffix: write {}",
                    suffix_help(s, base)
                ),
            )),
        }
    }

    fn terminator(
        &mut self,
        scope: &mut FuncScope,
        temp_names: &mut Vec<String>,
    ) -> Result<Terminator, Error> {
        let loc = self.loc();
        let Tok::Ident(word) = self.peek().clone() else {
            return Err(self.expected("a terminator"));
        };
        self.next();
        let kind = match word.as_str() {
            "jump" => TermKind::Jump(self.target(scope, temp_names)?),
            "brif" => {
                let cond = self.use_value(scope)?;
                self.punct(',')?;
                let then = self.target(scope, temp_names)?;
                self.punct(',')?;
                let els = self.target(scope, temp_names)?;
                TermKind::Brif { cond, then, els }
            }
            "br_table" => {
                let index = self.use_value(scope)?;
                self.punct(',')?;
                self.punct('[')?;
                let mut targets = Vec::new();
                if !self.is_punct(']') {
                    targets.push(self.block_ref(scope, temp_names)?);
                    while self.eat_punct(',') {
                        targets.push(self.block_ref(scope, temp_names)?);
                    }
                }
                self.punct(']')?;
                self.punct(',')?;
                let default = self.block_ref(scope, temp_names)?;
                if self.is_punct('(') {
                    return Err(self.err(self.loc(), "`br_table` targets take no arguments"));
                }
                TermKind::BrTable {
                    index,
                    targets,
                    default,
                }
            }
            "return" => {
                let mut vals = Vec::new();
                let starts_value = |p: &Parser| {
                    matches!(p.peek(), Tok::Ident(w) if value_number(w).is_some())
                        && !matches!(
                            p.peek_at(1),
                            Tok::Punct(':') | Tok::Punct('(') | Tok::Punct('=')
                        )
                };
                if starts_value(self) {
                    vals.push(self.use_value(scope)?);
                    while self.eat_punct(',') {
                        vals.push(self.use_value(scope)?);
                    }
                }
                TermKind::Return(vals)
            }
            _ => TermKind::Trap,
        };
        Ok(Terminator { kind, loc })
    }
}

fn suffix_help(s: Suffix, base: &str) -> String {
    match s {
        Suffix::Any => format!("`{base}.i32` or `{base}.i64`"),
        Suffix::I32 => format!("`{base}.i32`"),
        Suffix::I64 => format!("`{base}.i64`"),
        Suffix::None => format!("`{base}`"),
    }
}
