//! Recording audit events from handlers. Details never carry secrets: callers pass
//! field names (`{"fields_changed": ["api_token"]}`), never values of secrets.

use serde_json::Value;
use timebridge_store::{AuditAction, NewAuditEvent};

use crate::sync::Services;

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The admin, through the API or UI.
    Admin,
    /// The service itself (scheduler, retention job).
    System,
    /// A webhook call.
    Webhook,
}

impl Actor {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::System => "system",
            Self::Webhook => "webhook",
        }
    }
}

/// An audit event stamped with the clock of `state`, for a caller that stores it together
/// with other rows (`Store::complete_write`); [`record`] appends one on its own.
pub fn event(
    state: &impl Services,
    actor: Actor,
    action: AuditAction,
    entity_type: &str,
    entity_id: Option<String>,
    details: Value,
    ip: Option<String>,
) -> NewAuditEvent {
    NewAuditEvent {
        at: state.clock().now(),
        actor: actor.as_str().to_string(),
        action,
        entity_type: entity_type.to_string(),
        entity_id,
        details,
        ip,
    }
}

/// Appends an audit event stamped with the clock of `state` (the web state or the sync
/// environment). A failure to write is logged as an error (the change it describes has
/// already happened) rather than answered.
pub async fn record(
    state: &impl Services,
    actor: Actor,
    action: AuditAction,
    entity_type: &str,
    entity_id: Option<String>,
    details: Value,
    ip: Option<String>,
) {
    let event = event(state, actor, action, entity_type, entity_id, details, ip);
    if let Err(err) = state.store().append_audit(event).await {
        tracing::error!(action = action.as_str(), entity_type, error = %err, "Could not write an audit event.");
    }
}
