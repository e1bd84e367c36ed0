//! Odoo's JSON-RPC framing and the mapping of its errors.
//!
//! Odoo 18 speaks a dialect of JSON-RPC 2.0 at `POST /jsonrpc`: the method is always
//! `"call"`, the real call is in `params` (`service`, `method`, `args`), and every
//! application error is an HTTP 200 whose `error.code` is 200 and whose meaning is in
//! `error.data.name` (`odoo.exceptions.ValidationError`, …). `jsonrpsee`'s types were
//! considered: its `ErrorObject` carries `code`/`message`/`data` but its client is a
//! transport of its own (no shared retry, limiter, metrics or timeouts), and the class
//! name that decides everything sits in a free-form `data`, so the crate would add a
//! dependency without removing any of the code here. The framing is two serde types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ConnectorError;

/// The request envelope.
#[derive(Serialize)]
pub(crate) struct RpcRequest<'a> {
    pub jsonrpc: &'static str,
    pub method: &'static str,
    pub id: u64,
    pub params: RpcParams<'a>,
}

/// `params` of a call.
#[derive(Serialize)]
pub(crate) struct RpcParams<'a> {
    pub service: &'static str,
    pub method: &'static str,
    pub args: &'a [Value],
}

/// The answer envelope: `result` or `error`.
#[derive(Debug, Deserialize)]
pub(crate) struct RpcResponse {
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(default)]
    pub error: Option<RpcError>,
}

/// `error` of an answer.
#[derive(Debug, Deserialize)]
pub(crate) struct RpcError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub data: Option<RpcErrorData>,
}

/// `error.data`: the exception's class and text.
#[derive(Debug, Deserialize)]
pub(crate) struct RpcErrorData {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub message: String,
}

/// The exception classes Odoo names in `error.data.name` that change what we do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// `ValidationError`, `UserError`: the data was refused.
    Refused,
    /// `AccessError`: the user lacks a right (group, record rule).
    Access,
    /// `AccessDenied`: wrong login, key or uid (also the login cooldown).
    Denied,
    /// `MissingError`: the record is gone.
    Missing,
    /// `builtins.ValueError`: a value or domain Odoo could not read.
    Value,
    /// `psycopg2.OperationalError`: the database (unknown name, or unavailable).
    Database,
    /// Anything else (`KeyError`, `AttributeError`, …).
    Other,
}

impl Fault {
    fn of(name: &str) -> Fault {
        match name {
            "odoo.exceptions.ValidationError" | "odoo.exceptions.UserError" => Fault::Refused,
            "odoo.exceptions.AccessError" => Fault::Access,
            "odoo.exceptions.AccessDenied" => Fault::Denied,
            "odoo.exceptions.MissingError" => Fault::Missing,
            "builtins.ValueError" => Fault::Value,
            n if n.starts_with("psycopg2.") => Fault::Database,
            _ => Fault::Other,
        }
    }
}

/// The one place that turns an Odoo error into a [`ConnectorError`]. Odoo's message is
/// kept whole. The only wording looked at is PostgreSQL's "does not exist" on an
/// `OperationalError`, the only signal that tells a wrong database name (configuration)
/// from a database that is down (retry later).
pub(crate) fn map_error(host: &str, err: &RpcError) -> ConnectorError {
    let (name, message) = match &err.data {
        Some(d) => (d.name.as_str(), d.message.trim_end().to_owned()),
        None => ("", err.message.clone()),
    };
    match Fault::of(name) {
        Fault::Refused | Fault::Value => ConnectorError::Rejected {
            message,
            fields: Default::default(),
        },
        Fault::Access => ConnectorError::Forbidden { message },
        Fault::Denied => ConnectorError::Unauthorized {
            status: 200,
            message: format!("Odoo refused the login or API key ({message})"),
        },
        Fault::Missing => ConnectorError::NotFound { message },
        Fault::Database if message.contains("does not exist") => ConnectorError::Config(format!(
            "the database does not exist on this Odoo server ({message})"
        )),
        Fault::Database => ConnectorError::Remote {
            host: host.to_owned(),
            status: 503,
            message: format!("{name}: {message}"),
        },
        Fault::Other => ConnectorError::Remote {
            host: host.to_owned(),
            status: 200,
            message: format!("{name}: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;

    fn err(name: &str, message: &str) -> RpcError {
        RpcError {
            message: "Odoo Server Error".into(),
            data: Some(RpcErrorData {
                name: name.into(),
                message: message.into(),
            }),
        }
    }

    #[test]
    fn each_recorded_error_class_maps_to_its_connector_error() {
        let cases = [
            (
                "odoo.exceptions.ValidationError",
                "At least one analytic account must be set",
                ErrorClass::Rejected,
            ),
            (
                "odoo.exceptions.UserError",
                "You cannot set an archived employee on existing timesheets.",
                ErrorClass::Rejected,
            ),
            (
                "odoo.exceptions.AccessError",
                "You are not allowed to create 'Attendance' (hr.attendance) records.",
                ErrorClass::Forbidden,
            ),
            (
                "odoo.exceptions.AccessDenied",
                "Access Denied",
                ErrorClass::Unauthorized,
            ),
            (
                "odoo.exceptions.AccessDenied",
                "Too many login failures, please wait a bit before trying again.",
                ErrorClass::Unauthorized,
            ),
            (
                "odoo.exceptions.MissingError",
                "Record does not exist or has been deleted.\n(Record: hr.attendance(12,), User: 2)",
                ErrorClass::NotFound,
            ),
            (
                "builtins.ValueError",
                "unconverted data remains: Z",
                ErrorClass::Rejected,
            ),
            (
                "psycopg2.OperationalError",
                "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"x\" does not exist\n",
                ErrorClass::Config,
            ),
            (
                "psycopg2.OperationalError",
                "server closed the connection unexpectedly",
                ErrorClass::Remote,
            ),
            (
                "builtins.AttributeError",
                "The method 'hr.attendance.x' does not exist",
                ErrorClass::Remote,
            ),
        ];
        for (name, message, class) in cases {
            let e = map_error("odoo.example", &err(name, message));
            assert_eq!(e.class(), class, "{name}: {message}");
            assert!(e.to_string().contains(message.trim_end()), "{e}");
        }
    }

    #[test]
    fn only_an_unavailable_database_leaves_a_write_outcome_unknown() {
        let down = map_error("h", &err("psycopg2.OperationalError", "could not connect"));
        assert!(down.outcome_unknown());
        let refused = map_error("h", &err("odoo.exceptions.ValidationError", "x"));
        assert!(!refused.outcome_unknown());
        assert!(refused.is_entry_level());
    }
}
