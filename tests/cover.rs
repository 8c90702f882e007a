//! Selection: covers of the corpus (snapshots), and one-line cases of what selection
//! picks for small functions, written by hand.

#[path = "support/corpus.rs"]
mod corpus;

use egjit::select::Selector;
use egjit::Config;
use egjit::Module;

/// The cover of `src` with the built-in rules (or none), as stencil names per function,
/// in order.
fn stencils(src: &str, with_rules: bool) -> Vec<String> {
    let m = Module::from_text(src, "case").unwrap_or_else(|e| panic!("{e}"));
    let config = Config {
        default_rules: with_rules,
        ..Config::default()
    };
    let selector = Selector::new(&config).unwrap_or_else(|e| panic!("{e}"));
    let cover = selector.cover(&m).unwrap_or_else(|e| panic!("{e}"));
    cover.funcs[0]
        .blocks
        .iter()
        .flat_map(|b| b.insts.iter().map(|i| i.stencil.name.to_string()))
        .collect()
}

/// `case!(name, rules, "body of @f(i32, i32) -> i32", [stencils...])`.
macro_rules! case {
    ($name:ident, $rules:expr, $sig:expr, $body:expr, [$($want:expr),* $(,)?]) => {
        #[test]
        fn $name() {
            let src = format!("func @f{} {{\n{}\n}}\n", $sig, $body);
            let got = stencils(&src, $rules);
            let want: Vec<String> = vec![$($want.to_string()),*];
            assert_eq!(got, want, "\n{src}");
        }
    };
}

const BIN32: &str = "(i32, i32) -> i32";

case!(
    single_add,
    false,
    BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iadd.i32 v0, v1\n return v2",
    ["iadd_i32_ss", "ret"]
);
case!(
    constant_becomes_an_immediate,
    false,
    BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iconst.i32 7\n v3 = iadd.i32 v0, v2\n return v3",
    ["iadd_i32_si", "ret"]
);
case!(
    constant_on_the_left_is_an_immediate_too,
    false,
    BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iconst.i32 7\n v3 = isub.i32 v2, v0\n return v3",
    ["isub_i32_is", "ret"]
);
case!(folded_constant_is_returned_as_an_immediate, false, BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iconst.i32 7\n v3 = iconst.i32 5\n v4 = imul.i32 v2, v3\n return v4",
    ["ret"]);
case!(
    shared_value_is_computed_once,
    false,
    BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iadd.i32 v0, v1\n v3 = imul.i32 v2, v2\n return v3",
    ["iadd_i32_ss", "imul_i32_ss", "ret"]
);
case!(compare_and_branch_fuse, false, BIN32,
    "entry(v0: i32, v1: i32):\n v2 = icmp.slt.i32 v0, v1\n brif v2, a, b\na:\n return v0\nb:\n return v1",
    ["brif_icmp_slt_i32_ss", "ret", "ret"]);
case!(add_compare_branch_fuse, false, BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iconst.i32 1\n v3 = iadd.i32 v0, v2\n v4 = icmp.ult.i32 v3, v1\n brif v4, a, b\na:\n return v0\nb:\n return v1",
    ["brif_icmp_ult_iadd_i32_sis", "ret", "ret"]);
// The sum is also returned on one edge: it is computed once into a slot, and the
// branch compares the slot rather than recomputing it.
case!(a_swallowed_value_with_another_user_is_not_recomputed, false, BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iconst.i32 1\n v3 = iadd.i32 v0, v2\n v4 = icmp.ult.i32 v3, v1\n brif v4, a, b\na:\n return v3\nb:\n return v1",
    ["iadd_i32_si", "brif_icmp_ult_i32_ss", "ret", "ret"]);
case!(
    compare_select_fuse,
    false,
    BIN32,
    "entry(v0: i32, v1: i32):\n v2 = icmp.sgt.i32 v0, v1\n v3 = select.i32 v2, v0, v1\n return v3",
    ["select_icmp_sgt_i32_ssss", "ret"]
);
case!(
    load_with_added_offset_fuses,
    false,
    "(i32) -> i64",
    "entry(v0: i32):\n v1 = iconst.i32 16\n v2 = iadd.i32 v0, v1\n v3 = load.i64 v2, 8\n return v3",
    ["load_iadd_i64_si", "ret"]
);
// A load stays where it is among stores: its value feeds a later add. The second load
// is fused with the add, at the load's own place (after the store).
case!(effects_keep_their_order, false, "(i32, i32) -> i32",
    "entry(v0: i32, v1: i32):\n v2 = load.i32 v0, 0\n store.i32 v0, v1, 0\n v3 = load.i32 v0, 0\n v4 = iadd.i32 v2, v3\n return v4",
    ["load_i32_s", "store_i32_ss", "iadd_load_r_i32_ss", "ret"]);
