//! The registry of connector kinds. The engine, the API and the UI only ever see
//! kinds through this module; adding a connector is one folder plus one line here.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::connector::{Connector, ConnectorConfig, ConnectorContext};
use crate::error::ConnectorResult;
use crate::webhook::WebhookProtocol;

/// What a connector kind can be used as: a pipeline's source or target, or a notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Source,
    Target,
    Notifier,
}

/// What a kind can do beyond its roles (`features` in `/api/connectors/kinds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Receives signed webhook calls (see [`KindInfo::webhook`]).
    Webhook,
    /// Its entries may be running (clocked in, no end yet).
    RunningEntries,
    /// Creates are idempotent by a key the caller sends.
    IdempotencyKey,
    /// As a source, can create projects (project mirroring).
    CreateProjects,
    /// Connects through an OAuth grant.
    Oauth,
}

/// Each kind's own word for the three mapping dimensions (Zammad: type / organization /
/// agent; Kimai: activity / project / user). `None`: the kind has no such dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Dimensions {
    /// The kind's word for an activity (Zammad: `type`).
    #[schema(value_type = Option<String>)]
    pub activity: Option<&'static str>,
    /// The kind's word for a project (Zammad: `organization`).
    #[schema(value_type = Option<String>)]
    pub project: Option<&'static str>,
    /// The kind's word for a person (Zammad: `agent`).
    #[schema(value_type = Option<String>)]
    pub user: Option<&'static str>,
}

/// The catalog (`GET /api/connectors/{id}/catalog/{what}`) that lists each mapping
/// dimension's items (Zammad: `types` / `organizations` / `agents`). `None`: none does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DimensionCatalogs {
    /// The catalog of activities (Zammad: `types`; Kimai: `activities`).
    #[schema(value_type = Option<String>)]
    pub activity: Option<&'static str>,
    /// The catalog of projects (Zammad: `organizations`; Kimai: `projects`).
    #[schema(value_type = Option<String>)]
    pub project: Option<&'static str>,
    /// The catalog of people (Zammad: `agents`; Kimai: `users`).
    #[schema(value_type = Option<String>)]
    pub user: Option<&'static str>,
}

/// How a kind's webhook calls are signed and read, served at
/// `/api/webhook/<kind>/{connector_id}`.
#[derive(Debug, Clone, Copy)]
pub struct WebhookSpec {
    /// The signature scheme in words, e.g. `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the
    /// raw body>`.
    pub signature: &'static str,
    /// The secret setting the signature is checked with (one of the kind's
    /// `secret_settings`, e.g. `webhook_secret`).
    pub secret_setting: &'static str,
    /// Verifies and parses calls; implemented in the kind's folder.
    pub protocol: &'static dyn WebhookProtocol,
}

/// Static description of a connector kind.
#[derive(Debug, Clone, Serialize)]
pub struct KindInfo {
    pub kind: &'static str,
    /// The system's name for people (`Zammad`).
    pub label: &'static str,
    pub roles: Vec<Role>,
    pub features: Vec<Feature>,
    pub dimensions: Dimensions,
    /// JSON Schema of the kind's `settings` object.
    pub settings_schema: Value,
    /// Settings that are secrets: write-only, encrypted at rest, reported as
    /// `has_<name>` (e.g. `webhook_secret` → `has_webhook_secret`).
    pub secret_settings: Vec<&'static str>,
    /// The catalogs `GET /api/connectors/{id}/catalog/{what}` serves for this kind.
    pub catalogs: &'static [&'static str],
    /// Which of [`KindInfo::catalogs`] lists each dimension's items (the mapping pickers).
    pub dimension_catalogs: DimensionCatalogs,
    /// How its webhook calls are signed, for kinds with [`Feature::Webhook`].
    #[serde(skip)]
    pub webhook: Option<WebhookSpec>,
    /// As a target: how it rounds the entries it stores by itself, in words, when it may
    /// (then a pipeline that rounds too is warned about it: both would round).
    #[serde(skip)]
    pub rounds_itself: Option<&'static str>,
    /// Builds a connector instance from its stored configuration.
    #[serde(skip)]
    pub build: BuildFn,
}

