//! The SMTP transport: configuration read and checked up front (scheme, TLS, where a
//! password may go), one connection per message, and lettre's errors read into
//! [`ConnectorError`]s that say whether the message may have been accepted.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use serde_json::json;
use timebridge_core::notify::Notification;

use crate::connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, Delivered, Notifier, TestReport,
};
use crate::error::{ConnectorError, ConnectorResult};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://` with `starttls`: the upgrade is required, never skipped.
    StartTls,
    /// `smtp://` without `starttls`: plain text.
    Plain,
}

/// A configured e-mail notifier.
pub struct EmailNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    port: u16,
    security: Security,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

/// Whether `host` is this machine (a password may then travel without TLS).
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn config(message: impl Into<String>) -> ConnectorError {
    ConnectorError::Config(message.into())
}

fn mailbox(field: &str, text: &str) -> ConnectorResult<Mailbox> {
    text.trim().parse::<Mailbox>().map_err(|e| {
        config(format!(
            "settings.{field}: {text:?} is not an e-mail address ({e})"
        ))
    })
}

impl EmailNotifier {
    /// The registry's constructor.
    pub fn build(
        config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(Self::new(config, ctx)?))
    }

    /// Reads and checks the configuration; refuses a password over plain text to
    /// another host.
    pub fn new(cfg: ConnectorConfig, _ctx: &ConnectorContext) -> ConnectorResult<Self> {
        let url = reqwest::Url::parse(cfg.base_url.trim())
            .map_err(|_| config("base_url must be smtp://host[:port] or smtps://host[:port]"))?;
        let starttls = cfg.settings["starttls"].as_bool().unwrap_or(true);
        let security = match url.scheme() {
            "smtps" => Security::Implicit,
            "smtp" if starttls => Security::StartTls,
            "smtp" => Security::Plain,
            _ => return Err(config("base_url must start with smtp:// or smtps://")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| config("base_url has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port().unwrap_or(match security {
            Security::Implicit => 465,
            Security::StartTls => 587,
            Security::Plain => 25,
        });
        let from = mailbox(
            "from",
            cfg.settings["from"]
                .as_str()
                .ok_or_else(|| config("settings.from is missing: the sender address"))?,
        )?;
        let to = cfg.settings["to"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .filter(|s| !s.trim().is_empty())
            .map(|s| mailbox("to", s))
            .collect::<ConnectorResult<Vec<_>>>()?;
        if to.is_empty() {
            return Err(config("settings.to is empty: who should get the messages?"));
        }
        let password = cfg.api_token.expose_secret().to_owned();
        let username = cfg.settings["username"]
            .as_str()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        if security == Security::Plain && !password.is_empty() && !is_loopback(&host) {
            return Err(config(
                "the SMTP password would travel unencrypted: use smtps:// or turn starttls on \
                 (plain text is allowed only to a loopback host)",
            ));
        }
        let timeout = cfg.settings["timeout_seconds"]
            .as_f64()
            .filter(|t| *t > 0.0)
            .map_or(Duration::from_secs(20), Duration::from_secs_f64);
        let tls = if security == Security::Plain {
            Tls::None
        } else {
            let mut params = TlsParameters::builder(host.clone());
            if let Some(pem) = cfg.settings["ca_certificate"]
                .as_str()
                .filter(|p| !p.trim().is_empty())
            {
                let cert = Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| config(format!("ca_certificate is not a PEM certificate: {e}")))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| config(format!("cannot set up TLS: {e}")))?;
            match security {
                Security::Implicit => Tls::Wrapper(params),
                _ => Tls::Required(params),
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(timeout));
        match (username, password.is_empty()) {
            (Some(user), false) => builder = builder.credentials(Credentials::new(user, password)),
            (Some(_), true) => return Err(config("settings.username is set but no password")),
            (None, false) => {
                return Err(config("a password is set but settings.username is empty"));
            }
            (None, true) => {}
        }
        Ok(Self {
            transport: builder.build(),
            host,
            port,
            security,
            from,
            to,
        })
    }

    fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Reads lettre's error. An SMTP reply is definite (the message was refused: 5xx for
    /// good, 4xx for now); a connection that could not be opened sent nothing; a timeout
    /// or a connection lost mid-way may have happened after the server took the message.
    fn error(&self, e: &lettre::transport::smtp::Error) -> ConnectorError {
        let host = self.server();
        let message = root_cause(e);
        if e.is_permanent() {
            let code = e.status().map(|c| c.to_string()).unwrap_or_default();
            if code.starts_with("535") || code.starts_with("530") {
                return ConnectorError::Unauthorized {
                    status: 535,
                    message,
                };
            }
            return ConnectorError::Rejected {
                message,
                fields: Default::default(),
            };
        }
        if e.is_transient() {
            return ConnectorError::Remote {
                host,
                status: 421,
                message,
            };
        }
        if e.is_tls() {
            return ConnectorError::Tls { host, message };
        }
        if e.is_timeout() {
            return ConnectorError::Timeout { host, seconds: 20 };
        }
        if refused(e) {
            return ConnectorError::Unreachable { host, message };
        }
        ConnectorError::Interrupted { host, message }
    }
}

/// Whether the connection could not be opened at all (nothing reached the server).
fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind as K;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::NotFound
                    | K::AddrNotAvailable
                    | K::HostUnreachable
                    | K::NetworkUnreachable
            );
        }
        current = err.source();
    }
    false
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

