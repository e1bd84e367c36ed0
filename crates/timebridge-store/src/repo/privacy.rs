//! Personal data by e-mail address (GDPR export and purge) and the retention purge.
//!
//! A person appears in the stored entries of conflicts (source, target, raw source), in
//! pending write intents, in mapping labels, in audit details and possibly in run item
//! messages. Export collects all of it; purge anonymises it in place (the address and the
//! name beside it become null, other mentions `[purged]`), so links, conflicts and
//! intents keep working and idempotence is never lost. A source connector's memory (its
//! cache of the remote's names) lists the records that mention the address in an export
//! and is deleted whole by a purge.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::*;
use serde_json::Value;

use crate::Store;
use crate::entities::{
    audit_event, conflict, connector_memory, mapping, run, run_item, write_intent,
};
use crate::error::StoreResult;
use crate::states::ConflictStatus;

/// What stays in place of a purged mention.
pub const PURGED: &str = "[purged]";

/// Everything stored about one address.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PersonalData {
    pub conflicts: Vec<Value>,
    pub run_items: Vec<Value>,
    pub audit_events: Vec<Value>,
    pub mappings: Vec<Value>,
    pub pending_writes: Vec<Value>,
    /// Records a source connector remembered from its remote (its cache of names between
    /// runs) that mention the address: `{"connector_id", "record"}`.
    pub remembered: Vec<Value>,
}

/// How many records a purge changed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PurgeCounts {
    pub conflicts: u64,
    pub run_items: u64,
    pub audit_events: u64,
    pub mappings: u64,
    pub pending_writes: u64,
}

/// What the retention purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetentionCounts {
    pub run_items: u64,
    pub resolved_conflicts: u64,
    pub audit_events: u64,
}

fn mentions(v: &Value, email: &str) -> bool {
    match v {
        Value::String(s) => s.to_lowercase().contains(email),
        Value::Array(a) => a.iter().any(|x| mentions(x, email)),
        Value::Object(o) => o.values().any(|x| mentions(x, email)),
        _ => false,
    }
}

/// The smallest objects of `v` that mention `email` in one of their own strings (a
/// remembered user record, not the whole map it sits in).
fn records_mentioning<'a>(v: &'a Value, email: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(o) => {
            let own = o
                .values()
                .any(|x| matches!(x, Value::String(s) if s.to_lowercase().contains(email)));
            if own {
                out.push(v);
            } else {
                o.values().for_each(|x| records_mentioning(x, email, out));
            }
        }
        Value::Array(a) => a.iter().for_each(|x| records_mentioning(x, email, out)),
        _ => {}
    }
}

fn text_mentions(s: Option<&str>, email: &str) -> bool {
    s.is_some_and(|s| s.to_lowercase().contains(email))
}

/// Replaces every mention of `email` (case-insensitive) in `s`.
fn scrub_text(s: &str, email: &str) -> String {
    let lower = s.to_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find(email) {
        out.push_str(&s[i..i + pos]);
        out.push_str(PURGED);
        i += pos + email.len();
    }
    out.push_str(&s[i..]);
    out
}

/// Anonymises a JSON value: an object whose `email` is the address loses its `email` and
/// `name`; every other mention becomes `[purged]`.
fn scrub(v: &mut Value, email: &str) {
    match v {
        Value::String(s) if s.to_lowercase().contains(email) => {
            *s = scrub_text(s, email);
        }
        Value::Array(a) => a.iter_mut().for_each(|x| scrub(x, email)),
        Value::Object(o) => {
            let is_person = o
                .get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| e.trim().to_lowercase() == email);
            if is_person {
                o.insert("email".into(), Value::Null);
                if o.contains_key("name") {
                    o.insert("name".into(), Value::Null);
                }
            }
            o.values_mut().for_each(|x| scrub(x, email));
        }
        _ => {}
    }
}

