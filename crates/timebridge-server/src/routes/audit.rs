//! The audit trail, read-only: `GET /api/audit` (filtered pages) and
//! `GET /api/audit/export` (CSV of the same filter). No route alters events.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use timebridge_store::{AuditAction, AuditFilter};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorResponse};
use crate::extract::{Json, ListResponse, Page, Query};
use crate::state::AppState;
use crate::store_error;

/// An audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    /// Id.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// `admin`, `system` or `webhook`.
    pub actor: String,
    /// What happened.
    pub action: AuditAction,
    /// The kind of entity affected, e.g. `connector`.
    pub entity_type: String,
    /// The affected entity's id.
    pub entity_id: Option<String>,
    /// Context; never contains secrets.
    #[schema(value_type = Object)]
    pub details: Value,
    /// The client IP, when the event came from a request.
    pub ip: Option<String>,
}

/// Filter of the audit list and export. `since`/`until` are RFC 3339 instants or dates
/// (`YYYY-MM-DD`: the start resp. end of that day in UTC); both bounds are inclusive.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action (an unknown one is a 400).
    #[param(value_type = Option<AuditAction>)]
    pub action: Option<String>,
    /// Only this entity type.
    pub entity_type: Option<String>,
    /// Earliest instant (inclusive).
    pub since: Option<String>,
    /// Latest instant (inclusive).
    pub until: Option<String>,
    /// Page size (default 50, clamped to 500); ignored by the export.
    pub limit: Option<i64>,
    /// Items to skip (default 0); ignored by the export.
    pub offset: Option<i64>,
}

fn parse_bound(field: &str, text: &str, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    // A `+` of an unencoded offset arrives as a space.
    let text = text.trim().replace(' ', "+");
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        let time = if end_of_day {
            NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap_or_default()
        } else {
            NaiveTime::MIN
        };
        return Ok(d.and_time(time).and_utc());
    }
    Err(ApiError::bad_field(
        field,
        "must be an RFC 3339 time (2026-03-01T09:30:00Z) or a date (2026-03-01)",
    ))
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, ApiError> {
        let nonempty = |s: &Option<String>| {
            s.as_ref()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(AuditFilter {
            action: nonempty(&self.action)
                .map(|a| {
                    a.parse::<AuditAction>()
                        .map_err(|e| ApiError::bad_field("action", e.to_string()))
                })
                .transpose()?,
            entity_type: nonempty(&self.entity_type),
            since: nonempty(&self.since)
                .map(|s| parse_bound("since", &s, false))
                .transpose()?,
            until: nonempty(&self.until)
                .map(|s| parse_bound("until", &s, true))
                .transpose()?,
        })
    }
}

fn to_api(e: timebridge_store::AuditEvent) -> AuditEvent {
    AuditEvent {
        id: e.id,
        at: e.at,
        actor: e.actor,
        action: e.action,
        entity_type: e.entity_type,
        entity_id: e.entity_id,
        details: e.details,
        ip: e.ip,
    }
}

/// Lists audit events, newest first.
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of events", body = ListResponse<AuditEvent>),
        (status = 400, description = "Bad filter or paging parameters", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<ListResponse<AuditEvent>>, ApiError> {
    let (limit, offset) = Page {
        limit: query.limit,
        offset: query.offset,
    }
    .resolve()?;
    let filter = query.filter()?;
    let (items, total) = state
        .store
        .list_audit(&filter, limit, offset)
        .await
        .map_err(store_error)?;
    Ok(Json(ListResponse {
        items: items.into_iter().map(to_api).collect(),
        total,
    }))
}

const EXPORT_PAGE: u64 = 5000;

/// Exports all matching events as CSV (header row, newest first).
#[utoipa::path(
    get,
    path = "/api/audit/export",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "CSV: id,at,actor,action,entity_type,entity_id,ip,details",
            content_type = "text/csv", body = String),
        (status = 400, description = "Bad filter", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let filter = query.filter()?;
    let mut out = String::from("id,at,actor,action,entity_type,entity_id,ip,details\r\n");
    let mut after = None;
    loop {
        let page = state
            .store
            .list_audit_page(&filter, after, EXPORT_PAGE)
            .await
            .map_err(store_error)?;
        for e in &page {
            let row = [
                e.id.to_string(),
                e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                e.actor.clone(),
                e.action.to_string(),
                e.entity_type.clone(),
                e.entity_id.clone().unwrap_or_default(),
                e.ip.clone().unwrap_or_default(),
                e.details.to_string(),
            ];
            let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        match page.last() {
            Some(last) if page.len() as u64 == EXPORT_PAGE => after = Some(last.cursor()),
            _ => break,
        }
    }
    let mut response = (StatusCode::OK, out).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"timebridge-audit.csv\""),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// One CSV cell (RFC 4180): cells a spreadsheet would read as a formula (starting with
/// `=`, `+`, `-`, `@`, tab or carriage return) get a leading `'`; cells with a comma,
/// quote or line break are quoted, with quotes doubled.
pub fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@cmd"), "'@cmd");
        assert_eq!(csv_cell("=1,2"), "\"'=1,2\"");
    }

    #[test]
    fn bounds_accept_instants_dates_and_a_decoded_plus() {
        let t = parse_bound("since", "2026-03-01T10:30:00 01:00", false).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-01T09:30:00+00:00");
        let d = parse_bound("until", "2026-03-01", true).unwrap();
        assert_eq!(d.to_rfc3339(), "2026-03-01T23:59:59.999999+00:00");
        assert!(parse_bound("since", "yesterday", false).is_err());
    }
}
