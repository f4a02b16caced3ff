//! YAML reading for discovery: parse with `yaml_serde` (errors name file, line and column) and
//! find the line of a key path in the source text.
//!
//! `yaml_serde` values carry no positions, so lines come from a small scan of the block
//! structure: a key is found as `key:` at its mapping's indentation inside its parent's block,
//! a sequence item as the n-th `- ` at the sequence's indentation. Flow collections (`{…}`,
//! `[…]`) are not entered: a path into one resolves to the line of the nearest block ancestor.

use std::path::Path;

use yaml_serde::Value;

use super::error::Location;
use super::{DiscoverError, Result};

/// One step of a key path.
#[derive(Debug, Clone, Copy)]
pub enum Seg<'a> {
    Key(&'a str),
    Item(usize),
}

/// A parsed YAML file with its text, for line look-ups.
pub struct YamlFile {
    /// As given on the command line (for messages and `ci.file`).
    pub name: String,
    pub value: Value,
    lines: Vec<String>,
}

/// Remove merge keys whose value is (or lists) a tagged value, telling `set_aside` where; nesting
/// is bounded like every walk over input.
fn remove_tagged_merges(
    value: &mut Value,
    at: &str,
    depth: usize,
    set_aside: &mut dyn FnMut(String),
) {
    if depth > 64 {
        return;
    }
    let tagged = |v: &Value| match v {
        Value::Tagged(t) => Some(t.tag.to_string()),
        Value::Sequence(items) => items.iter().find_map(|i| match i {
            Value::Tagged(t) => Some(t.tag.to_string()),
            _ => None,
        }),
        _ => None,
    };
    match value {
        Value::Mapping(map) => {
            let merge = Value::String("<<".into());
            if let Some(tag) = map.get(&merge).and_then(tagged) {
                map.remove(&merge);
                set_aside(format!(
                    "{}: <<: {tag}",
                    if at.is_empty() { "(top)" } else { at }
                ));
            }
            for (key, child) in map.iter_mut() {
                let key = key.as_str().unwrap_or("?");
                let path = if at.is_empty() {
                    key.to_string()
                } else {
                    format!("{at}.{key}")
                };
                remove_tagged_merges(child, &path, depth + 1, set_aside);
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                remove_tagged_merges(item, &format!("{at}[{i}]"), depth + 1, set_aside);
            }
        }
        Value::Tagged(tagged) => remove_tagged_merges(&mut tagged.value, at, depth + 1, set_aside),
        _ => {}
    }
}

impl YamlFile {
    pub fn read(path: &Path, name: &str) -> Result<YamlFile> {
        let text = std::fs::read_to_string(path).map_err(|source| DiscoverError::Read {
            shown: name.to_string(),
            source,
        })?;
        Self::parse(&text, name)
    }

    pub fn parse(text: &str, name: &str) -> Result<YamlFile> {
        Self::parse_with(text, name, &mut |_| {})
    }

    /// As [`YamlFile::parse`], but a merge key (`<<`) whose value carries a tag (GitLab's
    /// `<<: !reference [...]`) is set aside instead of failing the file: no merge can be applied
    /// before the tag is resolved. `set_aside` hears each, as `<path>: <<: !tag`.
    pub fn parse_setting_aside_tagged_merges(
        text: &str,
        name: &str,
        set_aside: &mut dyn FnMut(String),
    ) -> Result<YamlFile> {
        Self::parse_with(text, name, set_aside)
    }

    fn parse_with(text: &str, name: &str, set_aside: &mut dyn FnMut(String)) -> Result<YamlFile> {
        let mut value: Value = yaml_serde::from_str(text).map_err(|e| {
            let mut msg = e.to_string();
            if let Some(i) = msg.find(" at line ") {
                msg.truncate(i);
            }
            let shown = name.to_string();
            match e.location() {
                Some(l) => DiscoverError::MalformedYamlAt {
                    shown,
                    at: Location {
                        line: l.line(),
                        column: l.column(),
                    },
                    message: msg,
                },
                None => DiscoverError::MalformedYaml {
                    shown,
                    message: msg,
                },
            }
        })?;
        remove_tagged_merges(&mut value, "", 0, set_aside);
        value
            .apply_merge()
            .map_err(|e| DiscoverError::MalformedMergeKey {
                shown: name.to_string(),
                message: e.to_string(),
            })?;
        Ok(YamlFile {
            name: name.to_string(),
            value,
            lines: text.lines().map(str::to_string).collect(),
        })
    }

