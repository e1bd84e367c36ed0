//! The Odoo RPC client: `common.login` once per instance for the uid, then
//! `object.execute_kw` with database, uid and API key in every call, over the shared HTTP
//! client (timeouts, limiter, metrics; retries only for calls that are safe to repeat).

use std::sync::atomic::{AtomicU64, Ordering};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::rpc::{RpcParams, RpcRequest, RpcResponse, map_error};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{HttpClient, Request};

/// One Odoo endpoint and its credentials. The key travels only in request bodies and is
/// never part of Debug output or a log line.
pub(crate) struct OdooClient {
    pub http: HttpClient,
    pub database: String,
    pub login: String,
    secret: SecretString,
    uid: OnceCell<i64>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for OdooClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OdooClient")
            .field("http", &self.http)
            .field("database", &self.database)
            .field("login", &self.login)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Route labels for metrics (never with ids or secrets).
fn route(model: &str, method: &str) -> &'static str {
    match (model, method) {
        ("hr.attendance", "create") => "execute_kw hr.attendance.create",
        ("hr.attendance", "write") => "execute_kw hr.attendance.write",
        ("hr.attendance", "unlink") => "execute_kw hr.attendance.unlink",
        ("hr.attendance", _) => "execute_kw hr.attendance.read",
        ("account.analytic.line", "create") => "execute_kw account.analytic.line.create",
        ("account.analytic.line", "write") => "execute_kw account.analytic.line.write",
        ("account.analytic.line", "unlink") => "execute_kw account.analytic.line.unlink",
        ("account.analytic.line", _) => "execute_kw account.analytic.line.read",
        _ => "execute_kw master data",
    }
}

impl OdooClient {
    pub fn new(http: HttpClient, database: String, login: String, secret: SecretString) -> Self {
        OdooClient {
            http,
            database,
            login,
            secret,
            uid: OnceCell::new(),
            next_id: AtomicU64::new(1),
        }
    }

    async fn call(
        &self,
        route: &'static str,
        service: &'static str,
        method: &'static str,
        args: &[Value],
        idempotent: bool,
    ) -> ConnectorResult<Value> {
        let body = RpcRequest {
            jsonrpc: "2.0",
            method: "call",
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            params: RpcParams {
                service,
                method,
                args,
            },
        };
        let body = serde_json::to_value(&body).map_err(|e| ConnectorError::Protocol {
            host: self.http.host().to_owned(),
            message: e.to_string(),
        })?;
        let answer: RpcResponse = self
            .http
            .json(Request::post(route, "/jsonrpc", body).idempotent(idempotent))
            .await?;
        match (answer.result, answer.error) {
            (_, Some(err)) => Err(map_error(self.http.host(), &err)),
            (Some(v), None) => Ok(v),
            // Odoo omits `result` when the method returned None.
            (None, None) => Ok(Value::Null),
        }
    }

    /// `common.version`.
    pub async fn version(&self) -> ConnectorResult<Value> {
        self.call("common version", "common", "version", &[], true)
            .await
    }

    /// The uid of the login (`common.login`, once per instance).
    pub async fn uid(&self) -> ConnectorResult<i64> {
        self.uid
            .get_or_try_init(|| async {
                let args = [
                    json!(self.database),
                    json!(self.login),
                    json!(self.secret.expose_secret()),
                ];
                let v = self
                    .call("common login", "common", "login", &args, true)
                    .await?;
                v.as_i64().ok_or_else(|| ConnectorError::Unauthorized {
                    status: 200,
                    message: format!(
                        "Odoo refused login {:?} on database {:?}: wrong login, password or API key",
                        self.login, self.database
                    ),
                })
            })
            .await
            .copied()
    }

    /// `object.execute_kw(db, uid, key, model, method, args, kwargs)`. `create` is sent
    /// once (its outcome may be unknown); everything else may be repeated.
    pub async fn execute(
        &self,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Value,
    ) -> ConnectorResult<Value> {
        let uid = self.uid().await?;
        let args = [
            json!(self.database),
            json!(uid),
            json!(self.secret.expose_secret()),
            json!(model),
            json!(method),
            args,
            kwargs,
        ];
        let idempotent = method != "create";
        self.call(
            route(model, method),
            "object",
            "execute_kw",
            &args,
            idempotent,
        )
        .await
    }

    /// `search_read` of every record matching `domain`, paged by `offset`/`limit`.
    pub async fn search_read_all(
        &self,
        model: &str,
        domain: Value,
        fields: &[&str],
        context: Value,
    ) -> ConnectorResult<Vec<Value>> {
        const PAGE: usize = 2000;
        let mut out = Vec::new();
        loop {
            let page = self
                .execute(
                    model,
                    "search_read",
                    json!([domain]),
                    json!({"fields": fields, "offset": out.len(), "limit": PAGE,
                           "order": "id asc", "context": context}),
                )
                .await?;
            let items = page
                .as_array()
                .cloned()
                .ok_or_else(|| ConnectorError::Protocol {
                    host: self.http.host().to_owned(),
                    message: format!("search_read on {model} did not answer a list"),
                })?;
            let n = items.len();
            out.extend(items);
            if n < PAGE {
                return Ok(out);
            }
        }
    }
}
