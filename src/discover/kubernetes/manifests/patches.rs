//! A kustomization's transformers, in Kustomize's order: `patchesStrategicMerge:`, `patches:`,
//! `namespace:`, `patchesJson6902:`.
//!
//! - `patchesStrategicMerge:` lists files (relative to the kustomization, inside the
//!   directory) or inline patches; a file may hold several documents, each a patch for the
//!   object with its `apiVersion`, `kind`, name and namespace.
//! - `patches:` lists `{path | patch, target, options}`: a patch that is a list is a JSON patch
//!   (it needs a `target`), otherwise a strategic merge patch, applied to every object the
//!   `target` selects, or without a `target` to the object it names.
//! - `patchesJson6902:` lists `{target, path | patch}`, JSON patches.
//!
//! A patch names its object as Kustomize's ids do: same group, version, kind and name, and the
//! same namespace (no namespace is `default`), compared with the object's current name and
//! namespace and those it had before a kustomization's `namespace:` changed them. Kustomize
//! fails the build on a patch without a match, on several matches, or on an operation that
//! fails; blastmap notes it (the kustomization's file and line) and goes on without that patch.

use yaml_serde::Value;

use super::super::super::yaml::{get, scalar, Seg, YamlFile};
use super::super::super::{confine, shown_path, Confined, Discovery, Result};
use super::super::Unusable;
use super::json_patch::{self, Operation};
use super::merge::{strategic_merge, Lists, Merged};
use super::selector::{Candidate, Target};
use super::{documents, group_version, shifted, Kustomization, Object, Walk};

/// Patches read at most from one field of one kustomization.
const MAX_PATCHES: usize = 1_000;
/// Patches applied to objects at most, over the whole directory: a patch whose target selects
/// every object, in many kustomizations, is bounded too.
const MAX_APPLICATIONS: usize = 50_000;
/// Notes about patches at most.
const MAX_NOTES: usize = 1_000;

/// The fields of a kustomization that hold patches.
#[derive(Debug, Clone, Copy)]
enum Field {
    StrategicMerge,
    Patches,
    Json6902,
}

impl Field {
    fn key(self) -> &'static str {
        match self {
            Field::StrategicMerge => "patchesStrategicMerge",
            Field::Patches => "patches",
            Field::Json6902 => "patchesJson6902",
        }
    }
}

/// A patch that can be used, or why not (a note: the patch is not applied).
type Usable<T> = std::result::Result<T, Unusable>;

/// One entry of a kustomization's patch field.
struct Entry<'e> {
    field: Field,
    /// Its place in the field's list.
    index: usize,
    item: &'e Value,
    /// Where the kustomization lists it: `file:line`.
    at: String,
}

/// One patch of a kustomization, read.
struct Patch {
    /// Where the kustomization lists it: `file:line`.
    at: String,
    body: Body,
    target: Option<Target>,
    /// `options: {allowNoTargetMatch: true}`: no note when the target selects nothing.
    may_match_nothing: bool,
}

enum Body {
    /// Strategic merge patches (a file may hold several).
    Strategic(Vec<Value>),
    Json(Vec<Operation>),
}

/// A patch's text and where it comes from, for errors and lines.
struct Source {
    /// The file as shown (the kustomization's for an inline patch).
    shown: String,
    text: String,
    /// Lines of the file before the text.
    offset: usize,
}

impl Walk {
    /// Apply a kustomization's patches and namespace to the objects it accumulated.
    pub(super) fn transform(
        &mut self,
        k: &Kustomization,
        objects: &mut Vec<Object>,
        out: &mut Discovery,
    ) -> Result<()> {
        for field in [Field::StrategicMerge, Field::Patches] {
            let patches = self.patches(k, field, out)?;
            self.apply_all(&patches, objects, out);
        }
        if let Some(namespace) = &k.namespace {
            for o in objects.iter_mut() {
                o.set_namespace(namespace);
            }
        }
        let patches = self.patches(k, Field::Json6902, out)?;
        self.apply_all(&patches, objects, out);
        Ok(())
    }

