//! Login sessions, stored by the hash of their token so a database leak does not leak
//! usable tokens.

use chrono::{DateTime, Utc};

use crate::Store;
use crate::error::StoreResult;

/// A login session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Session {
    pub id: i64,
    /// Hash of the bearer token (computed by the server with `SECRET_KEY`).
    pub token_hash: String,
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Store {
    pub async fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at: DateTime<Utc>,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> StoreResult<Session> {
        use crate::entities::session as e;
        use sea_orm::*;
        let m = e::ActiveModel {
            id: NotSet,
            token_hash: Set(token_hash.into()),
            username: Set(username.into()),
            created_at: Set(crate::store::now()),
            expires_at: Set(crate::store::db_time(expires_at)),
            ip: Set(ip.map(Into::into)),
            user_agent: Set(user_agent.map(Into::into)),
        }
        .insert(&self.db)
        .await?;
        Ok(conv(m))
    }
    pub async fn find_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>> {
        use crate::entities::session as e;
        use sea_orm::*;
        Ok(e::Entity::find()
            .filter(e::Column::TokenHash.eq(token_hash))
            .filter(e::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(conv))
    }
    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        use crate::entities::session as e;
        use sea_orm::*;
        e::Entity::delete_many()
            .filter(e::Column::TokenHash.eq(token_hash))
            .exec(&self.db)
            .await?;
        Ok(())
    }
    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        use crate::entities::session as e;
        use sea_orm::*;
        Ok(e::Entity::delete_many()
            .filter(e::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}
fn conv(m: crate::entities::session::Model) -> Session {
    Session {
        id: m.id,
        token_hash: m.token_hash,
        username: m.username,
        created_at: m.created_at,
        expires_at: m.expires_at,
        ip: m.ip,
        user_agent: m.user_agent,
    }
}
