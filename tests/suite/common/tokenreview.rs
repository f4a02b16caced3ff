//! A local stand-in for the Kubernetes TokenReview API, for real Kubernetes-auth logins against
//! an OpenBao dev server: HTTPS on 127.0.0.1 with a self-signed certificate made by the `openssl`
//! CLI (its PEM goes to the auth mount's `kubernetes_ca_cert`), answering
//! `POST /apis/authentication.k8s.io/v1/tokenreviews` for the tokens the test registered and
//! refusing every other token. It serves a bounded number of requests for a bounded time, so a
//! hung test cannot keep it alive. The admission decision stays OpenBao's: the stand-in only says
//! who a token belongs to, as the API server would.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Requests served at most.
const MAX_REQUESTS: usize = 256;
/// How long the stand-in lives at most.
const LIFETIME: Duration = Duration::from_secs(300);
/// Largest request read.
const MAX_REQUEST: usize = 256 * 1024;

/// Who a registered token belongs to.
#[derive(Debug, Clone)]
pub struct Account {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The audiences the token was issued for.
    pub audiences: Vec<String>,
}

/// The running stand-in.
pub struct TokenReview {
    pub url: String,
    pub ca_pem: String,
    tokens: Arc<Mutex<BTreeMap<String, Account>>>,
}

impl TokenReview {
    /// Starts it on a free loopback port, with a certificate made in `dir`.
    pub fn start(dir: &Path) -> TokenReview {
        let (cert_der, key_der, ca_pem) = certificate(dir);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(cert_der)],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.into()),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let tokens: Arc<Mutex<BTreeMap<String, Account>>> = Arc::default();
        let known = tokens.clone();
        std::thread::spawn(move || serve(listener, config, known));
        TokenReview {
            url,
            ca_pem,
            tokens,
        }
    }

    /// Make `token` a live token of `account`.
    pub fn register(&self, token: &str, account: Account) {
        self.tokens
            .lock()
            .unwrap()
            .insert(token.to_string(), account);
    }
}

/// A self-signed certificate for 127.0.0.1: (certificate DER, PKCS#8 key DER, PEM).
fn certificate(dir: &Path) -> (Vec<u8>, Vec<u8>, String) {
    let subject = [
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
    ];
    let files = super::certs::must(dir, "tokenreview", &subject, "the TLS stand-in");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let (key_s, pem_s) = (files.key.to_str().unwrap(), files.cert.to_str().unwrap());
    let cert_der = openssl(&["x509", "-in", pem_s, "-outform", "DER"]);
    // `pkey -outform DER` writes PKCS#1 for RSA on OpenSSL 3.0; `pkcs8 -topk8` is PKCS#8 always.
    let key_der = openssl(&[
        "pkcs8", "-topk8", "-nocrypt", "-in", key_s, "-outform", "DER",
    ]);
    (cert_der, key_der, files.cert_pem())
}

fn serve(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    tokens: Arc<Mutex<BTreeMap<String, Account>>>,
) {
    let started = Instant::now();
    for stream in listener.incoming().take(MAX_REQUESTS) {
        if started.elapsed() > LIFETIME {
            return;
        }
        let Ok(tcp) = stream else { continue };
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = one_request(tcp, config.clone(), &tokens);
    }
}

/// Answer one HTTPS request (one per connection: the answer says `Connection: close`).
fn one_request(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    tokens: &Mutex<BTreeMap<String, Account>>,
) -> std::io::Result<()> {
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let body = read_request(&mut tls)?;
    let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = answer(&review, &tokens.lock().unwrap()).to_string();
    write!(
        tls,
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    tls.flush()?;
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(())
}

/// The body of an HTTP/1.1 request with a `Content-Length`, bounded.
fn read_request(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = r.read(&mut chunk)?;
        if n == 0 || buf.len() > MAX_REQUEST {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST);
    while buf.len() < header_end + length {
        let n = r.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(buf[header_end..].to_vec())
}

/// The TokenReview answer: authenticated for a registered token, with the requested audiences
/// the token was issued for (all of its audiences when none are requested).
fn answer(review: &Value, tokens: &BTreeMap<String, Account>) -> Value {
    let token = review["spec"]["token"].as_str().unwrap_or("");
    let requested: Vec<String> = review["spec"]["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let status = match tokens.get(token) {
        Some(a) => {
            let audiences: Vec<&String> = if requested.is_empty() {
                a.audiences.iter().collect()
            } else {
                a.audiences
                    .iter()
                    .filter(|x| requested.contains(x))
                    .collect()
            };
            if !requested.is_empty() && audiences.is_empty() {
                json!({"authenticated": false, "error": "token audiences are invalid"})
            } else {
                json!({
                    "authenticated": true,
                    "user": {
                        "username": format!("system:serviceaccount:{}:{}", a.namespace, a.name),
                        "uid": a.uid,
                        "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{}", a.namespace)],
                    },
                    "audiences": audiences,
                })
            }
        }
        None => json!({"authenticated": false, "error": "invalid bearer token"}),
    };
    json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": review["spec"].clone(),
        "status": status,
    })
}
