//! The one library entry of an analysis: a snapshot and a pipeline inventory, opened once
//! ([`Review::open`]), answer every question a command asks: reach, who can reach a path, the
//! facts, findings, diagrams, the report, usage. A what-if's head is a review too, derived from
//! its base ([`Review::derive`]): it takes over from the base whatever the change leaves equal,
//! and answers exactly as a review of its own would (`docs/what-if.md`).
//!
//! A review computes each stage once, on first use, and keeps it for the stages after it: the
//! logins and tokens of every pipeline (reach, facts, diagrams), the facts document, and the
//! facts as the rules' input. A derived review computes its stages from its base's, which it
//! computes first if they are not yet.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use blastmap::review::{Estate, Review, ReviewOptions};
//! use blastmap::rules::{engine::RunOptions, RuleSet};
//!
//! let estate = Estate::load("snapshot.json".as_ref(), Some("pipelines.yaml".as_ref()))?;
//! let review = estate.review(ReviewOptions::default());
//! let report = review.findings(&RuleSet::builtin(), &RunOptions::default())?;
//! println!("{} findings", report.findings.len());
//! # Ok(())
//! # }
//! ```

mod diagram;
mod error;

use std::path::Path;
use std::sync::{Arc, LazyLock, OnceLock};

use crate::acl::Caps;
use crate::facts::{self, Built, Facts, FactsBase, FactsOptions};
use crate::graph::path::{PathQuery, PathsAnswer};
use crate::graph::{BlastGraph, GraphOptions, Logins};
use crate::inventory::Inventory;
use crate::model::Snapshot;
use crate::passes::reach::{Analysis, PipelineReach, Prepared, PreparedReach, ReachOptions};
use crate::passes::who_can::WhoCan;
use crate::render::html::{self, ReportOptions, ReportStats};
use crate::rules::engine::RunOptions;
use crate::rules::{Report, RuleSet, RulesError};
use crate::timings::Clock;
use crate::usage::{Collector, UsageReport};

pub use diagram::DiagramView;
pub use error::ReviewError;

type Result<T, E = ReviewError> = std::result::Result<T, E>;

/// The inputs of a review, loaded: a snapshot and, when one is given, a pipeline inventory.
#[derive(Debug)]
pub struct Estate {
    pub snapshot: Snapshot,
    pub inventory: Option<Inventory>,
}

impl Estate {
    /// Load a snapshot (`blastmap export`) and, when given, a pipeline inventory
    /// (`docs/pipelines.md`).
    pub fn load(snapshot: &Path, pipelines: Option<&Path>) -> Result<Estate> {
        let snapshot = Snapshot::load(snapshot)?;
        let inventory = match pipelines {
            Some(p) => Some(Inventory::load(p)?),
            None => None,
        };
        Ok(Estate {
            snapshot,
            inventory,
        })
    }

    /// A review of this estate.
    pub fn review(&self, options: ReviewOptions) -> Review<'_> {
        Review::open(&self.snapshot, self.inventory.as_ref(), options)
    }
}

/// What a review is asked with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewOptions {
    /// Thresholds of the facts pass (and the escalation depth of facts, findings and diagrams).
    pub facts: FactsOptions,
}

/// The inventory of a review without one: no pipeline, no team.
static NO_INVENTORY: LazyLock<Inventory> = LazyLock::new(Inventory::default);

/// A snapshot and an inventory, analysed once, with every stage computed on first use and kept.
pub struct Review<'e> {
    analysis: Analysis<'e>,
    /// Whether an inventory was given (without one, a what-if compares roles, not pipelines).
    has_inventory: bool,
    options: ReviewOptions,
    /// The review this one is derived from ([`Review::derive`]).
    base: Option<&'e Review<'e>>,
    /// The logins and tokens of every pipeline of the inventory (default reach options).
    prepared: OnceLock<Arc<Prepared<'e>>>,
    facts: OnceLock<Built>,
    /// The facts as the rules' input, or why they could not be converted.
    input: OnceLock<Result<regorus::Value, Arc<RulesError>>>,
}

