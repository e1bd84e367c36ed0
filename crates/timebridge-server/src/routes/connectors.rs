//! Connectors: `GET /api/connectors/kinds` and CRUD on `/api/connectors`.
//!
//! Settings are validated and completed by the kind's registry entry; secret settings
//! (e.g. zammad `webhook_secret`) and the API token are split out, stored encrypted and
//! answered only as `has_token` / `has_<secret>`.

use std::collections::BTreeMap;
use timebridge_store::AuditAction;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use timebridge_connectors::registry::{self, KindInfo};
use timebridge_store::{Secret, StoreError};
use utoipa::ToSchema;

use crate::audit::{Actor, record};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Json, ListResponse, Page, Path, Query};
use crate::state::AppState;
use crate::store_error;

/// A connector kind from the registry: what it is for and how it is configured, so that
/// clients (the UI) never name a concrete system.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorKind {
    /// The kind, e.g. `zammad`.
    pub kind: String,
    /// The system's name for people, e.g. `Zammad`.
    pub label: String,
    /// What it can be used as: a pipeline's source or target, or a notifier.
    pub roles: Vec<registry::Role>,
    /// What it can do beyond its roles.
    pub features: Vec<registry::Feature>,
    /// The kind's own words for the activity, project and user dimensions.
    pub dimensions: registry::Dimensions,
    /// JSON Schema of the `settings` object.
    #[schema(value_type = Object)]
    pub settings_schema: Value,
    /// Settings that are secrets: write-only, answered as `has_<name>`.
    pub secret_settings: Vec<String>,
    /// What `GET /api/connectors/{id}/catalog/{what}` serves.
    pub catalogs: Vec<String>,
    /// Which of `catalogs` lists each dimension's items (for mapping pickers); `null` where
    /// none does.
    pub dimension_catalogs: registry::DimensionCatalogs,
    /// Where and how its webhook calls arrive; `null` for kinds without webhooks.
    pub webhook: Option<KindWebhook>,
}

/// A kind's webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct KindWebhook {
    /// `/api/webhook/<kind>/{connector_id}`.
    pub path: String,
    /// The signature scheme, e.g. `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>`.
    pub signature: String,
}

impl From<KindInfo> for ConnectorKind {
    fn from(k: KindInfo) -> Self {
        let webhook = k
            .webhook
            .zip(k.webhook_path())
            .map(|(w, path)| KindWebhook {
                path,
                signature: w.signature.to_owned(),
            });
        ConnectorKind {
            kind: k.kind.to_owned(),
            label: k.label.to_owned(),
            roles: k.roles,
            features: k.features,
            dimensions: k.dimensions,
            settings_schema: k.settings_schema,
            secret_settings: k.secret_settings.iter().map(|s| (*s).to_owned()).collect(),
            catalogs: k.catalogs.iter().map(|s| (*s).to_owned()).collect(),
            dimension_catalogs: k.dimension_catalogs,
            webhook,
        }
    }
}

