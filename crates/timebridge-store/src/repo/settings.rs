//! Application settings edited through `GET|PUT /api/settings`. Each top-level field is
//! one row of JSON, so new fields can be added with a serde default and old databases
//! keep working.

use crate::Store;
use crate::error::StoreResult;

/// Runtime settings. Add fields with `#[serde(default = …)]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// Run items, resolved conflicts and audit events older than this are purged daily.
    #[serde(default = "default_retention_days")]
    pub retention_days: i64,
    /// The IANA time zone local times and dates are read in (the daily summary).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Local time (`HH:MM`) of each pipeline's daily summary, unless the pipeline sets
    /// its own `daily_summary_at`.
    #[serde(default = "default_daily_summary_at")]
    pub daily_summary_at: String,
}

fn default_retention_days() -> i64 {
    90
}

fn default_timezone() -> String {
    "UTC".into()
}

fn default_daily_summary_at() -> String {
    "08:00".into()
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            retention_days: default_retention_days(),
            timezone: default_timezone(),
            daily_summary_at: default_daily_summary_at(),
        }
    }
}

impl Store {
    pub async fn get_settings(&self) -> StoreResult<Settings> {
        use crate::entities::setting as e;
        use sea_orm::*;
        let rows = e::Entity::find().all(&self.db).await?;
        let mut obj = serde_json::Map::new();
        for r in rows {
            obj.insert(r.key, r.value);
        }
        Ok(serde_json::from_value(serde_json::Value::Object(obj)).unwrap_or_default())
    }
    pub async fn put_settings(&self, settings: &Settings) -> StoreResult<()> {
        use crate::entities::setting as e;
        use sea_orm::*;
        let v = serde_json::to_value(settings).unwrap();
        for (k, val) in v.as_object().unwrap() {
            e::Entity::delete_by_id(k.clone()).exec(&self.db).await?;
            e::ActiveModel {
                key: Set(k.clone()),
                value: Set(val.clone()),
                updated_at: Set(crate::store::now()),
            }
            .insert(&self.db)
            .await?;
        }
        Ok(())
    }
}
