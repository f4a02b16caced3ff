//! Reading a directory of Kubernetes manifests into objects with their file and line.
//!
//! Every `*.yaml` / `*.yml` under the directory is read, each `---`-separated document as one
//! object. A directory with a `kustomization.yaml` is built as Kustomize builds it, in
//! Kustomize's order: its `resources:` (files, and directories built the same way with their
//! own patches and namespace), then its `components:` (each a kustomization applied to what was
//! accumulated so far), then its `patchesStrategicMerge:`, its `patches:`, its `namespace:`
//! (which replaces every object's namespace, so an outer kustomization's wins) and its
//! `patchesJson6902:`. Files, resources, components and patch files are followed only inside
//! the given directory. A kustomization that another one lists is read only through it, and
//! the other files of a kustomization's directory are not read (Kustomize does not read them
//! either). Generators, name prefixes and suffixes, labels, images and replacements are not
//! applied.
//!
//! Patches (see `patches.rs`, `merge.rs`, `json_patch.rs`, `selector.rs`) change an object's
//! value; its file and lines stay those of the manifest that writes it. A field a patch changed
//! reports the line of its nearest parent the patch left alone (the manifest's line of the
//! changed field would show the value before the patch), so a line never points at a value
//! the object no longer has. Where Kustomize fails the build (a patch matching nothing, an
//! operation that fails, a path outside the directory), blastmap notes it and goes on without
//! that patch; malformed YAML in a patch is an error naming its file and line, as in a manifest.
//!
//! The input is hostile: the walk, the nesting of kustomizations, the number of files and the
//! size of each, the number of patches and of their applications are bounded, and no path
//! leaves the directory (links included).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use yaml_serde::Value;

use super::super::yaml::{get, scalar, Seg, YamlFile};
use super::super::{confine, shown_path, Confined, DiscoverError, Discovery, Result};

mod json_patch;
mod merge;
mod patches;
mod selector;

/// Files read at most from one directory.
const MAX_FILES: usize = 5_000;
/// Directory depth of the walk, and nesting of kustomizations.
const MAX_DEPTH: usize = 24;
/// Largest manifest file read.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The names Kustomize looks for.
const KUSTOMIZATIONS: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// One Kubernetes object: a document of a manifest file.
pub(crate) struct Object {
    /// The file as shown to the user (the directory given, joined with the relative path).
    pub file: String,
    /// The document (its lines are counted from the document's first line), shared by the
    /// objects of a `kind: List` document.
    doc: Arc<YamlFile>,
    /// The object's place in a `kind: List` document's `items`, when it is one of them.
    item: Option<usize>,
    /// Lines of the file before the document.
    offset: usize,
    pub kind: String,
    /// The API group (`secrets.hashicorp.com`, `external-secrets.io`, `""` for the core group).
    pub group: String,
    pub name: String,
    /// `metadata.namespace`, or the kustomization's `namespace:`; `None` when the manifest does
    /// not say (the namespace it is applied to decides).
    pub namespace: Option<String>,
    /// The API version (`v1`, `v1beta1`): a patch without a target names it.
    version: String,
    /// The names and namespaces the object had before a kustomization changed them, the
    /// manifest's first: Kustomize matches patches against them too.
    earlier: Vec<EarlierId>,
    /// The object after the patches applied to it, if any.
    patched: Option<Patched>,
}

/// A name and namespace an object had before a kustomization changed them.
#[derive(Debug, Clone)]
struct EarlierId {
    name: String,
    namespace: Option<String>,
}

/// An object's value after patches, and the paths they changed.
struct Patched {
    value: Value,
    changed: Vec<Vec<Step>>,
}

/// One step of a path into an object, owned: the paths a patch changed outlive the patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Item(usize),
}

impl Step {
    fn is(&self, seg: &Seg) -> bool {
        match (self, seg) {
            (Step::Key(a), Seg::Key(b)) => a == b,
            (Step::Item(a), Seg::Item(b)) => a == b,
            _ => false,
        }
    }
}

impl Object {
    pub(crate) fn value(&self) -> &Value {
        if let Some(patched) = &self.patched {
            return &patched.value;
        }
        self.written()
    }

    /// The value as the manifest writes it.
    fn written(&self) -> &Value {
        match self.item {
            Some(i) => list_item(&self.doc.value, i).unwrap_or(&self.doc.value),
            None => &self.doc.value,
        }
    }

