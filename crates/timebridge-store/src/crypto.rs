//! Encryption of secrets at rest (API tokens, webhook secrets) and the `Secret` wrapper
//! that keeps plaintext out of logs.
//!
//! Values are sealed with XChaCha20-Poly1305 under a 32-byte key and a random 24-byte
//! nonce, and stored as `v1:` + standard base64 of `nonce || ciphertext`. Every value is
//! bound to the row and field it belongs to through the AEAD associated data (for example
//! `connector:7:api_token`), so a ciphertext copied into another row or field does not
//! decrypt.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

/// Length of an encryption key in bytes.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const PREFIX: &str = "v1:";

/// A plaintext secret. `Debug` and `Display` print `[redacted]` so that a secret inside a
/// record, error or log field never leaks; read it deliberately with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a plaintext value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plaintext; call it only where the value is really needed (HTTP auth, HMAC).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a key string was rejected; the caller prefixes the variable name
/// (`ENCRYPTION_KEY`, `SECRET_KEY`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The string is not standard base64.
    #[error("is not valid standard base64 (generate one with `openssl rand -base64 32`)")]
    NotBase64,
    /// The string decodes to the wrong number of bytes.
    #[error(
        "decodes to {0} bytes but must be exactly 32 bytes (generate one with `openssl rand -base64 32`)"
    )]
    WrongLength(usize),
}

/// Decodes a standard-base64 key string into exactly 32 bytes; shared by
/// `ENCRYPTION_KEY` and `SECRET_KEY` parsing. Surrounding whitespace is ignored.
pub fn decode_key(encoded: &str) -> Result<[u8; KEY_LEN], KeyError> {
    let bytes = STANDARD
        .decode(encoded.trim())
        .map_err(|_| KeyError::NotBase64)?;
    <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| KeyError::WrongLength(bytes.len()))
}

/// Decryption failed: wrong key, tampered value, or a value moved from another row/field.
/// Deliberately carries no detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a stored secret could not be decrypted (wrong key, or value not bound to this row)")]
pub struct DecryptError;

/// Seals and opens secrets at rest. Cheap to clone; `Debug` never shows the key.
#[derive(Clone)]
pub struct Cipher {
    aead: XChaCha20Poly1305,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher([redacted])")
    }
}

impl Cipher {
    /// Builds a cipher from raw key bytes.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        Self {
            aead: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Builds a cipher from a standard-base64 key such as the value of `ENCRYPTION_KEY`.
    pub fn from_base64(encoded: &str) -> Result<Self, KeyError> {
        decode_key(encoded).map(|key| Self::new(&key))
    }

    /// A fresh random key in standard base64, ready to be written to `DATA_DIR` when the
    /// operator did not configure one.
    pub fn generate_key() -> String {
        let mut key = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// Encrypts `plaintext` bound to `aad` (the row and field it is stored in).
    pub fn encrypt(&self, plaintext: &[u8], aad: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens a value produced by [`Cipher::encrypt`] with the same `aad`.
    pub fn decrypt(&self, stored: &str, aad: &str) -> Result<Vec<u8>, DecryptError> {
        let encoded = stored.strip_prefix(PREFIX).ok_or(DecryptError)?;
        let raw = STANDARD.decode(encoded).map_err(|_| DecryptError)?;
        if raw.len() < NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        self.aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| DecryptError)
    }

    /// Encrypts a text secret.
    pub fn encrypt_secret(&self, secret: &Secret, aad: &str) -> String {
        self.encrypt(secret.expose().as_bytes(), aad)
    }

    /// Decrypts a text secret.
    pub fn decrypt_secret(&self, stored: &str, aad: &str) -> Result<Secret, DecryptError> {
        let bytes = self.decrypt(stored, aad)?;
        String::from_utf8(bytes)
            .map(Secret)
            .map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        Cipher::new(&[7u8; KEY_LEN])
    }

    #[test]
    fn a_value_round_trips_with_the_same_aad() {
        let c = cipher();
        let sealed = c.encrypt(b"hello", "connector:1:api_token");
        assert!(sealed.starts_with("v1:"));
        assert_eq!(
            c.decrypt(&sealed, "connector:1:api_token").unwrap(),
            b"hello"
        );
    }

    #[test]
    fn a_value_does_not_open_under_another_row_or_key() {
        let c = cipher();
        let sealed = c.encrypt(b"hello", "connector:1:api_token");
        assert_eq!(
            c.decrypt(&sealed, "connector:2:api_token"),
            Err(DecryptError)
        );
        let other = Cipher::new(&[8u8; KEY_LEN]);
        assert_eq!(
            other.decrypt(&sealed, "connector:1:api_token"),
            Err(DecryptError)
        );
        assert_eq!(c.decrypt("garbage", "x"), Err(DecryptError));
    }

    #[test]
    fn encrypting_twice_gives_different_ciphertexts() {
        let c = cipher();
        assert_ne!(c.encrypt(b"x", "a"), c.encrypt(b"x", "a"));
    }

    #[test]
    fn key_strings_must_be_base64_of_exactly_32_bytes() {
        let key = Cipher::generate_key();
        assert!(Cipher::from_base64(&key).is_ok());
        assert_eq!(decode_key("not base64!").unwrap_err(), KeyError::NotBase64);
        assert_eq!(decode_key("AAAA").unwrap_err(), KeyError::WrongLength(3));
        assert!(
            KeyError::WrongLength(3)
                .to_string()
                .contains("exactly 32 bytes")
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert!(!format!("{:?}", cipher()).contains('7'));
    }
}
