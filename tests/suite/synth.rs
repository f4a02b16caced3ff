//! `blastmap synth`: deterministic, exactly sized, loadable, parseable, and its pipelines really
//! log into their team's roles.

use std::path::Path;

use assert_cmd::Command;
use blastmap::acl::{parse_policy, ParseOptions, PolicySource};
use blastmap::inventory::{AuthMethod, Inventory};
use blastmap::model::Snapshot;
use blastmap::passes::reach::{Analysis, ReachOptions};
use blastmap::passes::SecretIndex;
use blastmap::synth::{self, Params, Summary};

fn params(seed: u64) -> Params {
    Params {
        secrets: 6_000,
        policies: 150,
        roles: 90,
        pipelines: 70,
        namespaces: 6,
        seed,
    }
}

fn write(p: &Params, dir: &Path) -> (Snapshot, Inventory) {
    let w = synth::write(p, dir).expect("estate written");
    assert_eq!(w.snapshot, dir.join("snapshot.json"));
    assert_eq!(w.pipelines, dir.join("pipelines.yaml"));
    let snap = Snapshot::load(&w.snapshot).expect("snapshot loads");
    let inv = Inventory::load(&w.pipelines).expect("inventory loads");
    assert_eq!(Summary::of(&snap, &inv), w.summary);
    (snap, inv)
}

fn assert_sizes(p: &Params, snap: &Snapshot, inv: &Inventory) {
    let s = Summary::of(snap, inv);
    assert_eq!(snap.namespaces.len(), p.namespaces, "namespaces");
    assert_eq!(
        snap.namespaces
            .iter()
            .map(|n| n.policies.len())
            .sum::<usize>(),
        p.policies,
        "policies"
    );
    let roles: usize = snap
        .namespaces
        .iter()
        .flat_map(|n| &n.auth_mounts)
        .map(|m| m.roles.len())
        .sum();
    assert_eq!(roles, p.roles, "roles");
    assert_eq!(s.jwt_roles + s.kubernetes_roles + s.approle_roles, p.roles);
    assert_eq!(snap.secret_count(), p.secrets, "inventory entries");
    // Every entry is a distinct secret path.
    assert_eq!(SecretIndex::build(snap).len(), p.secrets, "secret paths");
    assert_eq!(inv.pipelines.len(), p.pipelines, "pipelines");
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    synth::write(&params(7), a.path()).unwrap();
    synth::write(&params(7), b.path()).unwrap();
    synth::write(&params(8), c.path()).unwrap();
    for f in ["snapshot.json", "pipelines.yaml"] {
        let x = std::fs::read(a.path().join(f)).unwrap();
        let y = std::fs::read(b.path().join(f)).unwrap();
        let z = std::fs::read(c.path().join(f)).unwrap();
        assert!(x == y, "{f} differs between two runs with the same seed");
        assert!(x != z, "{f} is the same for seeds 7 and 8");
    }
    // The export time is derived from the seed, not the clock.
    let s7 = Snapshot::load(&a.path().join("snapshot.json")).unwrap();
    let s8 = Snapshot::load(&c.path().join("snapshot.json")).unwrap();
    assert_ne!(s7.exported_at, s8.exported_at);
    assert_eq!(
        s7.exported_at,
        synth::generate(&params(7)).unwrap().0.exported_at
    );
}

#[test]
fn sizes_are_exact_and_files_load() {
    let dir = tempfile::tempdir().unwrap();
    let p = params(1);
    let (snap, inv) = write(&p, dir.path());
    assert_sizes(&p, &snap, &inv);
    let issues = snap.validate();
    assert!(issues.is_empty(), "validation warnings: {issues:?}");

    // Realistic shape: nested namespaces, every role kind, identity, all three engines.
    assert!(snap.namespaces.iter().any(|n| n.depth() >= 2));
    let s = Summary::of(&snap, &inv);
    assert!(
        s.jwt_roles > 0 && s.kubernetes_roles > 0 && s.approle_roles > 0,
        "{s}"
    );
    assert!(s.entities > 0 && s.groups > 0, "{s}");
    assert!(
        s.kv_v2_keys > s.kv_v1_keys && s.kv_v1_keys > 0 && s.database_roles > 0,
        "{s}"
    );
    assert!(inv.teams.len() >= 3);
    assert!(inv.pipelines.iter().all(|p| p.team.is_some()));
    assert!(inv
        .pipelines
        .iter()
        .any(|p| p.auth.method == AuthMethod::Kubernetes));
    assert!(inv
        .pipelines
        .iter()
        .any(|p| p.auth.method == AuthMethod::Approle));
    assert!(inv.pipelines.iter().all(|p| p.max_job_duration.is_some()));
    assert!(inv.pipelines.iter().filter(|p| !p.needs.is_empty()).count() > 60);
    // The groups nest.
    assert!(snap
        .namespaces
        .iter()
        .flat_map(|n| &n.groups)
        .any(|g| !g.parent_group_ids.is_empty()));
}

