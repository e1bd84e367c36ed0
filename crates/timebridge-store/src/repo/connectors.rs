//! Connectors: configured Zammad/Kimai instances. Secrets are encrypted per field with
//! associated data `connector:{id}:api_token` and `connector:{id}:secret:{name}`; API
//! records only say which secrets are set.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Store;
use crate::crypto::Secret;
use crate::error::StoreResult;

/// A connector as shown by the API: no secret values, only whether they are set.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Connector {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub base_url: String,
    /// Non-secret settings (e.g. `time_unit_minutes`).
    pub settings: Value,
    pub has_token: bool,
    /// Names of the secret settings that have a value (e.g. `["webhook_secret"]`), sorted;
    /// the API shows them as `has_<name>: true`.
    pub secret_names_set: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Connector {
    /// Whether the secret setting `name` (e.g. `webhook_secret`) has a value.
    pub fn has_secret(&self, name: &str) -> bool {
        self.secret_names_set.iter().any(|n| n == name)
    }
}

/// Input for [`Store::create_connector`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewConnector {
    pub kind: String,
    pub name: String,
    pub base_url: String,
    pub api_token: Option<Secret>,
    /// Non-secret settings, stored as given.
    pub settings: Value,
    /// Secret settings by name (e.g. `webhook_secret`), encrypted at rest.
    pub secret_settings: BTreeMap<String, Secret>,
}

/// Partial update for [`Store::update_connector`]: `None` keeps the stored value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectorUpdate {
    pub name: Option<String>,
    pub base_url: Option<String>,
    /// Replaces all non-secret settings.
    pub settings: Option<Value>,
    /// Replaces the API token when set.
    pub api_token: Option<Secret>,
    /// Secret settings to set or replace; names not listed keep their value.
    pub secret_settings: BTreeMap<String, Secret>,
    /// Secret settings to remove.
    pub remove_secrets: Vec<String>,
}

/// Decrypted secrets of one connector, for the sync engine and webhook verification only.
/// `Debug` shows only `[redacted]` for the values.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorSecrets {
    pub api_token: Option<Secret>,
    pub secret_settings: BTreeMap<String, Secret>,
}

impl ConnectorSecrets {
    /// The secret setting `name`, if set.
    pub fn secret(&self, name: &str) -> Option<&Secret> {
        self.secret_settings.get(name)
    }
}

