//! Self-signed certificates for the tests, made with the `openssl` command: one P-256 key and
//! certificate valid for a day, written into the test's directory. The TLS stand-ins (the
//! hostile server, the TokenReview API) and the Kubernetes CA of the seeded estate each ask for
//! the subject and extensions they need.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files of a self-signed certificate.
pub struct SelfSigned {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl SelfSigned {
    pub fn cert_pem(&self) -> String {
        std::fs::read_to_string(&self.cert).unwrap()
    }

    pub fn key_pem(&self) -> Vec<u8> {
        std::fs::read(&self.key).unwrap()
    }
}

/// A server certificate for 127.0.0.1 (`subjectAltName` IP:127.0.0.1, not a CA: webpki refuses
/// a CA certificate as a server's own).
pub const LOOPBACK_SERVER: &[&str] = &[
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-addext",
    "basicConstraints=critical,CA:FALSE",
];

/// `<stem>.pem` and `<stem>-key.pem` in `dir`, self-signed with the given subject and
/// extensions (`-subj …`, `-addext …`); `Err` with openssl's reason when it cannot be made
/// (openssl missing or refusing).
pub fn self_signed(dir: &Path, stem: &str, subject: &[&str]) -> Result<SelfSigned, String> {
    let files = SelfSigned {
        cert: dir.join(format!("{stem}.pem")),
        key: dir.join(format!("{stem}-key.pem")),
    };
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(subject)
        .arg("-keyout")
        .arg(&files.key)
        .arg("-out")
        .arg(&files.cert)
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl req failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(files)
}

/// [`self_signed`], panicking with the reason when it cannot be made (`what` says what for).
pub fn must(dir: &Path, stem: &str, subject: &[&str], what: &str) -> SelfSigned {
    self_signed(dir, stem, subject).unwrap_or_else(|e| {
        panic!("a certificate for {what}: {e} (scripts/test.sh runs where openssl is installed)")
    })
}