    /// The 1-based line in `file` of the deepest part of `path` found. A part a patch changed
    /// is not looked up: its line in `file` would show the value before the patch, so the line
    /// is that of its nearest unchanged parent.
    pub(crate) fn line(&self, path: &[Seg]) -> Option<usize> {
        let kept = self.unchanged_prefix(path);
        if kept == 0 && !path.is_empty() {
            return self.own_line();
        }
        self.written_line(&path[..kept])
    }

    /// How many leading steps of `path` no patch changed.
    fn unchanged_prefix(&self, path: &[Seg]) -> usize {
        let Some(patched) = &self.patched else {
            return path.len();
        };
        patched
            .changed
            .iter()
            .filter(|c| c.len() <= path.len() && c.iter().zip(path).all(|(a, b)| a.is(b)))
            .map(|c| c.len().saturating_sub(1))
            .min()
            .unwrap_or(path.len())
    }

    fn written_line(&self, path: &[Seg]) -> Option<usize> {
        let line = match self.item {
            Some(i) => {
                let mut full = vec![Seg::Key("items"), Seg::Item(i)];
                full.extend_from_slice(path);
                self.doc.line(&full)
            }
            None => self.doc.line(path),
        };
        line.map(|l| l + self.offset)
    }

    /// The line of the object itself (its `kind:`, which patches never change).
    pub(crate) fn own_line(&self) -> Option<usize> {
        self.written_line(&[Seg::Key("kind")])
    }

    /// The value to patch: the object's own copy, made on the first patch.
    fn value_mut(&mut self) -> &mut Value {
        let patched = match self.patched.take() {
            Some(patched) => patched,
            None => Patched {
                value: self.written().clone(),
                changed: Vec::new(),
            },
        };
        &mut self.patched.insert(patched).value
    }

    /// Record the paths a patch changed.
    fn changed(&mut self, paths: Vec<Vec<Step>>) {
        if let Some(patched) = &mut self.patched {
            patched.changed.extend(paths);
        }
    }

    /// Kustomize's `namespace:`: the object's namespace becomes `namespace`.
    fn set_namespace(&mut self, namespace: &str) {
        if self.namespace.as_deref() != Some(namespace) {
            self.remember_id();
            self.namespace = Some(namespace.to_string());
        }
    }

    fn remember_id(&mut self) {
        self.earlier.push(self.current_id());
    }

    fn current_id(&self) -> EarlierId {
        EarlierId {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
        }
    }

    /// The name and namespace the manifest gave.
    fn original(&self) -> EarlierId {
        self.earlier
            .first()
            .cloned()
            .unwrap_or_else(|| self.current_id())
    }

    fn is_cluster_scoped(&self) -> bool {
        CLUSTER_SCOPED
            .iter()
            .any(|(group, kind)| self.group == *group && self.kind == *kind)
    }

    /// `Kind/namespace/name` (the namespace empty when not known).
    pub(crate) fn id(&self) -> String {
        format!(
            "{}/{}/{}",
            self.kind,
            self.namespace.as_deref().unwrap_or(""),
            self.name
        )
    }
}

/// Every object of the manifests under `dir`.
pub(crate) fn read(dir: &Path, out: &mut Discovery) -> Result<Vec<Object>> {
    let shown = dir.display().to_string();
    if !dir.is_dir() {
        return Err(DiscoverError::Read {
            shown,
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a directory"),
        });
    }
    let root = dir.canonicalize().map_err(|source| DiscoverError::Read {
        shown: shown.clone(),
        source,
    })?;
    let mut walk = Walk {
        root: root.clone(),
        shown_root: dir.to_path_buf(),
        files: 0,
        applications: 0,
        patch_notes: 0,
        built: BTreeSet::new(),
    };
    let tree = walk.tree(&root, out)?;
    let listed: BTreeSet<PathBuf> = tree
        .kustomizations
        .iter()
        .flat_map(|k| k.resources.iter().chain(&k.components).cloned())
        .collect();
    let mut objects = Vec::new();
    for k in &tree.kustomizations {
        if !listed.contains(&k.dir) {
            objects.extend(walk.build(k, &mut BTreeSet::new(), 0, out)?);
        }
    }
    // Kustomizations that list each other in a cycle have no root: each is read on its own.
    for k in &tree.kustomizations {
        if !walk.built.contains(&k.dir) {
            objects.extend(walk.build(k, &mut BTreeSet::new(), 0, out)?);
        }
    }
    for f in &tree.plain {
        let covered = listed.contains(f)
            || tree
                .kustomizations
                .iter()
                .any(|k| f.parent() == Some(k.dir.as_path()));
        if !covered {
            walk.file(f, &mut objects, out)?;
        }
    }
    // The API server drops the namespace of a cluster-scoped object (Kustomize's `namespace:`
    // sets it on custom kinds it does not know, such as `ClusterSecretStore`): two overlays of
    // one store are then one object, as in the cluster.
    for o in objects.iter_mut().filter(|o| o.is_cluster_scoped()) {
        o.namespace = None;
    }
    Ok(objects)
}

