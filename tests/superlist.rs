//! The superstencil list's checks: the build refuses a bad line, naming it.

#[allow(dead_code)]
#[path = "../src/ir/oplist.rs"]
mod oplist;

#[allow(dead_code)]
#[path = "../stencils/generate.rs"]
mod generate;

use generate::superstencil_variants;

fn error_of(line: &str) -> String {
    let list = format!("# a comment\n\n{line}\n");
    match superstencil_variants(&list, &[]) {
        Ok(v) => panic!("`{line}` was accepted as {:?}", v[0].name),
        Err(e) => e,
    }
}

#[test]
fn the_library_list_is_accepted_with_unique_names() {
    let text = std::fs::read_to_string("stencils/superstencils.list").expect("the list");
    let singles = generate::single_op_variants();
    let supers = superstencil_variants(&text, &singles).unwrap_or_else(|e| panic!("{e}"));
    let lines = text
        .lines()
        .filter(|l| !l.split('#').next().unwrap_or("").trim().is_empty())
        .count();
    assert_eq!(supers.len(), lines);
    assert!(supers.len() >= 60, "{} superstencils", supers.len());
}

#[test]
fn a_line_gives_its_name_pattern_kinds_and_type() {
    let v = superstencil_variants("(brif (icmp.slt.i64 (iadd.i64 ?a ?b) ?c)) sis\n", &[])
        .expect("a good line");
    assert_eq!(v[0].name, "brif_icmp_slt_iadd_i64_sis");
    assert_eq!(v[0].pattern, "(brif (icmp.slt.i64 (iadd.i64 ?a ?b) ?c))");
    assert_eq!(v[0].kinds.len(), 3);
    let named = superstencil_variants("mine = (iadd.i32 (imul.i32 ?a ?b) ?a) ss\n", &[])
        .expect("a named line with a repeated operand");
    assert_eq!(named[0].name, "mine");
}

#[test]
fn bad_lines_are_refused_with_their_line_number() {
    let cases = [
        (
            "(frobnicate.i32 (iadd.i32 ?a ?b)) ss",
            "`frobnicate` is no operation",
        ),
        ("(brif (icmp.slt.i16 ?a ?b)) ss", "is no operation"),
        (
            "(sextend.i32 (iadd.i32 ?a ?b)) ss",
            "does not take that type suffix",
        ),
        (
            "(iadd.i64 (icmp.slt.i64 ?a ?b) ?c) sss",
            "wants i64 but `icmp.slt.i64` gives i32",
        ),
        (
            "(iadd.i32 (imul.i32 ?a ?b) ?c) ss",
            "3 operand(s) but 2 kind letter(s)",
        ),
        (
            "(iadd.i32 (imul.i32 ?a ?b) ?c) ssx",
            "neither `s` (slot) nor `i`",
        ),
        (
            "(iadd.i32 (load.i32 ?a) (load.i32 ?b)) ss",
            "more than one memory access",
        ),
        ("(iadd.i32 (sdiv.i32 ?a ?b) ?c) sss", "may trap"),
        ("(iadd.i32 (brif ?a) ?b) ss", "only the root"),
        ("(iadd.i32 ?a ?b) ss", "this is one"),
        (
            "(iadd.i32 (imul.i32 ?a ?b)) ss",
            "takes 2 operand(s), given 1",
        ),
        (
            "(iadd.i32 (iconst.i32 ?a) ?b) is",
            "no place in a superstencil",
        ),
    ];
    for (line, want) in cases {
        let e = error_of(line);
        assert!(e.contains("superstencils.list:3:"), "{line}: {e}");
        assert!(e.contains(want), "{line}: `{e}` lacks `{want}`");
    }
    // A name used twice, by default or given.
    let twice = "(iadd.i32 (imul.i32 ?a ?b) ?c) sss\n(iadd.i32 (imul.i32 ?a ?b) ?c) sss\n";
    let e = superstencil_variants(twice, &[]).err().expect("refused");
    assert!(e.contains(":2:") && e.contains("is taken"), "{e}");
    // An operand used at two types.
    let e = error_of("(iadd.i64 (sextend.i64 ?a) ?a) ss");
    assert!(e.contains("used as i32 and as i64"), "{e}");
}
