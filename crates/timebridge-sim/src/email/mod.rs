//! An SMTP sink on loopback for tests and the demo: speaks SMTP through the `mailin`
//! protocol state machine (EHLO, optional AUTH PLAIN/LOGIN over plain text — loopback
//! only —, MAIL, RCPT, DATA) and records every message it accepts, parsed into its
//! plain-text and HTML parts, so that tests can assert on what a notifier sent. It offers
//! no STARTTLS: a client that requires TLS must refuse to send to it.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use mail_parser::MimeHeaders;
use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder, response};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::SimError;

/// One accepted message.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// Who signed in (`AUTH`), if anyone.
    pub auth_user: Option<String>,
    /// The message as sent.
    pub raw: String,
    /// The `Subject` header.
    pub subject: Option<String>,
    /// The `Message-ID` header, without angle brackets.
    pub message_id: Option<String>,
    /// The `text/plain` part's text, if there is one.
    pub text: Option<String>,
    /// The `text/html` part's text, if there is one.
    pub html: Option<String>,
}

impl ReceivedMail {
    fn parse(from: String, to: Vec<String>, auth_user: Option<String>, raw: Vec<u8>) -> Self {
        let parsed = mail_parser::MessageParser::default().parse(&raw);
        let part = |subtype: &str| {
            parsed.as_ref().and_then(|m| {
                m.parts.iter().find_map(|p| {
                    let ct = p.content_type()?;
                    (ct.c_type.eq_ignore_ascii_case("text")
                        && ct
                            .c_subtype
                            .as_deref()
                            .is_some_and(|s| s.eq_ignore_ascii_case(subtype)))
                    .then(|| p.text_contents().map(str::to_owned))
                    .flatten()
                })
            })
        };
        ReceivedMail {
            subject: parsed.as_ref().and_then(|m| m.subject().map(str::to_owned)),
            message_id: parsed
                .as_ref()
                .and_then(|m| m.message_id().map(str::to_owned)),
            text: part("plain"),
            html: part("html"),
            from,
            to,
            auth_user,
            raw: String::from_utf8_lossy(&raw).into_owned(),
        }
    }
}

/// What the sink accepts.
#[derive(Debug, Clone, Default)]
struct Accounts {
    /// `(user, password)` required to send; `None`: no authentication offered.
    credentials: Option<(String, String)>,
}

/// A cloneable handle on what the sink received.
#[derive(Debug, Clone, Default)]
pub struct SmtpControl {
    messages: Arc<Mutex<Vec<ReceivedMail>>>,
    accounts: Arc<Mutex<Accounts>>,
}

impl SmtpControl {
    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets the messages received.
    pub fn clear(&self) {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Requires `AUTH` with this user and password (offered over plain text: loopback).
    pub fn require_login(&self, user: &str, password: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .credentials = Some((user.to_owned(), password.to_owned()));
    }

    fn credentials(&self) -> Option<(String, String)> {
        self.accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .credentials
            .clone()
    }
}

/// One session's handler: collects a message and records it at the end of DATA.
struct Session {
    control: SmtpControl,
    credentials: Option<(String, String)>,
    signed_in: Option<String>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Session {
    fn check(&mut self, user: &str, password: &str) -> Response {
        match &self.credentials {
            Some((u, p)) if u == user && p == password => {
                self.signed_in = Some(user.to_owned());
                response::AUTH_OK
            }
            _ => response::INVALID_CREDENTIALS,
        }
    }
}

impl Handler for Session {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        if self.credentials.is_some() && self.signed_in.is_none() {
            return response::AUTHENTICATION_REQUIRED;
        }
        self.from = from.to_owned();
        self.to.clear();
        self.data.clear();
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        self.to.push(to.to_owned());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = ReceivedMail::parse(
            std::mem::take(&mut self.from),
            std::mem::take(&mut self.to),
            self.signed_in.clone(),
            std::mem::take(&mut self.data),
        );
        self.control
            .messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(mail);
        response::OK
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.check(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.check(user, password)
    }
}

/// A running SMTP sink on 127.0.0.1; stops on drop.
#[derive(Debug)]
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    control: SmtpControl,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts the sink on `127.0.0.1:port` (0: a free port).
    pub async fn start(port: u16) -> Result<Self, SimError> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let control = SmtpControl::default();
        let ctl = control.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve(stream, peer.ip(), ctl.clone()));
            }
        });
        Ok(Self {
            addr,
            control,
            task,
        })
    }

    /// `smtp://127.0.0.1:<port>`, the e-mail connector's `base_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// A cloneable handle on what it received.
    pub fn control(&self) -> SmtpControl {
        self.control.clone()
    }
}

impl std::ops::Deref for SmtpSink {
    type Target = SmtpControl;
    fn deref(&self) -> &SmtpControl {
        &self.control
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: tokio::net::TcpStream, peer: IpAddr, control: SmtpControl) {
    let credentials = control.credentials();
    let mut builder = SessionBuilder::new("timebridge-sim");
    if credentials.is_some() {
        builder
            .enable_auth(AuthMechanism::Plain)
            .enable_auth(AuthMechanism::Login)
            .insecure_enable_plaintext_auth();
    }
    let mut session = builder.build(
        peer,
        Session {
            control,
            credentials,
            signed_in: None,
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        },
    );
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let reply = |r: &Response| r.buffer().unwrap_or_default();
    if write.write_all(&reply(&session.greeting())).await.is_err() {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let r = session.process(&line);
        match r.action {
            Action::NoReply => {}
            Action::Reply => {
                if write.write_all(&reply(&r)).await.is_err() {
                    return;
                }
            }
            // No TLS here: STARTTLS is never offered, so this is a client error.
            Action::Close | Action::UpgradeTls => {
                let _ = write.write_all(&reply(&r)).await;
                return;
            }
        }
    }
}
