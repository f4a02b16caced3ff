//! The Rego side: load rule files (built-in `queries/*.rego`, embedded at build time, and the
//! user's directories), evaluate them with regorus over the facts, and validate what they return.
//!
//! Each built-in family file and each user directory is one *unit*: one regorus engine with its
//! files loaded, evaluated in parallel with the others over the same input (the facts document,
//! converted once; regorus values are reference-counted with `Arc`, so the input is shared, not
//! copied). Every package under `blastmap.rules` must define `rules` (metadata, keyed by rule id)
//! and may define `findings` (a set of objects); other packages are helpers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rayon::prelude::*;
use serde_json::{Map, Value};

use super::error::{FindingProblem, MetadataProblem, RegoError, RulesError};
use super::{
    fingerprint, sort_findings, Finding, Report, RuleMeta, Severity, Suppressions, PRACTICES,
};

type Result<T, E = RulesError> = std::result::Result<T, E>;

/// The built-in rule families, embedded in the binary.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "queries/identity-isolation.rego",
        include_str!("../../queries/identity-isolation.rego"),
    ),
    (
        "queries/least-privilege.rego",
        include_str!("../../queries/least-privilege.rego"),
    ),
    (
        "queries/token-ttl.rego",
        include_str!("../../queries/token-ttl.rego"),
    ),
    (
        "queries/bootstrap-credentials.rego",
        include_str!("../../queries/bootstrap-credentials.rego"),
    ),
    (
        "queries/exposure.rego",
        include_str!("../../queries/exposure.rego"),
    ),
    (
        "queries/exposure-ci.rego",
        include_str!("../../queries/exposure-ci.rego"),
    ),
    (
        "queries/kubernetes.rego",
        include_str!("../../queries/kubernetes.rego"),
    ),
    (
        "queries/workload-constraints.rego",
        include_str!("../../queries/workload-constraints.rego"),
    ),
    (
        "queries/team-isolation.rego",
        include_str!("../../queries/team-isolation.rego"),
    ),
    (
        "queries/escalation.rego",
        include_str!("../../queries/escalation.rego"),
    ),
];

/// The package prefix every rule package lives under.
pub const RULES_PACKAGE: &str = "data.blastmap.rules.";

/// One Rego file.
#[derive(Debug, Clone)]
pub struct Source {
    /// How the file is named in messages (`queries/exposure.rego`, `org/prod.rego`).
    pub name: String,
    pub text: String,
}

/// Files evaluated together in one engine.
#[derive(Debug, Clone)]
struct Unit {
    sources: Vec<Source>,
    builtin: bool,
}

/// The rules to run.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    units: Vec<Unit>,
}

/// What a run needs beside the rules and the facts.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Per-rule severity overrides (`--severity RULE=SEV`).
    pub severity: BTreeMap<String, Severity>,
    pub suppressions: Option<Suppressions>,
    /// Only these rules (all when empty).
    pub only: Vec<String>,
}

impl RuleSet {
    /// The built-in families.
    pub fn builtin() -> RuleSet {
        RuleSet {
            units: BUILTIN
                .iter()
                .map(|(name, text)| Unit {
                    sources: vec![Source {
                        name: (*name).to_string(),
                        text: (*text).to_string(),
                    }],
                    builtin: true,
                })
                .collect(),
        }
    }

