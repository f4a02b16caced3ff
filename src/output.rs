//! Every file blastmap writes goes through here (`docs/security.md`).
//!
//! An output path is classified once ([`check`]) before any work, so a command that cannot write
//! its result refuses at once instead of after minutes of export or analysis:
//!
//! * `/dev/stdout`, `/dev/stderr` and their `/dev/fd/N`, `/proc/self/fd/N` aliases write to the
//!   process's own stream (so `>>` appends and a pipe stays a pipe);
//! * a FIFO or a character device (`/dev/null`, a terminal) is opened for writing and written in
//!   place; other `/dev` and `/proc` links are followed only to a FIFO or a character device;
//! * a regular file, a missing name, or a symbolic link anywhere else is *replaced*: the bytes go
//!   to a temporary file with an unpredictable name created exclusively (`O_EXCL`, no symlink
//!   followed) in the target's directory, synced, then renamed over the name. A link is replaced
//!   as a link, never followed into the file it points to, so a link planted at the target or at
//!   any temporary name cannot redirect the output. A failed write leaves the old file as it was.
//! * a directory, a block device or a socket is refused, and so is a target whose directory is
//!   missing or refuses a new file.
//!
//! Temporary files that exist are listed in a registry; [`install_signal_cleanup`] removes them
//! when SIGTERM or SIGINT arrives, then lets the signal end the process as it would have.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

/// Who may read a replaced file: the permission bits it is created with (before the umask).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// 0600: snapshots (they name every role, policy and secret path of an estate).
    Private,
    /// 0666 less the umask, as any program's new file: reports, diagrams, inventories, policies.
    Shared,
}

impl FileMode {
    fn bits(self) -> u32 {
        match self {
            FileMode::Private => 0o600,
            FileMode::Shared => 0o666,
        }
    }
}

/// Why an output could not be written. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {file}: it is a directory; give a file name")]
    IsDirectory { file: String },
    #[error("cannot write {file}: its directory {dir} does not exist")]
    MissingDirectory { file: String, dir: String },
    #[error("cannot write {file}: {dir} is not a directory")]
    NotADirectory { file: String, dir: String },
    #[error("cannot write {file}: no new file can be created in {dir}: {source}")]
    Unwritable {
        file: String,
        dir: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {file}: it is a {kind}; blastmap writes to files, pipes and terminals")]
    Unsupported { file: String, kind: FileKind },
    #[error("cannot write {file}: {source}")]
    Write {
        file: String,
        #[source]
        source: io::Error,
    },
}

impl OutputError {
    fn write(path: &Path, source: io::Error) -> Self {
        OutputError::Write {
            file: path.display().to_string(),
            source,
        }
    }
}

/// The kinds of file an output path may name that blastmap refuses to write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    BlockDevice,
    Socket,
    /// A `/dev` or `/proc` link that leads to a regular file or a directory.
    SystemLinkToFile,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::BlockDevice => "block device",
            FileKind::Socket => "socket",
            FileKind::SystemLinkToFile => "system link to a file (only pipes and terminals)",
        })
    }
}

/// How an output path is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The process's standard output.
    Stdout,
    /// The process's standard error.
    Stderr,
    /// A FIFO or character device, opened and written in place. `follow` is set for the
    /// system's own links (`/dev/fd/3`), which are opened through the link.
    Device { path: PathBuf, follow: bool },
    /// A regular file or a new name, replaced through a temporary file in `dir`.
    Replace { path: PathBuf, dir: PathBuf },
}

/// Classify `path` and make sure it can be written, without writing anything. Call it before
/// any work whose result goes to `path`.
pub fn check(path: &Path) -> Result<Target, OutputError> {
    let file = || path.display().to_string();
    if let Some(stream) = standard_stream(path) {
        return Ok(stream);
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => check_link(path),
        Ok(meta) => match special_kind(&meta.file_type()) {
            Some(Ok(())) => Ok(Target::Device {
                path: path.to_path_buf(),
                follow: false,
            }),
            Some(Err(kind)) => Err(OutputError::Unsupported { file: file(), kind }),
            None if meta.is_dir() => Err(OutputError::IsDirectory { file: file() }),
            None => check_directory(path),
        },
        // A missing name, or a name under something that is not a directory: the directory
        // check says which.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            check_directory(path)
        }
        Err(e) => Err(OutputError::write(path, e)),
    }
}

/// `/dev/stdout` and friends: the process's own streams, by name.
fn standard_stream(path: &Path) -> Option<Target> {
    match path.to_str()? {
        "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Some(Target::Stdout),
        "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => Some(Target::Stderr),
        _ => None,
    }
}

/// `Some(Ok)` for a FIFO or character device, `Some(Err)` for kinds that are refused, `None`
/// for regular files and directories.
fn special_kind(t: &std::fs::FileType) -> Option<Result<(), FileKind>> {
    if t.is_fifo() || t.is_char_device() {
        Some(Ok(()))
    } else if t.is_block_device() {
        Some(Err(FileKind::BlockDevice))
    } else if t.is_socket() {
        Some(Err(FileKind::Socket))
    } else {
        None
    }
}

