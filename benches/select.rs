//! Selection time: building, rewriting and covering the e-graphs, per IR operation, on
//! the corpus and on a generated 10,000-operation function.
//!
//! `cargo bench --bench select`. Each benchmark's throughput is in IR operations, so
//! criterion reports operations per second; divide to get time per operation.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use egjit::select::Selector;
use egjit::Config;
use egjit::Module;

mod common;
use common::{corpus, generated, operations};

fn bench(c: &mut Criterion) {
    let selector = Selector::new(&Config::default()).expect("built-in rules");
    let bare = Selector::new(&Config {
        default_rules: false,
        ..Config::default()
    })
    .expect("no rules");
    let mut group = c.benchmark_group("select");
    let corpus = corpus();
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
