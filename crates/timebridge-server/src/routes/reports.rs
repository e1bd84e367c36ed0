//! Reports. Money at risk: per customer and month, the source time that is not
//! (correctly) in the target, priced with the target's own rates.
//!
//! The answer reads both systems like a dry run (`engine::read_and_plan` over the UTC days
//! that cover the month in the settings' time zone) and keeps the source entries that
//! begin inside the month:
//! - `create` / `update` decisions are **unsynced** (the next run would write them),
//!   unless the target already refused that very entry (an open refusal of origin
//!   `target`, which a run would not send again): then **refused**;
//! - conflicts are **in conflict**; refusals the target made or that the planner predicts
//!   from its master data (`target_rejected`) are **refused**, a part of in conflict;
//! - entries in sync, skipped by a person's decision, still running or of excluded users
//!   are not at risk.
//!
//! The time of an entry is what would be written (after the pipeline's rounding), else the
//! source's. A mapped entry is counted under its target customer and priced with the rate
//! that applies to it in the target ([`RateCard::rate_for`]); an unmapped one under its
//! source customer, unpriced. Nothing is stored or written.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use timebridge_core::entry::{NamedRef, Window};
use timebridge_core::plan::{ConflictReason, Outcome};
use timebridge_core::rates::{
    AtRiskEntry, AtRiskRow, AtRiskState, CustomerSide, RateCard, RateKind, tally,
};
use timebridge_store::{Pipeline, StoreError};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorResponse};
use crate::extract::{Json, Query};
use crate::state::AppState;
use crate::store_error;
use crate::sync::SyncEnv;
use crate::sync::context::PipelineContext;
use crate::sync::engine::{Planned, read_and_plan};

/// How the report is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Csv,
}

/// `GET /api/reports/money-at-risk` parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MoneyQuery {
    /// One pipeline; absent: every pipeline.
    pub pipeline_id: Option<i64>,
    /// `YYYY-MM` in the settings' time zone [the current month].
    pub month: Option<String>,
    /// `json` (default) or `csv`; `Accept: text/csv` asks for CSV too.
    #[param(inline)]
    pub format: Option<ReportFormat>,
}

/// A customer of a row. `key` null: the entries name no customer (e.g. attendances).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportCustomer {
    pub key: Option<String>,
    pub name: Option<String>,
}

/// The money at risk of one customer of one pipeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoneyRow {
    pub pipeline_id: i64,
    pub pipeline_name: String,
    pub customer: ReportCustomer,
    /// `target`: the target's customer (the entries are mapped); `source`: the source's
    /// (they are not mapped yet, so no target customer and no rate).
    pub side: CustomerSide,
    /// Source entries at risk.
    pub entries: u64,
    pub seconds_unsynced: i64,
    /// Seconds held by open conflicts, refusals included.
    pub seconds_in_conflict: i64,
    /// Of `seconds_in_conflict`: refused (or certain to be refused) by the target.
    pub seconds_refused: i64,
    /// Seconds no rate applies to; not in `amount`.
    pub seconds_unpriced: i64,
    /// The hourly rate, when every entry of the row has the same one; else null (the
    /// amount still sums each entry at its own rate).
    pub rate: Option<f64>,
    /// Rate × (unsynced + in conflict) hours, per entry at its rate, summed; null when no
    /// entry is priced.
    pub amount: Option<f64>,
    /// The currency of `rate` and `amount`, when the target names one.
    pub currency: Option<String>,
}

/// Sums over all rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoneyTotals {
    pub entries: u64,
    pub seconds_unsynced: i64,
    pub seconds_in_conflict: i64,
    pub seconds_refused: i64,
    pub seconds_unpriced: i64,
}

/// One pipeline of the report.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoneyPipeline {
    pub id: i64,
    pub name: String,
    /// Whether its target keeps rates (else its rows have no amount).
    pub priced: bool,
    /// Why it could not be read (only when the report covers every pipeline; a single
    /// pipeline's failure is the answer's error).
    pub error: Option<String>,
}

