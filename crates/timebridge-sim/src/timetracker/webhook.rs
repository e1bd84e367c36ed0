//! Outgoing webhooks as TimeTracker sends them (§4.10): `User-Agent:
//! TimeTracker-Webhook/1.0`, `X-Webhook-Event`, `X-Webhook-ID` (the webhook's id) and
//! `X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`; the body is built
//! from the activity log. The simulator sends each delivery once (no retries).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::state::TtState;
use super::time::fmt_naive;
use crate::SimError;

/// The outcome of one delivery.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    /// The webhook's id.
    pub webhook_id: u64,
    /// The event sent.
    pub event: String,
    /// HTTP status the receiver answered.
    pub status: u16,
    /// The raw body (what the signature covers).
    pub body: Vec<u8>,
}

/// `sha256=<lowercase hex HMAC-SHA256(secret, body)>`, the `X-Webhook-Signature` value.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One delivery to make.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    url: String,
    secret: String,
    webhook_id: u64,
    event: String,
    body: Vec<u8>,
}

/// The deliveries `event` about entry `entry_id` causes.
pub(crate) fn jobs(
    st: &TtState,
    event: &str,
    entry_id: u64,
    actor: u64,
    now: DateTime<Utc>,
) -> Vec<Job> {
    let entry = st.entries.get(&entry_id);
    let project = entry
        .and_then(|e| e.project_id)
        .and_then(|p| st.projects.get(&p));
    let client = project
        .and_then(|p| p.client_id)
        .and_then(|c| st.clients.get(&c));
    let user = st.users.get(&actor);
    let action = event.rsplit('.').next().unwrap_or(event);
    let body = json!({
        "event_type": event,
        "timestamp": fmt_naive(st.now_local(now)),
        "user": user.map(|u| json!({"id": u.id, "username": u.username,
            "display_name": u.full_name.clone().unwrap_or_else(|| u.username.clone())})),
        "entity": {"type": "time_entry", "id": entry_id, "name": project.map(|p| p.name.clone())},
        "action": action,
        "description": format!("{action} time entry {entry_id}"),
        "data": {
            "project_name": project.map(|p| p.name.clone()),
            "client_name": client.map(|c| c.name.clone()),
            "duration_formatted": entry.and_then(|e| e.duration_seconds()).map(|d| {
                format!("{:02}:{:02}:{:02}", d / 3600, (d % 3600) / 60, d % 60)
            }),
            "reason": null,
        },
    });
    let body = serde_json::to_vec(&body).unwrap_or_default();
    st.webhooks
        .values()
        .filter(|w| w.wants(event))
        .map(|w| Job {
            url: w.url.clone(),
            secret: w.secret.clone(),
            webhook_id: w.id,
            event: event.to_owned(),
            body: body.clone(),
        })
        .collect()
}

/// Posts one delivery and returns the receiver's status.
pub(crate) async fn send(job: Job) -> Result<WebhookDelivery, SimError> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let resp = client
        .post(&job.url)
        .header("User-Agent", "TimeTracker-Webhook/1.0")
        .header("Content-Type", "application/json")
        .header("X-Webhook-Event", &job.event)
        .header("X-Webhook-ID", job.webhook_id.to_string())
        .header("X-Webhook-Signature", signature(&job.secret, &job.body))
        .body(job.body.clone())
        .send()
        .await?;
    Ok(WebhookDelivery {
        webhook_id: job.webhook_id,
        event: job.event,
        status: resp.status().as_u16(),
        body: job.body,
    })
}