case!(
    a_load_fuses_into_its_only_user,
    false,
    "(i32, i32) -> i32",
    "entry(v0: i32, v1: i32):\n v2 = load.i32 v0, 4\n v3 = isub.i32 v2, v1\n return v3",
    ["isub_load_i32_ss", "ret"]
);
// The user runs at the load's place, so a store after the load stays after both.
case!(a_fused_load_keeps_its_place_before_a_store, false, "(i32, i32) -> i32",
    "entry(v0: i32, v1: i32):\n v2 = load.i32 v0, 4\n store.i32 v0, v1, 4\n v3 = isub.i32 v2, v1\n return v3",
    ["isub_load_i32_ss", "store_i32_ss", "ret"]);
case!(a_load_with_two_users_is_not_fused, false, "(i32, i32) -> i32",
    "entry(v0: i32, v1: i32):\n v2 = load.i32 v0, 4\n v3 = isub.i32 v2, v1\n v4 = imul.i32 v3, v2\n return v4",
    ["load_i32_s", "isub_i32_ss", "imul_i32_ss", "ret"]);
// The add needs the second load, which comes after the first: the first cannot be fused
// (its user would have to move past the second load); the second can.
case!(a_load_is_fused_only_where_the_other_operand_is_ready, false, "(i32, i32) -> i32",
    "entry(v0: i32, v1: i32):\n v2 = load.i32 v0, 0\n v3 = load.i32 v1, 0\n v4 = iadd.i32 v2, v3\n return v4",
    ["load_i32_s", "iadd_load_r_i32_ss", "ret"]);
// A load whose value is stored is read by an effect, not a pure user: no fusion.
case!(a_load_read_by_a_store_is_not_fused, false, "(i32, i32) -> i32",
    "entry(v0: i32, v1: i32):\n v2 = load.i32 v0, 0\n store.i32 v1, v2, 0\n v3 = iadd.i32 v2, v1\n return v3",
    ["load_i32_s", "store_i32_ss", "iadd_i32_ss", "ret"]);
// A division by a constant other than 0 and -1 cannot trap.
case!(
    safe_division_by_a_constant_is_an_immediate,
    false,
    BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iconst.i32 3\n v3 = udiv.i32 v0, v2\n return v3",
    ["udiv_i32_si", "ret"]
);
case!(rules_remove_an_identity, true, BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iconst.i32 0\n v3 = iadd.i32 v0, v2\n v4 = imul.i32 v3, v1\n return v4",
    ["imul_i32_ss", "ret"]);
case!(without_rules_the_identity_stays, false, BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iconst.i32 0\n v3 = iadd.i32 v0, v2\n v4 = imul.i32 v3, v1\n return v4",
    ["iadd_i32_si", "imul_i32_ss", "ret"]);
case!(
    subtracting_a_value_from_itself_is_zero,
    true,
    BIN32,
    "entry(v0: i32, v1: i32):\n v2 = isub.i32 v0, v0\n return v2",
    ["ret"]
);
// With `x + 0 = x` the class of the product also holds `(iadd.i64 itself 0)`, which is
// cheaper than the product: it must not be chosen, as it reads the value it computes.
case!(a_value_is_never_computed_from_itself, true, "(i64, i64) -> i64",
    "entry(v0: i64, v1: i64):\n v2 = imul.i64 v0, v1\n v3 = iconst.i64 0\n v4 = iadd.i64 v2, v3\n v5 = iadd.i64 v4, v4\n return v5",
    ["imul_i64_ss", "iadd_i64_ss", "ret"]);
// The same through an effect: the load's class holds `(iadd.i32 load 0)`.
case!(a_loaded_value_is_never_computed_from_itself, true, "(i32) -> i32",
    "entry(v0: i32):\n v1 = load.i32 v0, 0\n v2 = iconst.i32 0\n v3 = iadd.i32 v1, v2\n v4 = iadd.i32 v3, v3\n return v4",
    ["load_i32_s", "iadd_i32_ss", "ret"]);
// x - 1 is x + (-1): a counter counted down fuses into add-compare-branch.
case!(subtracting_a_constant_fuses_as_an_add, true, BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iconst.i32 1\n v3 = isub.i32 v0, v2\n v4 = icmp.sgt.i32 v3, v1\n brif v4, a, b\na:\n return v0\nb:\n return v1",
    ["brif_icmp_sgt_iadd_i32_sis", "ret", "ret"]);
case!(without_rules_the_subtraction_stays, false, BIN32,
    "entry(v0: i32, v1: i32):\n v2 = iconst.i32 1\n v3 = isub.i32 v0, v2\n v4 = icmp.sgt.i32 v3, v1\n brif v4, a, b\na:\n return v0\nb:\n return v1",
    ["isub_i32_si", "brif_icmp_sgt_i32_ss", "ret", "ret"]);
