//! Conflicts: one open conflict per pipeline and source key at most; a later run updates
//! it instead of raising it again.

use chrono::{DateTime, Utc};
use sea_orm::*;
use serde_json::Value;
use timebridge_core::{Cause, CauseKind, ConflictOrigin, NamedRef};

use crate::states::ConflictStatus;

use crate::Store;
use crate::entities::conflict;
use crate::error::StoreResult;

/// A conflict as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Conflict {
    pub id: i64,
    pub pipeline_id: i64,
    pub source_key: String,
    pub reason: String,
    /// Raised by the planner or refused by the target.
    pub origin: ConflictOrigin,
    pub status: ConflictStatus,
    pub source: Option<Value>,
    /// The source entry as the source connector read it (for `skip` memories).
    pub raw_source: Option<Value>,
    pub target: Option<Value>,
    pub target_id: Option<String>,
    pub diff: Value,
    pub allowed_actions: Value,
    pub message: String,
    pub explanation: Option<Value>,
    pub run_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// `{"action","note","at"}`.
    pub resolution: Option<Value>,
    /// What one decision settles for every conflict of the same cause.
    pub cause: Cause,
}

/// The facts of a conflict's entry that its group sums up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupFacts {
    /// `None`: the one-off cause of the conflict's source key.
    pub cause: Option<Cause>,
    pub seconds: Option<i64>,
    pub customer: Option<NamedRef>,
    pub entry_begin: Option<DateTime<Utc>>,
}

/// The conflicts of one pipeline with the same reason and cause.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictGroupRow {
    pub pipeline_id: i64,
    pub reason: String,
    pub cause: Cause,
    pub count: u64,
    pub seconds: i64,
    /// The newest conflict of the group (highest id).
    pub newest_id: i64,
    pub newest_begin: Option<DateTime<Utc>>,
    pub newest_created_at: DateTime<Utc>,
    /// Distinct customers of the group's entries, by name.
    pub customers: Vec<NamedRef>,
}

/// The identity of a group: `(pipeline, reason, cause kind, cause key)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub pipeline_id: i64,
    pub reason: String,
    pub kind: CauseKind,
    pub key: String,
}

/// What a run raises.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConflict {
    pub pipeline_id: i64,
    pub source_key: String,
    pub reason: String,
    pub origin: ConflictOrigin,
    pub source: Option<Value>,
    pub raw_source: Option<Value>,
    pub target: Option<Value>,
    pub target_id: Option<String>,
    pub diff: Value,
    pub allowed_actions: Value,
    pub message: String,
    pub explanation: Option<Value>,
    pub run_id: Option<i64>,
    pub group: GroupFacts,
}

/// Filter of [`Store::list_conflicts`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConflictFilter {
    pub pipeline_id: Option<i64>,
    /// `open`, `resolved`, or `None` for all.
    pub status: Option<String>,
    pub reason: Option<String>,
    /// Only drift: `target_modified` and `target_deleted` (synced entries someone changed
    /// in the target).
    pub drift: bool,
}

/// Drift conflicts raised on one day (UTC), by reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftDay {
    pub date: chrono::NaiveDate,
    pub target_modified: u64,
    pub target_deleted: u64,
}

fn conv(m: conflict::Model) -> Conflict {
    Conflict {
        id: m.id,
        pipeline_id: m.pipeline_id,
        source_key: m.source_key,
        reason: m.reason,
        origin: ConflictOrigin::from_stored(&m.origin),
        status: m.status,
        source: m.source,
        raw_source: m.raw_source,
        target: m.target,
        target_id: m.target_id,
        diff: m.diff,
        allowed_actions: m.allowed_actions,
        message: m.message,
        explanation: m.explanation,
        run_id: m.run_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
        resolved_at: m.resolved_at,
        resolution: m.resolution,
        cause: Cause {
            kind: CauseKind::parse(&m.cause_kind).unwrap_or(CauseKind::Entry),
            key: m.cause_key,
            label: m.cause_label,
        },
    }
}

/// The cause columns of a new conflict.
/// The open conflict `m` refreshed with what a run found (`new`), run and time included.
fn refreshed(m: conflict::Model, new: NewConflict, now: DateTime<Utc>) -> conflict::ActiveModel {
    let run_id = new.run_id;
    let mut am = refreshed_content(m, new);
    am.run_id = Set(run_id);
    am.updated_at = Set(now);
    am
}

