//! Emitted code: snapshots of every corpus program's code as the JIT emits it,
//! disassembled stencil by stencil (offsets in the module's code, so a snapshot changes
//! only when the code does).

#[path = "support/corpus.rs"]
mod corpus;

use egjit::emit::Placed;
use egjit::select::cover::{Cover, Covers, Detail};
use egjit::select::single::single_op_cover;
use egjit::{Config, Jit, Module};

/// The stencils of a cover's instances in order. A `jump` places nothing when its block
/// comes next, and otherwise a copy of its block's branch when that block is a single
/// conditional branch (`copies`, as the e-graph JIT does); other `jump`s are left out,
/// like the emitter's own.
fn chosen(cover: &Cover, copies: bool) -> Vec<&'static str> {
    let mut out = Vec::new();
    for f in &cover.funcs {
        let test = |b: egjit::ir::BlockId| {
            let bc = f.blocks.iter().find(|c| c.block == b)?;
            match &bc.insts[..] {
                [i] if matches!(i.detail, Detail::Brif { .. }) => Some(i.stencil.name),
                _ => None,
            }
        };
        for (k, b) in f.blocks.iter().enumerate() {
            let next = f.blocks.get(k + 1).map(|c| c.block);
            for i in &b.insts {
                match &i.detail {
                    Detail::Jump(e) if copies && Some(e.block) != next => out.extend(test(e.block)),
                    Detail::Jump(_) => {}
                    _ => out.push(i.stencil.name),
                }
            }
        }
    }
    out
}

/// The stencils placed for instances in order: the emitter's own moves and jumps left
/// out.
fn placed(placed: &[Placed]) -> Vec<&'static str> {
    placed
        .iter()
        .filter(|p| !matches!(p.covers, Covers::Name("move" | "jump")))
        .map(|p| p.stencil.name)
        .collect()
}

#[test]
fn corpus_code_snapshots() {
    let paths = corpus::paths();
    let jit = Jit::new(Config::default()).expect("jit");
    let single_jit = Jit::new(Config {
        single_op: true,
        ..Config::default()
    })
    .expect("single-op jit");
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(&path).expect("read");
        let m = Module::from_text(&src, &name).unwrap_or_else(|e| panic!("{e}"));
        let compiled = jit.compile(&m).unwrap_or_else(|e| panic!("{e}"));
        let text = compiled.disasm();
        // Every instance of the cover is placed, in order (a `jump` may be dropped as
        // its block comes next; moves and trampolines are the emitter's own).
        let cover = compiled.cover().expect("the e-graph JIT keeps its cover");
        assert_eq!(placed(compiled.placed()), chosen(cover, true), "{name}");
        // Single-op code, placed straight from the IR, is the single-op cover's.
        let single = single_jit.compile(&m).unwrap_or_else(|e| panic!("{e}"));
        assert!(single.cover().is_none());
        let expected = single_op_cover(&m).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(placed(single.placed()), chosen(&expected, false), "{name}");
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(format!("disasm_{name}"), text);
        });
    }
}

/// Single-op code names each stencil after its operation, terminators included.
#[test]
fn single_op_code_names_what_each_stencil_covers() {
    let src = std::fs::read_to_string("tests/programs/br_table.egir").expect("read");
    let m = Module::from_text(&src, "br_table").unwrap_or_else(|e| panic!("{e}"));
    let config = Config {
        single_op: true,
        ..Config::default()
    };
    let text = Jit::new(config).unwrap().compile(&m).unwrap().disasm();
    assert!(text.contains("  ; br_table_i32_s (br_table)\n"), "{text}");
    assert!(text.contains("  ; ret (return)\n"), "{text}");
}
