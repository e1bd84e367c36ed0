//! OAuth connect flows in progress (`oauth_states`): a `state` is stored as its digest
//! (the caller computes it; the clear value only travels to the person and back), taken
//! at most once, and only within the flow's lifetime.

use chrono::{DateTime, Utc};
use sea_orm::*;

use crate::Store;
use crate::entities::oauth_state;
use crate::error::StoreResult;

/// A connect flow's state as the callback takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    /// The connector the flow connects.
    pub connector_id: i64,
    /// When the flow started.
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Records a started flow for `connector_id` under `state_digest`.
    pub async fn add_oauth_state(
        &self,
        state_digest: &str,
        connector_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        oauth_state::ActiveModel {
            id: NotSet,
            state_digest: Set(state_digest.to_owned()),
            connector_id: Set(connector_id),
            created_at: Set(now),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// Takes the flow of `state_digest`: returns it and deletes it, so that a second
    /// callback with the same state finds nothing (of two racing callbacks, only the one
    /// whose delete removed the row gets it). `None`: unknown or already taken.
    pub async fn take_oauth_state(&self, state_digest: &str) -> StoreResult<Option<OAuthState>> {
        let Some(row) = oauth_state::Entity::find()
            .filter(oauth_state::Column::StateDigest.eq(state_digest))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let deleted = oauth_state::Entity::delete_by_id(row.id)
            .exec(&self.db)
            .await?;
        Ok((deleted.rows_affected == 1).then_some(OAuthState {
            connector_id: row.connector_id,
            created_at: row.created_at,
        }))
    }

    /// Forgets flows started before `before` (never finished); returns how many.
    pub async fn purge_oauth_states(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(oauth_state::Entity::delete_many()
            .filter(oauth_state::Column::CreatedAt.lt(before))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}