/// Cluster-scoped kinds, by API group: Kubernetes' own that manifests commonly carry, and
/// those of the operators blastmap reads.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("storage.k8s.io", "StorageClass"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("external-secrets.io", "ClusterSecretStore"),
    ("external-secrets.io", "ClusterExternalSecret"),
    ("external-secrets.io", "ClusterPushSecret"),
    ("generators.external-secrets.io", "ClusterGenerator"),
];

/// What the walk found: kustomizations and other manifest files.
#[derive(Default)]
struct Tree {
    kustomizations: Vec<Kustomization>,
    plain: Vec<PathBuf>,
}

/// A kustomization: its directory (resolved), its file, namespace, resources and components
/// (resolved, inside the root).
struct Kustomization {
    dir: PathBuf,
    /// The kustomization file as shown to the user.
    shown: String,
    /// Its text and value: its patches are read when it is built.
    file: YamlFile,
    namespace: Option<String>,
    resources: Vec<PathBuf>,
    components: Vec<PathBuf>,
}

struct Walk {
    root: PathBuf,
    shown_root: PathBuf,
    /// Files, kustomizations and patch files read so far (repeats included: a base listed
    /// twice is read twice).
    files: usize,
    /// Patches applied to an object so far.
    applications: usize,
    /// Notes about patches given so far.
    patch_notes: usize,
    /// Kustomization directories built (as a root or through another).
    built: BTreeSet<PathBuf>,
}

impl Walk {
    /// A path as the user named the directory (relative paths stay relative).
    fn shown(&self, real: &Path) -> String {
        let rel = real.strip_prefix(&self.root).unwrap_or(real);
        self.shown_root.join(rel).display().to_string()
    }

    /// Walk the directory: kustomizations and plain manifest files, bounded.
    fn tree(&mut self, root: &Path, out: &mut Discovery) -> Result<Tree> {
        let mut tree = Tree::default();
        let mut stack = vec![(root.to_path_buf(), 0usize)];
        let mut seen = 0usize;
        while let Some((dir, depth)) = stack.pop() {
            if let Some(k) = self.kustomization_in(&dir, out)? {
                tree.kustomizations.push(k);
            }
            let mut entries: Vec<PathBuf> = match std::fs::read_dir(&dir) {
                Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                Err(source) => {
                    return Err(DiscoverError::Read {
                        shown: self.shown(&dir),
                        source,
                    })
                }
            };
            entries.sort();
            for path in entries {
                seen += 1;
                if seen > MAX_FILES * 4 {
                    out.notes.push(format!(
                        "{}: more than {} entries: the rest is not read",
                        shown_path(&self.shown_root),
                        MAX_FILES * 4
                    ));
                    return Ok(tree);
                }
                let Confined::Inside(real) = confine(&self.root, &path) else {
                    continue;
                };
                if real.is_dir() && real == path {
                    if depth < MAX_DEPTH {
                        stack.push((real, depth + 1));
                    }
                } else if real.is_file() && is_manifest(&path) && !is_kustomization(&path) {
                    tree.plain.push(real);
                }
            }
        }
        tree.plain.sort();
        tree.plain.dedup();
        tree.kustomizations.sort_by(|a, b| a.dir.cmp(&b.dir));
        Ok(tree)
    }

    /// The kustomization of `dir`, when it has one.
    fn kustomization_in(
        &mut self,
        dir: &Path,
        out: &mut Discovery,
    ) -> Result<Option<Kustomization>> {
        let Some(file) = KUSTOMIZATIONS
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
        else {
            return Ok(None);
        };
        let shown = self.shown(&file);
        let text = self.text(&file, &shown)?;
        let kustomization = YamlFile::parse(&text, &shown)?;
        let namespace = get(&kustomization.value, "namespace").and_then(scalar);
        let resources = self.listed_paths(&kustomization, &shown, "resources", dir, out);
        let components = self.listed_paths(&kustomization, &shown, "components", dir, out);
        Ok(Some(Kustomization {
            dir: dir.to_path_buf(),
            shown,
            file: kustomization,
            namespace,
            resources,
            components,
        }))
    }