impl<'e> Review<'e> {
    /// Analyse a snapshot with its pipeline inventory (`None`: no inventory; pipeline stages
    /// then see no pipeline): index the secrets and parse every policy, once.
    pub fn open(
        snapshot: &'e Snapshot,
        inventory: Option<&'e Inventory>,
        options: ReviewOptions,
    ) -> Review<'e> {
        let clock = Clock::start("review");
        let analysis = Analysis::new(snapshot, inventory.unwrap_or(&NO_INVENTORY));
        clock.lap("analysis (policies parsed, secrets indexed)");
        Review::with(analysis, inventory.is_some(), options, None)
    }

    /// The review of `head`, a snapshot that differs from `base`'s by a change (a what-if's
    /// head), with `base`'s inventory and options. Whatever the change leaves equal is taken over
    /// from `base` instead of computed again (the secret index, parsed policies, logins,
    /// tokens, escalation tokens, wildcard coverage, whole pipelines' facts and their rule input;
    /// see "How a what-if stays fast" in `docs/what-if.md`); every answer is the one
    /// [`open`](Review::open) on `head` would give.
    pub fn derive(base: &'e Review<'e>, head: &'e Snapshot) -> Review<'e> {
        let clock = Clock::start("review");
        let analysis = Analysis::new_reusing(head, base.analysis.inventory, &base.analysis);
        clock.lap("head's analysis (taken over from its base where equal)");
        Review::with(
            analysis,
            base.has_inventory,
            base.options.clone(),
            Some(base),
        )
    }

    fn with(
        analysis: Analysis<'e>,
        has_inventory: bool,
        options: ReviewOptions,
        base: Option<&'e Review<'e>>,
    ) -> Review<'e> {
        Review {
            analysis,
            has_inventory,
            options,
            base,
            prepared: OnceLock::new(),
            facts: OnceLock::new(),
            input: OnceLock::new(),
        }
    }

    /// The analysis: parsed policies, secret index, lookups.
    pub fn analysis(&self) -> &Analysis<'e> {
        &self.analysis
    }

    /// The inventory, when one was given.
    pub fn inventory(&self) -> Option<&'e Inventory> {
        self.has_inventory.then_some(self.analysis.inventory)
    }

    pub fn options(&self) -> &ReviewOptions {
        &self.options
    }

    /// The logins and tokens of every pipeline of the inventory, ready to assemble reach from.
    pub fn prepared(&self) -> PreparedReach<'_, 'e> {
        PreparedReach::new(&self.analysis, self.everyone().clone())
    }

    /// The logins and tokens of every pipeline of the inventory (default reach options), taken
    /// over from the base where equal.
    fn everyone(&self) -> &Arc<Prepared<'e>> {
        self.prepared.get_or_init(|| {
            let opts = ReachOptions::default();
            let prepared = match self.base {
                Some(base) => self.analysis.prepare_reach_reusing(&opts, &base.prepared()),
                None => self.analysis.prepare_reach(&opts),
            };
            prepared.prepared().clone()
        })
    }

    /// The reach of the pipelines `opts` selects, ready to be assembled (all at once, or a range
    /// at a time to stream a large result).
    pub fn prepare_reach(&self, opts: &ReachOptions) -> PreparedReach<'_, 'e> {
        if opts.pipelines.is_empty() && !opts.all_roles {
            return self.prepared();
        }
        self.analysis.prepare_reach(opts)
    }

    /// The reach of the pipelines `opts` selects.
    pub fn reach(&self, opts: &ReachOptions) -> Vec<PipelineReach> {
        let prepared = self.prepare_reach(opts);
        prepared.assemble(0..prepared.len())
    }

    /// The reach of every role of the estate as a virtual pipeline (for estates without an
    /// inventory; see [`Analysis::role_reach`]).
    pub fn role_reach(&self) -> Vec<PipelineReach> {
        self.analysis.role_reach()
    }

    /// Who can reach `path` in `namespace` (optionally with `capability`), and through what.
    pub fn who_can(&self, namespace: &str, path: &str, capability: Option<Caps>) -> WhoCan {
        self.analysis.who_can(namespace, path, capability)
    }

    /// The blast-radius graph of every pipeline of the inventory (`docs/graph.md`), with
    /// escalation steps followed to the review's escalation depth.
    pub fn graph(&self) -> BlastGraph {
        let clock = Clock::start("graph");
        let prepared = self.everyone();
        let graph = BlastGraph::build(
            &self.analysis,
            &Logins {
                pipelines: prepared.selected(),
                logins: prepared.logins(),
                tokens: prepared.tokens(),
            },
            GraphOptions {
                escalation_depth: self.options.facts.escalation_depth,
            },
        );
        clock.lap("graph built");
        graph
    }

    /// The chains from `from` (every pipeline when `None`) to what `query` asks for, read
    /// from `graph` (this review's [`graph`](Self::graph)), with what is unknown about each
    /// pipeline's logins. Pipelines that reach nothing asked for are left out unless named.
    pub fn paths(&self, graph: &BlastGraph, from: Option<&str>, query: &PathQuery) -> PathsAnswer {
        let prepared = self.everyone();
        let names: Vec<String> = match from {
            Some(name) => vec![name.to_string()],
            None => graph.pipelines(),
        };
        let pipelines = names
            .iter()
            .filter_map(|name| {
                let mut found = graph.paths(name, query)?;
                if from.is_none() && found.targets.is_empty() {
                    return None;
                }
                if let Some(at) = prepared.selected().iter().position(|p| &p.name == name) {
                    found.unknowns = prepared.logins()[at]
                        .1
                        .iter()
                        .map(|u| format!("{}: {}", u.kind, u.detail))
                        .collect();
                }
                Some(found)
            })
            .collect();
        PathsAnswer {
            schema_version: crate::schema::version::PATH,
            escalation_depth: graph.escalation_depth,
            to: query.to.clone(),
            pipelines,
        }
    }

    /// The facts document the rules judge (`docs/facts.md`).
    pub fn facts(&self) -> &Facts {
        &self.built().facts
    }

    /// How many pipelines' facts were copied from the base's (0 for a review not derived).
    pub fn facts_taken_over(&self) -> usize {
        self.built().taken_over().iter().filter(|t| **t).count()
    }

    fn built(&self) -> &Built {
        self.facts.get_or_init(|| {
            let prepared = self.everyone();
            let base = self.base.map(Review::as_facts_base);
            facts::build(
                &self.analysis,
                &self.options.facts,
                prepared.logins(),
                prepared.tokens(),
                base.as_ref(),
            )
        })
    }

    /// This review's facts with what they were built from, for a review derived from it.
    fn as_facts_base(&self) -> FactsBase<'_, 'e> {
        let built = self.built();
        let prepared = self.everyone();
        FactsBase {
            built,
            analysis: &self.analysis,
            logins: prepared.logins(),
            tokens: prepared.tokens(),
        }
    }

    /// The facts as the rules' input. A derived review shares its base's values of the
    /// pipelines whose facts it copied.
    pub fn rule_input(&self) -> Result<&regorus::Value> {
        self.rule_input_cell()
            .as_ref()
            .map_err(|e| ReviewError::RuleInput(Arc::clone(e)))
    }

    fn rule_input_cell(&self) -> &Result<regorus::Value, Arc<RulesError>> {
        self.input.get_or_init(|| {
            let clock = Clock::start("rules");
            let input = match self.base {
                Some(base) => match base.rule_input_cell() {
                    Ok(theirs) => {
                        RuleSet::input_sharing(self.facts(), self.built().taken_over(), theirs)
                            .map_err(Arc::new)
                    }
                    Err(e) => Err(Arc::clone(e)),
                },
                None => RuleSet::input_of_facts(self.facts()).map_err(Arc::new),
            };
            clock.lap("input built");
            input
        })
    }

    /// Build the rules' input, then drop what only led to it: the logins and tokens (with
    /// their millions of grants on a large estate) once the facts are built, and the facts once
    /// the input is. For a command that needs nothing but findings from here on (`findings`):
    /// the rules' evaluation is its peak, and it no longer holds three forms of the same
    /// answer. Anything dropped is computed again if asked for.
    pub fn keep_only_rule_input(&mut self) -> Result<()> {
        self.built();
        self.prepared.take();
        self.rule_input()?;
        self.facts.take();
        return_free_memory();
        Ok(())
    }

    /// The findings of `rules` over the facts.
    pub fn findings(&self, rules: &RuleSet, run: &RunOptions) -> Result<Report> {
        Ok(rules.run_input(self.rule_input()?, run)?)
    }

    /// The review report (`docs/report.md`): one self-contained HTML page with the findings of
    /// `rules`, every pipeline's blast radius and the diagrams.
    ///
    /// The facts and the rules' input are dropped once the findings are judged: the page is
    /// drawn from the logins and tokens the facts were built from, and a large estate would
    /// otherwise hold every form of the same answer at once.
    pub fn report(
        &mut self,
        rules: &RuleSet,
        opts: &ReportOptions,
    ) -> Result<(String, ReportStats)> {
        self.built();
        self.rule_input()?;
        let searched_to = self.options.facts.escalation_depth;
        let escalations = self.facts.take().and_then(|mut built| {
            (opts.escalation_depth == searched_to).then(|| built.take_escalations())
        });
        return_free_memory();
        let findings = self.findings(rules, &RunOptions::default())?;
        self.input.take();
        return_free_memory();
        Ok(html::build_with(
            &self.prepared(),
            escalations,
            &findings,
            opts,
        ))
    }

    /// Usage from audit logs (`docs/usage.md`): what each role used against what this estate
    /// grants, per pipeline when an inventory was given.
    pub fn usage(&self, collector: &Collector, opts: &crate::usage::ReportOptions) -> UsageReport {
        crate::usage::build(collector, &self.analysis, self.inventory(), opts)
    }
}

/// Hand the memory the allocator holds free back to the system. glibc keeps what one stage
/// freed in per-thread arenas, where the next stage's allocations (made on other threads)
/// cannot reuse it, so the peaks of successive stages would add up; a command that drops one
/// review before opening the next (`blastmap graph`: findings, then the graph) calls this in
/// between. The binary allocates with mimalloc, which returns what it holds free on its own; this
/// call matters for the library under the system allocator (the benchmarks, other programs).
pub fn return_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
