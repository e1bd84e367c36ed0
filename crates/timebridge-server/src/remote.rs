//! Live connector instances: built from a stored connector (secrets decrypted only here)
//! through the registry, sharing the process-wide call metrics.

use std::sync::Arc;

use secrecy::SecretString;
use timebridge_connectors::registry;
use timebridge_connectors::{Connector, ConnectorConfig, ConnectorContext, ConnectorError};
use timebridge_store::StoreError;

use crate::error::ApiError;
use crate::store_error;
use crate::sync::Services;

/// Builds a live instance of connector `id` with the process's shared context.
pub async fn instance(state: &impl Services, id: i64) -> Result<Arc<dyn Connector>, ApiError> {
    instance_with(state, id, state.connector_context()).await
}

/// Builds a live instance of connector `id` with a given context (e.g. fewer retries for
/// an interactive test).
pub async fn instance_with(
    state: &impl Services,
    id: i64,
    ctx: &ConnectorContext,
) -> Result<Arc<dyn Connector>, ApiError> {
    let stored = state.store().get_connector(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Connector"),
        other => store_error(other),
    })?;
    let secrets = state
        .store()
        .get_connector_secrets(id)
        .await
        .map_err(store_error)?;
    build(&stored, &secrets, ctx).map_err(config_error)
}

/// Builds a live instance from a stored connector and its decrypted secrets.
pub fn build(
    stored: &timebridge_store::Connector,
    secrets: &timebridge_store::ConnectorSecrets,
    ctx: &ConnectorContext,
) -> Result<Arc<dyn Connector>, ConnectorError> {
    let kind = registry::find(&stored.kind).ok_or_else(|| {
        ConnectorError::Config(format!(
            "the kind `{}` is not known to this version",
            stored.kind
        ))
    })?;
    let config = ConnectorConfig {
        id: stored.id,
        name: stored.name.clone(),
        base_url: stored.base_url.clone(),
        api_token: SecretString::from(
            secrets
                .api_token
                .as_ref()
                .map(|t| t.expose().to_owned())
                .unwrap_or_default(),
        ),
        settings: stored.settings.clone(),
        secrets: secrets
            .secret_settings
            .iter()
            .map(|(k, v)| (k.clone(), SecretString::from(v.expose().to_owned())))
            .collect(),
    };
    kind.build(config, ctx)
}

/// A connector that cannot be built from its stored configuration.
pub fn config_error(e: ConnectorError) -> ApiError {
    ApiError::Unprocessable {
        code: "connector_misconfigured",
        message: format!("The connector cannot be used as configured: {e}"),
        details: serde_json::json!({ "error_class": e.class() }),
    }
}

/// A remote failure while serving a request that needs the remote (catalogs): 502 with
/// the classified reason; the remote's trouble is not a fault of this server.
pub fn remote_error(e: ConnectorError) -> ApiError {
    ApiError::BadGateway {
        code: "remote_error",
        message: e.to_string(),
        details: serde_json::json!({ "error_class": e.class() }),
    }
}
