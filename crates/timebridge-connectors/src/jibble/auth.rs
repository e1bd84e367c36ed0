//! Jibble's access tokens: the client-credentials grant at `{identity_url}/connect/token`
//! through the shared [`crate::oauth`] module (tokens only in memory, renewed before they
//! expire, no refresh token). Whether the endpoint wants the client id and secret in the
//! form body or as HTTP Basic authentication is UNCONFIRMED (both are seen): the
//! `token_auth` setting picks one, or `auto` tries the body first, then Basic, and keeps
//! what worked.

use std::sync::atomic::{AtomicU8, Ordering};

use secrecy::SecretString;

use crate::error::{ConnectorError, ConnectorResult, ErrorClass};
use crate::oauth::TokenKeeper;

/// The `token_auth` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenAuth {
    Auto,
    Body,
    Basic,
}

impl TokenAuth {
    pub fn from_setting(value: Option<&str>) -> Self {
        match value {
            Some("body") => TokenAuth::Body,
            Some("basic") => TokenAuth::Basic,
            _ => TokenAuth::Auto,
        }
    }
}

const UNKNOWN: u8 = 0;
const BODY: u8 = 1;
const BASIC: u8 = 2;

/// Access tokens for one connector instance.
#[derive(Debug)]
pub(crate) struct Tokens {
    mode: TokenAuth,
    body: TokenKeeper,
    basic: TokenKeeper,
    /// In `auto` mode: which form worked (`UNKNOWN` until one did).
    chosen: AtomicU8,
}

/// Whether a refusal of the token request may be about where the credentials were sent.
fn may_be_the_form(e: &ConnectorError) -> bool {
    matches!(
        e.class(),
        ErrorClass::Unauthorized | ErrorClass::Config | ErrorClass::Rejected
    )
}

impl Tokens {
    pub fn new(mode: TokenAuth, body: TokenKeeper, basic: TokenKeeper) -> Self {
        Tokens {
            mode,
            body,
            basic,
            chosen: AtomicU8::new(UNKNOWN),
        }
    }

    /// Where the credentials went on the last successful token request: `body`, `basic`,
    /// or `None` before one.
    pub fn form(&self) -> Option<&'static str> {
        match (self.mode, self.chosen.load(Ordering::Relaxed)) {
            (TokenAuth::Body, _) | (TokenAuth::Auto, BODY) => Some("body"),
            (TokenAuth::Basic, _) | (TokenAuth::Auto, BASIC) => Some("basic"),
            _ => None,
        }
    }

    /// A token that is valid for a while yet.
    pub async fn token(&self) -> ConnectorResult<SecretString> {
        match self.mode {
            TokenAuth::Body => self.body.access_token().await,
            TokenAuth::Basic => self.basic.access_token().await,
            TokenAuth::Auto => match self.chosen.load(Ordering::Relaxed) {
                BODY => self.body.access_token().await,
                BASIC => self.basic.access_token().await,
                _ => match self.body.access_token().await {
                    Ok(t) => {
                        self.chosen.store(BODY, Ordering::Relaxed);
                        Ok(t)
                    }
                    Err(e) if may_be_the_form(&e) => match self.basic.access_token().await {
                        Ok(t) => {
                            self.chosen.store(BASIC, Ordering::Relaxed);
                            Ok(t)
                        }
                        // Neither form was taken: the body's refusal says why.
                        Err(_) => Err(e),
                    },
                    Err(e) => Err(e),
                },
            },
        }
    }

    /// Drops `rejected` (the API answered 401 with it) so that the next call fetches a
    /// new token.
    pub async fn forget(&self, rejected: &SecretString) {
        self.body.forget(rejected).await;
        self.basic.forget(rejected).await;
    }
}
