//! Placeholder until the Kimai source lands (being written now).

use std::sync::Arc;

use async_trait::async_trait;

use crate::connector::{CatalogItem, Connector, ConnectorConfig, ConnectorContext, TestReport};
use crate::error::{ConnectorError, ConnectorResult};

/// The Kimai connector.
#[derive(Debug)]
pub struct KimaiConnector;

impl KimaiConnector {
    /// Builds the connector.
    pub fn build(
        _c: ConnectorConfig,
        _ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(KimaiConnector))
    }
}

#[async_trait]
impl Connector for KimaiConnector {
    fn kind(&self) -> &'static str {
        "kimai"
    }
    async fn test(&self) -> TestReport {
        TestReport {
            ok: false,
            message: "not built".into(),
            details: serde_json::json!({}),
        }
    }
    async fn catalog(&self, _what: &str) -> ConnectorResult<Vec<CatalogItem>> {
        Err(ConnectorError::Config("not built".into()))
    }
}
