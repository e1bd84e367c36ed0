//! Clockify's webhook calls: `Clockify-Signature` carries the webhook's token (a JWT that
//! does not expire), compared whole with the connector's `webhook_secret` in constant
//! time; `Clockify-Webhook-Event-Type` names the event; the body is the entry's JSON.
//!
//! Clockify sends no delivery id (UNCONFIRMED), so a repeated delivery is recognised by its
//! event, entry id and a digest of its body. Events about anything but time entries
//! (projects, clients, users, …) are acknowledged without a run.

use http::HeaderMap;
use serde_json::Value;
use sha1::{Digest, Sha1};

use crate::webhook::{
    WebhookCall, WebhookProtocol, WebhookRejection, WebhookScope, constant_time_eq, header_str,
    header_string,
};

const SIGNATURE: &str = "Clockify-Signature";
const EVENT: &str = "Clockify-Webhook-Event-Type";

/// The `clockify` webhook protocol.
#[derive(Debug, Clone, Copy)]
pub struct ClockifyWebhook;

/// Whether an event is about time entries (and may change what a sync reads).
fn about_entries(event: &str) -> bool {
    let e = event.to_ascii_uppercase();
    e.contains("TIME_ENTRY") || e.contains("TIMER")
}

impl WebhookProtocol for ClockifyWebhook {
    fn verify(
        &self,
        headers: &HeaderMap,
        _body: &[u8],
        secret: &[u8],
    ) -> Result<(), WebhookRejection> {
        let token = header_str(headers, SIGNATURE)
            .filter(|t| !t.is_empty())
            .ok_or(WebhookRejection::Unsigned { header: SIGNATURE })?;
        if secret.is_empty() || !constant_time_eq(token.as_bytes(), secret) {
            return Err(WebhookRejection::BadSignature { header: SIGNATURE });
        }
        Ok(())
    }

    fn parse(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookCall, WebhookRejection> {
        let event = header_string(headers, EVENT);
        let v: Value = serde_json::from_slice(body).map_err(|_| WebhookRejection::Unparseable {
            message: "the body is not JSON",
        })?;
        if let Some(e) = event.as_deref()
            && !about_entries(e)
        {
            return Ok(WebhookCall {
                delivery_id: None,
                scope: WebhookScope::Everything,
                event,
                acknowledge_only: true,
            });
        }
        let id = v["id"]
            .as_str()
            .filter(|i| !i.is_empty())
            .ok_or(WebhookRejection::MissingField { field: "id" })?;
        let digest = hex::encode(Sha1::digest(body));
        Ok(WebhookCall {
            delivery_id: Some(format!(
                "{}-{id}-{}",
                event.as_deref().unwrap_or("event"),
                &digest[..16]
            )),
            scope: WebhookScope::Everything,
            event,
            acknowledge_only: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const BODY: &[u8] =
        br#"{"id":"64c777ddd3fcab07cfbb210c","timeInterval":{"start":"2026-03-02T08:00:00Z"}}"#;

    #[test]
    fn the_token_must_equal_the_secret_whole() {
        let p = ClockifyWebhook;
        let ok = headers(&[("clockify-signature", "eyJ.token.sig")]);
        assert!(p.verify(&ok, BODY, b"eyJ.token.sig").is_ok());
        assert_eq!(
            p.verify(&ok, BODY, b"eyJ.token.si"),
            Err(WebhookRejection::BadSignature { header: SIGNATURE })
        );
        assert_eq!(
            p.verify(&HeaderMap::new(), BODY, b"eyJ.token.sig"),
            Err(WebhookRejection::Unsigned { header: SIGNATURE })
        );
    }

    #[test]
    fn an_entry_event_queues_a_run_and_repeats_share_a_delivery_id() {
        let p = ClockifyWebhook;
        let h = headers(&[("clockify-webhook-event-type", "NEW_TIME_ENTRY")]);
        let a = p.parse(&h, BODY).unwrap();
        assert!(!a.acknowledge_only);
        assert_eq!(a.event.as_deref(), Some("NEW_TIME_ENTRY"));
        assert_eq!(a.scope, WebhookScope::Everything);
        assert_eq!(p.parse(&h, BODY).unwrap().delivery_id, a.delivery_id);
        let other = br#"{"id":"64c777ddd3fcab07cfbb210c","description":"x"}"#;
        assert_ne!(p.parse(&h, other).unwrap().delivery_id, a.delivery_id);
    }

    #[test]
    fn other_events_are_acknowledged_and_broken_bodies_refused() {
        let p = ClockifyWebhook;
        let h = headers(&[("clockify-webhook-event-type", "NEW_PROJECT")]);
        assert!(p.parse(&h, br#"{"id":"x"}"#).unwrap().acknowledge_only);
        let h = headers(&[("clockify-webhook-event-type", "TIME_ENTRY_DELETED")]);
        assert!(matches!(
            p.parse(&h, b"not json"),
            Err(WebhookRejection::Unparseable { .. })
        ));
        assert_eq!(
            p.parse(&h, b"{}"),
            Err(WebhookRejection::MissingField { field: "id" })
        );
    }
}