/// A symbolic link at the target. Only the system's links (`/dev/…`, `/proc/…`) are followed,
/// and only to a FIFO or character device; any other link is replaced as a link.
fn check_link(path: &Path) -> Result<Target, OutputError> {
    let file = || path.display().to_string();
    let system = path.starts_with("/dev") || path.starts_with("/proc");
    let followed = std::fs::metadata(path);
    if let Ok(meta) = &followed {
        if meta.is_dir() {
            return Err(OutputError::IsDirectory { file: file() });
        }
    }
    if !system {
        return check_directory(path);
    }
    let meta = followed.map_err(|e| OutputError::write(path, e))?;
    match special_kind(&meta.file_type()) {
        Some(Ok(())) => Ok(Target::Device {
            path: path.to_path_buf(),
            follow: true,
        }),
        Some(Err(kind)) => Err(OutputError::Unsupported { file: file(), kind }),
        None => Err(OutputError::Unsupported {
            file: file(),
            kind: FileKind::SystemLinkToFile,
        }),
    }
}

/// The directory a replaced file goes to must exist and accept a new file: proved by creating
/// (and removing) an exclusive temporary file there.
fn check_directory(path: &Path) -> Result<Target, OutputError> {
    let file = path.display().to_string();
    if path.file_name().is_none() {
        return Err(OutputError::IsDirectory { file });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let shown = dir.display().to_string();
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(OutputError::NotADirectory { file, dir: shown }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(OutputError::MissingDirectory { file, dir: shown })
        }
        Err(source) => {
            return Err(OutputError::Unwritable {
                file,
                dir: shown,
                source,
            })
        }
    }
    let probe = tempfile::Builder::new()
        .prefix(".blastmap-check.")
        .tempfile_in(&dir);
    if let Err(source) = probe {
        return Err(OutputError::Unwritable {
            file,
            dir: shown,
            source,
        });
    }
    Ok(Target::Replace {
        path: path.to_path_buf(),
        dir,
    })
}

/// Write `bytes` to `path` (see the module documentation for what each kind of path gets).
pub fn write_bytes(path: &Path, mode: FileMode, bytes: &[u8]) -> Result<(), OutputError> {
    write_with(path, mode, |w| w.write_all(bytes))
}

/// Write to `path` whatever `produce` writes into the writer it is given (buffered; flushed and,
/// for a replaced file, synced before the rename).
pub fn write_with<F>(path: &Path, mode: FileMode, produce: F) -> Result<(), OutputError>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    match check(path)? {
        Target::Stdout => write_stream(path, io::stdout().lock(), produce),
        Target::Stderr => write_stream(path, io::stderr().lock(), produce),
        Target::Device { path, follow } => write_device(&path, follow, produce),
        Target::Replace { path, dir } => replace(&path, &dir, mode, produce),
    }
}

fn write_stream<W: Write, F>(path: &Path, stream: W, produce: F) -> Result<(), OutputError>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let mut w = BufWriter::with_capacity(1 << 16, stream);
    produce(&mut w)
        .and_then(|()| w.flush())
        .map_err(|e| OutputError::write(path, e))
}

fn write_device<F>(path: &Path, follow: bool, produce: F) -> Result<(), OutputError>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let mut opts = OpenOptions::new();
    opts.write(true);
    if !follow {
        // The path was a FIFO or device when checked; if a link was swapped in since, fail
        // rather than follow it.
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    let f = opts.open(path).map_err(|e| OutputError::write(path, e))?;
    let meta = f.metadata().map_err(|e| OutputError::write(path, e))?;
    if special_kind(&meta.file_type()) != Some(Ok(())) {
        // Swapped for a regular file or directory between the check and the open: never
        // write into a file in place.
        return Err(OutputError::write(
            path,
            io::Error::other("the target changed while it was opened"),
        ));
    }
    write_stream(path, f, produce)
}

/// The temporary files that exist now, removed by the signal handler.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The temporary files being written now (for tests and diagnostics).
pub fn live_temporaries() -> Vec<PathBuf> {
    live().clone()
}

fn temporary(path: &Path, dir: &Path, mode: FileMode) -> io::Result<tempfile::NamedTempFile> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A name close to the 255-byte limit would leave no room for the random part.
    let mut cut = name.len().min(100);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    // The registry is held while the file is created so a signal in between cannot miss it.
    let mut registry = live();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", &name[..cut]))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(mode.bits()))
        .tempfile_in(dir)?;
    registry.push(tmp.path().to_path_buf());
    Ok(tmp)
}

fn forget_temporary(tmp: &Path) {
    live().retain(|p| p != tmp);
}

fn replace<F>(path: &Path, dir: &Path, mode: FileMode, produce: F) -> Result<(), OutputError>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let tmp = temporary(path, dir, mode).map_err(|e| OutputError::write(path, e))?;
    let tmp_path = tmp.path().to_path_buf();
    let result = fill_and_rename(tmp, path, produce);
    forget_temporary(&tmp_path);
    result.map_err(|e| OutputError::write(path, e))?;
    // The rename is durable only once the directory entry is.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn fill_and_rename<F>(tmp: tempfile::NamedTempFile, path: &Path, produce: F) -> io::Result<()>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let mut w = BufWriter::with_capacity(1 << 20, tmp);
    produce(&mut w)?;
    let tmp = w.into_inner().map_err(|e| e.into_error())?;
    tmp.as_file().sync_all()?;
    // On failure the temporary file is dropped, which removes it.
    tmp.persist(path).map(drop).map_err(|e| e.error)
}

/// Remove every live temporary file when SIGTERM or SIGINT arrives, then end the process as
/// the signal would have. Installed once; later calls do nothing.
pub fn install_signal_cleanup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGINT,
        ]);
        let Ok(mut signals) = signals else {
            // Without the handler the signal ends the process as before; only the cleanup is lost.
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // The registry stays locked until the process ends (the guard lives to the
                // end of this block, which does not return): no writer may create or rename a
                // temporary file after the cleanup.
                let registry = live();
                for p in registry.iter() {
                    let _ = std::fs::remove_file(p);
                }
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
    });
}
