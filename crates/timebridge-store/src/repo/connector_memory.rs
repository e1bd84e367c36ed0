//! What a source connector remembers between runs: one JSON document per connector (see
//! the `connector_memory` migration). A cache of the connector's own making; the store
//! does not interpret it (the privacy export and purge only search it for an address).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::*;
use serde_json::Value;

use crate::Store;
use crate::entities::connector_memory as e;
use crate::error::StoreResult;

impl Store {
    /// What connector `connector_id` remembered after its last read, if anything.
    pub async fn connector_memory(&self, connector_id: i64) -> StoreResult<Option<Value>> {
        Ok(e::Entity::find_by_id(connector_id)
            .one(&self.db)
            .await?
            .map(|m| m.memory))
    }

    /// Replaces what connector `connector_id` remembers. A connector that no longer
    /// exists remembers nothing (the row would have no owner): that is not an error.
    pub async fn remember_for_connector(
        &self,
        connector_id: i64,
        memory: Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        match e::Entity::insert(e::ActiveModel {
            connector_id: Set(connector_id),
            memory: Set(memory),
            updated_at: Set(crate::store::db_time(now)),
        })
        .on_conflict(
            OnConflict::column(e::Column::ConnectorId)
                .update_columns([e::Column::Memory, e::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        {
            Ok(_) => Ok(()),
            // The connector was deleted meanwhile: nothing to remember it for.
            Err(err)
                if matches!(
                    err.sql_err(),
                    Some(SqlErr::ForeignKeyConstraintViolation(_))
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Forgets what connector `connector_id` remembers (its settings changed).
    pub async fn forget_connector_memory(&self, connector_id: i64) -> StoreResult<()> {
        e::Entity::delete_by_id(connector_id).exec(&self.db).await?;
        Ok(())
    }
}
