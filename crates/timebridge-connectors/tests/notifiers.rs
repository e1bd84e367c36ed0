//! The notifier kinds against their simulators: Slack (incoming webhook and bot token)
//! against the Slack simulator, e-mail into the SMTP sink, the signed webhook into a
//! receiver that checks the signature.

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::SecretString;
use serde_json::{Value, json};
use timebridge_connectors::http::RetryPolicy;
use timebridge_connectors::{
    Connector, ConnectorConfig, ConnectorContext, ConnectorError, Notification, NotificationEvent,
    registry,
};
use timebridge_core::notify::{NotificationSummary, NotifiedPipeline};
use timebridge_sim::{Fault, SimOptions, SlackSim, SmtpSink, WebhookReceiver};

fn ctx() -> ConnectorContext {
    ConnectorContext {
        retry: Some(RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn build(kind: &str, base_url: &str, token: &str, settings: Value) -> Arc<dyn Connector> {
    let info = registry::find(kind).unwrap();
    let split = registry::split_settings(&info, &settings).unwrap();
    info.build(
        ConnectorConfig {
            id: 1,
            name: format!("test {kind}"),
            base_url: base_url.into(),
            api_token: SecretString::from(token.to_owned()),
            settings: split.plain,
            secrets: split
                .secrets
                .into_iter()
                .map(|(k, v)| (k, SecretString::from(v)))
                .collect::<BTreeMap<_, _>>(),
        },
        &ctx(),
    )
    .unwrap()
}

fn notification(event: NotificationEvent) -> Notification {
    Notification {
        event,
        delivery_id: "0b6e3c1e-6f52-4d7a-9c1e-3f2b7d4a5e60".into(),
        pipeline: Some(NotifiedPipeline {
            id: 4,
            name: "Zammad → Kimai".into(),
        }),
        run: None,
        summary: NotificationSummary {
            headline: "Run #12 failed.".into(),
            error: Some("cannot reach kimai.example: connection refused".into()),
            ..Default::default()
        },
        url: "http://tb.example/sync/runs/12".into(),
    }
}

#[tokio::test]
async fn slack_incoming_webhook_delivers_blocks_with_a_fallback_text() {
    let sim = SlackSim::start(SimOptions::default()).await.unwrap();
    let c = build(
        "slack",
        "https://slack.com/api",
        "",
        json!({"webhook_url": sim.webhook_url()}),
    );
    assert!(c.test().await.ok);
    c.as_notifier()
        .unwrap()
        .deliver(&notification(NotificationEvent::RunFailed))
        .await
        .unwrap();
    let got = sim.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].text.contains("Run #12 failed."), "{:?}", got[0]);
    assert_eq!(got[0].blocks[0]["type"], "header");
    let page = reqwest::get(&sim.url).await.unwrap().text().await.unwrap();
    assert!(page.contains("Sync failed: Zammad → Kimai"), "{page}");
}

#[tokio::test]
async fn slack_incoming_webhook_errors_are_final_or_retryable_by_status() {
    let sim = SlackSim::start(SimOptions::default()).await.unwrap();
    let c = build(
        "slack",
        "https://slack.com/api",
        "",
        json!({"webhook_url": sim.webhook_url()}),
    );
    let n = notification(NotificationEvent::RunFailed);
    sim.set_hook_error(Some((410, "channel_is_archived")));
    let e = c.as_notifier().unwrap().deliver(&n).await.unwrap_err();
    assert!(matches!(e, ConnectorError::NotFound { .. }), "{e}");
    sim.set_hook_error(None);
    sim.faults().fail_next(
        "POST /services/{team}/{bot}/{secret}",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 30,
        },
    );
    let e = c.as_notifier().unwrap().deliver(&n).await.unwrap_err();
    assert_eq!(
        e,
        ConnectorError::RateLimited {
            retry_after_secs: 30
        }
    );
    assert!(sim.messages().is_empty());
}