    /// The 1-based line of the deepest part of `path` found in the text.
    pub fn line(&self, path: &[Seg]) -> Option<usize> {
        let mut region = Region {
            start: 0,
            col: 0,
            end: self.lines.len(),
        };
        let mut found = None;
        for seg in path {
            let next = match seg {
                Seg::Key(k) => self.key_in(&region, k),
                Seg::Item(i) => self.item_in(&region, *i),
            };
            match next {
                Some((line, r)) => {
                    found = Some(line + 1);
                    region = r;
                }
                None => break,
            }
        }
        found
    }

    /// The line of line `offset` (0-based) of a block scalar (`key: |`) at `path`; the key's
    /// own line when the value is not a block scalar.
    pub fn scalar_line(&self, path: &[Seg], offset: usize) -> Option<usize> {
        let line = self.line(path)?;
        let text = self.lines.get(line - 1)?;
        // A sequence item's scalar follows its `- `; a key's follows its colon.
        let item = matches!(path.last(), Some(Seg::Item(_)));
        let after = match text.trim_start().strip_prefix('-') {
            Some(rest) if item => rest.trim(),
            _ => text.split_once(':').map(|x| x.1.trim()).unwrap_or(""),
        };
        let after = after.split(" #").next().unwrap_or("").trim();
        if after.starts_with('|') || after.starts_with('>') {
            // Skip blank lines? Block scalars keep them; offsets count them too.
            Some(line + 1 + offset)
        } else if after.is_empty() {
            // A plain multi-line scalar starting on the next line.
            Some(line + 1 + offset)
        } else {
            Some(line + offset)
        }
    }

    fn text(&self, r: &Region, i: usize) -> (usize, &str) {
        let line = &self.lines[i];
        if i == r.start && r.col > 0 {
            let col = r.col.min(line.len());
            (col, &line[col..])
        } else {
            let content = line.trim_start_matches(' ');
            (line.len() - content.len(), content)
        }
    }

    fn content_lines<'s>(&'s self, r: &'s Region) -> impl Iterator<Item = (usize, usize, &'s str)> {
        (r.start..r.end.min(self.lines.len())).filter_map(move |i| {
            let (ind, t) = self.text(r, i);
            if t.trim().is_empty() || t.trim_start().starts_with('#') {
                None
            } else {
                Some((i, ind, t))
            }
        })
    }

    fn body(&self, after: usize, indent: usize, allow_seq_same: bool) -> Region {
        let mut end = after;
        let mut i = after;
        while i < self.lines.len() {
            let line = &self.lines[i];
            let content = line.trim_start_matches(' ');
            if content.trim().is_empty() || content.starts_with('#') {
                i += 1;
                continue;
            }
            let ind = line.len() - content.len();
            if ind > indent || (allow_seq_same && ind == indent && content.starts_with('-')) {
                i += 1;
                end = i;
            } else {
                break;
            }
        }
        Region {
            start: after,
            col: 0,
            end,
        }
    }

    fn key_in(&self, r: &Region, key: &str) -> Option<(usize, Region)> {
        let mut lines = self.content_lines(r);
        let (_, kc, _) = lines.next()?;
        for (i, ind, t) in self.content_lines(r) {
            if ind != kc {
                continue;
            }
            let Some(k) = key_of(t) else { continue };
            if k != key {
                continue;
            }
            let colon = t.find(':').unwrap_or(0);
            let value = t[colon + 1..].trim();
            if !value.is_empty()
                && !value.starts_with('#')
                && !value.starts_with('|')
                && !value.starts_with('>')
                && !value.starts_with('&')
            {
                let vcol =
                    ind + colon + 1 + (t[colon + 1..].len() - t[colon + 1..].trim_start().len());
                return Some((
                    i,
                    Region {
                        start: i,
                        col: vcol,
                        end: i + 1,
                    },
                ));
            }
            return Some((i, self.body(i + 1, ind, true)));
        }
        None
    }

    fn item_in(&self, r: &Region, idx: usize) -> Option<(usize, Region)> {
        let mut lines = self.content_lines(r);
        let (_, sc, first) = lines.next()?;
        if !first.starts_with('-') {
            return None;
        }
        let mut count = 0;
        for (i, ind, t) in self.content_lines(r) {
            if ind != sc || !(t == "-" || t.starts_with("- ")) {
                continue;
            }
            if count == idx {
                let rest = t[1..].trim_start();
                let body_end = self.body(i + 1, ind, false).end.max(i + 1);
                return Some(if rest.is_empty() || rest.starts_with('#') {
                    (
                        i,
                        Region {
                            start: i + 1,
                            col: 0,
                            end: body_end,
                        },
                    )
                } else {
                    let col = ind + (t.len() - rest.len());
                    (
                        i,
                        Region {
                            start: i,
                            col,
                            end: body_end,
                        },
                    )
                });
            }
            count += 1;
        }
        None
    }
}