impl Store {
    /// Creates a connector; its secrets are encrypted bound to the new row's id, in the
    /// same transaction as the insert.
    pub async fn create_connector(&self, input: NewConnector) -> StoreResult<Connector> {
        use crate::entities::connector as e;
        use sea_orm::*;
        let now = crate::store::now();
        let txn = self.db.begin().await?;
        let m = e::ActiveModel {
            id: NotSet,
            kind: Set(input.kind),
            name: Set(input.name),
            base_url: Set(input.base_url),
            api_token: Set(None),
            settings: Set(input.settings),
            secret_settings: Set(serde_json::json!({})),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            crate::error::classify(
                e,
                || crate::StoreError::Conflict("a connector with this name exists".into()),
                || crate::StoreError::Invalid("invalid reference".into()),
            )
        })?;
        let id = m.id;
        let mut a: e::ActiveModel = m.into();
        a.api_token = Set(input
            .api_token
            .map(|t| self.cipher.encrypt_secret(&t, &token_aad(id))));
        let mut ss = serde_json::Map::new();
        for (k, v) in input.secret_settings {
            let sealed = self.cipher.encrypt_secret(&v, &secret_aad(id, &k));
            ss.insert(k, serde_json::Value::String(sealed));
        }
        a.secret_settings = Set(serde_json::Value::Object(ss));
        let m = a.update(&txn).await?;
        txn.commit().await?;
        Ok(conv(m))
    }
    pub async fn get_connector(&self, id: i64) -> StoreResult<Connector> {
        use crate::entities::connector as e;
        use sea_orm::*;
        e::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(conv)
            .ok_or(crate::StoreError::NotFound)
    }
    pub async fn list_connectors(
        &self,
        limit: u64,
        offset: u64,
    ) -> StoreResult<(Vec<Connector>, u64)> {
        use crate::entities::connector as e;
        use sea_orm::*;
        let total = e::Entity::find().count(&self.db).await?;
        let items = e::Entity::find()
            .order_by_asc(e::Column::Id)
            .limit(super::clamp_limit(limit))
            .offset(offset)
            .all(&self.db)
            .await?;
        Ok((items.into_iter().map(conv).collect(), total))
    }
    /// Every connector, by id, however many there are.
    pub async fn all_connectors(&self) -> StoreResult<Vec<Connector>> {
        use crate::entities::connector as e;
        use sea_orm::*;
        let items = e::Entity::find()
            .order_by_asc(e::Column::Id)
            .all(&self.db)
            .await?;
        Ok(items.into_iter().map(conv).collect())
    }
    pub async fn update_connector(
        &self,
        id: i64,
        update: ConnectorUpdate,
    ) -> StoreResult<Connector> {
        use crate::entities::connector as e;
        use sea_orm::*;
        let m = e::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(crate::StoreError::NotFound)?;
        let mut ss = m.secret_settings.as_object().cloned().unwrap_or_default();
        let mut a: e::ActiveModel = m.into();
        if let Some(n) = update.name {
            a.name = Set(n);
        }
        if let Some(n) = update.base_url {
            a.base_url = Set(n);
        }
        if let Some(n) = update.settings {
            a.settings = Set(n);
        }
        if let Some(t) = update.api_token {
            a.api_token = Set(Some(self.cipher.encrypt_secret(&t, &token_aad(id))));
        }
        for (k, v) in update.secret_settings {
            ss.insert(
                k.clone(),
                serde_json::Value::String(self.cipher.encrypt_secret(&v, &secret_aad(id, &k))),
            );
        }
        for k in update.remove_secrets {
            ss.remove(&k);
        }
        a.secret_settings = Set(serde_json::Value::Object(ss));
        a.updated_at = Set(crate::store::now());
        let updated = a.update(&self.db).await.map_err(crate::StoreError::from)?;
        // What the connector remembered was made with its old settings.
        self.forget_connector_memory(id).await?;
        Ok(conv(updated))
    }
    pub async fn delete_connector(&self, id: i64) -> StoreResult<()> {
        use crate::entities::connector as e;
        use sea_orm::*;
        let r = e::Entity::delete_by_id(id)
            .exec(&self.db)
            .await
            .map_err(|e| {
                crate::error::classify(
                    e,
                    || crate::StoreError::InUse("x".into()),
                    || crate::StoreError::InUse("used by a pipeline".into()),
                )
            })?;
        if r.rows_affected == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }
    pub async fn get_connector_secrets(&self, id: i64) -> StoreResult<ConnectorSecrets> {
        use crate::entities::connector as e;
        use sea_orm::*;
        let m = e::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(crate::StoreError::NotFound)?;
        let api_token = m
            .api_token
            .map(|t| self.cipher.decrypt_secret(&t, &token_aad(id)))
            .transpose()
            .map_err(|_| crate::StoreError::WrongEncryptionKey)?;
        let mut secret_settings = BTreeMap::new();
        for (k, v) in m.secret_settings.as_object().cloned().unwrap_or_default() {
            secret_settings.insert(
                k.clone(),
                self.cipher
                    .decrypt_secret(v.as_str().unwrap_or(""), &secret_aad(id, &k))
                    .map_err(|_| crate::StoreError::WrongEncryptionKey)?,
            );
        }
        Ok(ConnectorSecrets {
            api_token,
            secret_settings,
        })
    }
}
fn conv(m: crate::entities::connector::Model) -> Connector {
    let mut names: Vec<String> = m
        .secret_settings
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    Connector {
        id: m.id,
        kind: m.kind,
        name: m.name,
        base_url: m.base_url,
        settings: m.settings,
        has_token: m.api_token.is_some(),
        secret_names_set: names,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Associated data binding an API token ciphertext to its row.
fn token_aad(id: i64) -> String {
    format!("connector:{id}:api_token")
}

/// Associated data binding a secret setting's ciphertext to its row and name.
fn secret_aad(id: i64, name: &str) -> String {
    format!("connector:{id}:secret:{name}")
}

impl Store {
    /// Re-encrypts every stored secret (API tokens, secret settings) and the key check
    /// under `new`, in one transaction; returns how many secrets were re-encrypted.
    /// Afterwards this handle must not be used: reopen the store with the new key.
    pub async fn rotate_encryption_key(&self, new: &crate::Cipher) -> StoreResult<u64> {
        use crate::entities::{connector as e, meta};
        use sea_orm::*;
        self.verify_encryption_key().await?;
        let txn = self.db.begin().await?;
        let mut count = 0u64;
        for m in e::Entity::find().all(&txn).await? {
            let id = m.id;
            let api_token = match &m.api_token {
                Some(t) => {
                    let plain = self
                        .cipher
                        .decrypt_secret(t, &token_aad(id))
                        .map_err(|_| crate::StoreError::WrongEncryptionKey)?;
                    count += 1;
                    Some(new.encrypt_secret(&plain, &token_aad(id)))
                }
                None => None,
            };
            let mut secrets = serde_json::Map::new();
            for (k, v) in m.secret_settings.as_object().cloned().unwrap_or_default() {
                let plain = self
                    .cipher
                    .decrypt_secret(v.as_str().unwrap_or(""), &secret_aad(id, &k))
                    .map_err(|_| crate::StoreError::WrongEncryptionKey)?;
                secrets.insert(
                    k.clone(),
                    serde_json::Value::String(new.encrypt_secret(&plain, &secret_aad(id, &k))),
                );
                count += 1;
            }
            let mut am: e::ActiveModel = m.into();
            am.api_token = Set(api_token);
            am.secret_settings = Set(serde_json::Value::Object(secrets));
            am.update(&txn).await?;
        }
        meta::Entity::delete_by_id("key_check".to_string())
            .exec(&txn)
            .await?;
        meta::ActiveModel {
            key: Set("key_check".into()),
            value: Set(new.encrypt(b"ok", "meta:key_check")),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(count)
    }
}