/// `GET /api/reports/money-at-risk`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoneyAtRisk {
    /// `YYYY-MM`.
    pub month: String,
    /// The settings' time zone the month is read in.
    pub timezone: String,
    /// The month's first instant and the first instant after it.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The currency of every amount, when they share one.
    pub currency: Option<String>,
    /// Highest amount first.
    pub rows: Vec<MoneyRow>,
    /// The rows' amounts summed; null when no row has an amount or they are in different
    /// currencies.
    pub total: Option<f64>,
    pub totals: MoneyTotals,
    pub pipelines: Vec<MoneyPipeline>,
}

fn money(cents: i64) -> f64 {
    // Exact for every amount below 2^53 cents: a conversion for display, never summed.
    cents as f64 / 100.0
}

/// The first instant of `month` in `tz` and the first after it.
pub fn month_range(tz: Tz, month: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month);
    let start = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        tz.from_local_datetime(&midnight)
            .earliest()
            // A zone that skips midnight starts the day an hour later.
            .or_else(|| {
                tz.from_local_datetime(&(midnight + Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
    };
    (start(month), start(next))
}

fn parse_month(text: &str) -> Option<NaiveDate> {
    let (y, m) = text.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

/// What one pipeline has at risk in `[from, to)`.
async fn pipeline_at_risk(
    env: &SyncEnv,
    pipeline: &Pipeline,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<AtRiskRow>, bool), ApiError> {
    let ctx = Arc::new(
        PipelineContext::load(env, pipeline.id)
            .await
            .map_err(super::conflict_groups::sync_error)?,
    );
    let window = Window {
        from: from.date_naive(),
        to: (to - Duration::seconds(1)).date_naive(),
    };
    let Planned { input, plan, .. } = read_and_plan(env, &ctx, window, None, None, |_| {})
        .await
        .map_err(super::conflict_groups::sync_error)?;
    let card: Option<RateCard> = ctx
        .target()
        .rates()
        .await
        .map_err(crate::remote::remote_error)?;
    // What the target itself refused stays refused until the entry changes (the executor
    // does not send it again): the same entry is refused, not unsynced.
    let refused: HashMap<String, Value> = env
        .store
        .open_target_refusals(pipeline.id, ConflictReason::TargetRejected.as_str())
        .await
        .map_err(store_error)?
        .into_iter()
        .filter_map(|(_, key, _, source)| Some((key, source?)))
        .collect();
    let mut at_risk = Vec::new();
    for d in &plan.decisions {
        let Some(s) = d.source else { continue };
        let item = &input.sources[s];
        if item.entry.begin < from || item.entry.begin >= to {
            continue;
        }
        let desired = item.desired();
        let state = match &d.outcome {
            Outcome::Create | Outcome::Update => {
                let key = item.entry.key.as_str();
                let same = desired.and_then(|e| serde_json::to_value(e).ok());
                if same.is_some() && refused.get(key) == same.as_ref() {
                    AtRiskState::Refused
                } else {
                    AtRiskState::Unsynced
                }
            }
            Outcome::Conflict(c) if c.reason == ConflictReason::TargetRejected => {
                AtRiskState::Refused
            }
            Outcome::Conflict(_) => AtRiskState::InConflict,
            Outcome::InSync { .. } | Outcome::Skip | Outcome::Ignored(_) => continue,
        };
        let seconds = desired
            .and_then(|e| e.duration_seconds)
            .or(item.entry.duration_seconds)
            .unwrap_or(0);
        let (side, customer, rate) = match desired {
            Some(e) => (
                CustomerSide::Target,
                card.as_ref()
                    .map_or_else(|| e.customer.clone(), |c| c.customer_of(e)),
                card.as_ref().and_then(|c| c.rate_for(e)),
            ),
            None => (CustomerSide::Source, item.entry.customer.clone(), None),
        };
        at_risk.push(AtRiskEntry {
            customer,
            side,
            seconds,
            state,
            rate,
        });
    }
    Ok((tally(at_risk), card.is_some()))
}

fn wants_csv(q: &MoneyQuery, headers: &HeaderMap) -> bool {
    match q.format {
        Some(f) => f == ReportFormat::Csv,
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv")),
    }
}

/// Source time of a month that is not (correctly) in the target — unsynced, in open
/// conflicts, refused — per customer, priced with the target's rates where it keeps them.
/// Reads both systems like a dry run; nothing is stored or written. `?format=csv` (or
/// `Accept: text/csv`) answers CSV.
#[utoipa::path(
    get,
    path = "/api/reports/money-at-risk",
    tag = "reports",
    params(MoneyQuery),
    responses(
        (status = 200, description = "The report (or CSV: pipeline_id,pipeline,side,customer_key,customer,entries,seconds_unsynced,seconds_in_conflict,seconds_refused,seconds_unpriced,hours_at_risk,rate,currency,amount)",
            body = MoneyAtRisk),
        (status = 400, description = "Malformed month", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown pipeline", body = ErrorResponse),
        (status = 422, description = "The pipeline is misconfigured", body = ErrorResponse),
        (status = 502, description = "A remote failed", body = ErrorResponse),
    )
)]
pub async fn money_at_risk(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<MoneyQuery>,
) -> Result<Response, ApiError> {
    let settings = state.store.get_settings().await.map_err(store_error)?;
    let tz: Tz = settings.timezone.parse().unwrap_or(Tz::UTC);
    let month = match &q.month {
        Some(m) => parse_month(m).ok_or_else(|| ApiError::bad_field("month", "must be YYYY-MM"))?,
        None => {
            let today = state.clock.now().with_timezone(&tz).date_naive();
            today.with_day(1).expect("the first exists")
        }
    };
    let (from, to) = month_range(tz, month);
    let pipelines = match q.pipeline_id {
        Some(id) => vec![state.store.get_pipeline(id).await.map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("Pipeline"),
            other => store_error(other),
        })?],
        None => state.store.all_pipelines().await.map_err(store_error)?,
    };
    let env = SyncEnv::from_ref(&state);
    let mut rows = Vec::new();
    let mut listed = Vec::new();
    for p in &pipelines {
        let (found, priced, error) = match pipeline_at_risk(&env, p, from, to).await {
            Ok((found, priced)) => (found, priced, None),
            Err(e) if q.pipeline_id.is_some() => return Err(e),
            Err(e) => (Vec::new(), false, Some(e.to_string())),
        };
        listed.push(MoneyPipeline {
            id: p.id,
            name: p.name.clone(),
            priced,
            error,
        });
        rows.extend(found.into_iter().map(|r| (p, r)));
    }
    rows.sort_by(|(_, a), (_, b)| {
        b.amount_cents
            .unwrap_or(i64::MIN)
            .cmp(&a.amount_cents.unwrap_or(i64::MIN))
    });
    let currencies: BTreeSet<Option<&String>> = rows
        .iter()
        .filter(|(_, r)| r.amount_cents.is_some())
        .map(|(_, r)| r.currency.as_ref())
        .collect();
    let currency = match currencies.iter().collect::<Vec<_>>().as_slice() {
        [one] => one.cloned(),
        _ => None,
    };
    let total = (currencies.len() == 1)
        .then(|| rows.iter().filter_map(|(_, r)| r.amount_cents).sum::<i64>())
        .map(money);
    let totals = MoneyTotals {
        entries: rows.iter().map(|(_, r)| r.entries).sum(),
        seconds_unsynced: rows.iter().map(|(_, r)| r.seconds_unsynced).sum(),
        seconds_in_conflict: rows.iter().map(|(_, r)| r.seconds_in_conflict).sum(),
        seconds_refused: rows.iter().map(|(_, r)| r.seconds_refused).sum(),
        seconds_unpriced: rows.iter().map(|(_, r)| r.seconds_unpriced).sum(),
    };
    let report = MoneyAtRisk {
        month: month.format("%Y-%m").to_string(),
        timezone: tz.name().to_owned(),
        from,
        to,
        currency,
        rows: rows
            .into_iter()
            .map(|(p, r)| MoneyRow {
                pipeline_id: p.id,
                pipeline_name: p.name.clone(),
                customer: ReportCustomer {
                    key: r.customer.as_ref().map(|c| c.key.clone()),
                    name: r.customer.as_ref().and_then(|c: &NamedRef| c.name.clone()),
                },
                side: r.side,
                entries: r.entries,
                seconds_unsynced: r.seconds_unsynced,
                seconds_in_conflict: r.seconds_in_conflict,
                seconds_refused: r.seconds_refused,
                seconds_unpriced: r.seconds_unpriced,
                rate: r
                    .rate
                    .as_ref()
                    .filter(|r| r.kind == RateKind::Hourly)
                    .map(|r| money(r.cents)),
                amount: r.amount_cents.map(money),
                currency: r.currency,
            })
            .collect(),
        total,
        totals,
        pipelines: listed,
    };
    if wants_csv(&q, &headers) {
        return Ok(csv(&report));
    }
    Ok(Json(report).into_response())
}