    /// No rules (for tests and for running user rules alone).
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    /// Add every `.rego` file under `dir` (recursively, in path order) as one unit: files of a
    /// directory may share helper packages.
    pub fn add_dir(&mut self, dir: &Path) -> Result<()> {
        let mut files = Vec::new();
        collect_rego(dir, &mut files).map_err(|source| RulesError::ReadDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        if files.is_empty() {
            return Err(RulesError::NoRegoFile {
                dir: dir.to_path_buf(),
            });
        }
        files.sort();
        let mut sources = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|source| RulesError::ReadFile {
                path: f.clone(),
                source,
            })?;
            sources.push(Source {
                name: f.display().to_string(),
                text,
            });
        }
        self.add_sources(sources);
        Ok(())
    }

    /// Add files evaluated together.
    pub fn add_sources(&mut self, sources: Vec<Source>) {
        self.units.push(Unit {
            sources,
            builtin: false,
        });
    }

    /// Evaluate every rule over the facts (JSON text) and apply overrides and suppressions.
    pub fn run(&self, facts_json: &str, opts: &RunOptions) -> Result<Report> {
        let clock = crate::timings::Clock::start("rules");
        let input = Self::input(facts_json)?;
        clock.lap("input loaded");
        self.run_input(&input, opts)
    }

    /// The facts (JSON text) as the Rego engine's input, for [`run_input`](Self::run_input).
    pub fn input(facts_json: &str) -> Result<regorus::Value> {
        regorus::Value::from_json_str(facts_json).map_err(|e| RulesError::Input {
            reason: e.to_string(),
        })
    }

    /// Any serialisable facts (a [`crate::facts::Facts`]) as the Rego engine's input: the value
    /// [`input`](Self::input) gives for their JSON, built without the JSON text.
    pub fn input_of<T: serde::Serialize + ?Sized>(facts: &T) -> Result<regorus::Value> {
        super::input::to_input(facts).map_err(|e| RulesError::Input {
            reason: e.to_string(),
        })
    }

    /// [`input_of`](Self::input_of) of a whole facts document, its three large lists
    /// (pipelines, policies, roles) built in parallel: the same value, in half the time on two
    /// cores.
    pub fn input_of_facts(facts: &crate::facts::Facts) -> Result<regorus::Value> {
        use super::input::{to_input_par, to_input_with, Given};
        let (pipelines, (policies, roles)) = rayon::join(
            || to_input_par(&facts.pipelines),
            || {
                rayon::join(
                    || to_input_par(&facts.policies),
                    || to_input_par(&facts.roles),
                )
            },
        );
        let given =
            |field, value: Result<regorus::Value, _>| value.map(|value| Given { field, value });
        let given = [
            given("pipelines", pipelines),
            given("policies", policies),
            given("roles", roles),
        ]
        .into_iter()
        .collect::<Result<Vec<_>, _>>();
        given
            .and_then(|given| to_input_with(facts, &given))
            .map_err(|e| RulesError::Input {
                reason: e.to_string(),
            })
    }

    /// [`input_of`](Self::input_of) for facts most of whose pipelines are copies of another
    /// document's (a what-if's head and its base, see `Review::derive`): a pipeline marked in
    /// `copied` takes its value from `base_input` (shared, not built again), the others are
    /// built, in parallel. The result is the value `input_of(facts)` gives.
    pub fn input_sharing(
        facts: &crate::facts::Facts,
        copied: &[bool],
        base_input: &regorus::Value,
    ) -> Result<regorus::Value> {
        use rayon::prelude::*;
        let key = regorus::Value::from("pipelines");
        let theirs = base_input
            .as_object()
            .ok()
            .and_then(|o| o.get(&key))
            .and_then(|p| p.as_array().ok())
            .filter(|p| p.len() == facts.pipelines.len() && copied.len() == p.len());
        let Some(theirs) = theirs else {
            return Self::input_of_facts(facts);
        };
        let pipelines: Vec<regorus::Value> = facts
            .pipelines
            .par_iter()
            .zip(copied.par_iter())
            .enumerate()
            .map(|(i, (p, copied))| match theirs.get(i) {
                Some(v) if *copied => Ok(v.clone()),
                _ => Self::input_of(p),
            })
            .collect::<Result<_>>()?;
        super::input::to_input_given(facts, "pipelines", regorus::Value::from(pipelines)).map_err(
            |e| RulesError::Input {
                reason: e.to_string(),
            },
        )
    }

    /// [`run`](Self::run) on facts already loaded with [`input`](Self::input).
    pub fn run_input(&self, input: &regorus::Value, opts: &RunOptions) -> Result<Report> {
        let results: Vec<Result<(Vec<RuleMeta>, Vec<Value>)>> = self
            .units
            .par_iter()
            .map(|u| eval_unit(u, input.clone()))
            .collect();
        let mut rules: BTreeMap<String, RuleMeta> = BTreeMap::new();
        let mut raw: Vec<Value> = Vec::new();
        for r in results {
            let (metas, findings) = r?;
            for m in metas {
                if let Some(prev) = rules.get(&m.id) {
                    return Err(RulesError::DeclaredTwice {
                        id: m.id,
                        first: prev.source.clone(),
                        second: m.source,
                    });
                }
                rules.insert(m.id.clone(), m);
            }
            raw.extend(findings);
        }
        for id in opts.severity.keys() {
            if !rules.contains_key(id) {
                return Err(RulesError::UnknownRuleOption {
                    option: "--severity",
                    id: id.clone(),
                });
            }
        }
        for id in &opts.only {
            if !rules.contains_key(id) {
                return Err(RulesError::UnknownRuleOption {
                    option: "--rule",
                    id: id.clone(),
                });
            }
        }
        let mut findings = Vec::with_capacity(raw.len());
        for raw_finding in raw {
            let finding = to_finding(raw_finding, &rules, opts)?;
            if !opts.only.is_empty() && !opts.only.contains(&finding.rule) {
                continue;
            }
            findings.push(finding);
        }
        sort_findings(&mut findings);
        let mut unused = Vec::new();
        if let Some(s) = &opts.suppressions {
            unused = s.apply(&mut findings);
        }
        let rules = rules
            .into_values()
            .filter(|r| opts.only.is_empty() || opts.only.contains(&r.id))
            .collect();
        Ok(Report {
            rules,
            findings,
            unused_suppressions: unused,
        })
    }

    /// The metadata of every rule, without evaluating findings (`--list-rules`).
    pub fn catalogue(&self) -> Result<Vec<RuleMeta>> {
        let empty = regorus::Value::new_object();
        let mut out = Vec::new();
        for u in &self.units {
            let (metas, _) = eval_unit_inner(u, empty.clone(), false)?;
            out.extend(metas);
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

fn collect_rego(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_rego(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "rego") {
            out.push(path);
        }
    }
    Ok(())
}

fn eval_unit(u: &Unit, input: regorus::Value) -> Result<(Vec<RuleMeta>, Vec<Value>)> {
    let clock = crate::timings::Clock::start("rules");
    let result = eval_unit_inner(u, input, true);
    log::info!(
        "rules: {} evaluated in {:.3}s",
        u.sources.first().map(|s| s.name.as_str()).unwrap_or(""),
        clock.seconds()
    );
    result
}

fn eval_unit_inner(
    u: &Unit,
    input: regorus::Value,
    with_findings: bool,
) -> Result<(Vec<RuleMeta>, Vec<Value>)> {
    let mut engine = regorus::Engine::new();
    let mut package_file: BTreeMap<String, String> = BTreeMap::new();
    for s in &u.sources {
        let pkg = engine
            .add_policy(s.name.clone(), s.text.clone())
            .map_err(|e| RulesError::LoadRuleFile {
                file: s.name.clone(),
                source: RegoError::of(&e),
            })?;
        package_file.entry(pkg).or_insert_with(|| s.name.clone());
    }
    engine.set_input(input);
    let mut metas = Vec::new();
    let mut findings = Vec::new();
    let mut any = false;
    for (pkg, file) in &package_file {
        if !pkg.starts_with(RULES_PACKAGE) {
            continue;
        }
        any = true;
        let rules = eval(&mut engine, &format!("{pkg}.rules"), file)?;
        let Some(Value::Object(rules)) = rules else {
            return Err(RulesError::NoRulesObject {
                file: file.clone(),
                package: pkg.trim_start_matches("data.").to_string(),
            });
        };
        for (id, meta) in rules {
            metas.push(to_meta(&id, meta, file, u.builtin)?);
        }
        if with_findings {
            match eval(&mut engine, &format!("{pkg}.findings"), file)? {
                None => {}
                Some(Value::Array(xs)) => findings.extend(xs),
                Some(other) => {
                    return Err(RulesError::FindingsNotASet {
                        file: file.clone(),
                        got: short(&other),
                    })
                }
            }
        }
    }
    if !any {
        let names: Vec<&str> = u.sources.iter().map(|s| s.name.as_str()).collect();
        return Err(RulesError::NoRulesPackage {
            files: names.join(", "),
        });
    }
    Ok((metas, findings))
}

/// Evaluate a reference (`data.blastmap.rules.x.rules`); `None` when it is undefined.
/// A query, not `eval_rule`: Rego v1 ref heads (`rules["id"] := …`) register only the full
/// paths as rules, while a query reads the object they build.
fn eval(engine: &mut regorus::Engine, path: &str, file: &str) -> Result<Option<Value>> {
    let results = engine
        .eval_query(path.to_string(), false)
        .map_err(|e| RulesError::Evaluate {
            path: path.to_string(),
            file: file.to_string(),
            source: RegoError::of(&e),
        })?;
    let Some(v) = results
        .result
        .into_iter()
        .next()
        .and_then(|r| r.expressions.into_iter().next())
        .map(|e| e.value)
    else {
        return Ok(None);
    };
    if v == regorus::Value::Undefined {
        return Ok(None);
    }
    let json = serde_json::to_value(&v).map_err(|source| RulesError::Convert {
        path: path.to_string(),
        file: file.to_string(),
        source,
    })?;
    Ok(Some(json))
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

fn to_meta(id: &str, v: Value, file: &str, builtin: bool) -> Result<RuleMeta> {
    if id.is_empty() || id.contains(char::is_whitespace) {
        return Err(RulesError::BadRuleId {
            file: file.to_string(),
            id: id.to_string(),
        });
    }
    meta_fields(id, v, file, builtin).map_err(|problem| RulesError::BadMetadata {
        file: file.to_string(),
        id: id.to_string(),
        problem,
    })
}

fn meta_fields(id: &str, v: Value, file: &str, builtin: bool) -> Result<RuleMeta, MetadataProblem> {
    let Value::Object(m) = v else {
        return Err(MetadataProblem::NotAnObject);
    };
    let field = |k: &'static str| -> Result<String, MetadataProblem> {
        match m.get(k) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            _ => Err(MetadataProblem::MissingField(k)),
        }
    };
    for k in m.keys() {
        if ![
            "title",
            "severity",
            "practice",
            "description",
            "remediation",
        ]
        .contains(&k.as_str())
        {
            return Err(MetadataProblem::UnknownField(k.clone()));
        }
    }
    let severity: Severity = field("severity")?.parse()?;
    let practice = field("practice")?;
    if !PRACTICES.contains(&practice.as_str()) {
        return Err(MetadataProblem::UnknownPractice { practice });
    }
    Ok(RuleMeta {
        id: id.to_string(),
        title: field("title")?,
        severity,
        practice,
        description: field("description")?,
        remediation: field("remediation")?,
        source: file.to_string(),
        help: builtin.then(|| format!("docs/rules/{id}.md")),
    })
}