#[tokio::test]
async fn slack_bot_posts_with_chat_post_message_and_reads_errors_inside_http_200() {
    let sim = SlackSim::start(SimOptions::default()).await.unwrap();
    let bot = build(
        "slack",
        &sim.api_url(),
        &sim.bot_token,
        json!({"channel": "#timebridge"}),
    );
    let report = bot.test().await;
    assert!(report.ok, "{report:?}");
    let delivered = bot
        .as_notifier()
        .unwrap()
        .deliver(&notification(NotificationEvent::RunFailed))
        .await
        .unwrap();
    assert_eq!(delivered.details["channel"], "C0TIMEBRDG1");
    assert_eq!(sim.messages().len(), 1);
    let channels = bot.catalog("channels").await.unwrap();
    assert!(channels.iter().any(|c| c.label == "#billing"));
    assert!(
        !channels.iter().any(|c| c.label == "#old-project"),
        "archived"
    );

    let lost = build(
        "slack",
        &sim.api_url(),
        &sim.bot_token,
        json!({"channel": "nope"}),
    );
    let e = lost
        .as_notifier()
        .unwrap()
        .deliver(&notification(NotificationEvent::RunFailed))
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectorError::NotFound { .. }), "{e}");
    let archived = build(
        "slack",
        &sim.api_url(),
        &sim.bot_token,
        json!({"channel": "old-project"}),
    );
    assert!(matches!(
        archived
            .as_notifier()
            .unwrap()
            .deliver(&notification(NotificationEvent::RunFailed))
            .await
            .unwrap_err(),
        ConnectorError::NotFound { .. }
    ));
    let wrong = build(
        "slack",
        &sim.api_url(),
        "xoxb-wrong",
        json!({"channel": "general"}),
    );
    let report = wrong.test().await;
    assert!(!report.ok);
    assert_eq!(report.details["error_class"], "unauthorized");
    sim.faults().fail_next(
        "POST /api/chat.postMessage",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 9,
        },
    );
    let e = bot
        .as_notifier()
        .unwrap()
        .deliver(&notification(NotificationEvent::RunFailed))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ConnectorError::RateLimited {
            retry_after_secs: 9
        }
    );
    assert_eq!(sim.messages().len(), 1);
}

#[tokio::test]
async fn email_goes_into_the_sink_with_a_plain_and_an_html_part() {
    let sink = SmtpSink::start(0).await.unwrap();
    sink.require_login("tb", "mail-password");
    let settings = json!({"from": "timebridge <tb@example.com>",
                          "to": ["ops@example.com", "lead@example.com"],
                          "username": "tb", "starttls": false});
    let c = build("email", &sink.url(), "mail-password", settings.clone());
    let report = c.test().await;
    assert!(report.ok, "{report:?}");
    c.as_notifier()
        .unwrap()
        .deliver(&notification(NotificationEvent::RunFailed))
        .await
        .unwrap();
    let mails = sink.messages();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.auth_user.as_deref(), Some("tb"));
    assert_eq!(m.to.len(), 2);
    assert_eq!(m.subject.as_deref(), Some("Sync failed: Zammad → Kimai"));
    assert_eq!(
        m.message_id.as_deref(),
        Some("0b6e3c1e-6f52-4d7a-9c1e-3f2b7d4a5e60@timebridge")
    );
    let text = m.text.as_deref().unwrap();
    assert!(text.contains("Run #12 failed.") && text.contains("http://tb.example/sync/runs/12"));
    let html = m.html.as_deref().unwrap();
    assert!(
        html.contains("<a href=\"http://tb.example/sync/runs/12\">"),
        "{html}"
    );

    let wrong = build("email", &sink.url(), "not-the-password", settings);
    let report = wrong.test().await;
    assert!(!report.ok);
    assert_eq!(report.details["error_class"], "unauthorized", "{report:?}");
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn email_that_requires_starttls_never_falls_back_to_plain_text() {
    let sink = SmtpSink::start(0).await.unwrap();
    let c = build(
        "email",
        &sink.url(),
        "",
        json!({"from": "tb@example.com", "to": ["ops@example.com"], "starttls": true}),
    );
    let e = c
        .as_notifier()
        .unwrap()
        .deliver(&notification(NotificationEvent::RunFailed))
        .await
        .unwrap_err();
    assert!(!matches!(e, ConnectorError::Config(_)), "{e}");
    assert!(sink.messages().is_empty(), "sent without TLS");
}

#[tokio::test]
async fn the_webhook_notifier_signs_its_body_and_sends_a_delivery_id() {
    let secret = "a-receiver-shared-secret";
    let receiver = WebhookReceiver::start(0, secret).await.unwrap();
    let c = build(
        "webhook",
        &receiver.url,
        "",
        json!({"signing_secret": secret}),
    );
    assert!(c.as_notifier().unwrap().repeat_safe());
    let n = notification(NotificationEvent::ConflictsRaised);
    c.as_notifier().unwrap().deliver(&n).await.unwrap();
    // The receiver checked the signature with the secret it shares (a bad one is refused).
    assert_eq!(receiver.refused(), 0);
    let seen = receiver.deliveries();
    assert_eq!(seen.len(), 1);
    let body = &seen[0].body;
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(seen[0].signature, expected);
    assert_eq!(seen[0].id, n.delivery_id);
    assert_eq!(seen[0].event, "conflicts_raised");
    // A repeat of the same delivery (after a crash mid-send) is recognised by its id.
    c.as_notifier().unwrap().deliver(&n).await.unwrap();
    assert_eq!(receiver.deliveries().len(), 1);
    assert_eq!(receiver.repeats(), 1);
    let v: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["event"], "conflicts_raised");
    assert_eq!(v["pipeline"]["name"], "Zammad → Kimai");
    assert_eq!(v["url"], "http://tb.example/sync/runs/12");
    assert!(v["summary"]["headline"].is_string());
}
