//! A hostile fake Vault for the exporter's tests: an HTTP (or HTTPS) server on 127.0.0.1 whose
//! answers each test scripts, to redirect, flood, drip, and return names and texts no real
//! server would.
//!
//! Bounded: it listens on loopback only, on a free port; it answers at most `max_requests`
//! requests (later connections are closed unanswered) and stops accepting after `lifetime`;
//! every answer is written with a deadline. Dropping the [`Hostile`] stops it and joins its
//! thread. Every request is recorded ([`Seen`]), with its token header, so a test can prove
//! where the token went.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query as sent (`/v1/sys/mounts`, `/v1/sys/health?standbyok=true`).
    pub target: String,
    pub token: Option<String>,
    pub namespace: Option<String>,
}

impl Seen {
    /// The path without `/v1/` and without the query.
    pub fn path(&self) -> &str {
        let p = self.target.split('?').next().unwrap_or("");
        p.strip_prefix("/v1/").unwrap_or(p)
    }
}

/// What the server does with one request.
pub enum Reply {
    /// A status and a JSON body.
    Json(u16, String),
    /// A redirect with this `Location`.
    Redirect(u16, String),
    /// A 200 whose body never ends on its own: up to `bytes` bytes without a declared length,
    /// until the client hangs up.
    Flood { bytes: u64, declare_length: bool },
    /// A 200 whose declared body is sent one byte per `interval`.
    Drip { interval: Duration, bytes: usize },
}

/// The script: a reply for every request.
pub type Script = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// TLS for the server: a certificate and key in PEM.
pub struct Tls {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

/// A running fake server.
pub struct Hostile {
    port: u16,
    scheme: &'static str,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    sent: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// Bounds of one fake server.
pub struct Limits {
    pub max_requests: usize,
    pub lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_requests: 5_000,
            lifetime: Duration::from_secs(120),
        }
    }
}

impl Hostile {
    /// Start a plain-HTTP server with `script`.
    pub fn start(script: Script, limits: Limits) -> Hostile {
        Hostile::start_inner(script, limits, None)
    }

    /// Start an HTTPS server with `script`.
    pub fn start_tls(script: Script, limits: Limits, tls: &Tls) -> Hostile {
        Hostile::start_inner(script, limits, Some(server_config(tls)))
    }