// The condition's type picks the stencil: an i64 that is 2^32 is true.
case!(a_branch_on_an_i64_tests_all_64_bits, false, "(i64) -> i32",
    "entry(v0: i64):\n brif v0, t, e\nt:\n v1 = iconst.i32 1\n return v1\ne:\n v2 = iconst.i32 0\n return v2",
    ["brif_i64_s", "ret", "ret"]);
case!(
    branch_arguments_are_moved,
    false,
    "(i32) -> i32",
    "entry(v0: i32):\n jump l(v0, v0)\nl(v1: i32, v2: i32):\n v3 = iadd.i32 v1, v2\n return v3",
    ["jump", "iadd_i32_ss", "ret"]
);

#[test]
fn every_corpus_program_has_a_cover_no_dearer_than_single_op() {
    let dir = corpus::paths();
    let selector = Selector::new(&Config::default()).expect("rules");
    for path in dir {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(&path).expect("read");
        let m = Module::from_text(&src, &name).unwrap_or_else(|e| panic!("{e}"));
        let cover = selector.cover(&m).unwrap_or_else(|e| panic!("{e}"));
        let bodies = m.funcs.iter().filter(|f| f.body.is_some()).count();
        assert_eq!(cover.funcs.len(), bodies, "{name}");
        for f in &cover.funcs {
            assert!(
                f.cost <= f.single_op_cost,
                "{name} @{}: {} > {}",
                f.name,
                f.cost,
                f.single_op_cost
            );
        }
        let text = cover.display(&m).to_string();
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(format!("cover_{name}"), text);
        });
    }
}

/// Loop-heavy functions of the corpus: the cover costs clearly less than one stencil
/// per operation (by a tenth at least).
#[test]
fn loops_cost_clearly_less_than_single_op() {
    let selector = Selector::new(&Config::default()).expect("rules");
    for (file, func) in [
        ("sum_example", "sum"),
        ("algorithms", "sieve"),
        ("algorithms", "collatz"),
        ("br_table", "loop_table"),
        ("dominance", "nested"),
    ] {
        let src = std::fs::read_to_string(format!("tests/programs/{file}.egir")).expect("read");
        let m = Module::from_text(&src, file).unwrap_or_else(|e| panic!("{e}"));
        let cover = selector.cover(&m).unwrap_or_else(|e| panic!("{e}"));
        let f = cover
            .funcs
            .iter()
            .find(|f| f.name == func)
            .expect("function");
        assert!(
            f.cost * 10 <= f.single_op_cost * 9,
            "{file} @{func}: cost {} vs single-op {}",
            f.cost,
            f.single_op_cost
        );
    }
}

/// A block of one long dependency chain: covered without exhausting the native stack,
/// one add per operation; the graph starts over the node limit, so no rule runs.
#[test]
fn a_chain_of_100000_operations_is_covered() {
    let n = 100_000;
    let mut src = String::from("func @f(i64) -> i64 {\nentry(v0: i64):\n");
    for i in 1..=n {
        src.push_str(&format!(" v{i} = iadd.i64 v{}, v0\n", i - 1));
    }
    src.push_str(&format!(" return v{n}\n}}\n"));
    let m = Module::from_text(&src, "chain").expect("chain");
    let selector = Selector::new(&Config::default()).expect("rules");
    let cover = selector.cover(&m).unwrap_or_else(|e| panic!("{e}"));
    let block = &cover.funcs[0].blocks[0];
    assert_eq!(block.insts.len(), n + 1);
    assert!(block.insts[..n]
        .iter()
        .all(|i| i.stencil.name == "iadd_i64_ss"));
    assert_eq!(block.saturation.reason, "node limit");
    assert_eq!(block.saturation.iterations, 0);
}

#[path = "support/gen.rs"]
#[allow(dead_code)]
mod gen;