#[derive(Debug, Clone)]
struct Region {
    start: usize,
    /// Column where the first line's content starts (a value after `- ` or `key: `).
    col: usize,
    end: usize,
}

/// The key of a `key: value` line (quotes removed), if it is one.
fn key_of(t: &str) -> Option<String> {
    let trimmed = t.trim_end();
    let (k, rest) = if let Some(q) = trimmed.strip_prefix('"') {
        let end = q.find('"')?;
        (q[..end].to_string(), &q[end + 1..])
    } else if let Some(q) = trimmed.strip_prefix('\'') {
        let end = q.find('\'')?;
        (q[..end].to_string(), &q[end + 1..])
    } else {
        let mut idx = None;
        for (i, c) in trimmed.char_indices() {
            if c == ':'
                && trimmed[i + 1..]
                    .chars()
                    .next()
                    .is_none_or(|n| n == ' ' || n == '\t')
            {
                idx = Some(i);
                break;
            }
        }
        let end = idx?;
        (trimmed[..end].trim().to_string(), &trimmed[end..])
    };
    rest.trim_start().starts_with(':').then_some(k)
}

/// A mapping value by string key.
pub fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping().and_then(|m| m.get(key))
}

/// A scalar as a string (numbers and booleans as written by YAML 1.2).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A string-keyed view of a mapping (non-string keys are skipped).
pub fn entries(v: &Value) -> Vec<(String, &Value)> {
    match v.as_mapping() {
        Some(m) => m
            .iter()
            .filter_map(|(k, v)| scalar(k).map(|k| (k, v)))
            .collect(),
        None => Vec::new(),
    }
}

/// A string or a list of strings.
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(s) => s.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_keys_and_items() {
        let text = "name: x\non:\n  push:\n    branches: [main]\njobs:\n  build:\n    runs-on: ubuntu\n    steps:\n    - uses: a\n    - name: b\n      run: |\n        echo 1\n        echo 2\n  deploy:\n    steps:\n      - run: x\n";
        let file = YamlFile::parse(text, "w.yml").unwrap();
        assert_eq!(file.line(&[Seg::Key("jobs"), Seg::Key("build")]), Some(6));
        assert_eq!(
            file.line(&[
                Seg::Key("jobs"),
                Seg::Key("build"),
                Seg::Key("steps"),
                Seg::Item(1),
                Seg::Key("run")
            ]),
            Some(11)
        );
        assert_eq!(
            file.scalar_line(
                &[
                    Seg::Key("jobs"),
                    Seg::Key("build"),
                    Seg::Key("steps"),
                    Seg::Item(1),
                    Seg::Key("run")
                ],
                1
            ),
            Some(13)
        );
        assert_eq!(
            file.line(&[
                Seg::Key("jobs"),
                Seg::Key("deploy"),
                Seg::Key("steps"),
                Seg::Item(0),
                Seg::Key("run")
            ]),
            Some(16)
        );
        assert_eq!(
            file.line(&[Seg::Key("on"), Seg::Key("push"), Seg::Key("branches")]),
            Some(4)
        );
    }

    #[test]
    fn malformed_yaml_names_file_and_line() {
        let err = YamlFile::parse("a: 1\nb: [1, 2\nc: 3\n", "ci.yml")
            .err()
            .unwrap();
        let message = err.to_string();
        assert!(message.starts_with("ci.yml:"), "{message}");
        assert!(message.contains("malformed YAML"), "{message}");
    }
}