    fn start_inner(
        script: Script,
        limits: Limits,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicU64::new(0));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Shared {
            script,
            seen: seen.clone(),
            sent: sent.clone(),
            stop: stop.clone(),
        };
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || accept_loop(listener, shared, limits, tls, stop)
        });
        Hostile {
            port,
            scheme,
            stop,
            seen,
            sent,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Body bytes written by `Flood` and `Drip` replies so far.
    pub fn body_bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Shared {
    script: Script,
    seen: Arc<Mutex<Vec<Seen>>>,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

fn accept_loop(
    listener: TcpListener,
    shared: Shared,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: Arc<AtomicBool>,
) {
    let deadline = Instant::now() + limits.lifetime;
    let shared = Arc::new(shared);
    let mut served = 0usize;
    let mut workers = Vec::new();
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        if served >= limits.max_requests {
            drop(stream);
            continue;
        }
        served += 1;
        let shared = shared.clone();
        let tls = tls.clone();
        workers.push(std::thread::spawn(move || serve(stream, &shared, tls)));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
}

/// One connection, one request (`Connection: close`).
fn serve(stream: TcpStream, shared: &Shared, tls: Option<Arc<rustls::ServerConfig>>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    match tls {
        None => handle(stream, shared),
        Some(config) => {
            let Ok(conn) = rustls::ServerConnection::new(config) else {
                return;
            };
            handle(rustls::StreamOwned::new(conn, stream), shared);
        }
    }
}

fn handle<S: Read + Write>(stream: S, shared: &Shared) {
    let mut reader = BufReader::new(stream);
    let Some(seen) = read_request(&mut reader) else {
        return;
    };
    shared.seen.lock().unwrap().push(seen.clone());
    let reply = (shared.script)(&seen);
    let mut stream = reader.into_inner();
    let _ = write_reply(&mut stream, reply, shared);
    let _ = stream.flush();
}

/// The request line and headers (bounded to 64 KiB); the body is read and dropped.
fn read_request<R: BufRead>(reader: &mut R) -> Option<Seen> {
    let mut head = Vec::new();
    let mut line = String::new();
    let mut total = 0usize;
    loop {
        line.clear();
        let n = reader.read_line(&mut line).ok()?;
        total += n;
        if n == 0 || total > 65_536 {
            return None;
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        head.push(line.trim_end().to_owned());
    }
    let mut first = head.first()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let header = |name: &str| {
        head.iter().skip(1).find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        target,
        token: header("x-vault-token"),
        namespace: header("x-vault-namespace"),
    })
}

fn write_reply<W: Write>(out: &mut W, reply: Reply, shared: &Shared) -> std::io::Result<()> {
    match reply {
        Reply::Json(status, body) => {
            write!(
                out,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
        }
        Reply::Redirect(status, location) => write!(
            out,
            "HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        ),
        Reply::Flood {
            bytes,
            declare_length,
        } => flood(out, bytes, declare_length, shared),
        Reply::Drip { interval, bytes } => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {bytes}\r\n\
                 Connection: close\r\n\r\n"
            )?;
            out.flush()?;
            for _ in 0..bytes {
                if shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                out.write_all(b" ")?;
                out.flush()?;
                shared.sent.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(interval);
            }
            Ok(())
        }
    }
}

/// A JSON-looking body of `bytes` bytes, written until the client hangs up.
fn flood<W: Write>(out: &mut W, bytes: u64, declare: bool, shared: &Shared) -> std::io::Result<()> {
    let length = if declare {
        format!("Content-Length: {bytes}\r\n")
    } else {
        String::new()
    };
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n"
    )?;
    let chunk = vec![b'a'; 64 * 1024];
    out.write_all(b"{\"data\":{\"keys\":[\"")?;
    let mut left = bytes;
    while left > 0 && !shared.stop.load(Ordering::Relaxed) {
        let n = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..n])?;
        shared.sent.fetch_add(n as u64, Ordering::Relaxed);
        left -= n as u64;
    }
    out.write_all(b"\"]}}")
}

fn server_config(tls: &Tls) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&tls.cert_pem)
        .collect::<Result<_, _>>()
        .expect("test certificate");
    let key = PrivateKeyDer::from_pem_slice(&tls.key_pem).expect("test key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("test certificate and key");
    Arc::new(config)
}

/// A self-signed certificate for 127.0.0.1 made with the `openssl` command, or `None` when it
/// is not installed.
pub fn self_signed(dir: &std::path::Path) -> Option<Tls> {
    let files = super::certs::self_signed(dir, "cert", super::certs::LOOPBACK_SERVER).ok()?;
    Some(Tls {
        cert_pem: files.cert_pem().into_bytes(),
        key_pem: files.key_pem(),
    })
}

/// The answers of a small, healthy OpenBao: enough for an export to complete. A script
/// falls back to it for everything it does not script itself.
pub fn healthy(seen: &Seen) -> Reply {
    let ok = |body: &str| Reply::Json(200, body.to_owned());
    match (seen.method.as_str(), seen.path()) {
        (_, "sys/seal-status") => ok(r#"{"sealed":false,"version":"2.7.2","initialized":true}"#),
        (_, "sys/health") => ok(r#"{"sealed":false,"version":"2.7.2","initialized":true}"#),
        (_, "auth/token/lookup-self") => ok(r#"{"data":{"policies":["root"],"ttl":0}}"#),
        (_, "sys/mounts") => ok(
            r#"{"data":{"secret/":{"type":"kv","accessor":"kv_1","options":{"version":"2"},"config":{}}}}"#,
        ),
        (_, "sys/auth") => ok(r#"{"data":{}}"#),
        (_, "sys/audit") => ok(r#"{"data":{}}"#),
        (_, "sys/namespaces") => Reply::Json(404, r#"{"errors":["unsupported path"]}"#.into()),
        _ => Reply::Json(404, r#"{"errors":[]}"#.into()),
    }
}
