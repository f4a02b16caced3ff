//! Rendering DOT to SVG or PNG with Graphviz's `dot` binary (run with `std::process`; nothing
//! is linked). `BLASTMAP_DOT` names another binary; otherwise `dot` is looked up on `PATH`.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

/// An output format of `dot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Svg,
    Png,
}

impl Format {
    fn flag(self) -> &'static str {
        match self {
            Format::Svg => "-Tsvg",
            Format::Png => "-Tpng",
        }
    }
}

/// What went wrong running `dot`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RenderError {
    #[error(
        "Graphviz is not installed: `{0}` was not found, and .svg/.png output needs it. Install \
         Graphviz (Debian/Ubuntu: `apt-get install graphviz`; Fedora: `dnf install graphviz`; \
         macOS: `brew install graphviz`), set BLASTMAP_DOT to the `dot` binary, or write a .dot \
         file (which needs nothing) and render it elsewhere"
    )]
    NotInstalled(String),
    #[error("running {binary}: {message}")]
    Failed { binary: String, message: String },
}

/// The `dot` binary to run.
pub(crate) fn dot_binary() -> String {
    std::env::var("BLASTMAP_DOT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "dot".to_string())
}

/// Whether Graphviz can be run.
pub(crate) fn available() -> bool {
    Command::new(dot_binary())
        .arg("-V")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Render DOT text. `extra` are additional `dot` arguments (e.g. `-Gid=d1`).
pub(crate) fn render(dot: &str, format: Format, extra: &[String]) -> Result<Vec<u8>, RenderError> {
    let binary = dot_binary();
    let mut child = match Command::new(&binary)
        .arg(format.flag())
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RenderError::NotInstalled(binary));
        }
        Err(e) => {
            return Err(RenderError::Failed {
                binary,
                message: e.to_string(),
            })
        }
    };
    // Feed stdin from a thread so a large output cannot deadlock the pipes.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = dot.as_bytes().to_vec();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        stdin.write_all(&input)?;
        drop(stdin);
        Ok(())
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let err_reader = std::thread::spawn(move || {
        let mut message = String::new();
        let _ = stderr.read_to_string(&mut message);
        message
    });
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut out)
        .map_err(|e| RenderError::Failed {
            binary: binary.clone(),
            message: e.to_string(),
        })?;
    let status = child.wait().map_err(|e| RenderError::Failed {
        binary: binary.clone(),
        message: e.to_string(),
    })?;
    let write_result = writer.join().unwrap_or(Ok(()));
    let err = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(RenderError::Failed {
            binary,
            message: format!(
                "{status}: {}",
                err.trim().lines().take(5).collect::<Vec<_>>().join("; ")
            ),
        });
    }
    if let Err(e) = write_result {
        return Err(RenderError::Failed {
            binary,
            message: format!("writing the graph: {e}"),
        });
    }
    Ok(out)
}

/// An SVG document from `dot`, made fit to inline into HTML: the XML declaration, doctype and
/// comments (which carry node names) removed.
pub(crate) fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    let mut rest = &svg[start..];
    let mut out = String::with_capacity(rest.len());
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        match rest[i..].find("-->") {
            Some(j) => rest = &rest[i + j + 3..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}