    /// The paths a kustomization lists under `field` (`resources`, `components`), resolved and
    /// inside the root; a note for each that is not.
    fn listed_paths(
        &self,
        k: &YamlFile,
        shown: &str,
        field: &str,
        dir: &Path,
        out: &mut Discovery,
    ) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        let listed = get(&k.value, field)
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        let singular = field.trim_end_matches('s');
        for (i, r) in listed.iter().enumerate() {
            let Some(r) = scalar(r) else { continue };
            let line = k.line(&[Seg::Key(field), Seg::Item(i)]).unwrap_or(1);
            match confine(&self.root, &dir.join(&r)) {
                Confined::Inside(real) => paths.push(real),
                Confined::Outside => out.notes.push(format!(
                    "{shown}:{line}: {singular} {r:?} is outside {}: not read",
                    shown_path(&self.shown_root)
                )),
                Confined::Missing => out.notes.push(format!(
                    "{shown}:{line}: {singular} {r:?} is not a file or directory here (a remote base?): not read"
                )),
            }
        }
        paths
    }

    /// Build a kustomization: its objects after its own patches and namespace. `visited`
    /// holds what this build has read: Kustomize refuses an object listed twice, so a directory
    /// or file reached again (a cycle, a base listed by two components) is read once.
    fn build(
        &mut self,
        k: &Kustomization,
        visited: &mut BTreeSet<PathBuf>,
        depth: usize,
        out: &mut Discovery,
    ) -> Result<Vec<Object>> {
        let mut objects = Vec::new();
        self.accumulate(k, &mut objects, visited, depth, out)?;
        Ok(objects)
    }

    /// Add a kustomization's resources to `objects`, then apply its components and its own
    /// transformers to all of them. A kustomization's build starts from nothing; a component's
    /// works on what the kustomization listing it has accumulated (Kustomize's order).
    fn accumulate(
        &mut self,
        k: &Kustomization,
        objects: &mut Vec<Object>,
        visited: &mut BTreeSet<PathBuf>,
        depth: usize,
        out: &mut Discovery,
    ) -> Result<()> {
        if !visited.insert(k.dir.clone()) {
            return Ok(());
        }
        if depth > MAX_DEPTH {
            out.notes.push(format!(
                "{}: kustomizations nest deeper than {MAX_DEPTH}: the rest is not read",
                self.shown(&k.dir)
            ));
            return Ok(());
        }
        self.built.insert(k.dir.clone());
        if !self.budget(out) {
            return Ok(());
        }
        for r in &k.resources {
            if r.is_dir() {
                match self.kustomization_in(r, out)? {
                    Some(inner) => objects.extend(self.build(&inner, visited, depth + 1, out)?),
                    None => out.notes.push(format!(
                        "{}: listed as a resource but has no kustomization: not read",
                        self.shown(r)
                    )),
                }
            } else if visited.insert(r.clone()) {
                self.file(r, objects, out)?;
            }
        }
        for c in &k.components {
            match self.kustomization_in(c, out)? {
                Some(component) => self.accumulate(&component, objects, visited, depth + 1, out)?,
                None => out.notes.push(format!(
                    "{}: listed as a component but has no kustomization: not read",
                    self.shown(c)
                )),
            }
        }
        self.transform(k, objects, out)
    }

    fn text(&mut self, file: &Path, shown: &str) -> Result<String> {
        let meta = std::fs::metadata(file).map_err(|source| DiscoverError::Read {
            shown: shown.to_string(),
            source,
        })?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(DiscoverError::Read {
                shown: shown.to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("larger than {MAX_FILE_BYTES} bytes"),
                ),
            });
        }
        std::fs::read_to_string(file).map_err(|source| DiscoverError::Read {
            shown: shown.to_string(),
            source,
        })
    }

    /// Count one more file or kustomization read; false (with one note) past the budget, which
    /// also bounds bases listed many times over.
    fn budget(&mut self, out: &mut Discovery) -> bool {
        self.files += 1;
        if self.files == MAX_FILES + 1 {
            out.notes.push(format!(
                "{}: more than {MAX_FILES} manifest files and kustomizations to read: the rest is not read",
                shown_path(&self.shown_root)
            ));
        }
        self.files <= MAX_FILES
    }

    /// Read one manifest file: each document an object.
    fn file(&mut self, file: &Path, objects: &mut Vec<Object>, out: &mut Discovery) -> Result<()> {
        if !self.budget(out) {
            return Ok(());
        }
        let shown = self.shown(file);
        let text = self.text(file, &shown)?;
        for chunk in documents(&text) {
            let doc = match YamlFile::parse(chunk.text, &shown) {
                Ok(doc) => doc,
                Err(e) if chunk.text.contains("{{") => {
                    out.notes.push(format!(
                        "{shown}:{}: not YAML, and holds `{{{{`: an unrendered Helm template? \
                         Pass the output of `helm template` instead ({e})",
                        chunk.offset + 1
                    ));
                    continue;
                }
                Err(e) => return Err(shifted(e, chunk.offset)),
            };
            let doc = Arc::new(doc);
            if get(&doc.value, "kind").and_then(scalar).as_deref() == Some("List") {
                // `kubectl get -o yaml` writes a `List` whose `items` are the objects.
                let count = get(&doc.value, "items")
                    .and_then(Value::as_sequence)
                    .map_or(0, Vec::len);
                for i in 0..count {
                    let place = Place {
                        file: &shown,
                        offset: chunk.offset,
                        item: Some(i),
                    };
                    objects.extend(object(doc.clone(), &place));
                }
                continue;
            }
            let place = Place {
                file: &shown,
                offset: chunk.offset,
                item: None,
            };
            objects.extend(object(doc, &place));
        }
        Ok(())
    }
}

