//! The append-only audit trail: append, filtered pages for the API, and keyset pages for
//! the CSV export. There is deliberately no update or delete API (retention purge comes
//! with its own issue).

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::StoreResult;
use crate::{AuditAction, Store};

/// An audit event as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `admin`, `system` or `webhook`.
    pub actor: String,
    pub action: AuditAction,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub details: Value,
    pub ip: Option<String>,
}

impl AuditEvent {
    /// Position of this event in newest-first order, for [`Store::list_audit_page`].
    pub fn cursor(&self) -> AuditCursor {
        AuditCursor {
            at: self.at,
            id: self.id,
        }
    }
}

/// Input for [`Store::append_audit`]; `at` is supplied by the caller (injectable clock).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: AuditAction,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub details: Value,
    pub ip: Option<String>,
}

/// Filter for listing audit events; `None` matches everything. `since` and `until` are
/// inclusive bounds on `at`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub entity_type: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Where a keyset page ends: events strictly older than this (by `at`, then `id`) follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub at: DateTime<Utc>,
    pub id: i64,
}

impl Store {
    pub async fn append_audit(&self, event: NewAuditEvent) -> StoreResult<AuditEvent> {
        Ok(conv(insert_audit(&self.db, event).await?))
    }

    pub async fn list_audit(
        &self,
        filter: &AuditFilter,
        limit: u64,
        offset: u64,
    ) -> StoreResult<(Vec<AuditEvent>, u64)> {
        use crate::entities::audit_event as e;
        use sea_orm::*;
        let q = apply(e::Entity::find(), filter);
        let total = q.clone().count(&self.db).await?;
        let items = q
            .order_by_desc(e::Column::At)
            .order_by_desc(e::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        Ok((items.into_iter().map(conv).collect(), total))
    }
    /// The source keys whose target entry run `run_id` created (its `entry_created`
    /// events since `since`): what an earlier attempt of a run that is executed again
    /// after its process died had written.
    pub async fn keys_created_by_run(
        &self,
        pipeline_id: i64,
        run_id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<std::collections::HashSet<String>> {
        use crate::entities::audit_event as e;
        use sea_orm::*;
        let events = e::Entity::find()
            .filter(e::Column::Action.eq(crate::AuditAction::EntryCreated))
            .filter(e::Column::At.gte(since))
            .all(&self.db)
            .await?;
        Ok(events
            .into_iter()
            .filter(|ev| {
                ev.details["run_id"].as_i64() == Some(run_id)
                    && ev.details["pipeline_id"].as_i64() == Some(pipeline_id)
            })
            .filter_map(|ev| ev.details["source_key"].as_str().map(str::to_owned))
            .collect())
    }

    pub async fn list_audit_page(
        &self,
        filter: &AuditFilter,
        after: Option<AuditCursor>,
        limit: u64,
    ) -> StoreResult<Vec<AuditEvent>> {
        use crate::entities::audit_event as e;
        use sea_orm::*;
        let mut q = apply(e::Entity::find(), filter);
        if let Some(c) = after {
            q = q.filter(
                Condition::any().add(e::Column::At.lt(c.at)).add(
                    Condition::all()
                        .add(e::Column::At.eq(c.at))
                        .add(e::Column::Id.lt(c.id)),
                ),
            );
        }
        let items = q
            .order_by_desc(e::Column::At)
            .order_by_desc(e::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(items.into_iter().map(conv).collect())
    }
}
/// Appends `event` on `db` (the store's connection or a transaction of it).
pub(crate) async fn insert_audit(
    db: &impl sea_orm::ConnectionTrait,
    event: NewAuditEvent,
) -> StoreResult<crate::entities::audit_event::Model> {
    use sea_orm::ActiveModelTrait;
    Ok(audit_model(event).insert(db).await?)
}

/// The row of `event`, not yet inserted.
pub(crate) fn audit_model(event: NewAuditEvent) -> crate::entities::audit_event::ActiveModel {
    use crate::entities::audit_event as e;
    use sea_orm::*;
    e::ActiveModel {
        id: NotSet,
        at: Set(crate::store::db_time(event.at)),
        actor: Set(event.actor),
        action: Set(event.action),
        entity_type: Set(event.entity_type),
        entity_id: Set(event.entity_id),
        details: Set(event.details),
        ip: Set(event.ip),
    }
}

fn apply(
    mut q: sea_orm::Select<crate::entities::audit_event::Entity>,
    f: &AuditFilter,
) -> sea_orm::Select<crate::entities::audit_event::Entity> {
    use crate::entities::audit_event as e;
    use sea_orm::*;
    if let Some(a) = &f.action {
        q = q.filter(e::Column::Action.eq(*a));
    }
    if let Some(a) = &f.entity_type {
        q = q.filter(e::Column::EntityType.eq(a.clone()));
    }
    if let Some(a) = f.since {
        q = q.filter(e::Column::At.gte(a));
    }
    if let Some(a) = f.until {
        q = q.filter(e::Column::At.lte(a));
    }
    q
}
fn conv(m: crate::entities::audit_event::Model) -> AuditEvent {
    AuditEvent {
        id: m.id,
        at: m.at,
        actor: m.actor,
        action: m.action,
        entity_type: m.entity_type,
        entity_id: m.entity_id,
        details: m.details,
        ip: m.ip,
    }
}
