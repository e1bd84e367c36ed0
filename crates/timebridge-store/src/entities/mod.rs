//! SeaORM entities, one per table; internal to the crate. The public API speaks in the
//! plain records of [`crate::repo`] so that column layout (for example encrypted columns)
//! can change without touching callers.

pub(crate) mod admin_user;
pub(crate) mod audit_event;
pub(crate) mod conflict;
pub(crate) mod connector;
pub(crate) mod connector_memory;
pub(crate) mod link;
pub(crate) mod mapping;
pub(crate) mod meta;
pub(crate) mod mirror_intent;
pub(crate) mod notification;
pub(crate) mod oauth_state;
pub(crate) mod pipeline;
pub(crate) mod pipeline_lease;
pub(crate) mod run;
pub(crate) mod run_item;
pub(crate) mod session;
pub(crate) mod setting;
pub(crate) mod webhook_delivery;
pub(crate) mod write_intent;