#[async_trait]
impl Connector for EmailNotifier {
    fn kind(&self) -> &'static str {
        "email"
    }

    /// Connects, greets (EHLO), upgrades to TLS and signs in as a delivery would, then
    /// says NOOP and quits.
    async fn test(&self) -> TestReport {
        let details = json!({"server": self.server(), "security": format!("{:?}", self.security)});
        match self.transport.test_connection().await {
            Ok(true) => TestReport {
                ok: true,
                message: format!("Connected to {} and signed in.", self.server()),
                details,
            },
            Ok(false) => TestReport::failed(
                "connect",
                &ConnectorError::Interrupted {
                    host: self.server(),
                    message: "the server did not answer NOOP".into(),
                },
                details,
            ),
            Err(e) => TestReport::failed("connect", &self.error(&e), details),
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
impl Notifier for EmailNotifier {
    async fn deliver(&self, n: &Notification) -> ConnectorResult<Delivered> {
        let message = super::message::build_message(&self.from, &self.to, n)?;
        let reply = self
            .transport
            .send(message)
            .await
            .map_err(|e| self.error(&e))?;
        Ok(Delivered {
            details: json!({"server": self.server(), "recipients": self.to.len(),
                            "reply": reply.code().to_string()}),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn cfg(base_url: &str, starttls: bool, password: &str) -> ConnectorConfig {
        ConnectorConfig {
            id: 1,
            name: "mail".into(),
            base_url: base_url.into(),
            api_token: SecretString::from(password.to_owned()),
            settings: json!({"from": "tb@example.com", "to": ["ops@example.com"],
                             "username": if password.is_empty() { None } else { Some("tb") },
                             "starttls": starttls}),
            secrets: Default::default(),
        }
    }

    #[test]
    fn a_password_never_travels_in_plain_text_to_another_host() {
        let ctx = ConnectorContext::default();
        let e =
            EmailNotifier::new(cfg("smtp://mail.example.com:25", false, "pw"), &ctx).unwrap_err();
        assert!(matches!(e, ConnectorError::Config(_)), "{e}");
        assert!(e.to_string().contains("unencrypted"), "{e}");
        assert!(EmailNotifier::new(cfg("smtp://127.0.0.1:2525", false, "pw"), &ctx).is_ok());
        assert!(EmailNotifier::new(cfg("smtp://localhost:2525", false, "pw"), &ctx).is_ok());
        assert!(EmailNotifier::new(cfg("smtp://mail.example.com", true, "pw"), &ctx).is_ok());
        assert!(EmailNotifier::new(cfg("smtps://mail.example.com", false, "pw"), &ctx).is_ok());
        assert!(EmailNotifier::new(cfg("smtp://mail.example.com", false, ""), &ctx).is_ok());
    }

    #[test]
    fn ports_default_by_security_and_bad_addresses_are_refused() {
        let ctx = ConnectorContext::default();
        let n = EmailNotifier::new(cfg("smtps://mail.example.com", true, ""), &ctx).unwrap();
        assert_eq!((n.port, n.security), (465, Security::Implicit));
        let n = EmailNotifier::new(cfg("smtp://mail.example.com", true, ""), &ctx).unwrap();
        assert_eq!((n.port, n.security), (587, Security::StartTls));
        let mut c = cfg("smtp://mail.example.com", true, "");
        c.settings["to"] = json!(["not an address"]);
        assert!(EmailNotifier::new(c, &ctx).is_err());
        let e = EmailNotifier::new(cfg("https://mail.example.com", true, ""), &ctx).unwrap_err();
        assert!(matches!(e, ConnectorError::Config(_)));
    }
}
