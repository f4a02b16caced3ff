//! Reading a directory of Kubernetes manifests into objects with their file and line.
//!
//! Every `*.yaml` / `*.yml` under the directory is read, each `---`-separated document as one
//! object. A directory with a `kustomization.yaml` is built as Kustomize would list it: its
//! `resources:` (files and directories, followed only inside the given directory) under its
//! `namespace:` (an outer kustomization's namespace wins over an inner one's). A kustomization
//! that another one lists is read only through it, and the other files of a kustomization's
//! directory are not read (Kustomize does not read them either). Patches are not applied: a
//! kustomization with patches gets a note.
//!
//! The input is hostile: the walk, the nesting of kustomizations, the number of files and the
//! size of each are bounded, and no path leaves the directory (links included).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use yaml_serde::Value;

use super::super::yaml::{get, scalar, Seg, YamlFile};
use super::super::{confine, shown_path, Confined, DiscoverError, Discovery, Result};

/// Files read at most from one directory.
const MAX_FILES: usize = 5_000;
/// Directory depth of the walk, and nesting of kustomizations.
const MAX_DEPTH: usize = 24;
/// Largest manifest file read.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The names Kustomize looks for.
const KUSTOMIZATIONS: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// One Kubernetes object: a document of a manifest file.
pub struct Object {
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
}

impl Object {
    pub fn value(&self) -> &Value {
        match self.item {
            Some(i) => list_item(&self.doc.value, i).unwrap_or(&self.doc.value),
            None => &self.doc.value,
        }
    }

    /// The 1-based line in `file` of the deepest part of `path` found.
    pub fn line(&self, path: &[Seg]) -> Option<usize> {
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

    /// The line of the object itself (its `kind:`).
    pub fn own_line(&self) -> Option<usize> {
        self.line(&[Seg::Key("kind")])
    }

    /// `Kind/namespace/name` (the namespace empty when not known).
    pub fn id(&self) -> String {
        format!(
            "{}/{}/{}",
            self.kind,
            self.namespace.as_deref().unwrap_or(""),
            self.name
        )
    }
}

/// Every object of the manifests under `dir`.
pub fn read(dir: &Path, out: &mut Discovery) -> Result<Vec<Object>> {
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
        objects: Vec::new(),
        built: BTreeSet::new(),
    };
    let tree = walk.tree(&root, out)?;
    let listed: BTreeSet<PathBuf> = tree
        .kustomizations
        .iter()
        .flat_map(|k| k.resources.iter().cloned())
        .collect();
    for k in &tree.kustomizations {
        if !listed.contains(&k.dir) {
            walk.build(k, None, &mut BTreeSet::new(), 0, out)?;
        }
    }
    // Kustomizations that list each other in a cycle have no root: each is read on its own.
    for k in &tree.kustomizations {
        if !walk.built.contains(&k.dir) {
            walk.build(k, None, &mut BTreeSet::new(), 0, out)?;
        }
    }
    for f in &tree.plain {
        let covered = listed.contains(f)
            || tree
                .kustomizations
                .iter()
                .any(|k| f.parent() == Some(k.dir.as_path()));
        if !covered {
            walk.file(f, None, out)?;
        }
    }
    Ok(walk.objects)
}

/// What the walk found: kustomizations and other manifest files.
#[derive(Default)]
struct Tree {
    kustomizations: Vec<Kustomization>,
    plain: Vec<PathBuf>,
}

/// A kustomization: its directory (resolved), its file, namespace and resources (resolved,
/// inside the root).
struct Kustomization {
    dir: PathBuf,
    namespace: Option<String>,
    resources: Vec<PathBuf>,
}

struct Walk {
    root: PathBuf,
    shown_root: PathBuf,
    /// Files and kustomizations read so far (repeats included: a base listed twice is read twice).
    files: usize,
    objects: Vec<Object>,
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
        let k = YamlFile::parse(&text, &shown)?;
        let namespace = get(&k.value, "namespace").and_then(scalar);
        for key in [
            "patches",
            "patchesStrategicMerge",
            "patchesJson6902",
            "components",
        ] {
            if get(&k.value, key).is_some() {
                out.notes.push(format!(
                    "{shown}:{}: `{key}` is not applied: objects are read as their bases write them",
                    k.line(&[Seg::Key(key)]).unwrap_or(1)
                ));
            }
        }
        let mut resources = Vec::new();
        let listed = get(&k.value, "resources")
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        for (i, r) in listed.iter().enumerate() {
            let Some(r) = scalar(r) else { continue };
            match confine(&self.root, &dir.join(&r)) {
                Confined::Inside(real) => resources.push(real),
                Confined::Outside => out.notes.push(format!(
                    "{shown}:{}: resource {r:?} is outside {}: not read",
                    k.line(&[Seg::Key("resources"), Seg::Item(i)]).unwrap_or(1),
                    shown_path(&self.shown_root)
                )),
                Confined::Missing => out.notes.push(format!(
                    "{shown}:{}: resource {r:?} is not a file or directory here (a remote base?): not read",
                    k.line(&[Seg::Key("resources"), Seg::Item(i)]).unwrap_or(1)
                )),
            }
        }
        Ok(Some(Kustomization {
            dir: dir.to_path_buf(),
            namespace,
            resources,
        }))
    }

    /// Read a kustomization's resources under the namespace that applies. `visited` holds what
    /// this build has read: Kustomize refuses an object listed twice, so a directory or file
    /// reached again (a cycle, a base listed by two components) is read once.
    fn build(
        &mut self,
        k: &Kustomization,
        outer: Option<&str>,
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
        let namespace = outer.or(k.namespace.as_deref()).map(str::to_string);
        for r in &k.resources {
            if r.is_dir() {
                match self.kustomization_in(r, out)? {
                    Some(inner) => {
                        self.build(&inner, namespace.as_deref(), visited, depth + 1, out)?
                    }
                    None => out.notes.push(format!(
                        "{}: listed as a resource but has no kustomization: not read",
                        self.shown(r)
                    )),
                }
            } else if visited.insert(r.clone()) {
                self.file(r, namespace.as_deref(), out)?;
            }
        }
        Ok(())
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
    fn file(&mut self, file: &Path, namespace: Option<&str>, out: &mut Discovery) -> Result<()> {
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
                    if let Some(object) = object(doc.clone(), &place, namespace) {
                        self.objects.push(object);
                    }
                }
                continue;
            }
            let place = Place {
                file: &shown,
                offset: chunk.offset,
                item: None,
            };
            if let Some(object) = object(doc, &place, namespace) {
                self.objects.push(object);
            }
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
fn object(doc: Arc<YamlFile>, place: &Place<'_>, namespace: Option<&str>) -> Option<Object> {
    let v = match place.item {
        Some(i) => list_item(&doc.value, i)?,
        None => &doc.value,
    };
    let kind = get(v, "kind").and_then(scalar)?;
    let api = get(v, "apiVersion").and_then(scalar).unwrap_or_default();
    let metadata = get(v, "metadata");
    let name = metadata.and_then(|m| get(m, "name")).and_then(scalar)?;
    let own = metadata
        .and_then(|m| get(m, "namespace"))
        .and_then(scalar)
        .filter(|n| !n.is_empty());
    let group = api
        .rsplit_once('/')
        .map(|(g, _)| g.to_string())
        .unwrap_or_default();
    Some(Object {
        file: place.file.to_string(),
        doc: doc.clone(),
        item: place.item,
        offset: place.offset,
        kind,
        group,
        name,
        // Kustomize's `namespace:` replaces the object's own.
        namespace: namespace.map(str::to_string).or(own),
    })
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
