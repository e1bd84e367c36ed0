//! Admin users: the single administrator account and its password hash.

use chrono::{DateTime, Utc};

use crate::Store;
use crate::error::StoreResult;

/// An administrator account. `Debug` hides the password hash.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdminUser {
    pub id: i64,
    pub username: String,
    /// Argon2 PHC string; never serialized.
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for AdminUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl Store {
    pub async fn ensure_admin(
        &self,
        username: &str,
        password_hash: &str,
    ) -> StoreResult<AdminUser> {
        use crate::entities::admin_user as e;
        use sea_orm::*;
        let now = crate::store::now();
        let m = match e::Entity::find()
            .filter(e::Column::Username.eq(username))
            .one(&self.db)
            .await?
        {
            Some(m) => {
                let mut a: e::ActiveModel = m.into();
                a.password_hash = Set(password_hash.into());
                a.updated_at = Set(now);
                a.update(&self.db).await?
            }
            None => {
                e::ActiveModel {
                    id: NotSet,
                    username: Set(username.into()),
                    password_hash: Set(password_hash.into()),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&self.db)
                .await?
            }
        };
        Ok(AdminUser {
            id: m.id,
            username: m.username,
            password_hash: m.password_hash,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
    pub async fn get_admin(&self, username: &str) -> StoreResult<Option<AdminUser>> {
        use crate::entities::admin_user as e;
        use sea_orm::*;
        Ok(e::Entity::find()
            .filter(e::Column::Username.eq(username))
            .one(&self.db)
            .await?
            .map(|m| AdminUser {
                id: m.id,
                username: m.username,
                password_hash: m.password_hash,
                created_at: m.created_at,
                updated_at: m.updated_at,
            }))
    }
    pub async fn admin_exists(&self) -> StoreResult<bool> {
        use crate::entities::admin_user as e;
        use sea_orm::*;
        Ok(e::Entity::find().count(&self.db).await? > 0)
    }
}