/// The corpus and a thousand generated programs, parsed.
fn sample_modules() -> Vec<Module> {
    let mut out: Vec<Module> = corpus::paths()
        .iter()
        .map(|p| {
            let src = std::fs::read_to_string(p).expect("read");
            Module::from_text(&src, &p.to_string_lossy()).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    for seed in 0..1000 {
        let src = gen::program(seed);
        out.push(
            Module::from_text(&src, &format!("seed {seed}")).unwrap_or_else(|e| panic!("{e}")),
        );
    }
    out
}

/// What a block skips the e-graph on must be sound: a block is covered straight from its
/// graph as loaded when no rule matches it there. So every rule that matches somewhere
/// in a block's e-graph needs only kinds the block holds and matches the graph as loaded
/// too (and no other does), and an e-graph that no rule rewrites freezes to exactly the
/// graph as loaded.
#[test]
fn blocks_skip_the_egraph_only_where_rewriting_changes_nothing() {
    use egjit::select::flat::FlatGraph;
    use egjit::select::graph::{build, Facts};
    use egjit::select::{rules, Rulebook};
    let book = Rulebook::new(rules::rewrites(&rules::default_rules()).expect("rules"));
    let (mut blocks, mut matched) = (0, 0);
    for m in sample_modules() {
        for body in m.funcs.iter().filter_map(|f| f.body.as_ref()) {
            let facts = Facts::of(body);
            for (_, block) in body.blocks() {
                let dag = build(body, block, &facts).graph;
                let loaded = dag.flatten();
                let present = loaded.kinds();
                let (g, first) = dag.to_egraph();
                for (rule, need) in book.rewrites().iter().zip(book.needs()) {
                    let egg_matches = !rule.search(&g).is_empty();
                    let pattern = rule.searcher.get_pattern_ast().expect("a pattern");
                    assert_eq!(
                        loaded.any_match(pattern),
                        egg_matches,
                        "{}: {}",
                        m.source,
                        rule.name
                    );
                    if egg_matches {
                        matched += 1;
                        assert!(present.covers(need), "{}: {} matches", m.source, rule.name);
                    }
                }
                let (frozen, _) = FlatGraph::from_egraph(&g, &first);
                assert_eq!(frozen, dag.flatten(), "{}", m.source);
                blocks += 1;
            }
        }
    }
    // The check saw real blocks and real matches.
    assert!(
        blocks > 5000 && matched > 100,
        "{blocks} blocks, {matched} matches"
    );
}

/// Selection keeps its tables from block to block and module to module: a block loaded
/// into tables that held another block gives the graph a fresh load gives, and a
/// module's cover is the same whatever the thread covered before it.
#[test]
fn covers_do_not_depend_on_what_was_covered_before() {
    use egjit::select::flat::{Dag, FastMap, FlatGraph};
    use egjit::select::graph::{build, build_in, Facts};
    let modules = sample_modules();
    let (mut dag, mut classes, mut flat) =
        (Dag::default(), FastMap::default(), FlatGraph::default());
    for m in &modules {
        for body in m.funcs.iter().filter_map(|f| f.body.as_ref()) {
            let facts = Facts::of(body);
            for (_, block) in body.blocks() {
                let fresh = build(body, block, &facts).graph.flatten();
                let reused = build_in(body, block, &facts, dag, &mut classes);
                reused.graph.flatten_into(&mut flat);
                assert_eq!(flat, fresh, "{}", m.source);
                dag = reused.graph;
            }
        }
    }
    let selector = Selector::new(&Config::default()).expect("rules");
    let cover = |m: &Module| format!("{:?}", selector.cover(m).expect("cover"));
    let forward: Vec<String> = std::thread::scope(|s| {
        s.spawn(|| modules.iter().map(cover).collect())
            .join()
            .expect("forward")
    });
    let backward: Vec<String> = std::thread::scope(|s| {
        s.spawn(|| modules.iter().rev().map(cover).collect())
            .join()
            .expect("backward")
    });
    for (m, (f, b)) in modules
        .iter()
        .zip(forward.iter().zip(backward.iter().rev()))
    {
        assert_eq!(f, b, "{}", m.source);
    }
}

/// Rewriting a block in place, as selection does where no two classes merge, gives the
/// graph the e-graph gives and stops after as many iterations, for every block of the
/// corpus and the generated programs; and it is taken for some of them.
#[test]
fn rewriting_in_place_agrees_with_the_e_graph() {
    use egjit::select::graph::{build, Facts};
    let selector = Selector::new(&Config::default()).expect("rules");
    let (mut in_place, mut blocks) = (0, 0);
    for m in &sample_modules() {
        for body in m.funcs.iter().filter_map(|f| f.body.as_ref()) {
            let facts = Facts::of(body);
            for (_, block) in body.blocks() {
                blocks += 1;
                let (local, by_egg) = selector.rewrite_both_ways(body, block, &facts);
                if let Some((graph, saturation)) = local {
                    in_place += 1;
                    let what = format!("{} block {}", m.source, block.name);
                    assert_eq!(saturation, by_egg.1, "{what}");
                    assert_eq!(graph.len(), by_egg.0.len(), "{what}");
                    assert_eq!(graph.total_nodes(), by_egg.0.total_nodes(), "{what}");
                    // The block's own classes keep their numbers in both; the classes
                    // rewriting made may be numbered in another order, so they are
                    // compared by what they hold.
                    let own = build(body, block, &facts).graph.flatten().len();
                    for c in 0..own {
                        assert_eq!(
                            class_terms(&graph, c, own),
                            class_terms(&by_egg.0, c, own),
                            "{what}, class {c}"
                        );
                    }
                }
            }
        }
    }
    assert!(in_place > 0 && in_place < blocks, "{in_place} of {blocks}");
}

/// Class `c` of `g` as the sorted terms of its nodes, each operand at or past `own`
/// written out as its own class's terms (a class met again on the way as `..`).
fn class_terms(g: &egjit::select::flat::FlatGraph, c: usize, own: usize) -> Vec<String> {
    fn term(
        g: &egjit::select::flat::FlatGraph,
        c: usize,
        own: usize,
        path: &mut Vec<usize>,
    ) -> Vec<String> {
        let mut out: Vec<String> = g
            .nodes(egg::Id::from(c))
            .iter()
            .map(|n| {
                let args: Vec<String> = n
                    .args
                    .iter()
                    .map(|&a| {
                        let a = usize::from(a);
                        if a < own {
                            format!("c{a}")
                        } else if path.contains(&a) {
                            "..".to_string()
                        } else {
                            path.push(a);
                            let t = term(g, a, own, path).join("|");
                            path.pop();
                            format!("[{t}]")
                        }
                    })
                    .collect();
                format!("{:?}({})", n.op, args.join(","))
            })
            .collect();
        out.sort();
        out
    }
    term(g, c, own, &mut vec![c])
}

/// A block of `n` steps `a + 1 + 1 + (a - a)`: every step has a rewrite that adds a node
/// (`add-one-one`) and one that merges classes (`sub-self`, `a - a` is 0).
fn merging_block(n: usize) -> String {
    let mut src = String::from("func @f(i64) -> i64 {\nentry(v0: i64):\n    v1 = iconst.i64 1\n");
    let mut a = 0;
    let mut v = 2;
    for _ in 0..n {
        src.push_str(&format!(
            "    v{} = iadd.i64 v{a}, v1\n    v{} = iadd.i64 v{}, v1\n    v{} = isub.i64 v{}, v{}\n    v{} = iadd.i64 v{}, v{}\n",
            v,
            v + 1,
            v,
            v + 2,
            v + 1,
            v + 1,
            v + 3,
            v + 1,
            v + 2
        ));
        a = v + 3;
        v += 4;
    }
    src.push_str(&format!("    return v{a}\n}}\n"));
    src
}

#[test]
fn a_block_too_large_for_the_e_graph_is_rewritten_in_place_without_merges() {
    let m = Module::from_text(&merging_block(200), "merging").expect("merging");
    let selector = Selector::new(&Config::default()).expect("rules");
    let cover = selector.cover(&m).unwrap_or_else(|e| panic!("{e}"));
    let block = &cover.funcs[0].blocks[0];
    assert_eq!(block.saturation.reason, "saturated, merges left out");
    // `add-one-one` applied: the steps add a constant 2 at once.
    let text = cover.display(&m).to_string();
    assert!(text.contains("iconst.i64 2"), "{text}");
    // The same block, small enough, goes to the e-graph, which merges.
    let m = Module::from_text(&merging_block(10), "merging").expect("merging");
    let cover = selector.cover(&m).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cover.funcs[0].blocks[0].saturation.reason, "saturated");
    // Both run as the interpreter does: v0 + 2 per step.
    for n in [10, 200] {
        let m = Module::from_text(&merging_block(n), "merging").expect("merging");
        let arg = [egjit::Value::I64(5)];
        let want = vec![egjit::Value::I64(5 + 2 * n as i64)];
        let mut interp = egjit::Instance::new(&m, egjit::Imports::new(), &Config::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(interp.call("f", &arg).expect("interp"), want);
        let jit = egjit::Jit::new(Config::default()).expect("jit");
        let compiled = jit.compile(&m).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(compiled.call("f", &arg).expect("jit"), want, "{n} steps");
    }
}

/// Temporaries are shared once dead, never within one instance: no instance writes a
/// temporary it reads, and each temporary read was written earlier in the block. The
/// block's count covers every number used, and a chain of values each read by the next
/// needs two.
#[test]
fn temporaries_are_reused_but_never_by_an_instance_that_reads_them() {
    use egjit::select::cover::{Operand, SlotRef};
    let selector = Selector::new(&Config::default()).expect("rules");
    let mut shared = 0;
    for m in sample_modules() {
        let cover = selector.cover(&m).unwrap_or_else(|e| panic!("{e}"));
        for b in cover.funcs.iter().flat_map(|f| &f.blocks) {
            let mut written = vec![false; b.temps as usize];
            let mut writes = 0;
            for inst in &b.insts {
                let reads: Vec<u32> = (inst.reads())
                    .filter_map(|o| match *o {
                        Operand::Slot(SlotRef::Temp(t)) => Some(t),
                        _ => None,
                    })
                    .collect();
                for &t in &reads {
                    assert!(written[t as usize], "{}: t{t} read unwritten", m.source);
                }
                if let Some(SlotRef::Temp(t)) = inst.result {
                    assert!(
                        !reads.contains(&t),
                        "{}: t{t} written by its reader",
                        m.source
                    );
                    written[t as usize] = true;
                    writes += 1;
                }
            }
            shared += writes - written.iter().filter(|&&w| w).count();
        }
    }
    assert!(shared > 0, "no temporary was ever shared");
    let chain = std::fs::read_to_string("tests/programs/long_chain.egir").expect("read");
    let m = Module::from_text(&chain, "long_chain").expect("parse");
    let cover = selector.cover(&m).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cover.funcs[0].blocks[0].temps, 2);
}

/// A loop's increments write their block arguments in place when nothing later reads the
/// old value, moving down past the last reader where they may; otherwise the jump copies.
/// Each function is also run, against values worked out by hand.
#[test]
fn jump_arguments_are_written_in_place_unless_the_old_value_is_still_read() {
    use egjit::{Jit, Value};
    let src = "
func @count(i32) -> i32 {
entry(v0: i32):
    v1 = iconst.i32 0
    jump loop(v1, v1)
loop(v2: i32, v3: i32):
    v4 = icmp.slt.i32 v2, v0
    brif v4, body, done
body:
    v5 = iconst.i32 1
    v6 = iadd.i32 v2, v5
    v7 = imul.i32 v2, v2
    v8 = iadd.i32 v3, v7
    jump loop(v6, v8)
done:
    return v3
}

func @rotate(i32) -> i32 {
entry(v0: i32):
    v1 = iconst.i32 1
    v2 = iconst.i32 2
    v3 = iconst.i32 3
    jump loop(v1, v2, v3, v0)
loop(v4: i32, v5: i32, v6: i32, v7: i32):
    brif v7, body, done
body:
    v8 = iadd.i32 v4, v5
    v9 = iconst.i32 1
    v10 = isub.i32 v7, v9
    jump loop(v5, v6, v8, v10)
done:
    v11 = iconst.i32 100
    v12 = imul.i32 v4, v11
    v13 = iadd.i32 v12, v6
    return v13
}

memory 1
data 5 \"\\02\"

func @load(i32) -> i32 {
entry(v0: i32):
    jump loop(v0, v0)
loop(v1: i32, v2: i32):
    brif v1, body, done
body:
    v3 = load8_u.i32 v1
    v4 = iadd.i32 v1, v2
    jump loop(v3, v4)
done:
    return v2
}
";
    let (m, cover) = cover_of(src, "in_place");
    let text = cover.display(&m).to_string();
    let block = |func: usize, name: &str| block_lines(&m, &cover, func, name);
    // Both arguments go in place, the increment after the square that reads v2.
    let count = block(0, "body");
    assert!(
        count.contains(&"v2 = iadd_i32_si v2, 1".to_string()),
        "{text}"
    );
    assert!(
        count.contains(&"v3 = iadd_i32_ss v3, t0".to_string()),
        "{text}"
    );
    assert_eq!(count.last().unwrap(), "jump -> loop", "{text}");
    let at = count.iter().position(|l| l.starts_with("v2 =")).unwrap();
    assert!(
        count[..at].iter().any(|l| l.contains("imul_i32_ss v2, v2")),
        "{text}"
    );
    // v6's old value is moved into v5: it is copied first, then v8 is written into v6
    // in place and v5 takes the copy. v10 goes into v7 in place.
    let rotate = block(1, "body");
    assert_eq!(
        rotate,
        [
            "t0 = copy_s v6",
            "v6 = iadd_i32_ss v4, v5",
            "v7 = iadd_i32_si v7, -1",
            "jump -> loop(v4 <- v5, v5 <- t0)",
        ],
        "{text}"
    );
    // A load may trap, so it does not move past the add that reads v1: it is copied.
    let load = block(2, "body");
    assert!(
        load.contains(&"v2 = iadd_i32_ss v1, v2".to_string()),
        "{text}"
    );
    assert_eq!(load.last().unwrap(), "jump -> loop(v1 <- t0)", "{text}");

    let jit = Jit::new(Config::default()).expect("jit");
    let code = jit.compile(&m).expect("compile");
    let mut inst = code.instantiate(egjit::Imports::new()).expect("instance");
    let call = |inst: &mut egjit::JitInstance, f: &str, a: i32| {
        inst.call(f, &[Value::I32(a)]).expect("run")
    };
    // 0 + 1 + 4 + ... + 81 = 285.
    assert_eq!(call(&mut inst, "count", 10), vec![Value::I32(285)]);
    // (1, 2, 3) -> (2, 3, 3) -> (3, 3, 5) -> (3, 5, 6) -> (5, 6, 8): 5 * 100 + 8.
    assert_eq!(call(&mut inst, "rotate", 4), vec![Value::I32(508)]);
    assert_eq!(call(&mut inst, "rotate", 0), vec![Value::I32(103)]);
    // (5, 5) -> (mem[5] = 2, 10) -> (mem[2] = 0, 12).
    assert_eq!(call(&mut inst, "load", 5), vec![Value::I32(12)]);
    assert_eq!(call(&mut inst, "load", 0), vec![Value::I32(0)]);
    assert!(inst.call("load", &[Value::I32(70000)]).is_err());
}

/// Call arguments, call results and returned values go where the call or the `return`
/// would have copied them, unless a reader or another call is in the way.
#[test]
fn call_arguments_results_and_returns_stay_in_place_unless_something_is_in_the_way() {
    use egjit::{Jit, Value};
    let src = "
func @pair(i32, i32) -> i32, i32 {
entry(v0: i32, v1: i32):
    v2 = iadd.i32 v0, v1
    v3 = isub.i32 v0, v1
    return v2, v3
}

func @calls(i32) -> i32 {
entry(v0: i32):
    v1 = iconst.i32 1
    v2 = iadd.i32 v0, v1
    v3, v4 = call @pair(v2, v0)
    v5 = imul.i32 v4, v4
    v6, v7 = call @pair(v2, v5)
    v8 = iadd.i32 v6, v3
    return v8
}

func @live(i32) -> i32 {
entry(v0: i32):
    v1, v2 = call @pair(v0, v0)
    brif v0, a, b
a:
    return v1
b:
    return v2
}
";
    let (m, cover) = cover_of(src, "in_place");
    let body = |func: usize| block_lines(&m, &cover, func, "entry");
    // The sum cannot go into result slot 0 (v0's) since the difference still reads v0;
    // the difference goes into result slot 1, as nothing reads v1 after it.
    assert_eq!(
        body(0),
        [
            "t0 = iadd_i32_ss v0, v1",
            "r1 = isub_i32_ss v0, v1",
            "ret t0, r1"
        ]
    );
    // v2 is an argument of both calls: copied. v3 is read after the second call: copied
    // back; v4 only before it: read where the call left it, and the square written
    // where the second call takes it. v6 is read there too, v7 not at all; the sum goes
    // into the result slot.
    assert_eq!(
        body(1),
        [
            "t0 = iadd_i32_si v0, 1",
            "call @pair(t0, v0) -> v3, o1",
            "o1 = imul_i32_ss o1, o1",
            "call @pair(t0, o1) -> o0, o1",
            "r0 = iadd_i32_ss o0, v3",
            "ret r0",
        ]
    );
    // Results that other blocks read go into their own slots.
    assert_eq!(
        body(2),
        ["call @pair(v0, v0) -> v1, v2", "brif_i32_s v0 -> a | b"]
    );

    let jit = Jit::new(Config::default()).expect("jit");
    let code = jit.compile(&m).expect("compile");
    let mut inst = code.instantiate(egjit::Imports::new()).expect("instance");
    let mut call = |f: &str, args: &[i32]| {
        let args: Vec<Value> = args.iter().map(|&a| Value::I32(a)).collect();
        inst.call(f, &args).expect("run")
    };
    assert_eq!(call("pair", &[7, 3]), vec![Value::I32(10), Value::I32(4)]);
    // v0 = 5: pair(6, 5) = (11, 1); pair(6, 1 * 1) = (7, 5); 7 + 11.
    assert_eq!(call("calls", &[5]), vec![Value::I32(18)]);
    // v0 = 3: pair(4, 3) = (7, 1); pair(4, 1) = (5, 3); 5 + 7.
    assert_eq!(call("calls", &[3]), vec![Value::I32(12)]);
    // pair(v0, v0) = (2 v0, 0): the sum when v0 is not 0.
    assert_eq!(call("live", &[3]), vec![Value::I32(6)]);
    assert_eq!(call("live", &[0]), vec![Value::I32(0)]);
}

/// An i64 constant that no immediate holds is built once, in its own block, and read
/// from its slot in the loop; 2^63, which a rule turns into a shift, is not.
#[test]
fn a_wide_constant_is_built_once_and_read_from_its_slot_in_a_loop() {
    use egjit::{Jit, Value};
    let src = "
func @mix(i64) -> i64 {
entry(v0: i64):
    v1 = iconst.i64 -7046029254386353131
    v2 = iconst.i64 -9223372036854775808
    v3 = iconst.i64 0
    jump loop(v0, v3)
loop(v4: i64, v5: i64):
    brif v4, body, done
body:
    v6 = imul.i64 v5, v1
    v7 = imul.i64 v4, v2
    v8 = iadd.i64 v6, v7
    v9 = iadd.i64 v8, v4
    v10 = iconst.i64 1
    v11 = isub.i64 v4, v10
    jump loop(v11, v9)
done:
    return v5
}
";
    let (m, cover) = cover_of(src, "wide");
    let text = cover.display(&m).to_string();
    let lines = |name: &str| block_lines(&m, &cover, 0, name);
    // -7046029254386353131 is 0x9e3779b9_7f4a7c15: low half 2135587861, high 2654435769.
    assert!(
        lines("entry").contains(&"v1 = iconst_i64_wide 2135587861, 2654435769".to_string()),
        "{text}"
    );
    let loop_body = lines("body");
    assert!(!loop_body.iter().any(|l| l.contains("iconst")), "{text}");
    assert!(loop_body.iter().any(|l| l.contains(", v1")), "{text}");
    assert!(
        loop_body.contains(&"t0 = ishl_i64_si v4, 63".to_string()),
        "{text}"
    );
    let jit = Jit::new(Config::default()).expect("jit");
    let code = jit.compile(&m).expect("compile");
    let mut inst = code.instantiate(egjit::Imports::new()).expect("instance");
    // acc = acc * K + i * 2^63 + i for i = n down to 1, wrapping (computed apart).
    for (n, want) in [
        (3, -2721446467030088362i64),
        (4, 6585650694708651530),
        (0, 0),
    ] {
        assert_eq!(
            inst.call("mix", &[Value::I64(n)]).expect("run"),
            vec![Value::I64(want)]
        );
    }
}

/// A compare of a constant with a value is selected as the value's compare with the
/// constant, the constant an immediate, and branches as the original compare does.
#[test]
fn a_constant_on_the_left_of_a_compare_becomes_an_immediate() {
    use egjit::{Jit, Value};
    type Cond = fn(i32, i32) -> bool;
    // (condition, the one with operands swapped, what `5 CC x` is), by hand.
    let conds: [(&str, &str, Cond); 10] = [
        ("eq", "eq", |a, b| a == b),
        ("ne", "ne", |a, b| a != b),
        ("slt", "sgt", |a, b| a < b),
        ("sle", "sge", |a, b| a <= b),
        ("sgt", "slt", |a, b| a > b),
        ("sge", "sle", |a, b| a >= b),
        ("ult", "ugt", |a, b| (a as u32) < (b as u32)),
        ("ule", "uge", |a, b| (a as u32) <= (b as u32)),
        ("ugt", "ult", |a, b| (a as u32) > (b as u32)),
        ("uge", "ule", |a, b| (a as u32) >= (b as u32)),
    ];
    let jit = Jit::new(Config::default()).expect("jit");
    let selector = Selector::new(&Config::default()).expect("rules");
    for (cc, swapped, holds) in conds {
        let src = format!(
            "func @f(i32) -> i32 {{
entry(v0: i32):
    v1 = iconst.i32 5
    v2 = icmp.{cc}.i32 v1, v0
    brif v2, yes, no
yes:
    v3 = iconst.i32 1
    return v3
no:
    v4 = iconst.i32 0
    return v4
}}"
        );
        let m = Module::from_text(&src, "left").expect("parse");
        let cover = selector.cover(&m).unwrap_or_else(|e| panic!("{e}"));
        let text = cover.display(&m).to_string();
        let want = format!("brif_icmp_{swapped}_i32_si v0, 5 -> yes | no");
        assert!(text.contains(&want), "{cc}: {text}");
        let code = jit.compile(&m).expect("compile");
        let mut inst = code.instantiate(egjit::Imports::new()).expect("instance");
        for x in [i32::MIN, -1, 0, 4, 5, 6, i32::MAX] {
            let got = inst.call("f", &[Value::I32(x)]).expect("run");
            assert_eq!(got, vec![Value::I32(holds(5, x) as i32)], "5 {cc} {x}");
        }
    }
}

/// The instances of block `name` of function `func` in `cover`, each as `egjit cover`
/// prints it, without the comment.
fn block_lines(
    m: &Module,
    cover: &egjit::select::cover::Cover,
    func: usize,
    name: &str,
) -> Vec<String> {
    let b = cover.funcs[func].blocks.iter().find(|b| b.name == name);
    let body = m.funcs[func].body.as_ref().expect("body");
    let names = egjit::select::cover::Names { body, module: m };
    (b.expect("block").insts.iter())
        .map(|i| {
            names
                .instance(i)
                .split(" ;")
                .next()
                .unwrap()
                .trim()
                .to_string()
        })
        .collect()
}

/// `src` parsed (as `name`) and covered with the default rules.
fn cover_of(src: &str, name: &str) -> (Module, egjit::select::cover::Cover) {
    let m = Module::from_text(src, name).expect("parse");
    let selector = Selector::new(&Config::default()).expect("rules");
    let cover = selector.cover(&m).unwrap_or_else(|e| panic!("{e}"));
    (m, cover)
}
