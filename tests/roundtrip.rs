//! The printer's output parses back to the same module, and printing is a fixed point.

use egjit::ir::{self, Opcode};
use egjit::{Module, ModuleBuilder, Type};

fn roundtrip(name: &str, m: &Module) {
    let text = m.to_text();
    let back = Module::from_text(&text, &m.source)
        .unwrap_or_else(|e| panic!("{name}: printed text does not parse: {e}\n{text}"));
    assert_eq!(
        &back, m,
        "{name}: the module changed through print and parse:\n{text}"
    );
    assert_eq!(
        back.to_text(),
        text,
        "{name}: printing is not a fixed point"
    );
}

#[test]
fn corpus_programs_roundtrip() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/programs");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("the corpus exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|x| x != "egir") {
            continue;
        }
        let name = path.display().to_string();
        let src = std::fs::read_to_string(&path).expect("a corpus file reads");
        let m = Module::from_text(&src, &name).unwrap_or_else(|e| panic!("{e}"));
        roundtrip(&name, &m);
        n += 1;
    }
    assert!(n >= 15, "only {n} corpus programs");
}

#[test]
fn every_operation_roundtrips() {
    // One instruction of every operation and allowed suffix, built from the table.
    let mut mb = ModuleBuilder::new();
    mb.memory(1, Some(3))
        .data(8, b"\x00\x01 \"quoted\"\\\n\t\xff");
    let callee = mb.declare_function("callee", &[Type::I32, Type::I64], &[Type::I64, Type::I32]);
    let mut fb = mb.function(callee);
    let p = fb.params();
    fb.ret(&[p[1], p[0]]);
    fb.finish();
    let f = mb.declare_function("all", &[Type::I32, Type::I64], &[]);
    let mut fb = mb.function(f);
    let p = fb.params();
    let arg = |t: Type| if t == Type::I32 { p[0] } else { p[1] };
    for info in ir::OPS {
        for ty in [Type::I32, Type::I64] {
            if !(info.suffix.allows(ty) || (info.suffix == ir::Suffix::None && ty == Type::I32)) {
                continue;
            }
            let args: Vec<_> = info.params.iter().map(|o| arg(o.resolve(ty))).collect();
            match info.op_kind() {
                Kind::Call => {
                    fb.call(callee, &[p[0], p[1]]);
                }
                Kind::Const => {
                    fb.iconst(ty, -7);
                }
                Kind::Offset => {
                    fb.inst(info.opcode, ty, &args, 12);
                }
                Kind::Plain => {
                    fb.inst(info.opcode, ty, &args, 0);
                }
            }
        }
    }
    let exit = fb.create_block();
    let table = fb.create_block();
    fb.br_table(p[0], &[exit, table, exit], exit);
    fb.switch_to_block(table);
    fb.brif(p[1], exit, &[], exit, &[]);
    fb.switch_to_block(exit);
    fb.ret(&[]);
    fb.finish();
    let m = mb.finish().unwrap_or_else(|e| panic!("{e}"));
    roundtrip("every operation", &m);
    let text = m.to_text();
    for info in ir::OPS {
        assert!(
            text.contains(info.name),
            "`{}` is not in the printed module",
            info.name
        );
    }
    assert!(
        text.contains("data 8 \"\\00\\01 \\\"quoted\\\"\\\\\\n\\t\\ff\""),
        "{text}"
    );
    assert!(text.contains("v2 = iconst.i32 -7"), "{text}");
    assert!(text.contains("load8_s.i64 v0, 12"), "{text}");
    assert!(text.contains("memory 1 max 3"), "{text}");
}

enum Kind {
    Call,
    Const,
    Offset,
    Plain,
}

trait OpKind {
    fn op_kind(&self) -> Kind;
}

impl OpKind for ir::OpInfo {
    fn op_kind(&self) -> Kind {
        match (self.opcode, self.imm) {
            (Opcode::Call, _) => Kind::Call,
            (_, ir::oplist::Imm::Int) => Kind::Const,
            (_, ir::oplist::Imm::Offset) => Kind::Offset,
            _ => Kind::Plain,
        }
    }
}
