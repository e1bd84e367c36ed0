//! The relay webhook of the `jibble` kind. Jibble has no documented webhooks (Zapier's
//! triggers poll); a relay (n8n, Make, a script polling Jibble or receiving what an Odoo
//! module guessed: `{"eventType":"timeEntry.created|updated|deleted","payload":{…}}`,
//! UNCONFIRMED) posts to timebridge, signed `X-Signature-256: sha256=<hex HMAC-SHA256 of
//! the raw body>` with the connector's `webhook_secret`.
//!
//! Any signed JSON body (an empty one too) queues a run of the source's pipelines: the
//! read is by window, so the payload only names the event. A repeated delivery is
//! recognised by the relay's delivery id (`X-Delivery-Id`, `X-Request-Id`, or a
//! `deliveryId` / `id` in the body), else, for a payload that names a time entry, by the
//! event, the entry and a digest of the body; a body that names nothing is never taken
//! for a repeat (a relay's periodic "something changed" ping must always run).

use hmac::Hmac;
use http::HeaderMap;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::webhook::{
    WebhookCall, WebhookProtocol, WebhookRejection, WebhookScope, header_string, verify_hex_hmac,
};

const SIGNATURE: &str = "X-Signature-256";

/// The `jibble` relay webhook protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct JibbleWebhook;

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl WebhookProtocol for JibbleWebhook {
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secret: &[u8],
    ) -> Result<(), WebhookRejection> {
        verify_hex_hmac::<Hmac<Sha256>>(headers, SIGNATURE, "sha256=", body, secret)
    }

    fn parse(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookCall, WebhookRejection> {
        let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(body).map_err(|_| WebhookRejection::Unparseable {
                message: "The body is not JSON.",
            })?
        };
        let event = ["eventType", "event", "type", "trigger"]
            .iter()
            .find_map(|k| text(&v[*k]));
        let delivery = header_string(headers, "x-delivery-id")
            .or_else(|| header_string(headers, "x-request-id"))
            .or_else(|| text(&v["deliveryId"]))
            .or_else(|| text(&v["id"]));
        let entry = ["payload", "data", "timeEntry"]
            .iter()
            .find_map(|k| text(&v[*k]["id"]));
        let delivery = delivery.or_else(|| {
            entry.map(|id| {
                let digest = hex::encode(Sha256::digest(body));
                format!(
                    "{}-{id}-{}",
                    event.as_deref().unwrap_or("event"),
                    &digest[..16]
                )
            })
        });
        Ok(WebhookCall {
            delivery_id: delivery,
            scope: WebhookScope::Everything,
            event,
            acknowledge_only: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use hmac::Mac;
    use http::HeaderValue;

    use super::*;

    const SECRET: &[u8] = b"relay-webhook-secret";
    const BODY: &[u8] = br#"{"eventType":"timeEntry.created","payload":{"id":"7e000001-0001-4001-8000-000000000001","type":"In"}}"#;

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

    #[test]
    fn only_the_hmac_of_the_raw_body_under_the_secret_is_accepted() {
        let p = JibbleWebhook;
        let good = sign(SECRET, BODY);
        assert!(
            p.verify(&headers(&[("x-signature-256", &good)]), BODY, SECRET)
                .is_ok()
        );
        let other_body = br#"{"eventType":"timeEntry.deleted"}"#;
        assert_eq!(
            p.verify(&headers(&[("x-signature-256", &good)]), other_body, SECRET),
            Err(WebhookRejection::BadSignature { header: SIGNATURE })
        );
        assert_eq!(
            p.verify(
                &headers(&[("x-signature-256", &good)]),
                BODY,
                b"another-secret"
            ),
            Err(WebhookRejection::BadSignature { header: SIGNATURE })
        );
        let bare = good.trim_start_matches("sha256=").to_owned();
        assert_eq!(
            p.verify(&headers(&[("x-signature-256", &bare)]), BODY, SECRET),
            Err(WebhookRejection::BadSignature { header: SIGNATURE })
        );
        assert_eq!(
            p.verify(&HeaderMap::new(), BODY, SECRET),
            Err(WebhookRejection::Unsigned { header: SIGNATURE })
        );
    }

    #[test]
    fn the_guessed_shape_names_its_event_and_repeats_share_a_delivery_id() {
        let p = JibbleWebhook;
        let a = p.parse(&HeaderMap::new(), BODY).unwrap();
        assert_eq!(a.event.as_deref(), Some("timeEntry.created"));
        assert_eq!(a.scope, WebhookScope::Everything);
        assert!(!a.acknowledge_only);
        assert_eq!(
            p.parse(&HeaderMap::new(), BODY).unwrap().delivery_id,
            a.delivery_id
        );
        let other = br#"{"eventType":"timeEntry.updated","payload":{"id":"7e000001-0001-4001-8000-000000000001"}}"#;
        assert_ne!(
            p.parse(&HeaderMap::new(), other).unwrap().delivery_id,
            a.delivery_id
        );
        let h = headers(&[("x-delivery-id", "n8n-exec-42")]);
        assert_eq!(
            p.parse(&h, BODY).unwrap().delivery_id.as_deref(),
            Some("n8n-exec-42")
        );
    }

    #[test]
    fn other_shapes_queue_a_run_too_and_only_non_json_is_refused() {
        let p = JibbleWebhook;
        for body in [
            &b""[..],
            b"{}",
            br#"[1,2]"#,
            br#"{"event":"clock-in","person":"Anna"}"#,
        ] {
            let call = p.parse(&HeaderMap::new(), body).unwrap();
            assert!(!call.acknowledge_only);
            assert_eq!(call.delivery_id, None, "{}", String::from_utf8_lossy(body));
        }
        assert!(matches!(
            p.parse(&HeaderMap::new(), b"not json"),
            Err(WebhookRejection::Unparseable { .. })
        ));
    }
}
