//! Selection time: building, rewriting and covering the e-graphs, per IR operation, on
//! the corpus and on a generated 10,000-operation function.
//!
//! `cargo bench --bench select`. Each benchmark's throughput is in IR operations, so
//! criterion reports operations per second; divide to get time per operation.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use egjit::select::Selector;
use egjit::Config;
use egjit::Module;

/// The number of instructions and terminators of a module's bodies.
fn operations(m: &Module) -> u64 {
    m.funcs
        .iter()
        .filter_map(|f| f.body.as_ref())
        .flat_map(|b| &b.blocks)
        .map(|b| b.insts.len() as u64 + 1)
        .sum()
}

/// A function of `n` operations: a loop whose body is a long chain of arithmetic with
/// constants, compares and selects, in blocks of about 50 operations.
fn generated(n: usize) -> String {
    let mut s = String::from(
        "func @big(i64, i64) -> i64 {\nentry(v0: i64, v1: i64):\n    jump b0(v0, v1)\n",
    );
    let mut v = 2u32;
    let blocks = n / 50;
    for b in 0..blocks {
        s.push_str(&format!("b{b}(v{v}: i64, v{}: i64):\n", v + 1));
        let (mut x, y) = (v, v + 1);
        v += 2;
        for k in 0..16 {
            let c = v;
            s.push_str(&format!("    v{c} = iconst.i64 {}\n", k * 7 + 1));
            s.push_str(&format!("    v{} = iadd.i64 v{x}, v{c}\n", c + 1));
            s.push_str(&format!("    v{} = imul.i64 v{}, v{y}\n", c + 2, c + 1));
            x = c + 2;
            v += 3;
        }
        s.push_str(&format!("    v{v} = icmp.slt.i64 v{x}, v{y}\n"));
        let next = if b + 1 < blocks {
            format!("b{}", b + 1)
        } else {
            "done".to_string()
        };
        s.push_str(&format!(
            "    brif v{v}, {next}(v{x}, v{y}), {next}(v{y}, v{x})\n"
        ));
        v += 1;
    }
    s.push_str(&format!(
        "done(v{v}: i64, v{}: i64):\n    return v{v}\n}}\n",
        v + 1
    ));
    s
}

fn bench(c: &mut Criterion) {
    let selector = Selector::new(&Config::default()).expect("built-in rules");
    let bare = Selector::new(&Config {
        default_rules: false,
        ..Config::default()
    })
    .expect("no rules");
    let mut group = c.benchmark_group("select");
    let mut corpus = Vec::new();
    for entry in std::fs::read_dir("tests/programs").expect("corpus") {
        let path = entry.expect("entry").path();
        let src = std::fs::read_to_string(&path).expect("read");
        corpus.push(Module::from_text(&src, &path.to_string_lossy()).expect("parse"));
    }
    let ops: u64 = corpus.iter().map(operations).sum();
    group.throughput(Throughput::Elements(ops));
    group.bench_function("corpus", |b| {
        b.iter(|| {
            for m in &corpus {
                std::hint::black_box(selector.cover(m).expect("cover"));
            }
        })
    });
    group.bench_function("corpus_no_rules", |b| {
        b.iter(|| {
            for m in &corpus {
                std::hint::black_box(bare.cover(m).expect("cover"));
            }
        })
    });
    let big = Module::from_text(&generated(10_000), "generated").expect("generated");
    group.throughput(Throughput::Elements(operations(&big)));
    group.bench_function("generated_10k", |b| {
        b.iter(|| std::hint::black_box(selector.cover(&big).expect("cover")))
    });
    group.bench_function("generated_10k_no_rules", |b| {
        b.iter(|| std::hint::black_box(bare.cover(&big).expect("cover")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
