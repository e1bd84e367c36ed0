//! Session tokens: opaque random strings handed to the client once and stored only as
//! HMAC-SHA256 under `SECRET_KEY`, so a copy of the database yields no usable session.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::Key32;

/// How long a session lasts after login.
pub const SESSION_TTL: chrono::Duration = chrono::Duration::hours(12);

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "timebridge_session";

/// A fresh token: 32 random bytes, URL-safe base64 without padding.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The value stored for `token`: hex HMAC-SHA256 keyed with `SECRET_KEY`.
pub fn token_digest(secret: &Key32, token: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(token.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_only_as_a_keyed_digest() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.len() >= 43);
        let key = Key32::from_base64(&base64::engine::general_purpose::STANDARD.encode([1u8; 32]))
            .unwrap();
        let other =
            Key32::from_base64(&base64::engine::general_purpose::STANDARD.encode([2u8; 32]))
                .unwrap();
        let d = token_digest(&key, &a);
        assert_eq!(d.len(), 64);
        assert!(!d.contains(&a));
        assert_eq!(d, token_digest(&key, &a));
        assert_ne!(d, token_digest(&other, &a));
    }
}
