//! Connector plugins: one folder per remote system, the registry that maps a kind to its
//! implementation and settings schema, the traits the sync engine calls, and the shared
//! HTTP client.
//!
//! Adding a system is one folder (`src/<kind>/`, with a `kind()` returning its
//! [`KindInfo`]) plus one line in [`registry::kinds`]. A kind that receives webhooks
//! implements [`webhook::WebhookProtocol`] in its folder and names it in its
//! [`WebhookSpec`]; the server serves it at `/api/webhook/<kind>/{connector_id}`. A
//! notifier kind implements [`Notifier`] and returns it from [`Connector::as_notifier`].

pub mod clockify;
pub mod command;
pub mod connector;
pub mod email;
pub mod error;
pub mod google_calendar;
pub mod http;
pub mod jibble;
pub mod kimai;
pub mod marker;
pub mod oauth;
pub mod odoo;
pub mod outgoing_webhook;
pub mod registry;
mod seen;
pub mod slack;
pub mod timetracker;
pub mod webhook;
pub mod zammad;

pub use connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, Delivered, InstanceMemory, Notifier,
    OAuthConnect, ProjectCreator, SourceBatch, SourceConnector, SourceQuery, SourceScope,
    TargetConnector, TestReport,
};
pub use error::{ConnectorError, ConnectorResult, ErrorClass};
pub use marker::Marker;
pub use registry::{
    DimensionCatalogs, Dimensions, Feature, KindInfo, Role, SettingsError, WebhookSpec,
};
pub use timebridge_core::notify::{Notification, NotificationEvent};
pub use webhook::{WebhookCall, WebhookProtocol, WebhookRejection, WebhookScope};