/// `m` with the content of `new`, each field marked changed only where it differs (so
/// `is_changed` tells whether the run found the conflict as it was).
fn refreshed_content(m: conflict::Model, new: NewConflict) -> conflict::ActiveModel {
    let cause = cause_of(&new);
    let mut am: conflict::ActiveModel = m.into();
    am.reason.set_if_not_equals(new.reason);
    am.origin.set_if_not_equals(new.origin.as_str().to_owned());
    am.source.set_if_not_equals(new.source);
    am.raw_source.set_if_not_equals(new.raw_source);
    am.target.set_if_not_equals(new.target);
    am.target_id.set_if_not_equals(new.target_id);
    am.diff.set_if_not_equals(new.diff);
    am.allowed_actions.set_if_not_equals(new.allowed_actions);
    am.message.set_if_not_equals(new.message);
    am.explanation.set_if_not_equals(new.explanation);
    am.cause_kind
        .set_if_not_equals(cause.kind.as_str().to_owned());
    am.cause_key.set_if_not_equals(cause.key);
    am.cause_label.set_if_not_equals(cause.label);
    am.seconds.set_if_not_equals(new.group.seconds);
    am.customer_key
        .set_if_not_equals(new.group.customer.as_ref().map(|c| c.key.clone()));
    am.customer_name
        .set_if_not_equals(new.group.customer.as_ref().and_then(|c| c.name.clone()));
    am.entry_begin.set_if_not_equals(new.group.entry_begin);
    am
}

/// A new open conflict.
fn fresh(new: NewConflict, now: DateTime<Utc>) -> conflict::ActiveModel {
    let cause = cause_of(&new);
    conflict::ActiveModel {
        id: NotSet,
        cause_kind: Set(cause.kind.as_str().to_owned()),
        cause_key: Set(cause.key),
        cause_label: Set(cause.label),
        seconds: Set(new.group.seconds),
        customer_key: Set(new.group.customer.as_ref().map(|c| c.key.clone())),
        customer_name: Set(new.group.customer.as_ref().and_then(|c| c.name.clone())),
        entry_begin: Set(new.group.entry_begin),
        pipeline_id: Set(new.pipeline_id),
        source_key: Set(new.source_key),
        reason: Set(new.reason),
        origin: Set(new.origin.as_str().to_owned()),
        status: Set(ConflictStatus::Open),
        source: Set(new.source),
        raw_source: Set(new.raw_source),
        target: Set(new.target),
        target_id: Set(new.target_id),
        diff: Set(new.diff),
        allowed_actions: Set(new.allowed_actions),
        message: Set(new.message),
        explanation: Set(new.explanation),
        run_id: Set(new.run_id),
        created_at: Set(now),
        updated_at: Set(now),
        resolved_at: Set(None),
        resolution: Set(None),
    }
}

/// The `conflict_raised` audit event of `m` (what the notifications of a run count).
fn raised_event(
    m: &conflict::Model,
    actor: &str,
    now: DateTime<Utc>,
) -> crate::entities::audit_event::ActiveModel {
    crate::repo::audit::audit_model(crate::NewAuditEvent {
        at: now,
        actor: actor.to_owned(),
        action: crate::AuditAction::ConflictRaised,
        entity_type: "conflict".into(),
        entity_id: Some(m.id.to_string()),
        details: serde_json::json!({"pipeline_id": m.pipeline_id, "run_id": m.run_id,
            "source_key": m.source_key, "reason": m.reason, "message": m.message}),
        ip: None,
    })
}

fn cause_of(new: &NewConflict) -> Cause {
    new.group
        .cause
        .clone()
        .unwrap_or_else(|| Cause::one_off(&new.source_key))
}

fn filtered(filter: &ConflictFilter) -> Select<conflict::Entity> {
    let mut q = conflict::Entity::find();
    if let Some(p) = filter.pipeline_id {
        q = q.filter(conflict::Column::PipelineId.eq(p));
    }
    if let Some(s) = &filter.status {
        q = q.filter(conflict::Column::Status.eq(s.clone()));
    }
    if let Some(r) = &filter.reason {
        q = q.filter(conflict::Column::Reason.eq(r.clone()));
    }
    if filter.drift {
        q = q.filter(conflict::Column::Reason.is_in(["target_modified", "target_deleted"]));
    }
    q
}

fn in_group(q: Select<conflict::Entity>, g: &GroupKey) -> Select<conflict::Entity> {
    q.filter(conflict::Column::PipelineId.eq(g.pipeline_id))
        .filter(conflict::Column::Reason.eq(g.reason.clone()))
        .filter(conflict::Column::CauseKind.eq(g.kind.as_str()))
        .filter(conflict::Column::CauseKey.eq(g.key.clone()))
}

