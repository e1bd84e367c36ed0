//! Jibble as a source: the clock events of the window's work days (`belongsToDate`,
//! padded by a day on each side because it is the person's local day), paired into
//! intervals per person (`pairing.rs`); an interval is an entry when its clock-in lies in
//! the window. A session that ends beyond the read is completed by looking up the punch
//! its clock-in names; linked keys the read did not cover are looked up by id, so that
//! only a removed clock-in reads as deleted.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Timelike, Utc};
use timebridge_core::entry::{Entry, NamedRef, UserRef};

use super::api::ApiPunch;
use super::connector::{Host, JibbleConnector, Master};
use super::pairing::{Interval, Timed, pair};
use crate::connector::{SourceBatch, SourceConnector, SourceQuery, SourceScope};
use crate::error::{ConnectorError, ConnectorResult};

/// Days read beyond each end of the window (belongsToDate is a local day).
const PAD_DAYS: i64 = 1;

/// What the description says of an interval Jibble closed itself.
pub(crate) const AUTO_OUT_NOTE: &str = "clocked out automatically by Jibble (AutoOut)";

/// A punch's instant, cut to the whole second: Jibble keeps fractions of a second (a
/// clock-in at 08:59:59.730), people read punches to the minute, and targets keep whole
/// seconds (Odoo refuses anything finer). Cutting keeps the order of a person's punches.
fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .and_then(|d| d.to_utc().with_nanosecond(0))
}

impl JibbleConnector {
    fn timed<'a>(&self, punches: &'a [ApiPunch]) -> ConnectorResult<Vec<Timed<'a>>> {
        punches
            .iter()
            .map(|p| {
                instant(&p.time)
                    .map(|at| Timed { punch: p, at })
                    .ok_or_else(|| ConnectorError::Protocol {
                        host: self.time_tracking.host().to_owned(),
                        message: format!("time entry {} has an unreadable time {:?}", p.id, p.time),
                    })
            })
            .collect()
    }

    /// The entry of one interval.
    fn entry(&self, m: &Master, i: &Interval<'_>) -> Entry {
        let start = i.start.punch;
        let end = i.end.map(|e| e.at).filter(|e| *e >= i.start.at);
        let person = m.person(&start.person_id);
        let named = |id: &Option<String>, list: &HashMap<String, super::api::ApiNamed>| {
            id.as_deref().filter(|x| !x.is_empty()).map(|x| NamedRef {
                key: x.to_owned(),
                name: list.get(x).and_then(|n| n.name.clone()),
            })
        };
        let mut description = start.note.clone().unwrap_or_default().trim().to_owned();
        if i.end.is_some_and(|e| e.punch.auto_out()) {
            description = if description.is_empty() {
                format!(
                    "{}{}",
                    AUTO_OUT_NOTE[..1].to_uppercase(),
                    &AUTO_OUT_NOTE[1..]
                )
            } else {
                format!("{description} ({AUTO_OUT_NOTE})")
            };
        }
        Entry {
            system: "jibble".into(),
            key: start.id.clone(),
            ticket: None,
            customer: None,
            project: named(&start.project_id, &m.projects),
            activity: named(&start.activity_id, &m.activities),
            user: Some(UserRef {
                // The workspace's id where the person is known, so that user mappings made
                // from the `people` catalog apply.
                key: person.map_or_else(|| start.person_id.clone(), |p| p.id.clone()),
                email: person
                    .and_then(|p| p.email.clone())
                    .filter(|e| !e.trim().is_empty()),
                name: person.map(super::api::ApiPerson::label),
            }),
            begin: i.start.at,
            end,
            duration_seconds: end.map(|e| (e - i.start.at).num_seconds()),
            description,
            billable: None,
            tags: Vec::new(),
            running: end.is_none(),
        }
    }
}

#[async_trait]
impl SourceConnector for JibbleConnector {
    async fn fetch(&self, query: &SourceQuery) -> ConnectorResult<SourceBatch> {
        let window = &query.window;
        let from = window.from - Duration::days(PAD_DAYS);
        let to = window.to + Duration::days(PAD_DAYS);
        // Archived punches are wanted too where the server lists them (removals); the
        // pairing leaves them out either way.
        let options = [
            (
                "$filter",
                format!("belongsToDate ge {from} and belongsToDate le {to}"),
            ),
            ("$orderby", "time asc".to_owned()),
        ];
        let (read, pages) = futures::try_join!(
            self.list_all::<ApiPunch>(
                Host::TimeTracking,
                "GET /TimeEntries",
                "/TimeEntries",
                &options,
            ),
            async { self.master().await.map(|_| ()) },
        )
        .map(|(r, ())| r)?;
        let m = self.master().await?;
        let mut seen = HashSet::new();
        let mut punches: Vec<ApiPunch> = read
            .into_iter()
            .filter(|p| seen.insert(p.id.clone()))
            .collect();
        let mut notes = vec![format!(
            "read {} clock events of the work days {from} to {to} in {pages} pages",
            punches.len()
        )];
        // Sessions that end beyond the read: their clock-ins name the punch that ends them.
        let dangling: Vec<String> = pair(&self.timed(&punches)?)
            .dangling
            .into_iter()
            .filter(|(at, _)| window.contains(*at))
            .map(|(_, id)| id)
            .collect();
        if !dangling.is_empty() {
            let found = self.punches_by_ids(&dangling).await?;
            notes.push(format!(
                "looked up {} clock-outs beyond the read by id",
                dangling.len()
            ));
            punches.extend(found.into_iter().filter(|p| seen.insert(p.id.clone())));
        }
        let timed = self.timed(&punches)?;
        let paired = pair(&timed);
        let mut entries = Vec::new();
        let mut known_keys = HashSet::new();
        let mut work_ins = HashSet::new();
        let mut unknown_people = HashSet::new();
        for i in &paired.intervals {
            work_ins.insert(i.start.punch.id.clone());
            if window.contains(i.start.at) {
                if m.person(&i.start.punch.person_id).is_none() {
                    unknown_people.insert(i.start.punch.person_id.clone());
                }
                entries.push(self.entry(&m, i));
            } else {
                known_keys.insert(i.start.punch.id.clone());
            }
        }
        if paired.archived > 0 {
            notes.push(format!(
                "{} archived (removed) clock events left out",
                paired.archived
            ));
        }
        if paired.orphan_outs > 0 {
            notes.push(format!(
                "{} clock-outs without a clock-in in the read left out",
                paired.orphan_outs
            ));
        }
        if paired.unknown_types > 0 {
            notes.push(format!(
                "{} clock events of a type other than In or Out left out",
                paired.unknown_types
            ));
        }
        if !unknown_people.is_empty() {
            let mut ids: Vec<String> = unknown_people.into_iter().collect();
            ids.sort();
            notes.push(format!(
                "time-tracking person ids not among the workspace's People (their entries \
                 have no e-mail; map them by id): {}",
                ids.join(", ")
            ));
        }
        // Linked entries the read did not hold as clock-ins: do they still exist?
        let missing: Vec<String> = query
            .linked_keys
            .iter()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        if !missing.is_empty() {
            for p in self.punches_by_ids(&missing).await? {
                let work_in = p.kind.eq_ignore_ascii_case("in")
                    && p.break_id.as_deref().is_none_or(str::is_empty);
                if !p.archived() && work_in {
                    known_keys.insert(p.id);
                }
            }
            notes.push(format!(
                "looked up {} synced entries outside the read by id",
                missing.len()
            ));
        }
        Ok(SourceBatch {
            entries,
            known_keys,
            scope: SourceScope::Everything,
            notes,
            memory: None,
        })
    }
}