    /// The patches of one field of a kustomization; notes for those that cannot be read.
    fn patches(
        &mut self,
        k: &Kustomization,
        field: Field,
        out: &mut Discovery,
    ) -> Result<Vec<Patch>> {
        let Some(listed) = get(&k.file.value, field.key()) else {
            return Ok(Vec::new());
        };
        let key = field.key();
        let Some(items) = listed.as_sequence() else {
            self.note(
                out,
                format!(
                    "{}:{}: `{key}` is not a list: not applied",
                    k.shown,
                    k.file.line(&[Seg::Key(key)]).unwrap_or(1)
                ),
            );
            return Ok(Vec::new());
        };
        if items.len() > MAX_PATCHES {
            self.note(
                out,
                format!(
                    "{}:{}: more than {MAX_PATCHES} entries in `{key}`: the rest is not applied",
                    k.shown,
                    k.file.line(&[Seg::Key(key)]).unwrap_or(1)
                ),
            );
        }
        let mut patches = Vec::new();
        for (index, item) in items.iter().take(MAX_PATCHES).enumerate() {
            let entry = Entry {
                field,
                index,
                item,
                at: format!(
                    "{}:{}",
                    k.shown,
                    k.file.line(&[Seg::Key(key), Seg::Item(index)]).unwrap_or(1)
                ),
            };
            match self.patch(k, &entry, out)? {
                Ok(Some(patch)) => patches.push(patch),
                Ok(None) => {}
                Err(why) => self.note(out, format!("{}: {why}: not applied", entry.at)),
            }
        }
        Ok(patches)
    }