/// The normalised form addresses are compared in.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Store {
    /// Everything stored about `email`.
    pub async fn personal_data(&self, email: &str) -> StoreResult<PersonalData> {
        let email = normalise_email(email);
        let mut out = PersonalData::default();
        let mut keys = std::collections::BTreeSet::new();
        for c in conflict::Entity::find().all(&self.db).await? {
            let hit = [&c.source, &c.target, &c.raw_source]
                .iter()
                .any(|v| v.as_ref().is_some_and(|v| mentions(v, &email)));
            if hit {
                keys.insert((c.pipeline_id, c.source_key.clone()));
                out.conflicts.push(serde_json::json!({
                    "id": c.id, "pipeline_id": c.pipeline_id, "source_key": c.source_key,
                    "reason": c.reason, "status": c.status, "source": c.source,
                    "target": c.target, "raw_source": c.raw_source, "message": c.message,
                    "created_at": c.created_at, "resolution": c.resolution,
                }));
            }
        }
        for w in write_intent::Entity::find().all(&self.db).await? {
            if mentions(&w.desired, &email) {
                keys.insert((w.pipeline_id, w.source_key.clone()));
                out.pending_writes.push(serde_json::json!({
                    "id": w.id, "pipeline_id": w.pipeline_id, "source_key": w.source_key,
                    "action": w.action, "desired": w.desired, "created_at": w.created_at,
                }));
            }
        }
        for m in mapping::Entity::find().all(&self.db).await? {
            if text_mentions(m.source_label.as_deref(), &email)
                || text_mentions(m.target_label.as_deref(), &email)
            {
                out.mappings.push(serde_json::json!({
                    "id": m.id, "pipeline_id": m.pipeline_id, "kind": m.kind,
                    "source_key": m.source_key, "source_label": m.source_label,
                    "target_key": m.target_key, "target_label": m.target_label,
                }));
            }
        }
        for e in audit_event::Entity::find()
            .order_by_asc(audit_event::Column::Id)
            .all(&self.db)
            .await?
        {
            if mentions(&e.details, &email) || text_mentions(e.entity_id.as_deref(), &email) {
                out.audit_events.push(serde_json::json!({
                    "id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
                    "entity_type": e.entity_type, "entity_id": e.entity_id,
                    "details": e.details, "ip": e.ip,
                }));
            }
        }
        // Run items of the person's entries (items hold keys, not addresses) and any item
        // whose message names the address.
        let pipelines_of_runs: std::collections::HashMap<i64, i64> = run::Entity::find()
            .select_only()
            .column(run::Column::Id)
            .column(run::Column::PipelineId)
            .into_tuple::<(i64, i64)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        for i in run_item::Entity::find()
            .order_by_asc(run_item::Column::Id)
            .all(&self.db)
            .await?
        {
            let pipeline = pipelines_of_runs
                .get(&i.run_id)
                .copied()
                .unwrap_or_default();
            if keys.contains(&(pipeline, i.source_key.clone()))
                || text_mentions(i.message.as_deref(), &email)
                || i.before.as_ref().is_some_and(|v| mentions(v, &email))
            {
                out.run_items.push(serde_json::json!({
                    "run_id": i.run_id, "source_key": i.source_key, "outcome": i.outcome,
                    "reason": i.reason, "target_id": i.target_id, "message": i.message,
                    // An update's target entry before it (kept for undo).
                    "before": i.before,
                }));
            }
        }
        for m in connector_memory::Entity::find()
            .order_by_asc(connector_memory::Column::ConnectorId)
            .all(&self.db)
            .await?
        {
            let mut found = Vec::new();
            records_mentioning(&m.memory, &email, &mut found);
            out.remembered.extend(
                found
                    .into_iter()
                    .map(|r| serde_json::json!({"connector_id": m.connector_id, "record": r})),
            );
        }
        Ok(out)
    }

    /// Anonymises everything stored about `email` in place; returns what changed.
    pub async fn purge_personal_data(&self, email: &str) -> StoreResult<PurgeCounts> {
        let email = normalise_email(email);
        let mut counts = PurgeCounts::default();
        let txn = self.db.begin().await?;
        for c in conflict::Entity::find().all(&txn).await? {
            let hit = [&c.source, &c.target, &c.raw_source]
                .iter()
                .any(|v| v.as_ref().is_some_and(|v| mentions(v, &email)))
                || c.message.to_lowercase().contains(&email);
            if !hit {
                continue;
            }
            let mut am: conflict::ActiveModel = c.clone().into();
            for (field, value) in [
                (&mut am.source, c.source.clone()),
                (&mut am.target, c.target.clone()),
                (&mut am.raw_source, c.raw_source.clone()),
            ] {
                if let Some(mut v) = value {
                    scrub(&mut v, &email);
                    *field = Set(Some(v));
                }
            }
            am.message = Set(scrub_text(&c.message, &email));
            am.update(&txn).await?;
            counts.conflicts += 1;
        }
        for w in write_intent::Entity::find().all(&txn).await? {
            if mentions(&w.desired, &email) {
                let mut desired = w.desired.clone();
                scrub(&mut desired, &email);
                let mut am: write_intent::ActiveModel = w.into();
                am.desired = Set(desired);
                am.update(&txn).await?;
                counts.pending_writes += 1;
            }
        }
        for m in mapping::Entity::find().all(&txn).await? {
            if text_mentions(m.source_label.as_deref(), &email)
                || text_mentions(m.target_label.as_deref(), &email)
            {
                let (s, t) = (m.source_label.clone(), m.target_label.clone());
                let mut am: mapping::ActiveModel = m.into();
                am.source_label = Set(s.map(|l| scrub_text(&l, &email)));
                am.target_label = Set(t.map(|l| scrub_text(&l, &email)));
                am.update(&txn).await?;
                counts.mappings += 1;
            }
        }
        for e in audit_event::Entity::find().all(&txn).await? {
            if mentions(&e.details, &email) || text_mentions(e.entity_id.as_deref(), &email) {
                let mut details = e.details.clone();
                scrub(&mut details, &email);
                let entity_id = e.entity_id.clone().map(|id| scrub_text(&id, &email));
                let mut am: audit_event::ActiveModel = e.into();
                am.details = Set(details);
                am.entity_id = Set(entity_id);
                am.update(&txn).await?;
                counts.audit_events += 1;
            }
        }
        for i in run_item::Entity::find().all(&txn).await? {
            let in_before = i.before.as_ref().is_some_and(|v| mentions(v, &email));
            if text_mentions(i.message.as_deref(), &email) || in_before {
                let message = i.message.clone().map(|m| scrub_text(&m, &email));
                // The entry an undo would write back: scrubbed like the rest (an undo then
                // writes the address as scrubbed).
                let before = i.before.clone().map(|mut v| {
                    scrub(&mut v, &email);
                    v
                });
                let mut am: run_item::ActiveModel = i.into();
                am.message = Set(message);
                am.before = Set(before);
                am.update(&txn).await?;
                counts.run_items += 1;
            }
        }
        // A connector's memory is a cache of the remote's names (agents, e-mails): one
        // that mentions the address is dropped whole, not counted; the next run asks the
        // remote again.
        for m in connector_memory::Entity::find().all(&txn).await? {
            if mentions(&m.memory, &email) {
                connector_memory::Entity::delete_by_id(m.connector_id)
                    .exec(&txn)
                    .await?;
            }
        }
        txn.commit().await?;
        Ok(counts)
    }

    /// Deletes run items of runs finished before `cutoff`, conflicts resolved before it
    /// and audit events older than it. Links, open conflicts and runs stay: nothing the
    /// next sync needs is ever removed.
    pub async fn purge_older_than(&self, cutoff: DateTime<Utc>) -> StoreResult<RetentionCounts> {
        let old_runs = Query::select()
            .column(run::Column::Id)
            .from(run::Entity)
            .and_where(Expr::col(run::Column::FinishedAt).lt(cutoff))
            .to_owned();
        let items = run_item::Entity::delete_many()
            .filter(run_item::Column::RunId.in_subquery(old_runs))
            .exec(&self.db)
            .await?;
        let conflicts = conflict::Entity::delete_many()
            .filter(conflict::Column::Status.eq(ConflictStatus::Resolved))
            .filter(conflict::Column::ResolvedAt.lt(cutoff))
            .exec(&self.db)
            .await?;
        let audit = audit_event::Entity::delete_many()
            .filter(audit_event::Column::At.lt(cutoff))
            .exec(&self.db)
            .await?;
        Ok(RetentionCounts {
            run_items: items.rows_affected,
            resolved_conflicts: conflicts.rows_affected,
            audit_events: audit.rows_affected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_person_is_anonymised_and_other_mentions_are_replaced() {
        let mut v = json!({"user": {"key": "3", "email": "Ann@Example.com", "name": "Ann"},
                           "description": "#1 call ann@example.com back",
                           "other": {"email": "bob@example.com", "name": "Bob"}});
        assert!(mentions(&v, "ann@example.com"));
        scrub(&mut v, "ann@example.com");
        assert_eq!(v["user"]["email"], Value::Null);
        assert_eq!(v["user"]["name"], Value::Null);
        assert_eq!(v["user"]["key"], "3");
        assert_eq!(v["description"], "#1 call [purged] back");
        assert_eq!(v["other"]["email"], "bob@example.com");
        assert!(!mentions(&v, "ann@example.com"));
    }
}
