//! Signing and sending one notification to the receiver.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::Sha256;
use timebridge_core::notify::Notification;

use crate::connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, Delivered, Notifier, TestReport,
};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{HttpClient, HttpSettings, Request};

/// A configured signed-webhook notifier.
#[derive(Debug, Clone)]
pub struct WebhookNotifier {
    client: HttpClient,
    secret: SecretString,
}

/// The JSON body sent for `n`.
pub fn payload(n: &Notification) -> Value {
    json!({
        "event": n.event,
        "delivery_id": n.delivery_id,
        "pipeline": n.pipeline,
        "run": n.run,
        "summary": n.summary,
        "url": n.url,
    })
}

/// `sha256=<hex HMAC-SHA256 of body>` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn header(value: &str) -> ConnectorResult<HeaderValue> {
    HeaderValue::from_str(value)
        .map_err(|_| ConnectorError::Config("a header value is not valid text".into()))
}

impl WebhookNotifier {
    /// The registry's constructor.
    pub fn build(
        config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(Self::new(config, ctx)?))
    }

    /// Builds the notifier; the signing secret is required (receivers must be able to
    /// tell our calls from forged ones).
    pub fn new(config: ConnectorConfig, ctx: &ConnectorContext) -> ConnectorResult<Self> {
        let secret = config
            .secrets
            .get("signing_secret")
            .filter(|s| !s.expose_secret().is_empty())
            .cloned()
            .ok_or_else(|| ConnectorError::Config("settings.signing_secret is not set".into()))?;
        let mut http = HttpSettings::from_settings(&config.settings);
        http.retry = ctx.notifier_retry();
        let client = HttpClient::builder(&config.base_url, &config.name)
            .settings(http)
            .metrics(ctx.metrics.clone())
            .sleeper(ctx.sleeper.clone())
            .build()?;
        Ok(Self { client, secret })
    }
}

#[async_trait]
impl Connector for WebhookNotifier {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    /// Nothing is sent here that a receiver would act on: the test message the API sends
    /// next (event `test`) shows whether the receiver accepts our signature.
    async fn test(&self) -> TestReport {
        TestReport {
            ok: true,
            message: format!(
                "Signing secret set; notifications go to {}.",
                self.client.base_url()
            ),
            details: json!({"receiver": self.client.base_url()}),
        }
    }

    async fn catalog(&self, what: &str) -> ConnectorResult<Vec<CatalogItem>> {
        Err(ConnectorError::NotFound {
            message: format!("catalog {what}"),
        })
    }

    fn as_notifier(&self) -> Option<&dyn Notifier> {
        Some(self)
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn deliver(&self, n: &Notification) -> ConnectorResult<Delivered> {
        let body = serde_json::to_vec(&payload(n)).map_err(|e| ConnectorError::Protocol {
            host: self.client.host().to_owned(),
            message: e.to_string(),
        })?;
        let sig = signature(self.secret.expose_secret().as_bytes(), &body);
        let req = Request::post("POST {receiver}", "", Value::Null)
            .raw_body(
                HeaderValue::from_static("application/json"),
                Bytes::from(body),
            )
            .header(
                HeaderName::from_static("x-timebridge-event"),
                header(n.event.as_str())?,
            )
            .header(
                HeaderName::from_static("x-timebridge-delivery"),
                header(&n.delivery_id)?,
            )
            .header(
                HeaderName::from_static("x-timebridge-signature"),
                header(&sig)?,
            )
            // The same delivery id on every attempt: receivers drop repeats.
            .idempotent(true);
        let resp = self.client.send(req).await?;
        Ok(Delivered {
            details: json!({"status": resp.status, "delivery_id": n.delivery_id}),
        })
    }

    fn repeat_safe(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // GitHub's published test vector for the same scheme.
        assert_eq!(
            signature(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
