//! The registry of connector kinds. The engine, the API and the UI only ever see
//! kinds through this module; adding a connector is one folder plus one line here.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// What a connector kind can be used as in a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Source,
    Target,
}

/// Static description of a connector kind.
#[derive(Debug, Clone, Serialize)]
pub struct KindInfo {
    pub kind: &'static str,
    pub roles: Vec<Role>,
    /// JSON Schema of the kind's `settings` object.
    pub settings_schema: Value,
    /// Settings that are secrets: write-only, encrypted at rest, reported as
    /// `has_<name>` (e.g. `webhook_secret` → `has_webhook_secret`).
    #[serde(skip)]
    pub secret_settings: Vec<&'static str>,
}

/// A settings value the kind does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("settings.{field}: {message}")]
pub struct SettingsError {
    pub field: String,
    pub message: String,
}

/// All registered kinds.
pub fn kinds() -> Vec<KindInfo> {
    vec![zammad_kind(), kimai_kind()]
}

/// The kind registered under `kind`, if any.
pub fn find(kind: &str) -> Option<KindInfo> {
    kinds().into_iter().find(|k| k.kind == kind)
}

fn zammad_kind() -> KindInfo {
    KindInfo {
        kind: "zammad",
        roles: vec![Role::Source],
        settings_schema: json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "time_unit_minutes": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
                    "title": "Minutes per Zammad time unit"},
                "time_placement": {"type": "string", "enum": ["end_at_created", "begin_at_created"],
                    "default": "end_at_created", "title": "Place the entry so that it ends (or begins) when it was booked"},
                "webhook_secret": {"type": "string", "writeOnly": true, "minLength": 8,
                    "title": "Webhook signature token"},
                "ca_certificate": {"type": "string", "title": "Custom CA certificate (PEM)"}
            }
        }),
        secret_settings: vec!["webhook_secret"],
    }
}

fn kimai_kind() -> KindInfo {
    KindInfo {
        kind: "kimai",
        roles: vec![Role::Target],
        settings_schema: json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "billable_tag": {"type": "string", "default": "billable", "minLength": 1},
                "non_billable_tag": {"type": "string", "default": "non-billable", "minLength": 1},
                "set_billable_field": {"type": "boolean", "default": true},
                "timezone": {"type": ["string", "null"], "default": null,
                    "title": "Time zone (default: the Kimai user's, else UTC)"},
                "ca_certificate": {"type": "string", "title": "Custom CA certificate (PEM)"}
            }
        }),
        secret_settings: vec![],
    }
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
        _ => false,
    });
    if !type_ok {
        return Err(err(&format!("must be of type {}", types.join(" or "))));
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
