//! The simulator's records as TimeTracker's API shows them (`to_dict` of its models), and
//! the queries the routes share (overlaps, closed periods).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::state::{Client, Entry, Project, Role, Task, TtState, User};
use super::time::{fmt_naive, local_naive};

fn hours(seconds: i64) -> f64 {
    (seconds as f64 / 3600.0 * 100.0).round() / 100.0
}

fn formatted(seconds: i64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        (seconds % 3600) / 60,
        seconds % 60
    )
}

/// The first four letters of a name, upper-cased (TimeTracker's `code_display`).
fn code_display(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .take(4)
        .collect::<String>()
        .to_uppercase()
}

fn utc_naive(at: DateTime<Utc>) -> String {
    fmt_naive(at.naive_utc())
}

impl TtState {
    pub fn now_local(&self, now: DateTime<Utc>) -> NaiveDateTime {
        local_naive(self.config.timezone, now)
    }

    pub fn user_json(&self, u: &User) -> Value {
        let total: i64 = self
            .entries
            .values()
            .filter(|e| e.user_id == u.id)
            .filter_map(Entry::duration_seconds)
            .sum();
        json!({
            "avatar_url": null,
            "created_at": utc_naive(u.created_at),
            "date_format": "YYYY-MM-DD",
            "display_name": u.full_name.clone().unwrap_or_else(|| u.username.clone()),
            "email": u.email,
            "full_name": u.full_name,
            "id": u.id,
            "is_active": u.is_active,
            "last_login": null,
            "overtime_include_weekends": true,
            "role": match u.role { Role::Admin => "admin", Role::User => "user" },
            "standard_hours_per_day": 8.0,
            "status": "offline",
            "time_format": "24h",
            "timezone": self.config.timezone.name(),
            "total_hours": hours(total),
            "username": u.username,
        })
    }

    pub fn client_json(&self, c: &Client) -> Value {
        let projects: Vec<&Project> = self
            .projects
            .values()
            .filter(|p| p.client_id == Some(c.id))
            .collect();
        json!({
            "active_projects": projects.iter().filter(|p| !p.archived).count(),
            "address": null,
            "contact_person": null,
            "created_at": utc_naive(c.created_at),
            "custom_fields": {},
            "default_hourly_rate": c.default_hourly_rate,
            "description": null,
            "email": c.email,
            "id": c.id,
            "is_active": true,
            "name": c.name,
            "phone": null,
            "prepaid_hours_monthly": null,
            "prepaid_reset_day": 1,
            "status": "active",
            "total_projects": projects.len(),
            "updated_at": utc_naive(c.created_at),
        })
    }

    pub fn project_json(&self, p: &Project) -> Value {
        let (mut total, mut billable) = (0i64, 0i64);
        for e in self.entries.values().filter(|e| e.project_id == Some(p.id)) {
            let d = e.duration_seconds().unwrap_or(0);
            total += d;
            if e.billable {
                billable += d;
            }
        }
        let rate = p.hourly_rate.unwrap_or(0.0);
        let cost = |s: i64| (hours(s) * rate * 100.0).round() / 100.0;
        json!({
            "archived_at": null,
            "archived_by": null,
            "archived_reason": null,
            "billable": p.billable,
            "billing_ref": null,
            "budget_amount": null,
            "budget_consumed_amount": 0.0,
            "budget_threshold_exceeded": false,
            "budget_threshold_percent": 80,
            "client": p.client_id.and_then(|c| self.clients.get(&c)).map(|c| c.name.clone()),
            "client_id": p.client_id,
            "code": null,
            "code_display": code_display(&p.name),
            "color": null,
            "created_at": utc_naive(p.created_at),
            "custom_fields": {},
            "description": null,
            "estimated_cost": null,
            "estimated_hours": null,
            "hourly_rate": p.hourly_rate,
            "id": p.id,
            "is_archived": p.archived,
            "name": p.name,
            "status": if p.archived { "archived" } else { "active" },
            "total_billable_costs": cost(billable),
            "total_billable_hours": hours(billable),
            "total_costs": cost(total),
            "total_hours": hours(total),
            "total_project_value": cost(billable),
            "updated_at": utc_naive(p.created_at),
        })
    }

    pub fn task_json(&self, t: &Task) -> Value {
        let total: i64 = self
            .entries
            .values()
            .filter(|e| e.task_id == Some(t.id))
            .filter_map(Entry::duration_seconds)
            .sum();
        json!({
            "assigned_to": null,
            "assigned_user": null,
            "completed_at": null,
            "created_at": fmt_naive(t.created_at),
            "created_by": t.created_by,
            "creator": self.users.get(&t.created_by).map(|u| u.username.clone()),
            "description": null,
            "due_date": null,
            "estimated_hours": null,
            "id": t.id,
            "is_active": true,
            "is_overdue": false,
            "name": t.name,
            "priority": "medium",
            "priority_class": "priority-medium",
            "priority_display": "Medium",
            "progress_percentage": 0,
            "project_id": t.project_id,
            "started_at": null,
            "status": "todo",
            "status_display": "To Do",
            "tag_list": [],
            "tags": null,
            "total_billable_hours": hours(total),
            "total_hours": hours(total),
            "updated_at": fmt_naive(t.created_at),
        })
    }

    pub fn entry_json(&self, e: &Entry) -> Value {
        let duration = e.duration_seconds();
        let tag_list: Vec<String> = e
            .tags
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        json!({
            "billable": e.billable,
            "break_seconds": e.break_seconds,
            "client": e.client_id.and_then(|c| self.clients.get(&c)).map(|c| c.name.clone()),
            "client_id": e.client_id,
            "created_at": fmt_naive(e.created_at),
            "duration_formatted": formatted(duration.unwrap_or(0)),
            // Python's `round(seconds / 3600, 2) if seconds else 0`: an integer 0 when zero.
            "duration_hours": match duration { Some(d) if d != 0 => json!(hours(d)), _ => json!(0) },
            "duration_seconds": duration,
            "end_time": e.end.map(fmt_naive),
            "id": e.id,
            "invoice_number": e.invoice_number,
            "is_active": e.end.is_none(),
            "notes": e.notes,
            "paid": e.paid,
            "paused_at": null,
            "project": e.project_id.and_then(|p| self.projects.get(&p)).map(|p| p.name.clone()),
            "project_id": e.project_id,
            "source": e.source,
            "start_time": fmt_naive(e.start),
            "tag_list": tag_list,
            "tags": e.tags,
            "task": e.task_id.and_then(|t| self.tasks.get(&t)).map(|t| t.name.clone()),
            "task_id": e.task_id,
            "updated_at": fmt_naive(e.updated_at),
            "user": self.users.get(&e.user_id).map(|u| u.username.clone()),
            "user_id": e.user_id,
        })
    }

    /// Whether `[start, end)` overlaps a finished entry of `user_id` other than `except`.
    pub fn overlaps(
        &self,
        user_id: u64,
        start: NaiveDateTime,
        end: NaiveDateTime,
        except: Option<u64>,
    ) -> bool {
        self.entries.values().any(|o| {
            o.user_id == user_id
                && Some(o.id) != except
                && o.end.is_some_and(|oe| o.start < end && oe > start)
        })
    }

    /// Whether `start` falls in the closed period.
    pub fn closed(&self, start: NaiveDateTime) -> bool {
        self.config
            .closed
            .is_some_and(|(from, to)| (from..=to).contains(&start.date()))
    }

    pub fn insert_entry(&mut self, mut e: Entry) -> Entry {
        e.id = self.next_entry;
        self.next_entry += 1;
        self.entries.insert(e.id, e.clone());
        e
    }
}
