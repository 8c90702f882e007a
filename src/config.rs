//! Settings of an engine: the call-depth limit, and what selection rewrites with and
//! how far.

use crate::select::rules::Rule;
use crate::select::Limits;

/// Settings of an engine.
///
/// ```
/// use egjit::select::rules::parse_rules;
/// use egjit::Config;
///
/// let mut config = Config::default();
/// config.rules = parse_rules("# x ^ x = 0\nxor-self: (bxor.T ?a ?a) => 0\n", "mine.rules")?;
/// config.limits.iterations = 4;
/// # Ok::<(), egjit::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    /// The most nested calls of IR functions (the exported function counts as one); a
    /// call past it traps with `call stack exhausted`. Default 10,000.
    pub max_call_depth: u32,
    /// Rules selection uses besides the built-in ones (parsed by
    /// [`parse_rules`](crate::select::rules::parse_rules)). Default none.
    pub rules: Vec<Rule>,
    /// Whether selection uses the built-in rules (`rules/*.rules`). Default true.
    pub default_rules: bool,
    /// How far rewriting goes in each block.
    pub limits: Limits,
    /// For the JIT: one stencil per IR operation, without the e-graph (classic
    /// copy-and-patch, the baseline). Default false: e-graph selection.
    pub single_op: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_call_depth: 10_000,
            rules: Vec::new(),
            default_rules: true,
            limits: Limits::default(),
            single_op: false,
        }
    }
}
