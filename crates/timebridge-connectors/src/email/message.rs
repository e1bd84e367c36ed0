//! A notification as an e-mail: subject from its title, a plain-text part and an HTML
//! part (escaped), `Message-ID` from the delivery id.

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use timebridge_core::notify::Notification;

use crate::error::{ConnectorError, ConnectorResult};

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML part: the title as a heading, each line a paragraph, the link as a link.
fn html(n: &Notification) -> String {
    let mut out = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><h2>{}</h2>",
        html_escape(&n.title())
    );
    let lines = n.text_lines();
    for line in &lines[..lines.len().saturating_sub(1)] {
        out.push_str(&format!("<p>{}</p>", html_escape(line)));
    }
    out.push_str(&format!(
        "<p><a href=\"{url}\">Open in timebridge</a></p></body></html>",
        url = html_escape(&n.url)
    ));
    out
}

/// The message from `from` to `to` for `n`.
pub fn build_message(from: &Mailbox, to: &[Mailbox], n: &Notification) -> ConnectorResult<Message> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(n.title())
        .message_id(Some(format!("<{}@timebridge>", n.delivery_id)));
    for t in to {
        builder = builder.to(t.clone());
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(n.text()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html(n)),
                ),
        )
        .map_err(|e| ConnectorError::Config(format!("cannot build the message: {e}")))
}
