//! The HTML page at `/`: the messages received, newest first, like a channel would show
//! them (the demo's "Slack-like sink").

use serde_json::Value;

use super::{Channel, SlackMessage};

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The text of a block's mrkdwn or plain text, and its button links.
fn block_html(block: &Value) -> String {
    let mut out = String::new();
    if let Some(t) = block["text"]["text"].as_str() {
        let tag = if block["type"] == "header" { "h3" } else { "p" };
        out.push_str(&format!("<{tag}>{}</{tag}>", esc(t).replace('\n', "<br>")));
    }
    for f in block["fields"].as_array().into_iter().flatten() {
        if let Some(t) = f["text"].as_str() {
            out.push_str(&format!(
                "<span class=field>{}</span>",
                esc(t).replace('\n', ": ")
            ));
        }
    }
    for e in block["elements"].as_array().into_iter().flatten() {
        if let Some(url) = e["url"].as_str() {
            let label = e["text"]["text"].as_str().unwrap_or("Open");
            out.push_str(&format!(
                "<a class=button href=\"{}\">{}</a>",
                esc(url),
                esc(label)
            ));
        } else if let Some(t) = e["text"].as_str() {
            out.push_str(&format!("<small>{}</small>", esc(t)));
        }
    }
    out
}

pub(crate) fn render(messages: &[SlackMessage], channels: &[Channel]) -> String {
    let name = |id: &str| {
        channels
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| id.to_owned(), |c| format!("#{}", c.name))
    };
    let mut items = String::new();
    for m in messages.iter().rev() {
        let body = match m.blocks.as_array() {
            Some(blocks) => blocks.iter().map(block_html).collect::<String>(),
            None => format!("<p>{}</p>", esc(&m.text).replace('\n', "<br>")),
        };
        items.push_str(&format!(
            "<li><div class=meta><b>{}</b> · {} · {:?}</div>{body}</li>",
            esc(&name(&m.channel)),
            m.received_at.format("%Y-%m-%d %H:%M:%S UTC"),
            m.via
        ));
    }
    if items.is_empty() {
        items.push_str("<li>No messages yet. Notifications timebridge sends appear here.</li>");
    }
    format!(
        "<!doctype html><html><head><meta charset=utf-8><meta http-equiv=refresh content=5>\
         <title>Slack simulator: {n} messages</title><style>\
         body{{font-family:sans-serif;max-width:52rem;margin:2rem auto;color:#1d1c1d}}\
         li{{list-style:none;border-left:4px solid #4a154b;padding:.3rem .8rem;margin:1rem 0}}\
         .meta{{color:#616061;font-size:.85rem}} .field{{display:inline-block;margin-right:1.2rem}}\
         .button{{display:inline-block;border:1px solid #ccc;border-radius:4px;padding:.2rem .6rem;\
         margin:.3rem 0;text-decoration:none}} h3{{margin:.3rem 0}}</style></head><body>\
         <h1>Slack simulator</h1><p>{n} messages received (this page refreshes itself).</p>\
         <ul>{items}</ul></body></html>",
        n = messages.len()
    )
}
