//! The rules read the facts as a value built directly from the facts (`RuleSet::input_of`); it
//! (and `RuleSet::input_of_facts`, its large lists built in parallel) must be exactly the value the facts' JSON text gives (`RuleSet::input`), which is what users'
//! `--queries` rules were written against and what `blastmap facts` prints.

use std::path::Path;

use blastmap::inventory::Inventory;
use blastmap::model::Snapshot;
use blastmap::review::{Review, ReviewOptions};
use blastmap::rules::engine::RuleSet;
use blastmap::synth::{self, Params};

fn same_input(snapshot: &Snapshot, inventory: &Inventory, what: &str) {
    let review = Review::open(snapshot, Some(inventory), ReviewOptions::default());
    let f = review.facts();
    let direct = RuleSet::input_of(f).unwrap();
    let via_json = RuleSet::input(&serde_json::to_string(f).unwrap()).unwrap();
    assert!(
        direct == via_json,
        "{what}: the direct input differs from the JSON one"
    );
    let parallel = RuleSet::input_of_facts(f).unwrap();
    assert!(
        parallel == via_json,
        "{what}: the input built in parallel differs from the JSON one"
    );
    assert!(
        review.rule_input().unwrap() == &via_json,
        "{what}: the review's rule input differs from the JSON one"
    );
}

#[test]
fn direct_input_equals_the_json_input() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let snapshot = Snapshot::load(&demo.join("snapshot.json")).unwrap();
    let inventory = Inventory::load(&demo.join("pipelines.yaml")).unwrap();
    same_input(&snapshot, &inventory, "demo estate");
    let (snapshot, inventory) = synth::generate(&Params::small(5)).unwrap();
    same_input(&snapshot, &inventory, "synthetic estate");
    same_input(
        &snapshot,
        &Inventory::default(),
        "synthetic estate without inventory",
    );
}
