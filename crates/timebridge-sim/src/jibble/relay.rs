//! What a relay (an n8n or Make workflow that watches Jibble) posts to timebridge when a
//! punch changes: `{"eventType":"timeEntry.created|updated|deleted","payload":{…}}`
//! signed `X-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, with a delivery id.
//! Jibble itself sends no webhooks; the demo and tests use this as the relay.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::state::{JibbleControl, Punch};
use crate::SimError;

/// The `X-Signature-256` value for `body` under `secret`.
pub fn relay_signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl JibbleControl {
    /// Posts the relay's call about `punch` (`event`: `timeEntry.created`, …) to `url`,
    /// signed with `secret`, and returns the answer's status.
    pub async fn relay_webhook(
        &self,
        url: &str,
        secret: &str,
        event: &str,
        punch: &Punch,
    ) -> Result<u16, SimError> {
        let payload = self.lock().punch_json(punch);
        let body = serde_json::to_vec(&json!({"eventType": event, "payload": payload}))
            .unwrap_or_default();
        let delivery = format!("relay-{}-{}", punch.id, rand::random::<u64>());
        let resp = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Signature-256", relay_signature(secret, &body))
            .header("X-Delivery-Id", delivery)
            .body(body)
            .send()
            .await?;
        Ok(resp.status().as_u16())
    }
}
