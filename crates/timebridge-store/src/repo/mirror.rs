//! Project mirroring: mirror intents (a project about to be created in a pipeline's
//! source, recorded before the create and deleted once it is settled) and the projects a
//! run mirrored (`runs.mirrored_projects`).
//!
//! Names are compared as `core::mapping::normalise_name` does (trimmed, lower-cased): at
//! most one intent per pipeline and name exists.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::*;
use serde::{Deserialize, Serialize};
use timebridge_core::mapping::normalise_name;

use crate::Store;
use crate::entities::{mirror_intent, run};
use crate::error::StoreResult;

/// A project a run created in the source (or in a dry run would create).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirroredProject {
    /// The name, as the target has it.
    pub name: String,
    /// The source's key of the project; `None` in a dry run (not created).
    pub source_key: Option<String>,
}

/// A create of a project in a pipeline's source that may have happened.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorIntent {
    pub id: i64,
    pub pipeline_id: i64,
    pub run_id: Option<i64>,
    /// The name, as the target has it.
    pub name: String,
    pub client_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Input of [`Store::add_mirror_intent`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewMirrorIntent {
    pub pipeline_id: i64,
    pub run_id: Option<i64>,
    pub name: String,
    pub client_key: Option<String>,
}

fn conv(m: mirror_intent::Model) -> MirrorIntent {
    MirrorIntent {
        id: m.id,
        pipeline_id: m.pipeline_id,
        run_id: m.run_id,
        name: m.name,
        client_key: m.client_key,
        created_at: m.created_at,
    }
}

impl Store {
    /// Records a project create about to be made; returns the intent's id. When an intent
    /// for this name (compared trimmed, case-insensitive) is already pending for the
    /// pipeline, returns that one's id instead of adding a second.
    pub async fn add_mirror_intent(
        &self,
        new: NewMirrorIntent,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let normalised = normalise_name(&new.name);
        let existing = || {
            mirror_intent::Entity::find()
                .filter(mirror_intent::Column::PipelineId.eq(new.pipeline_id))
                .filter(mirror_intent::Column::NormalisedName.eq(normalised.clone()))
                .one(&self.db)
        };
        if let Some(m) = existing().await? {
            return Ok(m.id);
        }
        let inserted = mirror_intent::ActiveModel {
            id: NotSet,
            pipeline_id: Set(new.pipeline_id),
            run_id: Set(new.run_id),
            name: Set(new.name.clone()),
            normalised_name: Set(normalised.clone()),
            client_key: Set(new.client_key.clone()),
            created_at: Set(now),
        }
        .insert(&self.db)
        .await;
        match inserted {
            Ok(m) => Ok(m.id),
            // Lost a race on the unique index: the other intent is the one.
            Err(e) => match existing().await? {
                Some(m) => Ok(m.id),
                None => Err(e.into()),
            },
        }
    }

    /// Settles an intent whose project exists: forgets it and appends its audit event in
    /// one transaction, so that a crash never leaves the event without the settlement (a
    /// second event for one project) nor the settlement without the event.
    pub async fn settle_mirror_intent(
        &self,
        id: i64,
        audit: crate::NewAuditEvent,
    ) -> StoreResult<()> {
        let txn = self.db.begin().await?;
        mirror_intent::Entity::delete_by_id(id).exec(&txn).await?;
        crate::repo::audit::insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Forgets an intent whose outcome is settled.
    pub async fn delete_mirror_intent(&self, id: i64) -> StoreResult<()> {
        mirror_intent::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The intents of a pipeline an earlier run left unsettled, oldest first.
    pub async fn pending_mirror_intents(&self, pipeline_id: i64) -> StoreResult<Vec<MirrorIntent>> {
        Ok(mirror_intent::Entity::find()
            .filter(mirror_intent::Column::PipelineId.eq(pipeline_id))
            .order_by_asc(mirror_intent::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(conv)
            .collect())
    }

    /// Stores what project mirroring did in run `run_id` (replacing what was stored).
    pub async fn set_run_mirrored_projects(
        &self,
        run_id: i64,
        projects: &[MirroredProject],
    ) -> StoreResult<()> {
        let value = serde_json::to_value(projects).unwrap_or_default();
        run::Entity::update_many()
            .col_expr(run::Column::MirroredProjects, Expr::value(value))
            .filter(run::Column::Id.eq(run_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
