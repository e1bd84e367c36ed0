//! The webhook protocol of a kind: how its calls are signed and what their payload names.
//!
//! Pure: no I/O and no server types. The server serves every kind with
//! [`crate::Feature::Webhook`] at `/api/webhook/<kind>/{connector_id}` through the
//! [`WebhookProtocol`] in its [`crate::WebhookSpec`]; it owns the transport rules (body
//! limit, secret lookup, de-duplication, queueing) and maps a [`WebhookRejection`] to a
//! status by its variant, never by wording.

use http::HeaderMap;
use subtle::ConstantTimeEq;

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRejection {
    /// The connector has no secret configured: calls are never accepted unsigned (401).
    #[error("this connector has no webhook secret; unsigned calls are never accepted")]
    NoSecret,
    /// The signature (or token) header is missing (401).
    #[error("the {header} header is missing")]
    Unsigned { header: &'static str },
    /// The signature does not match the body, is malformed or stale (401).
    #[error("the {header} does not match the body")]
    BadSignature { header: &'static str },
    /// The body cannot be read as the kind's payload (400).
    #[error("{message}")]
    Unparseable { message: &'static str },
    /// The payload lacks a field it must have (400, naming the field).
    #[error("{field} is missing")]
    MissingField { field: &'static str },
}

impl WebhookRejection {
    /// Whether the call failed authentication (401) rather than parsing (400).
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self,
            Self::NoSecret | Self::Unsigned { .. } | Self::BadSignature { .. }
        )
    }

    /// A short reason for the audit trail.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoSecret => "no webhook secret is configured",
            Self::Unsigned { .. } => "missing signature",
            Self::BadSignature { .. } => "wrong signature",
            Self::Unparseable { .. } => "unparseable body",
            Self::MissingField { .. } => "missing field",
        }
    }
}

/// What a call asks to be synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookScope {
    /// The source records the payload names (Zammad: ticket ids), never empty.
    Records(Vec<i64>),
    /// Everything in the pipeline's window (the payload names nothing narrower).
    Everything,
}

impl WebhookScope {
    /// The record ids, or `None` for everything.
    pub fn record_ids(&self) -> Option<&[i64]> {
        match self {
            Self::Records(ids) => Some(ids),
            Self::Everything => None,
        }
    }
}

/// A verified call, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookCall {
    /// The sender's delivery id, for de-duplication (trimmed; `None` when absent or empty).
    pub delivery_id: Option<String>,
    /// What the payload names.
    pub scope: WebhookScope,
    /// The event (or trigger) name, if the call carries one.
    pub event: Option<String>,
    /// Acknowledge without queueing a run (e.g. a push channel's `sync` handshake).
    pub acknowledge_only: bool,
}

/// A kind's webhook protocol. Implementations live in the kind's folder and are referenced
/// from its [`crate::WebhookSpec`].
pub trait WebhookProtocol: std::fmt::Debug + Send + Sync {
    /// Checks the call's signature over the raw `body` with the connector's `secret`, in
    /// constant time. Missing → [`WebhookRejection::Unsigned`], wrong or malformed →
    /// [`WebhookRejection::BadSignature`].
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secret: &[u8],
    ) -> Result<(), WebhookRejection>;

    /// Reads a verified call.
    fn parse(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookCall, WebhookRejection>;

    /// The command protocol, for kinds whose calls are chat commands (a Slack slash
    /// command) rather than change notices: the server answers them instead of queueing
    /// runs. Default: none.
    fn as_command(&self) -> Option<&dyn crate::command::CommandProtocol> {
        None
    }
}

/// The header's value as trimmed text, if present and readable.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The header's value as owned text, if present and not empty.
pub fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    header_str(headers, name)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Verifies a signature header of the form `<prefix><hex HMAC of the raw body>` under
/// `secret`, with the MAC `M` (Zammad: `sha1=` and HMAC-SHA1; TimeTracker: `sha256=` and
/// HMAC-SHA256). `name` is the header as people write it, for the rejection. The
/// comparison is constant-time.
pub fn verify_hex_hmac<M: hmac::Mac + hmac::digest::KeyInit>(
    headers: &HeaderMap,
    name: &'static str,
    prefix: &str,
    body: &[u8],
    secret: &[u8],
) -> Result<(), WebhookRejection> {
    let bad = WebhookRejection::BadSignature { header: name };
    let header = header_str(headers, &name.to_ascii_lowercase())
        .ok_or(WebhookRejection::Unsigned { header: name })?;
    let hex_sig = header.strip_prefix(prefix).ok_or_else(|| bad.clone())?;
    let sig = hex::decode(hex_sig.trim()).map_err(|_| bad.clone())?;
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).map_err(|_| bad.clone())?;
    mac.update(body);
    mac.verify_slice(&sig).map_err(|_| bad)
}

/// Compares two byte strings in constant time (for kinds whose signature is a shared token).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_split_into_authentication_and_parsing() {
        assert!(WebhookRejection::NoSecret.is_unauthenticated());
        assert!(WebhookRejection::Unsigned { header: "X" }.is_unauthenticated());
        assert!(WebhookRejection::BadSignature { header: "X" }.is_unauthenticated());
        assert!(!WebhookRejection::Unparseable { message: "m" }.is_unauthenticated());
        assert!(!WebhookRejection::MissingField { field: "f" }.is_unauthenticated());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"toke"));
        assert!(!constant_time_eq(b"token", b"tokem"));
    }

    #[test]
    fn every_kind_with_the_webhook_feature_has_a_protocol_and_secret_setting() {
        for kind in crate::registry::kinds() {
            if let Some(spec) = kind.webhook {
                assert!(
                    kind.secret_settings.contains(&spec.secret_setting),
                    "{}: the webhook secret is a secret setting",
                    kind.kind
                );
                // The protocol answers without panicking on an empty call.
                let headers = HeaderMap::new();
                assert!(spec.protocol.verify(&headers, b"", b"secret").is_err());
            }
        }
    }
}
