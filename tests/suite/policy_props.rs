//! Policy parsing, ACL compilation and evaluation never panic, whatever the input.

use blastmap::acl::{parse_policy, Acl, AclContext, ParseOptions, Policy, PolicySource};
use proptest::prelude::*;

const SEED_POLICIES: &[&str] = &[
    "path \"secret/data/*\" { capabilities = [\"read\", \"list\"] allowed_parameters = { \"foo\" = [] } }",
    "path \"a/+/b*\" {\n policy = \"write\"\n min_wrapping_ttl = \"1h\"\n max_wrapping_ttl = 7200 }",
    "{\"path\": {\"x/{{identity.entity.name}}/*\": {\"capabilities\": [\"deny\"]}}}",
    "name = \"n\"\npath \"/\" { capabilities = [\"read\", \"deny\", \"banana\"], pagination_limit = 5 }",
    "path \"c\" { control_group = { ttl = \"4h\" factor \"f\" { controlled_capabilities = [\"read\"] identity { group_names = [\"g\"] approvals = 1 } } } capabilities = [\"read\"] }",
];

fn check(text: &str, paths: &[String]) {
    let src = PolicySource::root_ns("fuzz", text);
    if let Ok(p) = parse_policy(&src, &ParseOptions::default()) {
        let refs: Vec<&Policy> = vec![&p];
        let acl = Acl::new(&refs, false, &AclContext::default()).expect("one policy compiles");
        for path in paths {
            let _ = acl.capabilities("", path).names();
            let _ = acl.capabilities("ns1/", path).names();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}", paths in proptest::collection::vec("[a-z+*/{}]{0,12}", 0..4)) {
        check(&text, &paths);
    }

    #[test]
    fn mutated_policies_never_panic(
        which in 0..SEED_POLICIES.len(),
        cut in 0usize..400,
        insert in "[\\[\\]{}\"=,#*+/\\n a-z0-9]{0,6}",
        paths in proptest::collection::vec("[a-z+*/]{0,12}", 0..4),
    ) {
        let base = SEED_POLICIES[which];
        let mut at = cut.min(base.len());
        while !base.is_char_boundary(at) {
            at -= 1;
        }
        let text = format!("{}{}{}", &base[..at], insert, &base[at..]);
        check(&text, &paths);
        check(&base[..at], &paths);
    }
}