impl Store {
    /// Raises a conflict, or refreshes the open one of the same pipeline and source key;
    /// `true` when it is new or its reason changed (worth an audit event).
    pub async fn raise_conflict(
        &self,
        new: NewConflict,
        now: DateTime<Utc>,
    ) -> StoreResult<(Conflict, bool)> {
        let existing = conflict::Entity::find()
            .filter(conflict::Column::PipelineId.eq(new.pipeline_id))
            .filter(conflict::Column::SourceKey.eq(new.source_key.clone()))
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .one(&self.db)
            .await?;
        if let Some(m) = existing {
            let same_reason = m.reason == new.reason;
            let m = refreshed(m, new, now).update(&self.db).await?;
            return Ok((conv(m), !same_reason));
        }
        let m = fresh(new, now).insert(&self.db).await?;
        Ok((conv(m), true))
    }

    /// [`Store::raise_conflict`] for several conflicts of a run in one transaction (the
    /// executor's group commit), each new one or changed reason with its `conflict_raised`
    /// audit event by `actor` in the same transaction. An open conflict that the run finds
    /// unchanged costs no statement of its own: all of them get the run and the time in
    /// one. Returns `(conflict id, raised)` in the order given.
    pub async fn raise_conflicts(
        &self,
        asks: Vec<NewConflict>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(i64, bool)>> {
        if asks.is_empty() {
            return Ok(Vec::new());
        }
        let pipelines: std::collections::BTreeSet<i64> =
            asks.iter().map(|n| n.pipeline_id).collect();
        let keys: std::collections::BTreeSet<&str> =
            asks.iter().map(|n| n.source_key.as_str()).collect();
        let txn = self.db.begin().await?;
        let mut open: std::collections::HashMap<(i64, String), conflict::Model> =
            conflict::Entity::find()
                .filter(conflict::Column::PipelineId.is_in(pipelines))
                .filter(conflict::Column::SourceKey.is_in(keys))
                .filter(conflict::Column::Status.eq(ConflictStatus::Open))
                .all(&txn)
                .await?
                .into_iter()
                .map(|m| ((m.pipeline_id, m.source_key.clone()), m))
                .collect();
        let mut out = Vec::with_capacity(asks.len());
        let mut raised = Vec::new();
        // Unchanged open conflicts, by the run that saw them again.
        let mut seen_again: std::collections::BTreeMap<Option<i64>, Vec<i64>> = Default::default();
        for new in asks {
            let key = (new.pipeline_id, new.source_key.clone());
            let m = match open.remove(&key) {
                Some(m) => {
                    let same_reason = m.reason == new.reason;
                    let id = m.id;
                    let run_id = new.run_id;
                    let am = refreshed_content(m, new);
                    let m = if am.is_changed() {
                        let mut am = am;
                        am.run_id = Set(run_id);
                        am.updated_at = Set(now);
                        am.update(&txn).await?
                    } else {
                        seen_again.entry(run_id).or_default().push(id);
                        out.push((id, false));
                        continue;
                    };
                    if same_reason {
                        out.push((m.id, false));
                        open.insert(key, m);
                        continue;
                    }
                    m
                }
                None => fresh(new, now).insert(&txn).await?,
            };
            out.push((m.id, true));
            raised.push(raised_event(&m, actor, now));
            // A later ask of the same key in this group refreshes this one.
            open.insert(key, m);
        }
        for (run_id, ids) in seen_again {
            conflict::Entity::update_many()
                .col_expr(conflict::Column::RunId, sea_query::Expr::value(run_id))
                .col_expr(conflict::Column::UpdatedAt, sea_query::Expr::value(now))
                .filter(conflict::Column::Id.is_in(ids))
                .exec(&txn)
                .await?;
        }
        if !raised.is_empty() {
            crate::entities::audit_event::Entity::insert_many(raised)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(out)
    }

    /// Open conflicts of a pipeline.
    pub async fn open_conflicts(&self, pipeline_id: i64) -> StoreResult<Vec<Conflict>> {
        Ok(conflict::Entity::find()
            .filter(conflict::Column::PipelineId.eq(pipeline_id))
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .order_by_asc(conflict::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(conv)
            .collect())
    }

    /// The open conflicts of a pipeline as `(id, source_key, reason)`: what a run needs to
    /// close settled ones, without loading every conflict's entries.
    pub async fn open_conflict_keys(
        &self,
        pipeline_id: i64,
    ) -> StoreResult<Vec<(i64, String, String)>> {
        Ok(conflict::Entity::find()
            .select_only()
            .column(conflict::Column::Id)
            .column(conflict::Column::SourceKey)
            .column(conflict::Column::Reason)
            .filter(conflict::Column::PipelineId.eq(pipeline_id))
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .order_by_asc(conflict::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// The open conflicts of a pipeline with `reason` that the target itself raised (it
    /// refused a write), as `(id, source_key, message, source)`.
    pub async fn open_target_refusals(
        &self,
        pipeline_id: i64,
        reason: &str,
    ) -> StoreResult<Vec<(i64, String, String, Option<Value>)>> {
        Ok(conflict::Entity::find()
            .select_only()
            .column(conflict::Column::Id)
            .column(conflict::Column::SourceKey)
            .column(conflict::Column::Message)
            .column(conflict::Column::Source)
            .filter(conflict::Column::PipelineId.eq(pipeline_id))
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .filter(conflict::Column::Reason.eq(reason))
            .filter(conflict::Column::Origin.eq(ConflictOrigin::Target.as_str()))
            .order_by_asc(conflict::Column::Id)
            .into_tuple::<(i64, String, String, Option<Value>)>()
            .all(&self.db)
            .await?)
    }

    /// One conflict.
    pub async fn get_conflict(&self, id: i64) -> StoreResult<Conflict> {
        conflict::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(conv)
            .ok_or(crate::StoreError::NotFound)
    }

    /// Conflicts matching `filter`, newest first.
    pub async fn list_conflicts(
        &self,
        filter: &ConflictFilter,
        limit: u64,
        offset: u64,
    ) -> StoreResult<(Vec<Conflict>, u64)> {
        let q = filtered(filter);
        let total = q.clone().count(&self.db).await?;
        let items = q
            .order_by_desc(conflict::Column::Id)
            .limit(super::clamp_limit(limit))
            .offset(offset)
            .all(&self.db)
            .await?;
        Ok((items.into_iter().map(conv).collect(), total))
    }

    /// Marks an open conflict resolved with `resolution`; `false` when it was not open
    /// (resolved meanwhile by someone else).
    pub async fn resolve_conflict(
        &self,
        id: i64,
        resolution: Value,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        use sea_orm::sea_query::Expr;
        let res = conflict::Entity::update_many()
            .col_expr(
                conflict::Column::Status,
                Expr::value(ConflictStatus::Resolved),
            )
            .col_expr(conflict::Column::Resolution, Expr::value(resolution))
            .col_expr(conflict::Column::ResolvedAt, sea_query::Expr::value(now))
            .col_expr(conflict::Column::UpdatedAt, sea_query::Expr::value(now))
            .filter(conflict::Column::Id.eq(id))
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// The groups of conflicts matching `filter`: per pipeline, reason and cause, with
    /// their count, summed seconds, newest conflict and customers; largest first.
    pub async fn conflict_groups(
        &self,
        filter: &ConflictFilter,
    ) -> StoreResult<Vec<ConflictGroupRow>> {
        use sea_orm::sea_query::{Alias, Expr as E, Func};
        type Row = (i64, String, String, String, String, i64, Option<i64>, i64);
        let rows: Vec<Row> = filtered(filter)
            .select_only()
            .column(conflict::Column::PipelineId)
            .column(conflict::Column::Reason)
            .column(conflict::Column::CauseKind)
            .column(conflict::Column::CauseKey)
            .column_as(
                E::expr(Func::max(E::col(conflict::Column::CauseLabel))),
                "label",
            )
            .column_as(E::col(conflict::Column::Id).count(), "n")
            .column_as(
                E::expr(Func::cast_as(
                    Func::sum(E::col(conflict::Column::Seconds)),
                    Alias::new("BIGINT"),
                )),
                "seconds",
            )
            .column_as(E::col(conflict::Column::Id).max(), "newest")
            .group_by(conflict::Column::PipelineId)
            .group_by(conflict::Column::Reason)
            .group_by(conflict::Column::CauseKind)
            .group_by(conflict::Column::CauseKey)
            .into_tuple()
            .all(&self.db)
            .await?;
        type CustomerRow = (i64, String, String, String, Option<String>, Option<String>);
        let customers: Vec<CustomerRow> = filtered(filter)
            .select_only()
            .column(conflict::Column::PipelineId)
            .column(conflict::Column::Reason)
            .column(conflict::Column::CauseKind)
            .column(conflict::Column::CauseKey)
            .column(conflict::Column::CustomerKey)
            .column(conflict::Column::CustomerName)
            .filter(conflict::Column::CustomerKey.is_not_null())
            .distinct()
            .into_tuple()
            .all(&self.db)
            .await?;
        let newest_ids: Vec<i64> = rows.iter().map(|r| r.7).collect();
        let newest: std::collections::HashMap<i64, (Option<DateTime<Utc>>, DateTime<Utc>)> =
            if newest_ids.is_empty() {
                Default::default()
            } else {
                let mut out = std::collections::HashMap::new();
                for chunk in newest_ids.chunks(500) {
                    let found: Vec<(i64, Option<DateTime<Utc>>, DateTime<Utc>)> =
                        conflict::Entity::find()
                            .select_only()
                            .column(conflict::Column::Id)
                            .column(conflict::Column::EntryBegin)
                            .column(conflict::Column::CreatedAt)
                            .filter(conflict::Column::Id.is_in(chunk.to_vec()))
                            .into_tuple()
                            .all(&self.db)
                            .await?;
                    out.extend(found.into_iter().map(|(id, b, c)| (id, (b, c))));
                }
                out
            };
        let mut groups: Vec<ConflictGroupRow> = rows
            .into_iter()
            .map(
                |(pipeline_id, reason, kind, key, label, n, seconds, newest_id)| {
                    let (newest_begin, newest_created_at) = newest
                        .get(&newest_id)
                        .copied()
                        .unwrap_or((None, Utc::now()));
                    let mut names: Vec<NamedRef> = customers
                        .iter()
                        .filter(|c| {
                            c.0 == pipeline_id && c.1 == reason && c.2 == kind && c.3 == key
                        })
                        .filter_map(|c| {
                            c.4.clone().map(|k| NamedRef {
                                key: k,
                                name: c.5.clone(),
                            })
                        })
                        .collect();
                    names.sort_by(|a, b| a.name.cmp(&b.name).then(a.key.cmp(&b.key)));
                    names.dedup_by(|a, b| a.key == b.key);
                    ConflictGroupRow {
                        pipeline_id,
                        reason,
                        cause: Cause {
                            kind: CauseKind::parse(&kind).unwrap_or(CauseKind::Entry),
                            key,
                            label,
                        },
                        count: u64::try_from(n).unwrap_or(0),
                        seconds: seconds.unwrap_or(0),
                        newest_id,
                        newest_begin,
                        newest_created_at,
                        customers: names,
                    }
                },
            )
            .collect();
        groups.sort_by(|a, b| b.count.cmp(&a.count).then(b.newest_id.cmp(&a.newest_id)));
        Ok(groups)
    }

    /// The conflicts of one group matching `filter`, newest first; `limit` `None` = all.
    pub async fn conflicts_in_group(
        &self,
        filter: &ConflictFilter,
        group: &GroupKey,
        limit: Option<u64>,
    ) -> StoreResult<Vec<Conflict>> {
        let q = in_group(filtered(filter), group).order_by_desc(conflict::Column::Id);
        let q = match limit {
            Some(l) => q.limit(l),
            None => q,
        };
        Ok(q.all(&self.db).await?.into_iter().map(conv).collect())
    }

    /// Drift conflicts (any status) of `pipeline_id` (or all) raised since `since`, per
    /// UTC day, oldest first; days without any are left out.
    pub async fn drift_by_day(
        &self,
        pipeline_id: Option<i64>,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DriftDay>> {
        let filter = ConflictFilter {
            pipeline_id,
            drift: true,
            ..Default::default()
        };
        let rows: Vec<(String, DateTime<Utc>)> = filtered(&filter)
            .select_only()
            .column(conflict::Column::Reason)
            .column(conflict::Column::CreatedAt)
            .filter(conflict::Column::CreatedAt.gte(crate::store::db_time(since)))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut days: std::collections::BTreeMap<chrono::NaiveDate, (u64, u64)> =
            Default::default();
        for (reason, at) in rows {
            let d = days.entry(at.date_naive()).or_default();
            if reason == "target_deleted" {
                d.1 += 1;
            } else {
                d.0 += 1;
            }
        }
        Ok(days
            .into_iter()
            .map(|(date, (m, d))| DriftDay {
                date,
                target_modified: m,
                target_deleted: d,
            })
            .collect())
    }
}