/// Hours of `seconds` with two decimals, rounded half away from zero, from integers.
fn hours(seconds: i64) -> String {
    let hundredths = (i128::from(seconds) * 100 + 1800 * i128::from(seconds.signum())) / 3600;
    let sign = if hundredths < 0 { "-" } else { "" };
    let h = hundredths.abs();
    format!("{sign}{}.{:02}", h / 100, h % 100)
}

fn cents_text(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.2}")).unwrap_or_default()
}

fn csv(report: &MoneyAtRisk) -> Response {
    use super::audit::csv_cell;
    let mut out = String::from(
        "pipeline_id,pipeline,side,customer_key,customer,entries,seconds_unsynced,\
         seconds_in_conflict,seconds_refused,seconds_unpriced,hours_at_risk,rate,currency,amount\r\n",
    );
    for r in &report.rows {
        let side = match r.side {
            CustomerSide::Target => "target",
            CustomerSide::Source => "source",
        };
        let cells = [
            r.pipeline_id.to_string(),
            r.pipeline_name.clone(),
            side.to_owned(),
            r.customer.key.clone().unwrap_or_default(),
            r.customer.name.clone().unwrap_or_default(),
            r.entries.to_string(),
            r.seconds_unsynced.to_string(),
            r.seconds_in_conflict.to_string(),
            r.seconds_refused.to_string(),
            r.seconds_unpriced.to_string(),
            hours(r.seconds_unsynced + r.seconds_in_conflict),
            cents_text(r.rate),
            r.currency.clone().unwrap_or_default(),
            cents_text(r.amount),
        ];
        let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    let mut response = (StatusCode::OK, out).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"money-at-risk-{}.csv\"",
        report.month
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_in_a_zone_east_of_utc_begins_the_evening_before_in_utc() {
        let (from, to) = month_range(
            chrono_tz::Europe::Berlin,
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        );
        assert_eq!(from.to_rfc3339(), "2026-02-28T23:00:00+00:00");
        // Summer time began on 29 March.
        assert_eq!(to.to_rfc3339(), "2026-03-31T22:00:00+00:00");
    }

    #[test]
    fn months_read_only_as_year_and_month() {
        assert_eq!(parse_month("2026-03"), NaiveDate::from_ymd_opt(2026, 3, 1));
        assert_eq!(parse_month("2026-3"), None);
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("March"), None);
    }

    #[test]
    fn hours_are_exact_decimals() {
        assert_eq!(hours(5400), "1.50");
        assert_eq!(hours(60), "0.02");
        assert_eq!(hours(-1800), "-0.50");
        assert_eq!(hours(0), "0.00");
    }
}