    /// One entry of a patch field. The outer error is malformed YAML (the discovery fails);
    /// `None` a patch noted already.
    fn patch(
        &mut self,
        k: &Kustomization,
        entry: &Entry<'_>,
        out: &mut Discovery,
    ) -> Result<Usable<Option<Patch>>> {
        let source = match self.patch_source(k, entry, out)? {
            Ok(Some(source)) => source,
            Ok(None) => return Ok(Ok(None)),
            Err(why) => return Ok(Err(why)),
        };
        let target = match get(entry.item, "target").map(Target::parse).transpose() {
            Ok(target) => target,
            Err(why) => return Ok(Err(why)),
        };
        let may_match_nothing = get(entry.item, "options")
            .and_then(|o| get(o, "allowNoTargetMatch"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let body = match body(&source)? {
            Ok(body) => body,
            Err(why) => return Ok(Err(why)),
        };
        if let (Body::Json(_), None) = (&body, &target) {
            return Ok(Err("a JSON patch needs a `target`".into()));
        }
        if let (Field::Json6902, Body::Strategic(_)) = (entry.field, &body) {
            return Ok(Err("a patchesJson6902 patch is a list of operations".into()));
        }
        Ok(Ok(Some(Patch {
            at: entry.at.clone(),
            body,
            target,
            may_match_nothing,
        })))
    }

    /// The text of an entry's patch: inline, or its file's.
    fn patch_source(
        &mut self,
        k: &Kustomization,
        entry: &Entry<'_>,
        out: &mut Discovery,
    ) -> Result<Usable<Option<Source>>> {
        let place = [Seg::Key(entry.field.key()), Seg::Item(entry.index)];
        if let Field::StrategicMerge = entry.field {
            // An entry is a path, or (Kustomize tries this first) the patch itself.
            return Ok(match scalar(entry.item) {
                Some(text) if text.contains('\n') => Ok(Some(inline(k, &place, text))),
                Some(path) => Ok(self.patch_file(k, &path, &entry.at, out)?),
                None => Err("a patchesStrategicMerge entry is a path or a patch".into()),
            });
        }
        let path = get(entry.item, "path").and_then(scalar);
        let text = get(entry.item, "patch").and_then(scalar);
        Ok(match (path, text) {
            (Some(_), Some(_)) => Err("both `path` and `patch`".into()),
            (Some(path), None) => Ok(self.patch_file(k, &path, &entry.at, out)?),
            (None, Some(text)) => {
                let mut inside = place.to_vec();
                inside.push(Seg::Key("patch"));
                Ok(Some(inline(k, &inside, text)))
            }
            (None, None) => Err("neither `path` nor `patch`".into()),
        })
    }

    /// A patch file named by a kustomization: read when it is a file inside the directory.
    fn patch_file(
        &mut self,
        k: &Kustomization,
        path: &str,
        at: &str,
        out: &mut Discovery,
    ) -> Result<Option<Source>> {
        let real = match confine(&self.root, &k.dir.join(path)) {
            Confined::Inside(real) if real.is_file() => real,
            Confined::Inside(_) | Confined::Missing => {
                self.note(
                    out,
                    format!("{at}: patch {path:?} is not a file here: not applied"),
                );
                return Ok(None);
            }
            Confined::Outside => {
                self.note(
                    out,
                    format!(
                        "{at}: patch {path:?} is outside {}: not applied",
                        shown_path(&self.shown_root)
                    ),
                );
                return Ok(None);
            }
        };
        if !self.budget(out) {
            return Ok(None);
        }
        let shown = self.shown(&real);
        let text = self.text(&real, &shown)?;
        Ok(Some(Source {
            shown,
            text,
            offset: 0,
        }))
    }

    /// Apply each patch to the objects it matches, in order.
    fn apply_all(&mut self, patches: &[Patch], objects: &mut Vec<Object>, out: &mut Discovery) {
        for patch in patches {
            match &patch.body {
                Body::Strategic(docs) => {
                    for doc in docs {
                        self.apply_strategic(patch, doc, objects, out);
                    }
                }
                Body::Json(operations) => self.apply_json(patch, operations, objects, out),
            }
        }
    }

    fn apply_strategic(
        &mut self,
        patch: &Patch,
        doc: &Value,
        objects: &mut Vec<Object>,
        out: &mut Discovery,
    ) {
        let selected = match &patch.target {
            Some(target) => selected(target, objects),
            None => match named(doc, objects) {
                Ok(i) => vec![i],
                Err(why) => {
                    self.note(out, format!("{}: {why}: not applied", patch.at));
                    return;
                }
            },
        };
        if selected.is_empty() && !patch.may_match_nothing {
            self.note(
                out,
                format!(
                    "{}: the patch's target selects no object: not applied",
                    patch.at
                ),
            );
        }
        let mut deleted = Vec::new();
        for i in selected {
            if !self.count_application(out) {
                break;
            }
            let object = &mut objects[i];
            let lists = Lists::of_group(&object.group);
            let mut changed = Vec::new();
            match strategic_merge(object.value_mut(), doc, lists, &mut changed) {
                Ok(Merged::Kept) => object.changed(changed),
                Ok(Merged::Deleted) => deleted.push(i),
                Err(e) => self.note(
                    out,
                    format!(
                        "{}: cannot merge the patch into {}: {}: that object is read without it",
                        patch.at,
                        object.id(),
                        e
                    ),
                ),
            }
        }
        // Highest first, so the indices left still hold.
        for i in deleted.into_iter().rev() {
            objects.remove(i);
        }
    }

    fn apply_json(
        &mut self,
        patch: &Patch,
        operations: &[Operation],
        objects: &mut [Object],
        out: &mut Discovery,
    ) {
        let Some(target) = &patch.target else { return };
        let selected = selected(target, objects);
        if selected.is_empty() && !patch.may_match_nothing {
            self.note(
                out,
                format!(
                    "{}: the patch's target selects no object: not applied",
                    patch.at
                ),
            );
        }
        for i in selected {
            if !self.count_application(out) {
                break;
            }
            let object = &mut objects[i];
            let mut changed = Vec::new();
            match json_patch::apply(object.value_mut(), operations, &mut changed) {
                Ok(()) => {
                    object.changed(changed);
                    object.reidentify();
                }
                Err(e) => self.note(
                    out,
                    format!(
                        "{}: operation {} fails on {}: {}: that object is read without the patch",
                        patch.at,
                        e.index + 1,
                        object.id(),
                        e.message
                    ),
                ),
            }
        }
    }

    /// Note something about a patch: once (a base built by two overlays is patched twice), and
    /// no more than `MAX_NOTES` in all, however many patches a hostile tree holds.
    fn note(&mut self, out: &mut Discovery, text: String) {
        if self.patch_notes > MAX_NOTES || out.notes.contains(&text) {
            return;
        }
        self.patch_notes += 1;
        if self.patch_notes > MAX_NOTES {
            out.notes.push(format!(
                "{}: more than {MAX_NOTES} notes about patches: the rest are not shown",
                shown_path(&self.shown_root)
            ));
            return;
        }
        out.notes.push(text);
    }

    /// Count one more patch applied; false (with one note) past the budget.
    fn count_application(&mut self, out: &mut Discovery) -> bool {
        self.applications += 1;
        if self.applications == MAX_APPLICATIONS + 1 {
            out.notes.push(format!(
                "{}: more than {MAX_APPLICATIONS} patch applications: the rest is not applied",
                shown_path(&self.shown_root)
            ));
        }
        self.applications <= MAX_APPLICATIONS
    }
}

impl Object {
    /// After a JSON patch: the name and namespace its value now gives (a patch may rename).
    fn reidentify(&mut self) {
        let metadata = get(self.value(), "metadata");
        let name = metadata.and_then(|m| get(m, "name")).and_then(scalar);
        let namespace = metadata.and_then(|m| get(m, "namespace")).and_then(scalar);
        let written = get(self.written(), "metadata")
            .and_then(|m| get(m, "namespace"))
            .and_then(scalar);
        let renamed = name.as_ref().is_some_and(|n| *n != self.name);
        // The namespace a kustomization set is not in the value: only a patch that changes
        // `metadata.namespace` moves the object.
        let moved = namespace != written && namespace.is_some();
        if renamed || moved {
            self.remember_id();
        }
        if let (true, Some(name)) = (renamed, name) {
            self.name = name;
        }
        if moved {
            self.namespace = namespace;
        }
    }
}

/// The objects a target selects (by original or current name and namespace).
fn selected(target: &Target, objects: &[Object]) -> Vec<usize> {
    objects
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            let original = o.original();
            target.selects(&Candidate {
                group: &o.group,
                version: &o.version,
                kind: &o.kind,
                names: [&original.name, &o.name],
                namespaces: [original.namespace.as_deref(), o.namespace.as_deref()],
                value: o.value(),
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// The one object a strategic merge patch without a target names.
fn named(doc: &Value, objects: &[Object]) -> Usable<usize> {
    let api = get(doc, "apiVersion").and_then(scalar).unwrap_or_default();
    let kind = get(doc, "kind").and_then(scalar).unwrap_or_default();
    let metadata = get(doc, "metadata");
    let Some(name) = metadata.and_then(|m| get(m, "name")).and_then(scalar) else {
        return Err("the patch names no object (no metadata.name)".into());
    };
    let namespace = metadata.and_then(|m| get(m, "namespace")).and_then(scalar);
    let (group, version) = group_version(&api);
    let effective = |ns: Option<&str>| match ns {
        None | Some("") => "default".to_string(),
        Some(ns) => ns.to_string(),
    };
    let wanted = effective(namespace.as_deref());
    let matches: Vec<usize> = objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o.group == group && o.version == version && o.kind == kind)
        .filter(|(_, o)| {
            std::iter::once(o.current_id())
                .chain(o.earlier.iter().cloned())
                .any(|id| id.name == name && effective(id.namespace.as_deref()) == wanted)
        })
        .map(|(i, _)| i)
        .collect();
    let shown = format!("{kind}/{}/{name}", namespace.as_deref().unwrap_or(""));
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(Unusable::from(format!(
            "the patch for {shown} ({api}) matches no object"
        ))),
        _ => Err(Unusable::from(format!(
            "the patch for {shown} matches {} objects",
            matches.len()
        ))),
    }
}

/// An inline patch: its text, placed at its line of the kustomization.
fn inline(k: &Kustomization, place: &[Seg], text: String) -> Source {
    // A block scalar (`patch: |`) starts on the line after its key.
    let first = k.file.scalar_line(place, 0).unwrap_or(1);
    Source {
        shown: k.shown.clone(),
        text,
        offset: first.saturating_sub(1),
    }
}

/// A patch's documents, as strategic merge patches or as one JSON patch. Malformed YAML is an
/// error (as in a manifest); a patch of the wrong shape a note.
fn body(source: &Source) -> Result<Usable<Body>> {
    // Kustomize reads a patch that starts with `[` as JSON, not YAML.
    if source.text.trim_start().starts_with('[') {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&source.text) {
            return Ok(Err(Unusable::from(format!(
                "a patch starting with `[` is read as JSON, and this is not JSON ({e})"
            ))));
        }
    }
    let mut docs = Vec::new();
    for chunk in documents(&source.text) {
        let doc = YamlFile::parse(chunk.text, &source.shown)
            .map_err(|e| shifted(e, chunk.offset + source.offset))?;
        docs.push(doc.value);
    }
    Ok(match docs.as_slice() {
        [Value::Sequence(_)] => json_patch::parse(&docs[0])
            .map(Body::Json)
            .map_err(|e| Unusable::from(format!("not a JSON patch: {e}"))),
        [] => Err("the patch is empty".into()),
        _ if docs.iter().all(Value::is_mapping) => Ok(Body::Strategic(docs)),
        _ => Err("neither a strategic merge patch (a mapping) nor a JSON patch (a list)".into()),
    })
}
