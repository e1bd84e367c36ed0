//! Google Calendar's JSON as it comes over the wire (external-apis-v2.md §5), and how its
//! error answers read.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::ConnectorError;
use crate::http::{ErrorContext, default_error};

/// `GET /calendars/{calendarId}/events` (one page).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiEventList {
    #[serde(default)]
    pub items: Vec<ApiEvent>,
    #[serde(default, rename = "nextPageToken")]
    pub next_page_token: Option<String>,
    /// Only on the last page.
    #[serde(default, rename = "nextSyncToken")]
    pub next_sync_token: Option<String>,
}

/// An event (or, with `singleEvents=true`, one instance of a recurring event). Cancelled
/// events of an incremental read may carry little more than `id` and `status`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiEvent {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub start: Option<ApiTime>,
    #[serde(default)]
    pub end: Option<ApiTime>,
    #[serde(default)]
    pub attendees: Option<Vec<ApiAttendee>>,
    #[serde(default, rename = "recurringEventId")]
    pub recurring_event_id: Option<String>,
    #[serde(default, rename = "eventType")]
    pub event_type: Option<String>,
}

/// `start` / `end`: `dateTime` (RFC 3339 with offset) for timed events, `date` for all-day
/// ones (the end date exclusive).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiTime {
    #[serde(default, rename = "dateTime")]
    pub date_time: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
}

/// An attendee; `self` marks the calendar's owner.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiAttendee {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default, rename = "responseStatus")]
    pub response_status: Option<String>,
    #[serde(default, rename = "self")]
    pub is_self: Option<bool>,
}

/// `GET /calendars/{calendarId}`: for a primary calendar, `id` is the owner's e-mail.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiCalendar {
    pub id: String,
    #[serde(default)]
    pub summary: Option<String>,
}

/// `GET /users/me/calendarList` (one page).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiCalendarList {
    #[serde(default)]
    pub items: Vec<ApiCalendarListEntry>,
    #[serde(default, rename = "nextPageToken")]
    pub next_page_token: Option<String>,
}

/// One calendar the account sees.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiCalendarListEntry {
    pub id: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub primary: Option<bool>,
    #[serde(default, rename = "accessRole")]
    pub access_role: Option<String>,
    #[serde(default, rename = "timeZone")]
    pub time_zone: Option<String>,
}

/// The answer of `events/watch`: the channel as opened.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiChannel {
    pub id: String,
    #[serde(rename = "resourceId")]
    pub resource_id: String,
    /// Milliseconds since the epoch; Google sends int64 values as strings.
    #[serde(default, deserialize_with = "millis")]
    pub expiration: Option<i64>,
}

fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Reasons of a 403 (or 429) that mean "slow down" rather than "not allowed".
const RATE_REASONS: [&str; 5] = [
    "usageLimits",
    "userRateLimitExceeded",
    "rateLimitExceeded",
    "quotaExceeded",
    "dailyLimitExceeded",
];

/// What Google's error body says: the first error's `reason` and `domain`, and the message.
fn read_body(body: &[u8]) -> (Vec<String>, Option<String>) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mut reasons = Vec::new();
    if let Some(errors) = v["error"]["errors"].as_array() {
        for e in errors {
            for field in ["reason", "domain"] {
                if let Some(r) = e[field].as_str() {
                    reasons.push(r.to_owned());
                }
            }
        }
    }
    let message = v["error"]["message"]
        .as_str()
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    (reasons, message)
}

/// Google's reading of error answers
/// (`{"error":{"errors":[{"domain","reason","message"}],"code","message"}}`). A 410 stays a
/// [`ConnectorError::Remote`] with status 410: the source reads it as "the sync token
/// expired, read everything again".
pub fn google_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    let (reasons, message) = read_body(ctx.body);
    let message = message.unwrap_or_else(|| "no message".to_owned());
    let rate = reasons.iter().any(|r| RATE_REASONS.contains(&r.as_str()));
    match ctx.status {
        401 => ConnectorError::Unauthorized {
            status: 401,
            message: format!("Google refused the access token: {message}"),
        },
        403 | 429 if rate => ConnectorError::RateLimited {
            retry_after_secs: 0,
        },
        403 => ConnectorError::Forbidden {
            message: format!(
                "Google: {message} (the authorization must include calendar read access, and \
                 the account must see the calendar)"
            ),
        },
        404 => ConnectorError::NotFound {
            message: format!("{}: {message}", ctx.route),
        },
        410 => ConnectorError::Remote {
            host: ctx.host.to_owned(),
            status: 410,
            message: format!("{message} (fullSyncRequired)"),
        },
        _ => default_error(ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn read(status: u16, body: &str) -> ConnectorError {
        let headers = HeaderMap::new();
        google_error(&ErrorContext {
            host: "www.googleapis.com",
            route: "GET /calendars/{calendarId}/events",
            status,
            headers: &headers,
            body: body.as_bytes(),
        })
    }

    fn body(code: u16, reason: &str, domain: &str) -> String {
        format!(
            r#"{{"error":{{"errors":[{{"domain":"{domain}","reason":"{reason}","message":"m"}}],"code":{code},"message":"Some text"}}}}"#
        )
    }

    #[test]
    fn quota_errors_read_as_rate_limiting_and_other_refusals_as_forbidden() {
        for (reason, domain) in [
            ("rateLimitExceeded", "usageLimits"),
            ("userRateLimitExceeded", "usageLimits"),
            ("quotaExceeded", "usageLimits"),
        ] {
            let e = read(403, &body(403, reason, domain));
            assert!(matches!(e, ConnectorError::RateLimited { .. }), "{e:?}");
        }
        let e = read(403, &body(403, "forbidden", "global"));
        assert!(matches!(e, ConnectorError::Forbidden { .. }), "{e:?}");
    }

    #[test]
    fn an_expired_sync_token_stays_a_410_and_a_bad_token_is_unauthorized() {
        let e = read(410, &body(410, "fullSyncRequired", "calendar"));
        assert!(
            matches!(e, ConnectorError::Remote { status: 410, .. }),
            "{e:?}"
        );
        let e = read(401, &body(401, "authError", "global"));
        assert_eq!(e.class(), crate::ErrorClass::Unauthorized);
    }

    #[test]
    fn expiration_reads_as_a_string_or_a_number() {
        let a: ApiChannel =
            serde_json::from_str(r#"{"id":"c","resourceId":"r","expiration":"1700000000000"}"#)
                .unwrap();
        let b: ApiChannel =
            serde_json::from_str(r#"{"id":"c","resourceId":"r","expiration":1700000000000}"#)
                .unwrap();
        assert_eq!(a.expiration, Some(1_700_000_000_000));
        assert_eq!(b.expiration, a.expiration);
    }
}
