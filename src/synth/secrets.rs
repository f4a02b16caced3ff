//! The secret inventory: KV keys and database role names, enumerated without collisions.
//!
//! Every enumerator is a bijection from an index to a key (a mixed-radix number over apps,
//! environments, components and names), so a quota of `n` keys is `n` distinct keys, generated
//! straight into a [`KeyList`] without sorting or deduplicating.

use std::fmt::Write;

use super::names::{CI_TOOLS, COMPONENTS, ENVS, SECRET_NAMES};

/// A leaf below an environment folder: a secret name, then `<component>/<name>`, then
/// `<component>/<name>-2` … (distinct for distinct `slot`).
fn leaf(slot: usize, out: &mut String) {
    let names = SECRET_NAMES.len();
    if slot < names {
        out.push_str(SECRET_NAMES[slot]);
        return;
    }
    let beyond = slot - names;
    let components = COMPONENTS.len();
    let comp = COMPONENTS[beyond % components];
    let cycle = beyond / components;
    let name = SECRET_NAMES[cycle % names];
    let round = cycle / names;
    let _ = write!(out, "{comp}/{name}");
    if round > 0 {
        let _ = write!(out, "-{}", round + 1);
    }
}

/// KV v2 key `i` of a team: `<team>/<app>/<env>/<leaf>`.
pub(crate) fn team_kv2(team: &str, apps: &[String], i: usize, out: &mut String) {
    let app_count = apps.len();
    let rest = i / app_count;
    let _ = write!(
        out,
        "{team}/{}/{}/",
        apps[i % app_count],
        ENVS[rest % ENVS.len()]
    );
    leaf(rest / ENVS.len(), out);
}

/// KV v2 key `i` shared by a namespace: `ci/shared/<tool>-token`, `ci/shared/<tool>/<leaf>`,
/// `shared/<component>/<leaf>`.
pub(crate) fn shared_kv2(i: usize, out: &mut String) {
    let half = i / 2;
    if i % 2 == 0 {
        let tools = CI_TOOLS.len();
        let tool = CI_TOOLS[half % tools];
        match half / tools {
            0 => {
                let _ = write!(out, "ci/shared/{tool}-token");
            }
            r => {
                let _ = write!(out, "ci/shared/{tool}/");
                leaf(r - 1, out);
            }
        }
    } else {
        let components = COMPONENTS.len();
        let _ = write!(out, "shared/{}/", COMPONENTS[half % components]);
        leaf(half / components, out);
    }
}

/// KV v1 key `i` of a team: `legacy/<team>/<app>/<leaf>`.
pub(crate) fn team_kv1(team: &str, apps: &[String], i: usize, out: &mut String) {
    let app_count = apps.len();
    let _ = write!(out, "legacy/{team}/{}/", apps[i % app_count]);
    leaf(i / app_count, out);
}

/// KV v1 key `i` shared by a namespace: `legacy/shared/<leaf>`.
pub(crate) fn shared_kv1(i: usize, out: &mut String) {
    out.push_str("legacy/shared/");
    leaf(i, out);
}

/// The database collection (`roles` or `static-roles`) and name of a team's entry `i`:
/// `<team>-<app>-rw`, `<team>-<app>-ro` (roles), `<team>-<app>-report` (static roles).
pub(crate) fn team_db(team: &str, apps: &[String], i: usize) -> (&'static str, String) {
    let app_count = apps.len();
    let rest = i / app_count;
    let (collection, kind) = match rest % 3 {
        0 => ("roles", "rw"),
        1 => ("roles", "ro"),
        _ => ("static-roles", "report"),
    };
    let mut name = format!("{team}-{}-{kind}", apps[i % app_count]);
    if rest / 3 > 0 {
        let _ = write!(name, "-{}", rest / 3 + 1);
    }
    (collection, name)
}

/// A namespace-wide database entry `i`: `analytics-ro[-n]` (roles), `backup[-n]` (static roles).
pub(crate) fn shared_db(i: usize) -> (&'static str, String) {
    let (collection, base) = if i % 2 == 0 {
        ("roles", "analytics-ro")
    } else {
        ("static-roles", "backup")
    };
    match i / 2 {
        0 => (collection, base.to_string()),
        r => (collection, format!("{base}-{}", r + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn enumerators_never_repeat() {
        let apps: Vec<String> = ["api", "web", "worker"].map(String::from).to_vec();
        let mut seen = BTreeSet::new();
        for i in 0..20_000 {
            let mut key = String::new();
            team_kv2("payments", &apps, i, &mut key);
            assert!(seen.insert(key), "duplicate at {i}");
            let mut key = String::new();
            shared_kv2(i, &mut key);
            assert!(seen.insert(key), "duplicate shared at {i}");
            let mut key = String::new();
            team_kv1("payments", &apps, i, &mut key);
            assert!(seen.insert(key), "duplicate kv1 at {i}");
            let mut key = String::new();
            shared_kv1(i, &mut key);
            assert!(seen.insert(key), "duplicate shared kv1 at {i}");
            let (c, n) = team_db("payments", &apps, i);
            assert!(seen.insert(format!("{c}/{n}")));
            let (c, n) = shared_db(i);
            assert!(seen.insert(format!("{c}/{n}")));
        }
        let mut key = String::new();
        team_kv2("payments", &apps, 0, &mut key);
        assert_eq!(key, "payments/api/dev/db-password");
    }
}