/// Constructor of a kind's connector instances.
pub type BuildFn = fn(ConnectorConfig, &ConnectorContext) -> ConnectorResult<Arc<dyn Connector>>;

impl KindInfo {
    /// Whether the kind can be used as `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the kind has `feature`.
    pub fn has_feature(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    /// The URL schemes its `base_url` may have: `http` and `https` unless its settings
    /// schema names others in `x-base-url-schemes` (e-mail: `smtp`, `smtps`).
    pub fn base_url_schemes(&self) -> Vec<&str> {
        match self.settings_schema["x-base-url-schemes"].as_array() {
            Some(list) => list.iter().filter_map(Value::as_str).collect(),
            None => vec!["http", "https"],
        }
    }

    /// The path its webhook calls are served at, for kinds that receive them.
    pub fn webhook_path(&self) -> Option<String> {
        self.webhook
            .map(|_| format!("/api/webhook/{}/{{connector_id}}", self.kind))
    }

    /// Builds an instance from `config` (whose settings are normalised first).
    pub fn build(
        &self,
        mut config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        config.settings = normalize_settings(self, &config.settings)
            .map_err(|e| crate::ConnectorError::Config(e.to_string()))?;
        (self.build)(config, ctx)
    }
}

/// A settings value the kind does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("settings.{field}: {message}")]
pub struct SettingsError {
    pub field: String,
    pub message: String,
}

/// All registered kinds: one line per connector.
pub fn kinds() -> Vec<KindInfo> {
    vec![
        crate::zammad::kind(),
        crate::kimai::kind(),
        crate::odoo::kind(),
        crate::timetracker::kind(),
        crate::clockify::kind(),
        crate::slack::kind(),
        crate::email::kind(),
        crate::outgoing_webhook::kind(),
        crate::jibble::kind(),
        crate::google_calendar::kind(),
    ]
}

/// The kind registered under `kind`, if any.
pub fn find(kind: &str) -> Option<KindInfo> {
    kinds().into_iter().find(|k| k.kind == kind)
}

/// Settings every kind accepts for its HTTP transport; kinds merge them into their schema
/// with [`with_transport_settings`].
fn transport_properties() -> Map<String, Value> {
    let props = json!({
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 30,
            "title": "Timeout of one request, in seconds"},
        "max_concurrent_requests": {"type": "integer", "minimum": 1, "maximum": 64, "default": 8,
            "title": "Requests in flight at once"},
        "max_requests_per_second": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": null,
            "title": "Request rate limit (empty: unlimited)"},
        "ca_certificate": {"type": ["string", "null"], "default": null,
            "title": "Custom CA certificate (PEM) for an on-premises server"}
    });
    match props {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A kind's settings schema: `properties` plus the shared transport settings.
pub fn with_transport_settings(properties: Value) -> Value {
    let mut props = match properties {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for (k, v) in transport_properties() {
        props.entry(k).or_insert(v);
    }
    json!({"type": "object", "additionalProperties": false, "properties": props})
}

/// Validates `settings` against the kind's schema and fills in defaults.
///
/// Secret settings are validated too; the caller stores them separately.
pub fn normalize_settings(kind: &KindInfo, settings: &Value) -> Result<Value, SettingsError> {
    let obj = match settings {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        _ => {
            return Err(SettingsError {
                field: String::new(),
                message: "must be an object".into(),
            });
        }
    };
    let props = kind.settings_schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut out = Map::new();
    for (name, value) in &obj {
        let Some(schema) = props.get(name) else {
            return Err(SettingsError {
                field: name.clone(),
                message: "is not a known setting".into(),
            });
        };
        check_value(name, schema, value)?;
        out.insert(name.clone(), value.clone());
    }
    for (name, schema) in &props {
        if !out.contains_key(name)
            && let Some(default) = schema.get("default")
        {
            out.insert(name.clone(), default.clone());
        }
    }
    Ok(Value::Object(out))
}

/// A connector's settings as the API takes them, split the way the store keeps them.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitSettings {
    /// The plain settings, validated and with their defaults filled in.
    pub plain: Value,
    /// Secret settings given a value, as text (the store encrypts them).
    pub secrets: std::collections::BTreeMap<String, String>,
    /// Secret settings given `null`: "remove it".
    pub removed_secrets: Vec<String>,
}

/// Validates `settings` (secrets included) against the kind's schema and splits the
/// secret settings out of them; a secret set to `null` is a removal and is not validated.
pub fn split_settings(kind: &KindInfo, settings: &Value) -> Result<SplitSettings, SettingsError> {
    let mut input = match settings {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        _ => {
            return Err(SettingsError {
                field: String::new(),
                message: "must be an object".into(),
            });
        }
    };
    let mut removed_secrets = Vec::new();
    for name in &kind.secret_settings {
        if input.get(*name).is_some_and(Value::is_null) {
            input.remove(*name);
            removed_secrets.push((*name).to_owned());
        }
    }
    let mut plain = match normalize_settings(kind, &Value::Object(input))? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut secrets = std::collections::BTreeMap::new();
    for name in &kind.secret_settings {
        if let Some(value) = plain.remove(*name) {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            secrets.insert((*name).to_owned(), text);
        }
    }
    Ok(SplitSettings {
        plain: Value::Object(plain),
        secrets,
        removed_secrets,
    })
}

fn check_value(name: &str, schema: &Value, value: &Value) -> Result<(), SettingsError> {
    let err = |message: &str| SettingsError {
        field: name.to_string(),
        message: message.to_string(),
    };
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = types.iter().any(|t| match *t {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "array" => value.is_array(),
        _ => false,
    });
    if !type_ok {
        return Err(err(&format!("must be of type {}", types.join(" or "))));
    }
    if let Some(items) = value.as_array() {
        if let Some(min) = schema["minItems"].as_u64()
            && (items.len() as u64) < min
        {
            return Err(err(&format!("must have at least {min} items")));
        }
        let item_schema = &schema["items"];
        if item_schema.is_object() {
            for (i, item) in items.iter().enumerate() {
                check_value(&format!("{name}[{i}]"), item_schema, item)?;
            }
        }
    }
    if let (Some(allowed), Some(s)) = (schema["enum"].as_array(), value.as_str())
        && !allowed.iter().any(|a| a.as_str() == Some(s))
    {
        let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
        return Err(err(&format!("must be one of {}", names.join(", "))));
    }
    if let (Some(min), Some(s)) = (schema["minLength"].as_u64(), value.as_str())
        && (s.chars().count() as u64) < min
    {
        return Err(err(&format!("must be at least {min} characters")));
    }
    if let (Some(min), Some(n)) = (schema["exclusiveMinimum"].as_f64(), value.as_f64())
        && n <= min
    {
        return Err(err(&format!("must be greater than {min}")));
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64())
        && n < min
    {
        return Err(err(&format!("must be at least {min}")));
    }
    if let (Some(max), Some(n)) = (schema["maximum"].as_f64(), value.as_f64())
        && n > max
    {
        return Err(err(&format!("must be at most {max}")));
    }
    if schema["format"] == "timezone"
        && let Some(s) = value.as_str()
        && s.parse::<chrono_tz::Tz>().is_err()
    {
        return Err(err("must be an IANA time zone such as Europe/Berlin"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_settings_check_their_items() {
        let kind = find("email").unwrap();
        let ok = json!({"from": "tb@example.com", "to": ["a@example.com", "b@example.com"]});
        assert!(normalize_settings(&kind, &ok).is_ok());
        let e = normalize_settings(&kind, &json!({"from": "x@y.z", "to": "a@example.com"}))
            .unwrap_err();
        assert_eq!(e.field, "to");
        let e = normalize_settings(&kind, &json!({"from": "x@y.z", "to": [1]})).unwrap_err();
        assert_eq!(e.field, "to[0]");
        let e = normalize_settings(&kind, &json!({"from": "x@y.z", "to": []})).unwrap_err();
        assert_eq!(e.field, "to");
        assert_eq!(kind.base_url_schemes(), vec!["smtp", "smtps"]);
        assert_eq!(
            find("slack").unwrap().base_url_schemes(),
            vec!["http", "https"]
        );
    }

    #[test]
    fn zammad_settings_get_their_defaults() {
        let kind = find("zammad").unwrap();
        let s = normalize_settings(&kind, &json!({})).unwrap();
        assert_eq!(s["time_unit_minutes"], json!(1.0));
        assert_eq!(s["time_placement"], json!("end_at_created"));
    }

    #[test]
    fn unknown_and_mistyped_settings_are_rejected_with_the_field_name() {
        let kind = find("kimai").unwrap();
        let e = normalize_settings(&kind, &json!({"nope": 1})).unwrap_err();
        assert_eq!(e.field, "nope");
        let e = normalize_settings(&kind, &json!({"set_billable_field": "yes"})).unwrap_err();
        assert_eq!(e.field, "set_billable_field");
        let z = find("zammad").unwrap();
        let e = normalize_settings(&z, &json!({"time_unit_minutes": 0})).unwrap_err();
        assert_eq!(e.field, "time_unit_minutes");
        let e = normalize_settings(&kind, &json!({"timezone": "Mars/Base"})).unwrap_err();
        assert_eq!(e.field, "timezone");
        let e = normalize_settings(&kind, &json!({"max_concurrent_requests": 0})).unwrap_err();
        assert_eq!(e.field, "max_concurrent_requests");
    }

    #[test]
    fn every_kind_accepts_the_transport_settings() {
        for kind in kinds() {
            let s = normalize_settings(
                &kind,
                &json!({"timeout_seconds": 5, "max_requests_per_second": 2.5,
                        "ca_certificate": null}),
            )
            .unwrap();
            assert_eq!(s["max_concurrent_requests"], json!(8), "{}", kind.kind);
            if kind.has_role(Role::Source) || kind.has_role(Role::Target) {
                assert!(!kind.catalogs.is_empty(), "{}", kind.kind);
            }
        }
    }

    #[test]
    fn each_dimension_names_the_catalog_that_lists_it() {
        let z = find("zammad").unwrap().dimension_catalogs;
        assert_eq!(
            (z.activity, z.project, z.user),
            (Some("types"), Some("organizations"), Some("agents"))
        );
        let k = find("kimai").unwrap().dimension_catalogs;
        assert_eq!(
            (k.activity, k.project, k.user),
            (Some("activities"), Some("projects"), Some("users"))
        );
    }

    #[test]
    fn every_kind_describes_itself_consistently() {
        for kind in kinds() {
            assert!(!kind.label.is_empty(), "{}", kind.kind);
            assert!(!kind.roles.is_empty(), "{}", kind.kind);
            assert_eq!(
                kind.has_feature(Feature::Webhook),
                kind.webhook.is_some(),
                "{}: the webhook feature and its signature go together",
                kind.kind
            );
            let data_roles = kind.has_role(Role::Source) || kind.has_role(Role::Target);
            let d = kind.dimensions;
            assert_eq!(
                data_roles,
                d.activity.is_some() || d.project.is_some() || d.user.is_some(),
                "{}: sources and targets name their dimensions",
                kind.kind
            );
            let c = kind.dimension_catalogs;
            for (dimension, word, catalog) in [
                ("activity", d.activity, c.activity),
                ("project", d.project, c.project),
                ("user", d.user, c.user),
            ] {
                if let Some(catalog) = catalog {
                    assert!(
                        word.is_some(),
                        "{}: a catalog for {dimension}, which the kind does not have",
                        kind.kind
                    );
                    assert!(
                        kind.catalogs.contains(&catalog),
                        "{}: the {dimension} catalog {catalog} is one of its catalogs",
                        kind.kind
                    );
                }
            }
            for secret in &kind.secret_settings {
                assert!(
                    kind.settings_schema["properties"][*secret].is_object(),
                    "{}: secret {secret} is a setting",
                    kind.kind
                );
            }
        }
    }
}