/// A YAML error of a document, its line counted in the file.
fn shifted(e: DiscoverError, offset: usize) -> DiscoverError {
    match e {
        DiscoverError::MalformedYamlAt {
            shown,
            mut at,
            message,
        } => {
            at.line += offset;
            DiscoverError::MalformedYamlAt { shown, at, message }
        }
        other => other,
    }
}

/// Where an object is: its file, the lines before its document, and its place in a
/// `kind: List` document's `items`.
struct Place<'p> {
    file: &'p str,
    offset: usize,
    item: Option<usize>,
}

/// The `i`th item of a `kind: List` document.
fn list_item(list: &Value, i: usize) -> Option<&Value> {
    get(list, "items")
        .and_then(Value::as_sequence)
        .and_then(|items| items.get(i))
}

/// A document (or an item of a `List`) as an object, when it is one (it has a `kind` and a
/// name).
fn object(doc: Arc<YamlFile>, place: &Place<'_>) -> Option<Object> {
    let value = match place.item {
        Some(i) => list_item(&doc.value, i)?,
        None => &doc.value,
    };
    let kind = get(value, "kind").and_then(scalar)?;
    let api = get(value, "apiVersion")
        .and_then(scalar)
        .unwrap_or_default();
    let metadata = get(value, "metadata");
    let name = metadata.and_then(|m| get(m, "name")).and_then(scalar)?;
    let own = metadata
        .and_then(|m| get(m, "namespace"))
        .and_then(scalar)
        .filter(|n| !n.is_empty());
    let (group, version) = group_version(&api);
    Some(Object {
        file: place.file.to_string(),
        doc: doc.clone(),
        item: place.item,
        offset: place.offset,
        kind,
        group,
        name,
        namespace: own,
        version,
        earlier: Vec::new(),
        patched: None,
    })
}

/// An `apiVersion`'s group (`""` for the core group) and version.
fn group_version(api: &str) -> (String, String) {
    match api.rsplit_once('/') {
        Some((group, version)) => (group.to_string(), version.to_string()),
        None => (String::new(), api.to_string()),
    }
}

/// One `---`-separated document and the number of lines before it.
struct Chunk<'t> {
    text: &'t str,
    offset: usize,
}

/// Split a stream at `---` lines (a document start at the first column, as `kubectl` splits).
fn documents(text: &str) -> Vec<Chunk<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut chunks = Vec::new();
    let (mut start, mut start_line, mut line, mut pos) = (0usize, 0usize, 0usize, 0usize);
    for l in text.split_inclusive('\n') {
        let bare = l.trim_end();
        let separator =
            bare == "---" || bare.starts_with("--- ") || bare == "..." || bare.starts_with("---\t");
        if separator {
            chunks.push(Chunk {
                text: &text[start..pos],
                offset: start_line,
            });
            // A `--- ` line may carry content after the marker; it is dropped with the marker.
            start = pos + l.len();
            start_line = line + 1;
        }
        pos += l.len();
        line += 1;
    }
    chunks.push(Chunk {
        text: &text[start..],
        offset: start_line,
    });
    chunks.retain(|c| !c.text.trim().is_empty());
    chunks
}

fn is_manifest(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

fn is_kustomization(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| KUSTOMIZATIONS.contains(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_their_lines() {
        let text = "a: 1\n---\nkind: X\n---\n\n--- \nb: 2\n...\n";
        let chunks = documents(text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1].offset, 2);
        assert_eq!(chunks[1].text, "kind: X\n");
        assert_eq!(chunks[2].offset, 6);
    }
}
