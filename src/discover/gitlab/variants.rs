//! Conditional includes. GitLab reads an `include:` entry with `rules:` only in the pipelines
//! its rules match, and a static reader cannot tell which those are. So the configuration is
//! read once with every conditional include and once without each; a job whose pipelines
//! differ between the two readings is kept in both variants, each pipeline listing in
//! `ci.conditions` which includes it was read with and without. Jobs the includes do not
//! change are written once, without conditions.

use std::collections::{BTreeMap, BTreeSet};

use super::{ConditionalInclude, Discovery, Reading, Result};
use crate::inventory::{IncludeCondition, Pipeline};

/// At most this many conditional includes are read both ways (each costs one more reading
/// of the whole configuration); the others are read only with their rules applying.
const MAX_VARIANTS: usize = 16;

/// The jobs' pipelines of one reading, by job name.
type ByJob<'a> = BTreeMap<&'a str, Vec<&'a Pipeline>>;

/// The pipelines of the readings without one include, for the jobs that include changes.
struct Variant {
    /// Index of the include in the conditional includes.
    without: usize,
    pipelines: Vec<Pipeline>,
}

/// Read the configuration without each conditional include and add the changed jobs'
/// variants to `out`, whose pipelines from `first` on are this configuration's.
pub(super) fn add_variants(
    reading: &Reading<'_>,
    conditional: &[ConditionalInclude],
    first: usize,
    out: &mut Discovery,
) -> Result<()> {
    if conditional.len() > MAX_VARIANTS {
        out.notes.push(format!(
            "{} conditional includes: only the first {MAX_VARIANTS} are read both with and without; the others only as if their rules apply",
            conditional.len()
        ));
    }
    let mut changes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut variants = Vec::new();
    // The reading with every include is the same for each comparison: grouped once.
    let with = by_job(&out.pipelines[first..]);
    for (index, include) in conditional.iter().take(MAX_VARIANTS).enumerate() {
        let mut without = Discovery::default();
        reading.read(Some(&include.at), &mut without)?;
        let changed = changed_jobs(&with, &by_job(&without.pipelines));
        for job in &changed {
            changes.entry(job.clone()).or_default().push(index);
        }
        carry_notes(include, without.notes, &mut out.notes);
        let pipelines = without
            .pipelines
            .into_iter()
            .filter(|p| changed.contains(job_of(p)))
            .collect();
        variants.push(Variant {
            without: index,
            pipelines,
        });
    }
    label(conditional, &changes, variants, first, out);
    Ok(())
}

fn job_of(pipeline: &Pipeline) -> &str {
    pipeline.ci.as_ref().map_or("", |ci| ci.job.as_str())
}

fn by_job(pipelines: &[Pipeline]) -> ByJob<'_> {
    let mut grouped: ByJob<'_> = BTreeMap::new();
    for pipeline in pipelines {
        grouped.entry(job_of(pipeline)).or_default().push(pipeline);
    }
    grouped
}

/// The jobs whose pipelines are not the same in both readings (present in one only, or
/// different in any field).
fn changed_jobs(with: &ByJob<'_>, without: &ByJob<'_>) -> BTreeSet<String> {
    let jobs: BTreeSet<&str> = with.keys().chain(without.keys()).copied().collect();
    jobs.into_iter()
        .filter(|job| with.get(job) != without.get(job))
        .map(str::to_string)
        .collect()
}

/// Notes that only the reading without the include gives, said as such.
fn carry_notes(include: &ConditionalInclude, notes: Vec<String>, out: &mut Vec<String>) {
    let known: BTreeSet<String> = out.iter().cloned().collect();
    for note in notes {
        if !known.contains(&note) {
            out.push(format!(
                "without include {:?} ({}): {note}",
                include.pattern, include.at
            ));
        }
    }
}

/// Give the changed jobs' pipelines their conditions, and add the variants, each named
/// after the include it was read without.
fn label(
    conditional: &[ConditionalInclude],
    changes: &BTreeMap<String, Vec<usize>>,
    variants: Vec<Variant>,
    first: usize,
    out: &mut Discovery,
) {
    let conditions = |job: &str, left_out: Option<usize>| -> Vec<IncludeCondition> {
        changes
            .get(job)
            .into_iter()
            .flatten()
            .map(|&index| {
                let include = &conditional[index];
                IncludeCondition {
                    include: include.pattern.clone(),
                    at: include.at.clone(),
                    rules: include.rules.clone(),
                    included: left_out != Some(index),
                }
            })
            .collect()
    };
    for pipeline in &mut out.pipelines[first..] {
        if let Some(ci) = pipeline.ci.as_mut() {
            ci.conditions = conditions(&ci.job, None);
        }
    }
    let mut names: BTreeSet<String> = out.pipelines.iter().map(|p| p.name.clone()).collect();
    for variant in variants {
        let include = &conditional[variant.without];
        for mut pipeline in variant.pipelines {
            let mut name = format!("{} (without {})", pipeline.name, include.pattern);
            if names.contains(&name) {
                name = format!(
                    "{} (without {} at {})",
                    pipeline.name, include.pattern, include.at
                );
            }
            names.insert(name.clone());
            pipeline.name = name;
            if let Some(ci) = pipeline.ci.as_mut() {
                ci.conditions = conditions(&ci.job, Some(variant.without));
            }
            out.pipelines.push(pipeline);
        }
    }
}
