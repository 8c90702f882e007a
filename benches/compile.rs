//! Compile time, from a verified module to callable code: the e-graph JIT and single-op
//! side by side, per IR operation, on the corpus and on a generated 10,000-operation
//! function.
//!
//! `cargo bench --bench compile`. Throughput is in IR operations. The group
//! `per_module` compiles each corpus program alone with the e-graph JIT, for the median
//! time per IR operation over programs (`cargo bench --bench compile -- per_module`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use egjit::{Config, Jit, Module};

mod common;
use common::{corpus, generated, operations};

fn bench(c: &mut Criterion) {
    let jit = Jit::new(Config::default()).expect("jit");
    let single = Jit::new(Config {
        single_op: true,
        ..Config::default()
    })
    .expect("single-op");
    let corpus = corpus();
    let big = Module::from_text(&generated(10_000), "generated").expect("generated");
    let mut group = c.benchmark_group("compile");
    let compile_all = |j: &Jit, ms: &[Module]| {
        for m in ms {
            std::hint::black_box(j.compile(m).expect("compile"));
        }
    };
    group.throughput(Throughput::Elements(corpus.iter().map(operations).sum()));
    group.bench_function("corpus/jit", |b| b.iter(|| compile_all(&jit, &corpus)));
    group.bench_function("corpus/single_op", |b| {
        b.iter(|| compile_all(&single, &corpus))
    });
    let big = std::slice::from_ref(&big);
    group.throughput(Throughput::Elements(operations(&big[0])));
    group.bench_function("generated_10k/jit", |b| b.iter(|| compile_all(&jit, big)));
    group.bench_function("generated_10k/single_op", |b| {
        b.iter(|| compile_all(&single, big))
    });
    group.finish();

    let mut group = c.benchmark_group("per_module");
    for m in &corpus {
        let name = std::path::Path::new(&m.source)
            .file_stem()
            .map_or_else(|| m.source.clone(), |s| s.to_string_lossy().into_owned());
        group.throughput(Throughput::Elements(operations(m)));
        group.bench_function(name, |b| {
            b.iter(|| compile_all(&jit, std::slice::from_ref(m)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
