//! Connector plugins: one folder per remote system, the registry that maps a kind to its
//! implementation and settings schema, the traits the sync engine calls, and the shared
//! HTTP client.
//!
//! Adding a system is one folder (`src/<kind>/`, with a `kind()` returning its
//! [`KindInfo`]) plus one line in [`registry::kinds`]. A kind that receives webhooks
//! implements [`webhook::WebhookProtocol`] in its folder and names it in its
//! [`WebhookSpec`]; the server serves it at `/api/webhook/<kind>/{connector_id}`.

pub mod clockify;
pub mod connector;
pub mod error;
pub mod google_calendar;
pub mod http;
pub mod kimai;
pub mod marker;
pub mod oauth;
pub mod odoo;
pub mod registry;
pub mod timetracker;
pub mod webhook;
pub mod zammad;

pub use connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, InstanceMemory, OAuthConnect,
    ProjectCreator, SourceBatch, SourceConnector, SourceQuery, SourceScope, TargetConnector,
    TestReport,
};
pub use error::{ConnectorError, ConnectorResult, ErrorClass};
pub use marker::Marker;
pub use registry::{
    DimensionCatalogs, Dimensions, Feature, KindInfo, Role, SettingsError, WebhookSpec,
};
pub use webhook::{WebhookCall, WebhookProtocol, WebhookRejection, WebhookScope};