fn to_finding(v: Value, rules: &BTreeMap<String, RuleMeta>, opts: &RunOptions) -> Result<Finding> {
    let Value::Object(mut m) = v else {
        return Err(RulesError::FindingNotAnObject { got: short(&v) });
    };
    let rule = match m.remove("rule") {
        Some(Value::String(s)) => s,
        _ => {
            return Err(RulesError::FindingWithoutRule {
                got: short(&Value::Object(m)),
            })
        }
    };
    let Some(meta) = rules.get(&rule) else {
        return Err(RulesError::FindingOfUndeclaredRule { rule });
    };
    let bad = |problem| RulesError::BadFinding {
        file: meta.source.clone(),
        problem,
    };
    let subject = match m.remove("subject") {
        Some(Value::Object(s)) => s,
        _ => return Err(bad(FindingProblem::NoSubject { rule })),
    };
    let message = match m.remove("message") {
        Some(Value::String(s)) => s,
        _ => return Err(bad(FindingProblem::NoMessage { rule })),
    };
    let evidence = match m.remove("evidence") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(e)) => e,
        Some(other) => {
            let got = short(&other);
            return Err(bad(FindingProblem::EvidenceNotAnObject { rule, got }));
        }
    };
    let mut severity = match m.remove("severity") {
        None | Some(Value::Null) => meta.severity,
        Some(Value::String(s)) => match s.parse() {
            Ok(severity) => severity,
            Err(reason) => return Err(bad(FindingProblem::Severity { rule, reason })),
        },
        Some(other) => {
            let got = short(&other);
            return Err(bad(FindingProblem::SeverityNotAString { rule, got }));
        }
    };
    if let Some(field) = m.keys().next().cloned() {
        return Err(bad(FindingProblem::UnknownField { rule, field }));
    }
    if let Some(s) = opts.severity.get(&rule) {
        severity = *s;
    }
    let fingerprint = fingerprint(&rule, &subject);
    Ok(Finding {
        severity,
        practice: meta.practice.clone(),
        title: meta.title.clone(),
        remediation: meta.remediation.clone(),
        subject,
        message,
        evidence,
        suppressed: None,
        fingerprint,
        rule,
    })
}

/// Ids of the built-in rules (from their metadata).
pub fn builtin_rule_ids() -> Result<BTreeSet<String>> {
    Ok(RuleSet::builtin()
        .catalogue()?
        .into_iter()
        .map(|r| r.id)
        .collect())
}
