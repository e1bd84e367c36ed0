//! Google Calendar push notifications (external-apis-v2.md §5.4): POSTs without a body
//! whose `X-Goog-Channel-Token` equals the token set when the channel was opened.
//!
//! The token is derived from the connector's refresh token (hex HMAC-SHA256 under it of a
//! fixed label), so nothing more is stored, a new connection changes it, and the token
//! reveals nothing about the refresh token. `X-Goog-Resource-State: sync` (the channel's
//! first message) is acknowledged without a run; `exists` / `not_exists` queue one. The
//! channel id and message number identify a delivery.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

use crate::webhook::{
    WebhookCall, WebhookProtocol, WebhookRejection, WebhookScope, constant_time_eq, header_str,
    header_string,
};

const TOKEN: &str = "X-Goog-Channel-Token";
const STATE: &str = "X-Goog-Resource-State";
const CHANNEL: &str = "X-Goog-Channel-ID";
const MESSAGE: &str = "X-Goog-Message-Number";

/// The label the channel token is derived with.
const LABEL: &[u8] = b"timebridge google_calendar push channel v1";

/// The token a push channel is opened with, derived from the refresh token `secret`.
pub fn channel_token(secret: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(LABEL);
    hex::encode(mac.finalize().into_bytes())
}

/// The `google_calendar` webhook protocol (push channels).
#[derive(Debug, Clone, Copy)]
pub struct GooglePush;

impl WebhookProtocol for GooglePush {
    fn verify(
        &self,
        headers: &HeaderMap,
        _body: &[u8],
        secret: &[u8],
    ) -> Result<(), WebhookRejection> {
        let token = header_str(headers, &TOKEN.to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .ok_or(WebhookRejection::Unsigned { header: TOKEN })?;
        if secret.is_empty() {
            return Err(WebhookRejection::NoSecret);
        }
        if !constant_time_eq(token.as_bytes(), channel_token(secret).as_bytes()) {
            return Err(WebhookRejection::BadSignature { header: TOKEN });
        }
        Ok(())
    }

    fn parse(&self, headers: &HeaderMap, _body: &[u8]) -> Result<WebhookCall, WebhookRejection> {
        let state = header_string(headers, &STATE.to_ascii_lowercase())
            .ok_or(WebhookRejection::MissingField { field: STATE })?;
        let channel = header_string(headers, &CHANNEL.to_ascii_lowercase());
        let number = header_string(headers, &MESSAGE.to_ascii_lowercase());
        let delivery_id = match (channel, number) {
            (Some(c), Some(n)) => Some(format!("{c}-{n}")),
            _ => None,
        };
        Ok(WebhookCall {
            delivery_id,
            scope: WebhookScope::Everything,
            acknowledge_only: state.eq_ignore_ascii_case("sync"),
            event: Some(state),
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

    #[test]
    fn the_channel_token_must_be_the_one_derived_from_the_refresh_token() {
        let secret = b"1//refresh-token";
        let token = channel_token(secret);
        assert_eq!(token.len(), 64);
        assert!(!token.contains("refresh"));
        let p = GooglePush;
        let ok = headers(&[("x-goog-channel-token", &token)]);
        assert!(p.verify(&ok, b"", secret).is_ok());
        assert_eq!(
            p.verify(&ok, b"", b"1//another-refresh-token"),
            Err(WebhookRejection::BadSignature { header: TOKEN })
        );
        assert_eq!(
            p.verify(&HeaderMap::new(), b"", secret),
            Err(WebhookRejection::Unsigned { header: TOKEN })
        );
        let wrong = headers(&[("x-goog-channel-token", "guess")]);
        assert!(p.verify(&wrong, b"", secret).is_err());
    }

    #[test]
    fn the_sync_message_is_acknowledged_and_changes_queue_a_run() {
        let p = GooglePush;
        let sync = headers(&[
            ("x-goog-resource-state", "sync"),
            ("x-goog-channel-id", "ch-1"),
            ("x-goog-message-number", "1"),
        ]);
        let call = p.parse(&sync, b"").unwrap();
        assert!(call.acknowledge_only);
        assert_eq!(call.delivery_id.as_deref(), Some("ch-1-1"));
        let change = headers(&[
            ("x-goog-resource-state", "exists"),
            ("x-goog-channel-id", "ch-1"),
            ("x-goog-message-number", "2"),
        ]);
        let call = p.parse(&change, b"").unwrap();
        assert!(!call.acknowledge_only);
        assert_eq!(call.scope, WebhookScope::Everything);
        assert_eq!(call.delivery_id.as_deref(), Some("ch-1-2"));
        assert_eq!(
            p.parse(&HeaderMap::new(), b""),
            Err(WebhookRejection::MissingField { field: STATE })
        );
    }
}
