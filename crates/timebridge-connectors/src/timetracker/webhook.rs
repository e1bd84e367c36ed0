//! TimeTracker's outgoing webhooks (§4.10): `X-Webhook-Signature: sha256=<hex
//! HMAC-SHA256(secret, raw body)>` under the connector's `webhook_secret`, the event in
//! `X-Webhook-Event`, a JSON body `{"event_type","timestamp","entity":{"type","id"},…}`.
//!
//! TimeTracker sends no delivery id (`X-Webhook-ID` is the webhook's own id, the same on
//! every call), and a retried delivery repeats the same body: the delivery id used for
//! de-duplication is therefore the SHA-256 of the body. A call names one entry, but a run
//! reads by window, so it asks for everything in the window.

use hmac::Hmac;
use http::HeaderMap;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::webhook::{
    WebhookCall, WebhookProtocol, WebhookRejection, WebhookScope, header_string, verify_hex_hmac,
};

const SIGNATURE_NAME: &str = "X-Webhook-Signature";
const EVENT: &str = "x-webhook-event";

/// The TimeTracker webhook protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimetrackerWebhook;

impl WebhookProtocol for TimetrackerWebhook {
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secret: &[u8],
    ) -> Result<(), WebhookRejection> {
        verify_hex_hmac::<Hmac<Sha256>>(headers, SIGNATURE_NAME, "sha256=", body, secret)
    }

    fn parse(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookCall, WebhookRejection> {
        let payload: Value =
            serde_json::from_slice(body).map_err(|_| WebhookRejection::Unparseable {
                message: "The body is not JSON.",
            })?;
        if !payload.is_object() {
            return Err(WebhookRejection::Unparseable {
                message: "The body is not a JSON object.",
            });
        }
        let event = header_string(headers, EVENT).or_else(|| {
            payload["event_type"]
                .as_str()
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
        });
        let Some(event) = event else {
            return Err(WebhookRejection::MissingField {
                field: "event_type",
            });
        };
        Ok(WebhookCall {
            delivery_id: Some(hex::encode(Sha256::digest(body))),
            scope: WebhookScope::Everything,
            event: Some(event),
            acknowledge_only: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use hmac::Mac;

    const SECRET: &[u8] = b"tt-webhook-secret";

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const BODY: &[u8] =
        br#"{"event_type":"time_entry.deleted","entity":{"type":"time_entry","id":7}}"#;

    #[test]
    fn a_valid_sha256_signature_over_the_raw_body_is_accepted() {
        let h = headers(&[("x-webhook-signature", &sign(SECRET, BODY))]);
        assert_eq!(TimetrackerWebhook.verify(&h, BODY, SECRET), Ok(()));
    }

    #[test]
    fn a_missing_signature_is_unsigned() {
        assert_eq!(
            TimetrackerWebhook.verify(&HeaderMap::new(), BODY, SECRET),
            Err(WebhookRejection::Unsigned {
                header: "X-Webhook-Signature"
            })
        );
    }

    #[test]
    fn a_wrong_secret_body_scheme_or_hex_is_a_bad_signature() {
        let bad = Err(WebhookRejection::BadSignature {
            header: "X-Webhook-Signature",
        });
        let good = sign(SECRET, BODY);
        let h = headers(&[("x-webhook-signature", &good)]);
        assert_eq!(TimetrackerWebhook.verify(&h, BODY, b"other"), bad);
        assert_eq!(TimetrackerWebhook.verify(&h, b"{}", SECRET), bad);
        let sha1 = good.replacen("sha256=", "sha1=", 1);
        let h = headers(&[("x-webhook-signature", &sha1)]);
        assert_eq!(TimetrackerWebhook.verify(&h, BODY, SECRET), bad);
        let h = headers(&[("x-webhook-signature", "sha256=zz")]);
        assert_eq!(TimetrackerWebhook.verify(&h, BODY, SECRET), bad);
    }

    #[test]
    fn a_call_names_its_event_and_a_repeat_has_the_same_delivery_id() {
        let h = headers(&[("x-webhook-event", "time_entry.deleted")]);
        let a = TimetrackerWebhook.parse(&h, BODY).unwrap();
        let b = TimetrackerWebhook.parse(&h, BODY).unwrap();
        assert_eq!(a.event.as_deref(), Some("time_entry.deleted"));
        assert_eq!(a.scope, WebhookScope::Everything);
        assert_eq!(a.delivery_id, b.delivery_id);
        let other = TimetrackerWebhook
            .parse(&h, br#"{"event_type":"time_entry.created"}"#)
            .unwrap();
        assert_ne!(a.delivery_id, other.delivery_id);
        // Without the header the body's event_type names it.
        let c = TimetrackerWebhook.parse(&HeaderMap::new(), BODY).unwrap();
        assert_eq!(c.event.as_deref(), Some("time_entry.deleted"));
    }

    #[test]
    fn a_body_without_an_event_or_not_json_is_refused() {
        assert_eq!(
            TimetrackerWebhook.parse(&HeaderMap::new(), b"{}"),
            Err(WebhookRejection::MissingField {
                field: "event_type"
            })
        );
        assert!(matches!(
            TimetrackerWebhook.parse(&HeaderMap::new(), b"x=1"),
            Err(WebhookRejection::Unparseable { .. })
        ));
        assert!(matches!(
            TimetrackerWebhook.parse(&HeaderMap::new(), b"[1]"),
            Err(WebhookRejection::Unparseable { .. })
        ));
    }
}