#[test]
fn sizes_are_exact_at_the_edges() {
    for p in [
        Params {
            secrets: 0,
            policies: 0,
            roles: 0,
            pipelines: 0,
            namespaces: 1,
            seed: 0,
        },
        Params {
            secrets: 1,
            policies: 1,
            roles: 1,
            pipelines: 1,
            namespaces: 3,
            seed: 2,
        },
        Params {
            secrets: 77,
            policies: 5,
            roles: 3,
            pipelines: 41,
            namespaces: 9,
            seed: 3,
        },
        Params {
            secrets: 20_011,
            policies: 31,
            roles: 7,
            pipelines: 3,
            namespaces: 1,
            seed: 4,
        },
        Params {
            secrets: 500,
            policies: 400,
            roles: 300,
            pipelines: 1_200,
            namespaces: 40,
            seed: 5,
        },
    ] {
        let (snap, inv) = synth::generate(&p).unwrap();
        assert_sizes(&p, &snap, &inv);
        let issues = snap.validate();
        assert!(issues.is_empty(), "{p:?}: validation warnings: {issues:?}");
        // The in-memory estate is what the files hold.
        let back = Snapshot::from_json_str(&serde_json::to_string(&snap).unwrap(), "mem").unwrap();
        assert_eq!(back, snap);
        let yaml = synth::inventory_yaml(&inv, &p).unwrap();
        assert_eq!(Inventory::from_yaml_str(&yaml, "mem.yaml").unwrap(), inv);
    }
    assert!(synth::generate(&Params {
        namespaces: 0,
        ..params(1)
    })
    .is_err());
}

#[test]
fn every_policy_parses() {
    let (snap, _) = synth::generate(&Params {
        policies: 600,
        ..params(3)
    })
    .unwrap();
    let opts = ParseOptions {
        flavor: snap.server.flavor,
        ..Default::default()
    };
    let mut kinds = [0usize; 4];
    for ns in &snap.namespaces {
        for p in &ns.policies {
            let parsed = parse_policy(&PolicySource::from_snapshot(ns, p), &opts)
                .unwrap_or_else(|e| panic!("policy {} in {:?}: {e}", p.name, ns.path));
            assert!(!parsed.rules.is_empty(), "{}", p.name);
            let text = &p.policy;
            kinds[0] += usize::from(text.contains("\"deny\""));
            kinds[1] += usize::from(text.contains("/+/"));
            kinds[2] += usize::from(text.contains("{{identity."));
            kinds[3] += usize::from(text.trim_start().starts_with('{'));
        }
    }
    assert!(
        kinds.iter().all(|k| *k > 0),
        "denies, +, templates, JSON: {kinds:?}"
    );
}

#[test]
fn generated_pipelines_log_into_their_roles() {
    let (snap, inv) = synth::generate(&params(11)).unwrap();
    let analysis = Analysis::new(&snap, &inv);
    let reach = analysis.reach(&ReachOptions::default());
    assert_eq!(reach.len(), inv.pipelines.len());
    let admitted: Vec<usize> = reach
        .iter()
        .map(|p| p.roles.iter().filter(|r| r.admitted).count())
        .collect();
    let some = admitted.iter().filter(|n| **n > 0).count();
    eprintln!(
        "{some} of {} pipelines admitted into a role, {} into several, {} into none",
        reach.len(),
        admitted.iter().filter(|n| **n >= 2).count(),
        admitted.iter().filter(|n| **n == 0).count()
    );
    assert!(
        some * 100 >= reach.len() * 85,
        "only {some} of {} pipelines are admitted into a role",
        reach.len()
    );
    assert!(
        admitted.iter().any(|n| *n >= 2),
        "no pipeline matches several roles"
    );
    assert!(admitted.contains(&0), "every pipeline matches a role");
    // A configured role that exists admits its pipeline (unless it comes from a foreign org).
    for (p, r) in inv.pipelines.iter().zip(&reach) {
        if let Some(role) = p.auth.configured_role() {
            let conf = r.roles.iter().find(|x| x.configured);
            assert!(conf.is_some(), "{}: configured role {role} missing", p.name);
        }
    }
    let reaching = reach.iter().filter(|p| !p.secrets.is_empty()).count();
    assert!(
        reaching * 100 >= reach.len() * 80,
        "only {reaching} of {} pipelines reach a secret",
        reach.len()
    );
    // Every secret a pipeline needs exists in the estate.
    for p in &inv.pipelines {
        for n in &p.needs {
            let full = format!("{}{n}", p.auth.namespace_path());
            assert!(
                analysis.secrets.find(&full).is_some(),
                "{}: need {n}",
                p.name
            );
        }
    }
}

#[test]
fn cli_writes_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("estate");
    Command::cargo_bin("blastmap")
        .unwrap()
        .args([
            "synth",
            "--secrets",
            "3000",
            "--policies",
            "60",
            "--roles",
            "40",
        ])
        .args([
            "--pipelines",
            "30",
            "--namespaces",
            "3",
            "--seed",
            "9",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicates::str::contains("3000 secrets"));
    let snap = Snapshot::load(&out.join("snapshot.json")).unwrap();
    let inv = Inventory::load(&out.join("pipelines.yaml")).unwrap();
    let p = Params {
        secrets: 3000,
        policies: 60,
        roles: 40,
        pipelines: 30,
        namespaces: 3,
        seed: 9,
    };
    assert_sizes(&p, &snap, &inv);
    let (mem, _) = synth::generate(&p).unwrap();
    assert_eq!(mem, snap);

    Command::cargo_bin("blastmap")
        .unwrap()
        .args(["synth", "--secrets", "1", "--policies", "1", "--roles", "1"])
        .args(["--pipelines", "1", "--namespaces", "0", "--out"])
        .arg(dir.path().join("bad"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--namespaces must be at least 1"));
}
