//! One test binary for the integration tests.
//!
//! Every integration test links the whole library; as separate binaries (one per file) the
//! links alone took minutes of a clean build. Each module below was a file of its own and is
//! still run alone with `cargo test --test suite MODULE::` (for example
//! `cargo test --test suite golden::`). `tests/release_build.rs` stays a binary of its own: it
//! rebuilds the `blastmap` binary that these tests run.

mod common;
mod render_fixture;

mod acl_vectors;
mod ci_integrations;
mod ci_issuers_real;
mod cli_capabilities;
mod diff;
mod differential;
mod discover;
mod discover_bitbucket_terraform_azure;
mod discover_cases;
mod discover_circleci_buildkite;
mod discover_gitlab;
mod discover_kubernetes;
mod discover_kubernetes_auth;
mod distribution;
mod export;
mod export_cloud;
mod export_faults;
mod export_hostile;
mod findings;
mod findings_sarif;
mod findings_scale;
mod golden;
mod graph;
mod graph_engines;
mod hcl1_props;
mod identity_real;
mod kubernetes_real;
mod login_real;
mod output_safety;
mod ownership;
mod perf_golden;
mod policy_props;
mod reach_demo;
mod reach_namespaces_real;
mod reach_real;
mod readme;
mod render;
mod render_escaping;
mod render_report;
mod render_scale;
mod report_browser;
mod rules_input;
mod scan;
mod schemas;
mod snapshot_props;
mod synth;
mod template_live;
mod template_vectors;
mod text_injection;
mod usage_real;
mod usage_stream;
mod whatif_reuse;
