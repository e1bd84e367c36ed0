//! Zammad webhook deliveries as a trigger sends them: headers, signature and body.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;

use crate::SimError;
use crate::zammad::Ticket;
use crate::zammad::state::{ZState, ts};

/// The outcome of one webhook delivery.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    /// HTTP status the receiver answered.
    pub status: u16,
    /// The `X-Zammad-Delivery` id sent.
    pub delivery_id: String,
    /// The raw body sent (what the signature covers).
    pub body: Vec<u8>,
}

/// `sha1=<lowercase hex HMAC-SHA1(secret, body)>`, the `X-Hub-Signature` value.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A UUID-shaped delivery id from 128 random bits.
pub(crate) fn delivery_id(r: u128) -> String {
    let h = format!("{r:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// The default trigger body `{"ticket":{…},"article":{…}}`.
pub(crate) fn payload(st: &ZState, ticket: &Ticket) -> Vec<u8> {
    let mut t = ticket.to_json();
    let user = |id: u64| -> Value {
        st.users
            .get(&id)
            .map(|u| {
                json!({"id": u.id, "login": u.login, "firstname": u.firstname,
                       "lastname": u.lastname, "email": u.email})
            })
            .unwrap_or(Value::Null)
    };
    if let Value::Object(map) = &mut t {
        map.insert("owner".into(), user(ticket.owner_id));
        map.insert("customer".into(), user(ticket.customer_id));
        map.insert(
            "organization".into(),
            ticket
                .organization_id
                .and_then(|o| st.orgs.get(&o))
                .map(|o| o.to_json())
                .unwrap_or(Value::Null),
        );
        map.insert("group".into(), json!({"id": 1, "name": "Users"}));
        map.insert("state".into(), json!("open"));
        map.insert("priority".into(), json!("2 normal"));
    }
    let article_id = st
        .by_ticket
        .get(&ticket.id)
        .and_then(|ids| ids.iter().rev().find_map(|i| st.accountings.get(i)))
        .and_then(|a| a.ticket_article_id);
    let article = json!({
        "id": article_id,
        "ticket_id": ticket.id,
        "type": "note",
        "sender": "Agent",
        "internal": true,
        "subject": ticket.title,
        "body": "Worked on the ticket.",
        "content_type": "text/html",
        "created_at": ts(ticket.updated_at),
        "updated_at": ts(ticket.updated_at),
    });
    serde_json::to_vec(&json!({"ticket": t, "article": article})).unwrap_or_default()
}

/// Posts `body` to `url` with Zammad's headers and returns the status.
pub(crate) async fn send(
    url: &str,
    secret: Option<&str>,
    trigger: &str,
    delivery_id: &str,
    body: Vec<u8>,
) -> Result<WebhookDelivery, SimError> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let mut req = client
        .post(url)
        .header("User-Agent", "Zammad User Agent")
        .header("Content-Type", "application/json")
        .header("X-Zammad-Trigger", trigger)
        .header("X-Zammad-Delivery", delivery_id);
    if let Some(secret) = secret {
        req = req.header("X-Hub-Signature", signature(secret, &body));
    }
    let resp = req.body(body.clone()).send().await?;
    Ok(WebhookDelivery {
        status: resp.status().as_u16(),
        delivery_id: delivery_id.to_owned(),
        body,
    })
}