/// A configured connector. Secrets are never included: `has_token` and
/// `has_<secret>` say whether they are set.
#[derive(Debug, Serialize, ToSchema)]
pub struct Connector {
    /// Id.
    pub id: i64,
    /// Kind, e.g. `zammad`.
    pub kind: String,
    /// Unique display name.
    pub name: String,
    /// Base URL of the remote system.
    pub base_url: String,
    /// Non-secret settings (with defaults filled in) plus `has_<secret>` flags.
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Whether an API token is stored.
    pub has_token: bool,
    /// `has_<secret>` for each secret setting of the kind, e.g. `has_webhook_secret`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub secrets_set: BTreeMap<String, bool>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /api/connectors`.
#[derive(Deserialize, ToSchema)]
pub struct ConnectorCreate {
    /// A registered kind (see `/api/connectors/kinds`).
    pub kind: String,
    /// Unique display name.
    pub name: String,
    /// Absolute http(s) URL of the remote system.
    #[schema(format = "uri")]
    pub base_url: String,
    /// API token for the remote system (write-only).
    #[schema(write_only)]
    pub api_token: Option<String>,
    /// Settings per the kind's schema; secret settings are write-only.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Value,
}

/// Body of `PUT /api/connectors/{id}`; omitted secrets (and an omitted `api_token`) are
/// kept, an omitted `settings` keeps all settings.
#[derive(Deserialize, ToSchema)]
pub struct ConnectorUpdate {
    /// Unique display name.
    pub name: String,
    /// Absolute http(s) URL of the remote system.
    #[schema(format = "uri")]
    pub base_url: String,
    /// New API token; omit to keep the stored one.
    #[schema(write_only)]
    pub api_token: Option<String>,
    /// New settings; omitted secret settings are kept, a secret set to `null` is removed.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
}

impl std::fmt::Debug for ConnectorCreate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorCreate")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ConnectorUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorUpdate")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn to_api(kind: Option<&KindInfo>, c: timebridge_store::Connector) -> Connector {
    let mut settings = match &c.settings {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let mut secrets_set = BTreeMap::new();
    let secret_names: Vec<String> = kind
        .map(|k| k.secret_settings.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    for name in secret_names
        .iter()
        .chain(c.secret_names_set.iter())
        .collect::<std::collections::BTreeSet<_>>()
    {
        settings.remove(name.as_str());
        let set = c.has_secret(name);
        secrets_set.insert(format!("has_{name}"), set);
    }
    for (k, v) in &secrets_set {
        settings.insert(k.clone(), Value::Bool(*v));
    }
    Connector {
        id: c.id,
        kind: c.kind,
        name: c.name,
        base_url: c.base_url,
        settings: Value::Object(settings),
        has_token: c.has_token,
        secrets_set,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// Checks that `url` is an absolute http(s) URL without credentials; returns it without
/// a trailing slash.
pub fn validate_base_url(url: &str) -> Result<String, ApiError> {
    validate_base_url_with(url, &["http", "https"])
}

/// [`validate_base_url`] with the kind's own schemes (e-mail: `smtp`, `smtps`).
fn validate_base_url_for(kind: &KindInfo, url: &str) -> Result<String, ApiError> {
    validate_base_url_with(url, &kind.base_url_schemes())
}

fn validate_base_url_with(url: &str, schemes: &[&str]) -> Result<String, ApiError> {
    let url = url.trim();
    let words: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
    let invalid = || {
        ApiError::invalid_field(
            "base_url",
            format!(
                "must be an absolute URL starting with {}",
                words.join(" or ")
            ),
        )
    };
    let uri: axum::http::Uri = url.parse().map_err(|_| invalid())?;
    match uri.scheme_str() {
        Some(s) if schemes.contains(&s) => {}
        _ => return Err(invalid()),
    }
    let authority = uri.authority().ok_or_else(invalid)?;
    if authority.as_str().contains('@') {
        return Err(ApiError::invalid_field(
            "base_url",
            "must not contain credentials; use api_token",
        ));
    }
    if authority.host().is_empty() {
        return Err(invalid());
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn validate_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid_field(
            "name",
            "must be 1 to 100 characters",
        ));
    }
    Ok(name.to_string())
}

fn validate_token(token: Option<String>) -> Result<Option<Secret>, ApiError> {
    match token {
        None => Ok(None),
        Some(t) if t.trim().is_empty() => Err(ApiError::invalid_field(
            "api_token",
            "must not be empty (omit it to keep the stored token)",
        )),
        Some(t) => Ok(Some(Secret::new(t))),
    }
}

/// Settings split into plain settings and secret settings to set or remove.
struct SplitSettings {
    plain: Value,
    set_secrets: BTreeMap<String, Secret>,
    removed_secrets: Vec<String>,
}

fn split_settings(kind: &KindInfo, settings: &Value) -> Result<SplitSettings, ApiError> {
    // Settings marked `readOnly` are set by a flow (the OAuth connect flow's refresh token),
    // never through this API; removing one (`null`) is allowed.
    if let Value::Object(given) = settings {
        for (name, value) in given {
            if !value.is_null() && kind.settings_schema["properties"][name]["readOnly"] == true {
                return Err(ApiError::invalid_field(
                    &format!("settings.{name}"),
                    "is set by the connect flow, not through the API",
                ));
            }
        }
    }
    let split = registry::split_settings(kind, settings).map_err(|e| {
        let field = if e.field.is_empty() {
            "settings".to_string()
        } else {
            format!("settings.{}", e.field)
        };
        ApiError::invalid_field(&field, e.message)
    })?;
    Ok(SplitSettings {
        plain: split.plain,
        set_secrets: split
            .secrets
            .into_iter()
            .map(|(name, text)| (name, Secret::new(text)))
            .collect(),
        removed_secrets: split.removed_secrets,
    })
}

fn find_kind(kind: &str) -> Result<KindInfo, ApiError> {
    registry::find(kind).ok_or_else(|| {
        let known: Vec<&str> = registry::kinds().iter().map(|k| k.kind).collect();
        ApiError::Unprocessable {
            code: "unknown_kind",
            message: format!(
                "Unknown connector kind `{kind}`; known kinds: {}.",
                known.join(", ")
            ),
            details: json!({ "field": "kind", "reason": "unknown connector kind", "known": known }),
        }
    })
}

fn name_taken(name: &str) -> ApiError {
    ApiError::Conflict {
        code: "name_taken",
        message: format!("A connector named `{name}` already exists."),
        details: json!({ "field": "name" }),
    }
}

/// The registered connector kinds: label, roles, features, dimensions, settings schema,
/// secret settings, catalogs and webhook.
#[utoipa::path(
    get,
    path = "/api/connectors/kinds",
    tag = "connectors",
    responses(
        (status = 200, description = "The registered kinds", body = Vec<ConnectorKind>),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn kinds() -> Json<Vec<ConnectorKind>> {
    Json(
        registry::kinds()
            .into_iter()
            .map(ConnectorKind::from)
            .collect(),
    )
}

/// Lists connectors.
#[utoipa::path(
    get,
    path = "/api/connectors",
    tag = "connectors",
    params(Page),
    responses(
        (status = 200, description = "One page of connectors", body = ListResponse<Connector>),
        (status = 400, description = "Bad paging parameters", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(page): Query<Page>,
) -> Result<Json<ListResponse<Connector>>, ApiError> {
    let (limit, offset) = page.resolve()?;
    let (items, total) = state
        .store
        .list_connectors(limit, offset)
        .await
        .map_err(store_error)?;
    let items = items
        .into_iter()
        .map(|c| to_api(registry::find(&c.kind).as_ref(), c))
        .collect();
    Ok(Json(ListResponse { items, total }))
}

/// Creates a connector.
#[utoipa::path(
    post,
    path = "/api/connectors",
    tag = "connectors",
    request_body = ConnectorCreate,
    responses(
        (status = 201, description = "Created", body = Connector),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 409, description = "The name is taken", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 422, description = "Unknown kind, bad base_url or settings", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<ConnectorCreate>,
) -> Result<(StatusCode, Json<Connector>), ApiError> {
    let kind = find_kind(&body.kind)?;
    let name = validate_name(&body.name)?;
    let base_url = validate_base_url_for(&kind, &body.base_url)?;
    let api_token = validate_token(body.api_token)?;
    let split = split_settings(&kind, &body.settings)?;
    let has_token = api_token.is_some();
    let secret_names: Vec<String> = split.set_secrets.keys().cloned().collect();
    let created = state
        .store
        .create_connector(timebridge_store::NewConnector {
            kind: kind.kind.to_string(),
            name: name.clone(),
            base_url,
            api_token,
            settings: split.plain,
            secret_settings: split.set_secrets,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => name_taken(&name),
            other => store_error(other),
        })?;
    record(
        &state,
        Actor::Admin,
        AuditAction::ConnectorCreated,
        "connector",
        Some(created.id.to_string()),
        json!({ "kind": created.kind, "name": created.name, "base_url": created.base_url,
                "has_token": has_token, "secrets_set": secret_names }),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    tracing::info!(connector = created.id, kind = %created.kind, "Connector created.");
    Ok((StatusCode::CREATED, Json(to_api(Some(&kind), created))))
}

/// One connector.
#[utoipa::path(
    get,
    path = "/api/connectors/{id}",
    tag = "connectors",
    params(("id" = i64, Path, description = "Connector id")),
    responses(
        (status = 200, description = "The connector", body = Connector),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Connector>, ApiError> {
    let c = state
        .store
        .get_connector(id)
        .await
        .map_err(|e| not_found_as(e, "Connector"))?;
    Ok(Json(to_api(registry::find(&c.kind).as_ref(), c)))
}

pub(crate) fn not_found_as(err: StoreError, what: &str) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::not_found(what),
        other => store_error(other),
    }
}

/// Replaces a connector's name, URL and (optionally) token and settings.
#[utoipa::path(
    put,
    path = "/api/connectors/{id}",
    tag = "connectors",
    params(("id" = i64, Path, description = "Connector id")),
    request_body = ConnectorUpdate,
    responses(
        (status = 200, description = "Updated", body = Connector),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
        (status = 409, description = "The name is taken", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 422, description = "Bad base_url or settings", body = ErrorResponse),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    Json(body): Json<ConnectorUpdate>,
) -> Result<Json<Connector>, ApiError> {
    let current = state
        .store
        .get_connector(id)
        .await
        .map_err(|e| not_found_as(e, "Connector"))?;
    let kind = find_kind(&current.kind)?;
    let name = validate_name(&body.name)?;
    let base_url = validate_base_url_for(&kind, &body.base_url)?;
    let api_token = validate_token(body.api_token)?;

    let mut fields_changed: Vec<String> = Vec::new();
    if name != current.name {
        fields_changed.push("name".into());
    }
    if base_url != current.base_url {
        fields_changed.push("base_url".into());
    }
    if api_token.is_some() {
        fields_changed.push("api_token".into());
    }
    let (settings, set_secrets, removed_secrets) = match &body.settings {
        None => (None, BTreeMap::new(), Vec::new()),
        Some(value) => {
            let split = split_settings(&kind, value)?;
            if let (Value::Object(new), Value::Object(old)) = (&split.plain, &current.settings) {
                for (k, v) in new {
                    if old.get(k) != Some(v) {
                        fields_changed.push(format!("settings.{k}"));
                    }
                }
            }
            for k in split.set_secrets.keys().chain(split.removed_secrets.iter()) {
                fields_changed.push(format!("settings.{k}"));
            }
            (Some(split.plain), split.set_secrets, split.removed_secrets)
        }
    };

    let updated = state
        .store
        .update_connector(
            id,
            timebridge_store::ConnectorUpdate {
                name: Some(name.clone()),
                base_url: Some(base_url),
                settings,
                api_token,
                secret_settings: set_secrets,
                remove_secrets: removed_secrets,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => name_taken(&name),
            other => not_found_as(other, "Connector"),
        })?;
    record(
        &state,
        Actor::Admin,
        AuditAction::ConnectorUpdated,
        "connector",
        Some(id.to_string()),
        json!({ "name": updated.name, "fields_changed": fields_changed }),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    state.webhook_queue.forget(id);
    state.connectors.memory.forget(id);
    tracing::info!(connector = id, "Connector updated.");
    Ok(Json(to_api(Some(&kind), updated)))
}

async fn used_by_pipeline(state: &AppState, connector_id: i64) -> Result<bool, ApiError> {
    let mut offset = 0;
    loop {
        let (page, total) = state
            .store
            .list_pipelines(crate::extract::MAX_LIMIT, offset)
            .await
            .map_err(store_error)?;
        if page
            .iter()
            .any(|p| p.source_connector_id == connector_id || p.target_connector_id == connector_id)
        {
            return Ok(true);
        }
        offset += page.len() as u64;
        if page.is_empty() || offset >= total {
            return Ok(false);
        }
    }
}

/// Deletes a connector that no pipeline uses.
#[utoipa::path(
    delete,
    path = "/api/connectors/{id}",
    tag = "connectors",
    params(("id" = i64, Path, description = "Connector id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
        (status = 409, description = "A pipeline uses the connector", body = ErrorResponse),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let current = state
        .store
        .get_connector(id)
        .await
        .map_err(|e| not_found_as(e, "Connector"))?;
    let in_use = || ApiError::Conflict {
        code: "connector_in_use",
        message: format!(
            "The connector `{}` is used by a pipeline; delete or change the pipeline first.",
            current.name
        ),
        details: json!({ "connector_id": id }),
    };
    // Checked here as well as by the database's foreign key, so the answer is a 409 on
    // every backend whatever error the driver reports.
    if used_by_pipeline(&state, id).await? {
        return Err(in_use());
    }
    state
        .store
        .delete_connector(id)
        .await
        .map_err(|e| match e {
            StoreError::InUse(_) | StoreError::Conflict(_) => in_use(),
            other => not_found_as(other, "Connector"),
        })?;
    record(
        &state,
        Actor::Admin,
        AuditAction::ConnectorDeleted,
        "connector",
        Some(id.to_string()),
        json!({ "kind": current.kind, "name": current.name }),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    state.webhook_queue.forget(id);
    tracing::info!(connector = id, "Connector deleted.");
    Ok(StatusCode::NO_CONTENT)
}

/// The answer of a connector test.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    /// Whether the connector works as the sync will use it.
    pub ok: bool,
    /// What was found, or why it fails (wrong token, unreachable host, TLS, permission).
    pub message: String,
    /// What was checked and what the remote said; on failure `failed_step` and
    /// `error_class` (`unauthorized`, `unreachable`, `tls`, `timeout`, `forbidden`, …).
    #[schema(value_type = Object)]
    pub details: Value,
}

/// How long an interactive connector test may take in all.
const TEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(25);

/// Calls what a sync will call, with one-item reads, and reports whether it works. A
/// remote that refuses, cannot be reached or fails TLS is `ok: false` with the reason,
/// never a 5xx. A notifier (Slack, e-mail, signed webhook) also sends a test message
/// (`details.test_message`).
#[utoipa::path(
    post,
    path = "/api/connectors/{id}/test",
    tag = "connectors",
    params(("id" = i64, Path, description = "Connector id")),
    responses(
        (status = 200, description = "The test result", body = TestResult),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
    )
)]
pub async fn test(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<TestResult>, ApiError> {
    // An interactive test retries little: the admin is waiting for the answer.
    let ctx = timebridge_connectors::ConnectorContext {
        retry: Some(timebridge_connectors::http::RetryPolicy {
            max_attempts: 2,
            max_retry_after: std::time::Duration::from_secs(5),
            ..Default::default()
        }),
        ..state.connectors.clone()
    };
    let connector = match crate::remote::instance_with(&state, id, &ctx).await {
        Ok(c) => c,
        Err(ApiError::Unprocessable {
            message, details, ..
        }) => {
            return Ok(Json(TestResult {
                ok: false,
                message,
                details,
            }));
        }
        Err(e) => return Err(e),
    };
    let report = match tokio::time::timeout(TEST_DEADLINE, connector.test()).await {
        Ok(r) => TestResult {
            ok: r.ok,
            message: r.message,
            details: r.details,
        },
        Err(_) => TestResult {
            ok: false,
            message: format!(
                "The remote did not complete the test within {} s.",
                TEST_DEADLINE.as_secs()
            ),
            details: json!({ "error_class": "timeout" }),
        },
    };
    let report = match connector.as_notifier() {
        Some(notifier) if report.ok => send_test_message(&state, id, notifier, report).await,
        _ => report,
    };
    tracing::info!(connector = id, ok = report.ok, "Connector tested.");
    Ok(Json(report))
}

/// A notifier's test also sends a test message (event `test`), audited like any
/// notification; `details.test_message` says what happened.
async fn send_test_message(
    state: &AppState,
    id: i64,
    notifier: &dyn timebridge_connectors::Notifier,
    mut report: TestResult,
) -> TestResult {
    use timebridge_connectors::{Notification, NotificationEvent};
    use timebridge_core::notify::NotificationSummary;
    let message = Notification {
        event: NotificationEvent::Test,
        delivery_id: uuid::Uuid::new_v4().to_string(),
        pipeline: None,
        run: None,
        summary: NotificationSummary {
            headline: "timebridge can reach you here: notifications of this connector arrive \
                       like this message."
                .into(),
            ..Default::default()
        },
        url: crate::notify::links::connector(&state.config.public_url, id),
    };
    let sent = tokio::time::timeout(TEST_DEADLINE, notifier.deliver(&message)).await;
    let (ok, detail, action) = match sent {
        Ok(Ok(d)) => (
            true,
            json!({"sent": true, "delivery_id": message.delivery_id,
                                   "details": d.details}),
            AuditAction::NotificationSent,
        ),
        Ok(Err(e)) => (
            false,
            json!({"sent": false, "error": e.to_string(),
                                     "error_class": e.class()}),
            AuditAction::NotificationFailed,
        ),
        Err(_) => (
            false,
            json!({"sent": false, "error": "no answer in time",
                                 "error_class": "timeout"}),
            AuditAction::NotificationFailed,
        ),
    };
    record(
        state,
        Actor::Admin,
        action,
        "connector",
        Some(id.to_string()),
        json!({"connector_id": id, "event": NotificationEvent::Test, "test_message": detail}),
        None,
    )
    .await;
    if let Value::Object(map) = &mut report.details {
        map.insert("test_message".into(), detail.clone());
    }
    if !ok {
        report.ok = false;
        report.message = format!(
            "{} But the test message was not delivered: {}",
            report.message,
            detail["error"].as_str().unwrap_or("unknown error")
        );
    } else {
        report.message = format!("{} A test message was sent.", report.message);
    }
    report
}

/// One option of a catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogEntry {
    /// The remote's id, as a string (what mappings store).
    pub key: String,
    /// A human label.
    pub label: String,
    /// More about it (e.g. a project's customer, a user's e-mail and time zone).
    #[schema(value_type = Object)]
    pub extra: Value,
}

/// A catalog's options.
#[derive(Debug, Serialize, ToSchema)]
pub struct Catalog {
    /// The options, sorted by label.
    pub items: Vec<CatalogEntry>,
}

/// Lists what the mapping UI offers for a connector: zammad `types|organizations|agents`,
/// kimai `activities|projects|customers|users`.
#[utoipa::path(
    get,
    path = "/api/connectors/{id}/catalog/{what}",
    tag = "connectors",
    params(
        ("id" = i64, Path, description = "Connector id"),
        ("what" = String, Path, description = "Catalog name, per kind"),
    ),
    responses(
        (status = 200, description = "The options", body = Catalog),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown connector or catalog", body = ErrorResponse),
        (status = 422, description = "The connector is misconfigured", body = ErrorResponse),
        (status = 502, description = "The remote failed (details.error_class says how)", body = ErrorResponse),
    )
)]
pub async fn catalog(
    State(state): State<AppState>,
    Path((id, what)): Path<(i64, String)>,
) -> Result<Json<Catalog>, ApiError> {
    let stored = state
        .store
        .get_connector(id)
        .await
        .map_err(|e| not_found_as(e, "Connector"))?;
    let kind = find_kind(&stored.kind)?;
    if !kind.catalogs.contains(&what.as_str()) {
        return Err(ApiError::NotFound(format!(
            "A {} connector has no catalog `{what}`; it has {}.",
            kind.kind,
            kind.catalogs.join(", ")
        )));
    }
    let connector = crate::remote::instance(&state, id).await?;
    let items = connector
        .catalog(&what)
        .await
        .map_err(crate::remote::remote_error)?;
    Ok(Json(Catalog {
        items: items
            .into_iter()
            .map(|i| CatalogEntry {
                key: i.key,
                label: i.label,
                extra: i.extra,
            })
            .collect(),
    }))
}
