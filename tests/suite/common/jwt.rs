//! RS256 JWTs for real logins against a JWT auth mount: a locally generated RSA key (by the
//! `openssl` CLI, once per test), its public key in PEM for `jwt_validation_pubkeys`, and signing
//! with `ring`.
//!
//! ```ignore
//! let signer = common::jwt::Signer::generate(server.dir());
//! server.put("auth/jwt/config", &json!({"jwt_validation_pubkeys": [signer.public_pem()]}));
//! let token = signer.sign_fresh(&claims);   // adds iat/exp (now, now + 5 min)
//! ```

use std::path::Path;
use std::process::Command;

use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Map, Value};

/// An RSA key pair that signs JWTs (RS256).
pub struct Signer {
    key: RsaKeyPair,
    public_pem: String,
    rng: SystemRandom,
}

impl Signer {
    /// Generates a 2048-bit RSA key with `openssl` in `dir`.
    pub fn generate(dir: &Path) -> Signer {
        let der = dir.join("jwt-signing-key.der");
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("cannot run openssl (needed to make a JWT key): {e}"));
            assert!(
                out.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        run(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ]);
        // ring reads the PKCS#1 form (`RSAPrivateKey`).
        let pkcs1 = dir.join("jwt-signing-key.pkcs1.der");
        run(&[
            "pkey",
            "-inform",
            "DER",
            "-in",
            der.to_str().unwrap(),
            "-traditional",
            "-outform",
            "DER",
            "-out",
            pkcs1.to_str().unwrap(),
        ]);
        let public_pem = String::from_utf8(run(&[
            "pkey",
            "-inform",
            "DER",
            "-in",
            der.to_str().unwrap(),
            "-pubout",
        ]))
        .unwrap();
        let bytes = std::fs::read(&pkcs1).unwrap();
        let key = RsaKeyPair::from_der(&bytes).expect("openssl's RSA key is not usable by ring");
        Signer {
            key,
            public_pem,
            rng: SystemRandom::new(),
        }
    }

    /// The public key (PEM, `BEGIN PUBLIC KEY`), for `jwt_validation_pubkeys`.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// A compact JWS of exactly these claims.
    pub fn sign(&self, claims: &Map<String, Value>) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(Value::Object(claims.clone()).to_string().as_bytes())
        );
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut sig,
            )
            .expect("RSA signing failed");
        format!("{signing_input}.{}", b64url(&sig))
    }

    /// Signs the claims with fresh `iat` and `exp` (now, now + 5 minutes) replacing any time
    /// claims the caller gave.
    pub fn sign_fresh(&self, claims: &Map<String, Value>) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut c = claims.clone();
        c.shift_remove("nbf");
        c.insert("iat".into(), json!(now));
        c.insert("exp".into(), json!(now + 300));
        self.sign(&c)
    }
}

/// Base64url without padding (RFC 7515).
pub fn b64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
