//! Passwords (Argon2id, PHC strings) and random secrets (API tokens, session ids, CSRF tokens),
//! which are stored only as SHA-256 digests: a stolen database holds no usable credential.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {0} characters long")]
    TooShort(usize),
    #[error("the password must be at most {0} characters long")]
    TooLong(usize),
    #[error("the stored password hash is not a valid Argon2 PHC string")]
    BadHash,
    #[error("hashing failed: {0}")]
    Hash(String),
}

impl PasswordError {
    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordError::TooShort(_) => "password.too_short",
            PasswordError::TooLong(_) => "password.too_long",
            PasswordError::BadHash | PasswordError::Hash(_) => "internal",
        }
    }
    /// The message's named arguments.
    pub fn params(&self) -> kesher_core::Params {
        match self {
            PasswordError::TooShort(n) => kesher_core::params!(min = *n),
            PasswordError::TooLong(n) => kesher_core::params!(max = *n),
            PasswordError::BadHash | PasswordError::Hash(_) => kesher_core::Params::new(),
        }
    }
}

pub const MIN_PASSWORD: usize = 10;
pub const MAX_PASSWORD: usize = 256;

pub fn validate_password(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(PasswordError::TooShort(MIN_PASSWORD));
    }
    if n > MAX_PASSWORD {
        return Err(PasswordError::TooLong(MAX_PASSWORD));
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    // OWASP's Argon2id setting: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password with Argon2id and the given 16 random bytes of salt.
pub fn hash_password(password: &str, salt: [u8; 16]) -> Result<String, PasswordError> {
    validate_password(password)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string (in constant time).
pub fn verify_password(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|_| PasswordError::BadHash)?;
    Ok(argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Lower-case hex SHA-256 of a secret: what the store keeps for tokens and sessions.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

/// An API token as shown once to its owner: `ksr_` and 64 hex digits (256 random bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSecret(pub String);

impl TokenSecret {
    pub const PREFIX: &'static str = "ksr_";

    pub fn from_random(bytes: [u8; 32]) -> TokenSecret {
        TokenSecret(format!("{}{}", Self::PREFIX, hex(&bytes)))
    }
    /// What is stored.
    pub fn digest(&self) -> String {
        hash_secret(&self.0)
    }
    /// The first characters, kept in clear so that a token can be recognised in a list.
    pub fn hint(&self) -> String {
        self.0.chars().take(Self::PREFIX.len() + 6).collect()
    }
    /// Whether a presented string has the shape of a token (checked before any lookup).
    pub fn looks_valid(s: &str) -> bool {
        s.len() == Self::PREFIX.len() + 64
            && s.starts_with(Self::PREFIX)
            && s[Self::PREFIX.len()..].bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// A session id or CSRF token: 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSecret(pub String);

impl SessionSecret {
    pub fn from_random(bytes: [u8; 32]) -> SessionSecret {
        SessionSecret(hex(&bytes))
    }
    pub fn digest(&self) -> String {
        hash_secret(&self.0)
    }
    pub fn looks_valid(s: &str) -> bool {
        s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
    }
    /// The CSRF token of this session: derived from the session secret (SHA-256, so it tells
    /// nothing of the secret), so that a page written on the server can put it in its forms
    /// while only its digest is stored.
    pub fn csrf_token(&self) -> SessionSecret {
        SessionSecret(hash_secret(&format!("kesher-csrf:{}", self.0)))
    }
}
