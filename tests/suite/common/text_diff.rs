//! A readable diff of two texts, for snapshot tests whose failures must show what changed.

use std::fmt::Write as _;

/// A unified-style diff of two texts: common head and tail trimmed, then the longest common
/// subsequence of the lines between, printed with three lines of context around each change.
pub fn line_diff(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old_mid, new_mid) = (&old[head..old.len() - tail], &new[head..new.len() - tail]);
    let ops = lcs_ops(old_mid, new_mid);
    let mut out = String::new();
    let context_before = head.saturating_sub(3);
    let _ = writeln!(out, "@@ line {} @@", context_before + 1);
    for line in &old[context_before..head] {
        let _ = writeln!(out, " {line}");
    }
    let mut unchanged_run = 0;
    for op in ops {
        match op {
            DiffLine::Same(line) => {
                unchanged_run += 1;
                if unchanged_run <= 3 {
                    let _ = writeln!(out, " {line}");
                } else if unchanged_run == 4 {
                    out.push_str(" ...\n");
                }
            }
            DiffLine::Removed(line) => {
                unchanged_run = 0;
                let _ = writeln!(out, "-{line}");
            }
            DiffLine::Added(line) => {
                unchanged_run = 0;
                let _ = writeln!(out, "+{line}");
            }
        }
    }
    for line in old[old.len() - tail..].iter().take(3) {
        let _ = writeln!(out, " {line}");
    }
    out
}

enum DiffLine<'a> {
    Same(&'a str),
    Removed(&'a str),
    Added(&'a str),
}

/// Edit script by longest common subsequence. Quadratic, which is fine for the changed middle
/// of a snapshot; beyond a bound the whole middle is shown as replaced instead.
fn lcs_ops<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<DiffLine<'a>> {
    if old.len().saturating_mul(new.len()) > 25_000_000 {
        let removed = old.iter().map(|l| DiffLine::Removed(l));
        return removed
            .chain(new.iter().map(|l| DiffLine::Added(l)))
            .collect();
    }
    let width = new.len() + 1;
    let mut longest = vec![0u32; (old.len() + 1) * width];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            longest[i * width + j] = if old[i] == new[j] {
                longest[(i + 1) * width + j + 1] + 1
            } else {
                longest[(i + 1) * width + j].max(longest[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j, mut ops) = (0, 0, Vec::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            ops.push(DiffLine::Same(old[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < new.len()
            && (i == old.len() || longest[i * width + j + 1] > longest[(i + 1) * width + j])
        {
            ops.push(DiffLine::Added(new[j]));
            j += 1;
        } else {
            ops.push(DiffLine::Removed(old[i]));
            i += 1;
        }
    }
    ops
}
