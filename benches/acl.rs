//! ACL engine throughput: capabilities of a 1,000-policy set over 100,000 paths (issue target:
//! at least 5 million path evaluations per second per core), plus policy parsing and compiling.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use blastmap::acl::{parse_policy, Acl, AclContext, ParseOptions, Policy, PolicySource};

/// A deterministic xorshift generator, so every run measures the same estate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TEAMS: usize = 200;
const APPS: usize = 20;

/// 1,000 policies shaped like a real estate: per-team KV globs, per-app exact rules, `+` rules
/// over auth mounts, denies, and a few broad wildcards.
fn policies(n: usize) -> Vec<String> {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    (0..n)
        .map(|i| {
            let team = i % TEAMS;
            let app = rng.below(APPS);
            let mut p = String::new();
            p.push_str(&format!(
                "path \"secret/data/team{team}/*\" {{\n  capabilities = [\"read\", \"list\"]\n}}\n"
            ));
            p.push_str(&format!(
                "path \"secret/metadata/team{team}/*\" {{\n  capabilities = [\"list\"]\n}}\n"
            ));
            p.push_str(&format!(
                "path \"secret/data/team{team}/app{app}/config\" {{\n  capabilities = [\"read\", \"update\"]\n}}\n"
            ));
            p.push_str(&format!(
                "path \"secret/data/team{team}/+/prod/*\" {{\n  capabilities = [\"deny\"]\n}}\n"
            ));
            p.push_str(&format!(
                "path \"auth/+/role/team{team}-*\" {{\n  capabilities = [\"read\"]\n}}\n"
            ));
            p.push_str(&format!(
                "path \"database/creds/team{team}-app{app}\" {{\n  capabilities = [\"read\"]\n}}\n"
            ));
            if i % 50 == 0 {
                p.push_str("path \"secret/data/ci/*\" {\n  capabilities = [\"read\"]\n}\n");
            }
            p
        })
        .collect()
}

fn paths(n: usize) -> Vec<String> {
    let mut rng = Rng(0x2545f4914f6cdd1d);
    (0..n)
        .map(|_| {
            let team = rng.below(TEAMS + 20);
            let app = rng.below(APPS);
            match rng.below(6) {
                0 => format!("secret/data/team{team}/app{app}/config"),
                1 => format!("secret/data/team{team}/app{app}/prod/db"),
                2 => format!("secret/metadata/team{team}/app{app}/"),
                3 => format!("auth/gha/role/team{team}-deploy"),
                4 => format!("database/creds/team{team}-app{app}"),
                _ => format!("secret/data/ci/shared/token{app}"),
            }
        })
        .collect()
}

fn parsed(n: usize) -> Vec<Policy> {
    policies(n)
        .iter()
        .enumerate()
        .map(|(i, t)| {
            parse_policy(
                &PolicySource::root_ns(&format!("p{i}"), t),
                &ParseOptions::default(),
            )
            .expect("valid policy")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = policies(1000);
    let ps = parsed(1000);
    let refs: Vec<&Policy> = ps.iter().collect();
    let acl = Acl::new(&refs, false, &AclContext::default()).expect("acl");
    let ps_paths = paths(100_000);

    let mut g = c.benchmark_group("acl");
    g.sample_size(20);
    g.throughput(Throughput::Elements(ps_paths.len() as u64));
    g.bench_function(
        BenchmarkId::new("capabilities", "1000 policies x 100k paths"),
        |b| {
            b.iter(|| {
                let mut granted = 0usize;
                for p in &ps_paths {
                    let d = acl.capabilities("", p);
                    granted += d.caps.0 as usize & 1;
                }
                granted
            })
        },
    );
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("parse 1000 policies", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| {
                    parse_policy(&PolicySource::root_ns("p", t), &ParseOptions::default())
                        .expect("valid")
                        .rules
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.bench_function("compile 1000 policies", |b| {
        b.iter(|| {
            Acl::new(&refs, false, &AclContext::default())
                .expect("acl")
                .rules()
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
