//! A notification as a Slack message: Block Kit blocks (header, the headline and details as
//! mrkdwn, facts as fields, a button to the UI) with the plain text as `text`, which Slack
//! shows in notifications and where blocks cannot be shown.

use serde_json::{Value, json};
use timebridge_core::notify::Notification;

/// Escapes the three characters Slack's mrkdwn treats as control characters.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Slack limits a header to 150 characters and a section text to 3000.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max - 1).collect();
    s.push('…');
    s
}

/// `{"text": fallback, "blocks": […]}` for `n`.
pub(crate) fn message(n: &Notification) -> Value {
    let s = &n.summary;
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&n.title(), 150), "emoji": true}
    })];
    let mut body = format!("*{}*", escape(&s.headline));
    if let Some(e) = &s.error {
        body.push_str(&format!("\n```{}```", escape(e)));
    }
    blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&body, 3000)}}));
    let mut fields = Vec::new();
    if let Some(c) = &s.counts {
        for (label, v) in [
            ("Created", c.created),
            ("Updated", c.updated),
            ("Conflicts", c.conflicts),
            ("Errors", c.errors),
        ] {
            fields.push(format!("*{label}*\n{v}"));
        }
    }
    for (reason, count) in &s.conflicts_by_reason {
        fields.push(format!("*{}*\n{count}", escape(reason)));
    }
    if let Some(v) = s.entries_written {
        fields.push(format!("*Entries written*\n{v}"));
    }
    if let Some(v) = s.open_conflicts {
        fields.push(format!("*Open conflicts*\n{v}"));
    }
    for p in s.hours_by_project.iter().take(10) {
        fields.push(format!("*{}*\n{:.2} h", escape(&p.project), p.hours));
    }
    // A section holds at most ten fields.
    for chunk in fields.chunks(10) {
        let f: Vec<Value> = chunk
            .iter()
            .map(|t| json!({"type": "mrkdwn", "text": t}))
            .collect();
        blocks.push(json!({"type": "section", "fields": f}));
    }
    blocks.push(json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "Open in timebridge"},
            "url": n.url,
        }]
    }));
    let mut context = format!("event `{}`", n.event);
    if let Some(r) = &n.run {
        context.push_str(&format!(
            " · run #{} ({}, {} to {})",
            r.id, r.trigger, r.window_from, r.window_to
        ));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}));
    json!({"text": n.text(), "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;
    use timebridge_core::notify::{NotificationEvent, NotificationSummary, NotifiedPipeline};

    #[test]
    fn a_message_has_a_fallback_text_and_a_link_button() {
        let n = Notification {
            event: NotificationEvent::RunFailed,
            delivery_id: "x".into(),
            pipeline: Some(NotifiedPipeline {
                id: 1,
                name: "A <b> & c".into(),
            }),
            run: None,
            summary: NotificationSummary {
                headline: "Run #4 failed.".into(),
                error: Some("cannot reach kimai.example: refused".into()),
                ..Default::default()
            },
            url: "http://tb.example/runs/4".into(),
        };
        let m = message(&n);
        assert!(m["text"].as_str().unwrap().contains("Run #4 failed."));
        assert_eq!(m["blocks"][0]["text"]["text"], "Sync failed: A <b> & c");
        let body = m["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(body.contains("refused"), "{body}");
        let button = m["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "actions")
            .unwrap();
        assert_eq!(button["elements"][0]["url"], "http://tb.example/runs/4");
        assert_eq!(escape("a<b>&"), "a&lt;b&gt;&amp;");
    }
}
