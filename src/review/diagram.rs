//! The diagrams of a review (`docs/diagrams.md`): which view, for what, within a node budget.

use super::{Review, ReviewError};
use crate::ownership::Owners;
use crate::passes::reach::ReachOptions;
use crate::render::diagram::Diagram;
use crate::render::dot as views;
use crate::render::estate::{escalation_chains, EstateReach};
use crate::timings::Clock;

/// A diagram of the estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagramView<'q> {
    /// One pipeline's blast radius, with its escalation chains.
    Pipeline(&'q str),
    /// Who can reach one secret: an API path, namespace-qualified or relative to `namespace`
    /// (found from the path when `None`).
    Secret {
        path: &'q str,
        namespace: Option<&'q str>,
    },
    /// Teams, their pipelines and secrets; one team in detail when given.
    Teams(Option<&'q str>),
    /// The whole estate by namespace, mount and path prefix.
    Overview,
}

impl Review<'_> {
    /// The diagram `view` asks for, with at most `max_nodes` nodes (secrets grouped by prefix,
    /// the rest folded beyond it). A pipeline or team the inventory does not name is an error.
    pub fn diagram(&self, view: DiagramView<'_>, max_nodes: usize) -> Result<Diagram, ReviewError> {
        let clock = Clock::start("dot");
        let analysis = self.analysis();
        let inv = analysis.inventory;
        let diagram = match view {
            DiagramView::Pipeline(name) => {
                let unknown = || ReviewError::UnknownPipeline {
                    name: name.to_string(),
                };
                let pipeline = inv.pipeline(name).ok_or_else(unknown)?;
                let prepared = self.prepare_reach(&ReachOptions {
                    pipelines: vec![name.to_string()],
                    all_roles: false,
                });
                let reach = prepared
                    .assemble(0..prepared.len())
                    .into_iter()
                    .next()
                    .ok_or_else(unknown)?;
                let depth = self.options().facts.escalation_depth;
                let (logins, tokens) = prepared.parts();
                let chains = escalation_chains(analysis, logins, tokens, depth)
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let owners = Owners::build(&analysis.secrets, inv);
                let consumer = pipeline.ci.as_ref().and_then(|c| c.consumer);
                views::pipeline_view(&owners, &reach, consumer, &chains, max_nodes)
            }
            DiagramView::Secret { path, namespace } => {
                let (secret_namespace, relative_path) = self.resolve_path(path, namespace);
                if relative_path.is_empty() {
                    return Err(ReviewError::EmptyPath);
                }
                let owners = Owners::build(&analysis.secrets, inv);
                let who = self.who_can(&secret_namespace, &relative_path, None);
                views::secret_view(analysis, &owners, &who, max_nodes)
            }
            DiagramView::Teams(team) => {
                let est = EstateReach::from_prepared(analysis, self.prepared().prepared().clone());
                clock.lap("reach (logins, tokens, grants)");
                views::teams_view(&est, team, max_nodes)
            }
            DiagramView::Overview => {
                let est = EstateReach::from_prepared(analysis, self.prepared().prepared().clone());
                clock.lap("reach (logins, tokens, grants)");
                views::overview_view(&est, max_nodes)
            }
        };
        clock.lap("view");
        Ok(diagram)
    }

    /// The namespace and namespace-relative path of a secret: in `namespace` when given, else
    /// the secret's own when the index knows the path, else the longest namespace the path
    /// starts with.
    fn resolve_path(&self, path: &str, namespace: Option<&str>) -> (String, String) {
        let analysis = self.analysis();
        let path = path.trim_start_matches('/');
        if let Some(ns) = namespace {
            return (
                crate::model::namespace_path(ns).into_owned(),
                path.to_string(),
            );
        }
        if let Some(sid) = analysis.secrets.find(path) {
            let secret = analysis.secrets.get(sid);
            return (secret.namespace.to_string(), secret.path.clone());
        }
        let mut best = String::new();
        for ns in &analysis.snapshot.namespaces {
            let ns_path = crate::model::namespace_path(&ns.path);
            if !ns_path.is_empty()
                && path.starts_with(ns_path.as_ref())
                && ns_path.len() > best.len()
                && path.len() > ns_path.len()
            {
                best = ns_path.into_owned();
            }
        }
        let rel = path[best.len()..].to_string();
        (best, rel)
    }
}
