//! The error every connector call returns, classified so that callers can tell a wrong
//! token from an unreachable host, a refused write from a remote fault, and retry only
//! what is safe.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Why a connector call failed. Messages are written for the admin who reads them on a
/// run, a conflict or a connector test; they never contain a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The connector's configuration cannot work (bad base URL, unreadable CA
    /// certificate, unknown time zone).
    #[error("configuration: {0}")]
    Config(String),
    /// No connection could be made (DNS, refused, unreachable network).
    #[error("cannot reach {host}: {message}")]
    Unreachable { host: String, message: String },
    /// The TLS handshake failed (unknown CA, wrong host name, expired certificate).
    #[error("TLS handshake with {host} failed: {message}")]
    Tls { host: String, message: String },
    /// The remote did not answer within the configured time.
    #[error("{host} did not answer within {seconds} s")]
    Timeout { host: String, seconds: u64 },
    /// The connection broke after the request was sent; a write may or may not have
    /// taken effect.
    #[error("connection to {host} broke before the answer arrived: {message}")]
    Interrupted { host: String, message: String },
    /// The remote refused the credentials (wrong or revoked token).
    #[error("the API token was rejected ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// The token is valid but lacks a permission the call needs.
    #[error("permission denied: {message}")]
    Forbidden { message: String },
    /// The record does not exist (or the route does not, on an old server).
    #[error("not found: {message}")]
    NotFound { message: String },
    /// The remote kept answering 429 after every retry.
    #[error("rate limited by the remote; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The remote refused the data, with its validation messages by field (`""` holds
    /// global messages).
    #[error("{}", rejected_message(message, fields))]
    Rejected {
        message: String,
        fields: BTreeMap<String, Vec<String>>,
    },
    /// The target entry is exported or inside a locked period.
    #[error("locked: {message}")]
    Locked { message: String },
    /// The entry cannot be written exactly (e.g. an instant Kimai's wall-time input cannot
    /// express); nothing was sent.
    #[error("cannot be written exactly: {message}")]
    Unrepresentable { message: String },
    /// Any other answer: a 5xx after the retries, an unexpected status, a body that is not
    /// what the API documents.
    #[error("{host} answered {status}: {message}")]
    Remote {
        host: String,
        status: u16,
        message: String,
    },
    /// The answer's body did not parse as the documented JSON.
    #[error("unexpected answer from {host}: {message}")]
    Protocol { host: String, message: String },
}

fn rejected_message(message: &str, fields: &BTreeMap<String, Vec<String>>) -> String {
    if fields.is_empty() {
        return format!("rejected: {message}");
    }
    let parts: Vec<String> = fields
        .iter()
        .map(|(field, msgs)| {
            if field.is_empty() {
                msgs.join(" ")
            } else {
                format!("{field}: {}", msgs.join(" "))
            }
        })
        .collect();
    format!("rejected: {message} ({})", parts.join("; "))
}

/// Coarse classes, used in test reports, run errors and metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    Config,
    Unreachable,
    Tls,
    Timeout,
    Interrupted,
    Unauthorized,
    Forbidden,
    NotFound,
    RateLimited,
    Rejected,
    Locked,
    Unrepresentable,
    Remote,
    Protocol,
}

impl ConnectorError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            ConnectorError::Config(_) => ErrorClass::Config,
            ConnectorError::Unreachable { .. } => ErrorClass::Unreachable,
            ConnectorError::Tls { .. } => ErrorClass::Tls,
            ConnectorError::Timeout { .. } => ErrorClass::Timeout,
            ConnectorError::Interrupted { .. } => ErrorClass::Interrupted,
            ConnectorError::Unauthorized { .. } => ErrorClass::Unauthorized,
            ConnectorError::Forbidden { .. } => ErrorClass::Forbidden,
            ConnectorError::NotFound { .. } => ErrorClass::NotFound,
            ConnectorError::RateLimited { .. } => ErrorClass::RateLimited,
            ConnectorError::Rejected { .. } => ErrorClass::Rejected,
            ConnectorError::Locked { .. } => ErrorClass::Locked,
            ConnectorError::Unrepresentable { .. } => ErrorClass::Unrepresentable,
            ConnectorError::Remote { .. } => ErrorClass::Remote,
            ConnectorError::Protocol { .. } => ErrorClass::Protocol,
        }
    }

    /// Whether a write that failed this way may still have taken effect remotely, so the
    /// caller must look before writing again.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            ConnectorError::Timeout { .. }
                | ConnectorError::Interrupted { .. }
                | ConnectorError::Protocol { .. }
        ) || matches!(self, ConnectorError::Remote { status, .. } if *status >= 500)
    }

    /// Whether the failure says something about this entry (the target refused it)
    /// rather than about the remote as a whole: such an error becomes a conflict, the
    /// others fail or interrupt the run.
    pub fn is_entry_level(&self) -> bool {
        matches!(
            self,
            ConnectorError::Rejected { .. }
                | ConnectorError::Locked { .. }
                | ConnectorError::Unrepresentable { .. }
                | ConnectorError::NotFound { .. }
        )
    }

    /// A hint for the retry loop: how long the remote asked us to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ConnectorError::RateLimited { retry_after_secs } => {
                Some(Duration::from_secs(*retry_after_secs))
            }
            _ => None,
        }
    }
}

/// The result type of connector calls.
pub type ConnectorResult<T> = Result<T, ConnectorError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_names_every_field_message() {
        let mut fields = BTreeMap::new();
        fields.insert(
            String::new(),
            vec!["This form should not contain extra fields.".into()],
        );
        fields.insert(
            "project".into(),
            vec!["A project needs to be selected.".into()],
        );
        let e = ConnectorError::Rejected {
            message: "Validation Failed".into(),
            fields,
        };
        assert_eq!(
            e.to_string(),
            "rejected: Validation Failed (This form should not contain extra fields.; project: A project needs to be selected.)"
        );
        assert!(e.is_entry_level());
        assert!(!e.outcome_unknown());
    }

    #[test]
    fn a_broken_connection_leaves_a_write_outcome_unknown() {
        let e = ConnectorError::Interrupted {
            host: "kimai.example".into(),
            message: "connection closed".into(),
        };
        assert!(e.outcome_unknown());
        assert_eq!(e.class(), ErrorClass::Interrupted);
    }
}
