//! Mapping resolution: turns a source entry (Zammad references) into the desired
//! target-side entry (Kimai references), and explains which rule mapped each field.
//!
//! Rules, in order of precedence, per field:
//! - **excluded person**: a `user` mapping with `sync: false` for the agent key excludes
//!   the entry ([`MappingResult::Excluded`]); nothing else is resolved, the planner leaves
//!   it alone (`skip`, `user excluded`), never a conflict.
//! - **activity**: the activity mapping for the source type key; else, with the pipeline
//!   option `match_by_name`, the one target activity whose name equals the source
//!   activity's name (trimmed, case-insensitive; several target activities of that name
//!   never match automatically); else the pipeline's `default_activity`; else
//!   `unmapped_activity`.
//! - **project**: the source's project dimension is the entry's `project` if set, else its
//!   `customer` (Zammad puts the organization there). The project mapping for that key;
//!   else, with `match_by_name`, the one target project of the same name; else the
//!   pipeline's `default_project`; else `unmapped_project`. A source whose entries name
//!   no project but describe it in words ([`ProjectRule::KeywordInDescription`], e.g. a
//!   calendar) opts into keyword rules instead: the first `project` mapping (by id) whose
//!   `source_key` occurs in the entry's description as whole words (case-insensitive)
//!   decides it; else the pipeline's default.
//! - **user**: an explicit user mapping for the agent key (it overrides e-mail matching);
//!   else the target user whose e-mail equals the agent's, compared case-insensitively
//!   after trimming; else the token user when `unmapped_user = token_user`; else
//!   `unmapped_user`. Several target users sharing one e-mail never match automatically.
//! - **billable**: the used activity mapping's `billable` if set, else the used project
//!   mapping's, else the target's own default computed from its master data
//!   ([`BillableDefaults`]; Kimai: billable when customer, project and activity all are),
//!   else `None` (the target's master data does not say; it computes the flag itself).
//!   Defaults carry no billable flag. It is written to the entry only when the target
//!   setting `set_billable_field` is on; the billable/non-billable tag is added whenever it
//!   is known, so a bookkeeper filtering by tag sees every entry.
//! - A mapped key the target's master data does not know (deleted in the target) counts as
//!   unmapped: the write would be refused anyway, and the explanation says why.
//! - **refusal**: a mapped entry the target is certain to refuse, judged from its master
//!   data ([`TargetRules`]: an activity of another project, a global activity on a project
//!   that forbids them, a begin outside the project's period by more than any time zone
//!   can explain), carries the target's reason. The planner raises `target_rejected`
//!   instead of sending a write that cannot succeed; a person's explicit action still
//!   sends it (the target has the last word).
//! - **description**: `#<number> <title>` for a ticket entry, else the source description.
//!   The link marker is the target connector's business.
//! - The desired entry's `key` holds the **source key** it is linked to (its target id is
//!   unknown until written); `ticket` is kept from the source for display.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use chrono::{Duration, NaiveDate};

use crate::entry::{Entry, NamedRef, UserRef};
use crate::rounding::{AppliedRounding, Rounding};

/// Which field a mapping rule maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingKind {
    Activity,
    Project,
    User,
}

impl MappingKind {
    fn source_noun(self) -> &'static str {
        match self {
            MappingKind::Activity => "type",
            MappingKind::Project => "organization",
            MappingKind::User => "agent",
        }
    }

    fn target_noun(self) -> &'static str {
        match self {
            MappingKind::Activity => "activity",
            MappingKind::Project => "project",
            MappingKind::User => "user",
        }
    }
}

/// One configured mapping, as stored (`Mapping` in the API contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingRule {
    pub id: i64,
    pub kind: MappingKind,
    pub source_key: String,
    pub source_label: Option<String>,
    /// `None` only for a `user` mapping with `sync: false` (an excluded person).
    pub target_key: Option<String>,
    pub target_label: Option<String>,
    /// Only meaningful for activity and project mappings.
    pub billable: Option<bool>,
    /// `false` on a `user` mapping excludes that person from sync.
    #[serde(default = "yes")]
    pub sync: bool,
}

fn yes() -> bool {
    true
}

/// What to do with an agent who has no target user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmappedUserPolicy {
    /// Raise `unmapped_user` (the default: never book time on the wrong person silently).
    #[default]
    Conflict,
    /// Book on the user the target API token belongs to.
    TokenUser,
}

/// The pipeline options (`options` in the API contract).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PipelineOptions {
    #[serde(default)]
    pub default_project: Option<String>,
    #[serde(default)]
    pub default_activity: Option<String>,
    #[serde(default)]
    pub unmapped_user: UnmappedUserPolicy,
    /// Projects and activities of equal names (trimmed, case-insensitive) match without a
    /// mapping, after explicit mappings and before the pipeline defaults.
    #[serde(default)]
    pub match_by_name: bool,
    /// Carry running source entries (written as running) instead of waiting until they end.
    #[serde(default)]
    pub include_running: bool,
    /// Create the target's projects in the source before each run (sources that can).
    #[serde(default)]
    pub mirror_projects: MirrorProjects,
    /// How durations are rounded (absent: exact, no rounding); see [`crate::rounding`].
    #[serde(default)]
    pub rounding: Rounding,
}

/// The `mirror_projects` pipeline option.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MirrorProjects {
    #[serde(default)]
    pub enabled: bool,
    /// The source client new projects are created under, where the source has clients.
    #[serde(default)]
    pub client_key: Option<String>,
}

/// Why the configured rules cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MappingError {
    /// The API forbids this (409); seeing it here means the stored rules are inconsistent.
    #[error("mappings #{first} and #{second} both map {kind:?} source key {source_key:?}")]
    DuplicateSourceKey {
        kind: MappingKind,
        source_key: String,
        first: i64,
        second: i64,
    },
}

/// How a source's entries name their project: by a key (a project or organization id),
/// or only in words, in their description (calendar events), where `project` mappings are
/// keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectRule {
    /// The entry's `project` (else `customer`) key is a `project` mapping's `source_key`.
    #[default]
    ByKey,
    /// A `project` mapping's `source_key` is a keyword: the first mapping (lowest id) whose
    /// words occur in the entry's description (whole words, case-insensitive) applies.
    KeywordInDescription,
}

/// The rules of one pipeline, indexed for lookup by source key.
#[derive(Debug, Clone, Default)]
pub struct MappingRules {
    pub options: PipelineOptions,
    activities: HashMap<String, MappingRule>,
    projects: HashMap<String, MappingRule>,
    users: HashMap<String, MappingRule>,
    /// With [`ProjectRule::KeywordInDescription`]: the project mappings by id, each with
    /// its keyword's words.
    keywords: Option<Vec<(Vec<String>, MappingRule)>>,
}

/// The words of `text`: runs of letters and digits, lower-cased.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `needle` (non-empty) occurs in `hay` as a run of whole words.
fn contains_words(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

impl MappingRules {
    /// Indexes the rules; two rules for the same `(kind, source_key)` are an error.
    pub fn new(
        options: PipelineOptions,
        rules: impl IntoIterator<Item = MappingRule>,
    ) -> Result<Self, MappingError> {
        let mut me = MappingRules {
            options,
            ..Default::default()
        };
        for rule in rules {
            let map = match rule.kind {
                MappingKind::Activity => &mut me.activities,
                MappingKind::Project => &mut me.projects,
                MappingKind::User => &mut me.users,
            };
            if let Some(existing) = map.get(&rule.source_key) {
                return Err(MappingError::DuplicateSourceKey {
                    kind: rule.kind,
                    source_key: rule.source_key.clone(),
                    first: existing.id,
                    second: rule.id,
                });
            }
            map.insert(rule.source_key.clone(), rule);
        }
        Ok(me)
    }

    /// Reads `project` mappings as the source's [`ProjectRule`] says.
    pub fn with_project_rule(mut self, rule: ProjectRule) -> Self {
        self.keywords = match rule {
            ProjectRule::ByKey => None,
            ProjectRule::KeywordInDescription => {
                let mut list: Vec<(Vec<String>, MappingRule)> = self
                    .projects
                    .values()
                    .map(|r| (words(&r.source_key), r.clone()))
                    .filter(|(w, _)| !w.is_empty())
                    .collect();
                list.sort_by_key(|(_, r)| r.id);
                Some(list)
            }
        };
        self
    }

    /// The first keyword rule (lowest id) whose words occur in `text`, when project
    /// mappings are keywords.
    fn keyword_rule(&self, text: &str) -> Option<&MappingRule> {
        let list = self.keywords.as_ref()?;
        let hay = words(text);
        list.iter()
            .find(|(needle, _)| contains_words(&hay, needle))
            .map(|(_, r)| r)
    }

    /// The rule for a source key, if one is configured.
    pub fn get(&self, kind: MappingKind, source_key: &str) -> Option<&MappingRule> {
        match kind {
            MappingKind::Activity => self.activities.get(source_key),
            MappingKind::Project => self.projects.get(source_key),
            MappingKind::User => self.users.get(source_key),
        }
    }
}

/// A target user as the target's user directory lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetUser {
    pub key: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// A target project with the customer it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetProject {
    pub key: String,
    pub name: Option<String>,
    pub customer: Option<NamedRef>,
}

/// The target's master data needed to resolve and name mapped keys.
///
/// Lists must be complete: a key missing here is treated as deleted in the target.
#[derive(Debug, Clone, Default)]
pub struct TargetDirectory {
    users: HashMap<String, TargetUser>,
    /// Lower-cased, trimmed e-mail → user key; `None` when several users share it.
    users_by_email: HashMap<String, Option<String>>,
    projects: HashMap<String, TargetProject>,
    activities: HashMap<String, NamedRef>,
    /// Normalised name → project key; `None` when several projects share the name.
    projects_by_name: HashMap<String, Option<String>>,
    /// Normalised name → key of the activities that belong to no project; `None` when
    /// several share the name.
    activities_by_name: HashMap<String, Option<String>>,
    /// (project key, normalised name) → key of the activities of that project.
    project_activities_by_name: HashMap<(String, String), Option<String>>,
    token_user: Option<String>,
    rules: TargetRules,
}

/// What the target's master data says about which entries it accepts (Kimai: a project's
/// period and whether it allows global activities, the project an activity belongs to).
/// Unknown keys have no rules: only certain refusals are predicted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetRules {
    /// Project key → its rules.
    pub projects: HashMap<String, ProjectRules>,
    /// Activity key → the project it belongs to (absent: a global activity).
    pub activity_projects: HashMap<String, String>,
    /// What the target makes of an entry whose billable flag nobody set.
    pub billable: BillableDefaults,
}

/// The target's own billable default, from the flags of its master data (Kimai's rule: a
/// timesheet is billable unless its customer, project or activity is non-billable).
/// Empty maps mean "unknown": the flag is then left to the target and no tag is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillableDefaults {
    /// The target's name in explanations (`Kimai default: …`).
    pub label: String,
    /// Project key → the billable flags of the project and of its customer.
    pub projects: HashMap<String, ProjectBillable>,
    /// Activity key → its billable flag.
    pub activities: HashMap<String, bool>,
}

/// The billable flags that decide a project's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectBillable {
    pub project: bool,
    /// The customer's flag, when the target has customers.
    pub customer: Option<bool>,
}

impl BillableDefaults {
    /// The flag the target would set on an entry of `project` and `activity` (target
    /// keys) with the reason in words, or `None` when its master data does not say.
    pub fn default_for(
        &self,
        customer: Option<&NamedRef>,
        project: &NamedRef,
        activity: &NamedRef,
    ) -> Option<(bool, String)> {
        let flags = self.projects.get(&project.key)?;
        let activity_billable = *self.activities.get(&activity.key)?;
        let name = |noun: &str, r: &NamedRef| match &r.name {
            Some(n) => format!("{noun} \"{n}\""),
            None => format!("{noun} {}", r.key),
        };
        let customer = customer.map_or_else(|| "the customer".to_owned(), |c| name("customer", c));
        let mut parts: Vec<(String, bool)> = Vec::with_capacity(3);
        if let Some(b) = flags.customer {
            parts.push((customer, b));
        }
        parts.push((name("project", project), flags.project));
        parts.push((name("activity", activity), activity_billable));
        let billable = parts.iter().all(|(_, b)| *b);
        let named: Vec<&str> = parts
            .iter()
            .filter(|(_, b)| *b == billable)
            .map(|(n, _)| n.as_str())
            .collect();
        let list = match named.as_slice() {
            [one] => (*one).to_owned(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
            [] => String::new(),
        };
        let verb = match (named.len(), billable) {
            (1, true) => "is billable",
            (_, true) => "are billable",
            (1, false) => "is not billable",
            (_, false) => "are not billable",
        };
        let label = if self.label.is_empty() {
            "target"
        } else {
            &self.label
        };
        Some((billable, format!("{label} default: {list} {verb}")))
    }
}

/// The rules of one target project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRules {
    /// First day entries may be booked on (in the entry user's zone), if limited.
    pub start: Option<NaiveDate>,
    /// Last day entries may be booked on, if limited.
    pub end: Option<NaiveDate>,
    /// Whether global activities may be used (Kimai's `globalActivities`).
    pub global_activities: bool,
}

/// The widest distance of a civil time zone from UTC: a begin this far past the end of a
/// project's last day is past it in every zone.
const MAX_ZONE_OFFSET_HOURS: i64 = 14;

impl TargetRules {
    /// Why the target will refuse `entry` (project and activity keys of the target), if
    /// it certainly will; `None` when it may accept it.
    pub fn refusal(&self, entry: &Entry) -> Option<Refusal> {
        let project = entry.project.as_ref()?;
        let rules = self.projects.get(&project.key);
        let pname = quoted(project.name.as_deref());
        if let Some(activity) = &entry.activity {
            let aname = quoted(activity.name.as_deref());
            match self.activity_projects.get(&activity.key) {
                Some(owner) if *owner != project.key => {
                    return Some(Refusal {
                        rule: RefusalRule::ActivityOfOtherProject {
                            activity: activity.key.clone(),
                            owner: owner.clone(),
                            project: project.key.clone(),
                        },
                        message: format!(
                            "activity {}{aname} belongs to project {owner}, not to project {}{pname}",
                            activity.key, project.key
                        ),
                    });
                }
                None if rules.is_some_and(|r| !r.global_activities) => {
                    return Some(Refusal {
                        rule: RefusalRule::GlobalActivitiesForbidden {
                            project: project.key.clone(),
                        },
                        message: format!(
                            "project {}{pname} does not allow global activities and activity \
                             {}{aname} is global (\"Global activities are forbidden for the \
                             selected project.\")",
                            project.key, activity.key
                        ),
                    });
                }
                _ => {}
            }
        }
        let rules = rules?;
        let margin = Duration::hours(MAX_ZONE_OFFSET_HOURS);
        if let Some(end) = rules.end
            && (entry.begin - margin).date_naive() > end
        {
            return Some(Refusal {
                rule: RefusalRule::ProjectEnded {
                    project: project.key.clone(),
                    end,
                },
                message: format!(
                    "project {}{pname} ended on {end} and the entry begins {} (\"The project is \
                     finished at that time.\")",
                    project.key,
                    entry.begin.format("%Y-%m-%d %H:%M UTC")
                ),
            });
        }
        if let Some(start) = rules.start
            && (entry.begin + margin).date_naive() < start
        {
            return Some(Refusal {
                rule: RefusalRule::ProjectNotStarted {
                    project: project.key.clone(),
                    start,
                },
                message: format!(
                    "project {}{pname} starts on {start} and the entry begins {} (\"The project \
                     has not started at that time.\")",
                    project.key,
                    entry.begin.format("%Y-%m-%d %H:%M UTC")
                ),
            });
        }
        None
    }
}

/// A refusal the target's master data predicts: which of its rules refuses, and why in
/// words (for the entry's conflict message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub rule: RefusalRule,
    pub message: String,
}

/// The target rule that refuses an entry; entries refused by the same rule share one
/// cause, fixed once in the target (target keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum RefusalRule {
    /// The activity belongs to `owner`, not to the entry's `project`.
    ActivityOfOtherProject {
        activity: String,
        owner: String,
        project: String,
    },
    /// The project does not allow global activities.
    GlobalActivitiesForbidden { project: String },
    /// The project ended before the entry.
    ProjectEnded { project: String, end: NaiveDate },
    /// The project starts after the entry.
    ProjectNotStarted { project: String, start: NaiveDate },
}

impl RefusalRule {
    /// A stable key of the rule (the same for every entry it refuses).
    pub fn key(&self) -> String {
        match self {
            RefusalRule::ActivityOfOtherProject {
                activity, project, ..
            } => format!("activity_of_other_project:{activity}:{project}"),
            RefusalRule::GlobalActivitiesForbidden { project } => {
                format!("global_activities_forbidden:{project}")
            }
            RefusalRule::ProjectEnded { project, .. } => format!("project_ended:{project}"),
            RefusalRule::ProjectNotStarted { project, .. } => {
                format!("project_not_started:{project}")
            }
        }
    }

    /// The rule in words, naming the project and activity as `entry` (the desired entry,
    /// target references) names them.
    pub fn label(&self, entry: Option<&Entry>) -> String {
        let project = |key: &str| {
            let name = entry
                .and_then(|e| e.project.as_ref())
                .filter(|p| p.key == key)
                .and_then(|p| p.name.as_deref());
            format!("project {key}{}", quoted(name))
        };
        match self {
            RefusalRule::ActivityOfOtherProject {
                activity,
                owner,
                project: p,
            } => {
                let name = entry
                    .and_then(|e| e.activity.as_ref())
                    .filter(|a| a.key == *activity)
                    .and_then(|a| a.name.as_deref());
                format!(
                    "activity {activity}{} belongs to project {owner}, not to {}",
                    quoted(name),
                    project(p)
                )
            }
            RefusalRule::GlobalActivitiesForbidden { project: p } => {
                format!("{} does not allow global activities", project(p))
            }
            RefusalRule::ProjectEnded { project: p, end } => {
                format!("{} ended on {end}", project(p))
            }
            RefusalRule::ProjectNotStarted { project: p, start } => {
                format!("{} starts on {start}", project(p))
            }
        }
    }

    /// What to change in the target for the rule of key `key` ([`Self::key`]), and the
    /// target project concerned; `None` for a key no rule makes.
    pub fn hint_of_key(key: &str) -> Option<(String, String)> {
        let mut parts = key.split(':');
        let rule = parts.next()?;
        let (a, b) = (parts.next(), parts.next());
        Some(match (rule, a, b) {
            ("activity_of_other_project", Some(activity), Some(project)) => (
                format!(
                    "Map these entries to an activity of project {project}, or make activity \
                     {activity} available to project {project} in the target; then retry."
                ),
                project.to_owned(),
            ),
            ("global_activities_forbidden", Some(project), None) => (
                format!(
                    "Allow global activities on project {project} in the target, or map these \
                     entries to one of its own activities; then retry."
                ),
                project.to_owned(),
            ),
            ("project_ended", Some(project), None) => (
                format!(
                    "Extend the end date of project {project} in the target (or book these \
                     entries on another project); then retry."
                ),
                project.to_owned(),
            ),
            ("project_not_started", Some(project), None) => (
                format!(
                    "Move the start date of project {project} earlier in the target (or book \
                     these entries on another project); then retry."
                ),
                project.to_owned(),
            ),
            _ => return None,
        })
    }
}

impl TargetDirectory {
    /// Builds the directory; `token_user` is the key of the user the API token belongs to.
    pub fn new(
        users: impl IntoIterator<Item = TargetUser>,
        projects: impl IntoIterator<Item = TargetProject>,
        activities: impl IntoIterator<Item = NamedRef>,
        token_user: Option<String>,
    ) -> Self {
        let mut me = TargetDirectory {
            token_user,
            ..Default::default()
        };
        for user in users {
            if let Some(email) = user.email.as_deref().map(normalise_email)
                && !email.is_empty()
            {
                me.users_by_email
                    .entry(email)
                    .and_modify(|v| {
                        if v.as_deref() != Some(user.key.as_str()) {
                            *v = None;
                        }
                    })
                    .or_insert_with(|| Some(user.key.clone()));
            }
            me.users.insert(user.key.clone(), user);
        }
        for p in projects {
            index_name(&mut me.projects_by_name, p.name.as_deref(), &p.key);
            me.projects.insert(p.key.clone(), p);
        }
        for a in activities {
            index_name(&mut me.activities_by_name, a.name.as_deref(), &a.key);
            me.activities.insert(a.key.clone(), a);
        }
        me
    }

    /// The target's (active) projects as project mirroring reads them, in a stable order
    /// (numeric keys by number, then other keys by text).
    pub fn active_projects(&self) -> Vec<crate::mirror::CatalogProject> {
        let mut list: Vec<&TargetProject> = self.projects.values().collect();
        list.sort_by(|a, b| {
            let n = |k: &str| k.parse::<i64>().ok();
            match (n(&a.key), n(&b.key)) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => a.key.cmp(&b.key),
            }
        });
        list.into_iter()
            .map(|p| crate::mirror::CatalogProject {
                key: p.key.clone(),
                name: p.name.clone().unwrap_or_default(),
                active: true,
            })
            .collect()
    }

    /// Adds what the target's master data says about which entries it accepts; name
    /// matching then looks for an activity within the entry's project first, and among
    /// the activities of no project after.
    pub fn with_rules(mut self, rules: TargetRules) -> Self {
        self.activities_by_name.clear();
        self.project_activities_by_name.clear();
        for a in self.activities.values() {
            match rules.activity_projects.get(&a.key) {
                Some(project) => {
                    if let Some(name) = a.name.as_deref().map(normalise_name)
                        && !name.is_empty()
                    {
                        self.project_activities_by_name
                            .entry((project.clone(), name))
                            .and_modify(|v| {
                                if v.as_deref() != Some(a.key.as_str()) {
                                    *v = None;
                                }
                            })
                            .or_insert_with(|| Some(a.key.clone()));
                    }
                }
                None => index_name(&mut self.activities_by_name, a.name.as_deref(), &a.key),
            }
        }
        self.rules = rules;
        self
    }
}

fn normalise_email(e: &str) -> String {
    e.trim().to_lowercase()
}

/// The form in which names are compared: trimmed, lower-cased.
pub fn normalise_name(name: &str) -> String {
    name.trim().to_lowercase()
}

fn index_name(index: &mut HashMap<String, Option<String>>, name: Option<&str>, key: &str) {
    let Some(name) = name.map(normalise_name).filter(|n| !n.is_empty()) else {
        return;
    };
    index
        .entry(name)
        .and_modify(|v| {
            if v.as_deref() != Some(key) {
                *v = None;
            }
        })
        .or_insert_with(|| Some(key.to_owned()));
}

/// Whether a target needs a dimension (project, activity) on every entry it stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// Every entry has one (Kimai: project and activity): unmapped is a conflict.
    #[default]
    Required,
    /// An entry may lack it (TimeTracker, Clockify, Odoo: the task): unmapped is written
    /// without it, and the explanation says so.
    Optional,
    /// The target has no such dimension (Odoo attendance: neither project nor task): it
    /// is not resolved and never written.
    Unused,
}

/// Target-side settings that shape the written entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSettings {
    /// Connector kind of the target, written into the desired entry's `system`.
    pub system: String,
    pub billable_tag: String,
    pub non_billable_tag: String,
    pub set_billable_field: bool,
    /// Whether every entry needs a project.
    #[serde(default)]
    pub project: Need,
    /// Whether every entry needs an activity (a task).
    #[serde(default)]
    pub activity: Need,
}

impl Default for TargetSettings {
    fn default() -> Self {
        TargetSettings {
            system: "kimai".into(),
            billable_tag: "billable".into(),
            non_billable_tag: "non-billable".into(),
            set_billable_field: true,
            project: Need::Required,
            activity: Need::Required,
        }
    }
}

/// Which kind of rule decided a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    /// An explicit mapping (`mapping_id` says which).
    Mapping,
    /// The pipeline's default (project or activity).
    PipelineDefault,
    /// Automatic user match by e-mail.
    EmailMatch,
    /// Automatic project or activity match by name (pipeline option `match_by_name`).
    NameMatch,
    /// A `user` mapping with `sync: false`: the person is excluded from sync.
    Excluded,
    /// `unmapped_user = token_user`.
    TokenUser,
    /// Copied or derived from the source entry.
    Source,
    /// Left to the target (billable computed by the target).
    TargetDefault,
    /// Nothing applied: the field is unmapped.
    Unmapped,
    /// The pipeline's rounding policy changed the duration (`duration`); the rule number
    /// is in the text (`… by rule #3`).
    Rounding,
}

/// One line of the explanation: which rule set one field, in words for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplanationStep {
    /// `activity`, `project`, `user`, `billable`, `description`.
    pub field: String,
    pub rule: RuleSource,
    pub mapping_id: Option<i64>,
    /// E.g. `mapping #12 (type 3 "Remote" → activity 7 "Support")`.
    pub text: String,
}

/// Why each field of a mapped entry has its value; shown next to the entry in the UI.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Explanation {
    pub steps: Vec<ExplanationStep>,
}

impl Explanation {
    /// The steps as `field: text` lines.
    pub fn lines(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| format!("{}: {}", s.field, s.text))
            .collect()
    }

    fn push(&mut self, field: &str, rule: RuleSource, mapping_id: Option<i64>, text: String) {
        self.steps.push(ExplanationStep {
            field: field.to_owned(),
            rule,
            mapping_id,
            text,
        });
    }
}

/// A field no rule could map; each is a conflict reason of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmappedReason {
    UnmappedActivity,
    UnmappedProject,
    UnmappedUser,
}

/// The result of mapping one source entry.
// Mapped is the common case; boxing it would cost an allocation per entry.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MappingResult {
    /// Every field resolved: `entry` is the desired target-side entry.
    Mapped {
        entry: Entry,
        /// Empty when resolved by [`Resolver::resolve_unexplained`].
        explanation: Explanation,
        /// Why the target will certainly refuse `entry` (see [`TargetRules`]), if it will.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refusal: Option<Refusal>,
        /// What the pipeline's rounding did to the duration, when it changed it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rounding: Option<AppliedRounding>,
    },
    /// At least one field could not be mapped (reasons sorted, no repeats).
    Unmapped {
        reasons: Vec<UnmappedReason>,
        explanation: Explanation,
    },
    /// The entry's person is excluded from sync (a `user` mapping with `sync: false`).
    Excluded { explanation: Explanation },
}

impl MappingResult {
    /// The desired target entry, when mapped.
    pub fn entry(&self) -> Option<&Entry> {
        match self {
            MappingResult::Mapped { entry, .. } => Some(entry),
            MappingResult::Unmapped { .. } | MappingResult::Excluded { .. } => None,
        }
    }

    /// What rounding did to the desired entry, when it changed it.
    pub fn rounding(&self) -> Option<AppliedRounding> {
        match self {
            MappingResult::Mapped { rounding, .. } => *rounding,
            MappingResult::Unmapped { .. } | MappingResult::Excluded { .. } => None,
        }
    }

    /// The explanation, mapped or not.
    pub fn explanation(&self) -> &Explanation {
        match self {
            MappingResult::Mapped { explanation, .. }
            | MappingResult::Unmapped { explanation, .. }
            | MappingResult::Excluded { explanation } => explanation,
        }
    }
}

/// Resolves source entries with one pipeline's rules against one target's directory.
#[derive(Debug, Clone, Copy)]
pub struct Resolver<'a> {
    pub rules: &'a MappingRules,
    pub directory: &'a TargetDirectory,
    pub settings: &'a TargetSettings,
}

fn quoted(label: Option<&str>) -> String {
    match label {
        Some(l) => format!(" \"{l}\""),
        None => String::new(),
    }
}

fn mapping_text(rule: &MappingRule, target_name: Option<&str>) -> String {
    format!(
        "mapping #{} ({} {}{} → {} {}{})",
        rule.id,
        rule.kind.source_noun(),
        rule.source_key,
        quoted(rule.source_label.as_deref()),
        rule.kind.target_noun(),
        rule.target_key.as_deref().unwrap_or("-"),
        quoted(target_name.or(rule.target_label.as_deref())),
    )
}

impl Resolver<'_> {
    /// Maps one source entry; never fails, an unmappable entry is a [`MappingResult::Unmapped`].
    pub fn resolve(&self, source: &Entry) -> MappingResult {
        let mut ex = Explanation::default();
        if let Some(rule) = source
            .user
            .as_ref()
            .and_then(|u| self.rules.get(MappingKind::User, &u.key))
            .filter(|r| !r.sync)
        {
            ex.push(
                "user",
                RuleSource::Excluded,
                Some(rule.id),
                format!(
                    "mapping #{} excludes agent {}{} from sync",
                    rule.id,
                    rule.source_key,
                    quoted(rule.source_label.as_deref())
                ),
            );
            return MappingResult::Excluded { explanation: ex };
        }
        let mut reasons = Vec::new();
        let mut complete = true;
        // The project first: an activity (a task) is looked for within it. Its steps are
        // explained after the activity's, in the order fields are shown.
        let mut project_ex = Explanation::default();
        let project = match self.settings.project {
            Need::Unused => None,
            need => {
                let need = self.configured(MappingKind::Project, source, need);
                let found = self.resolve_project(source, &mut project_ex);
                if found.is_none() {
                    complete &= self.missing(need, "project", &mut project_ex);
                    if need == Need::Required {
                        reasons.push(UnmappedReason::UnmappedProject);
                    }
                }
                found
            }
        };
        let activity = match self.settings.activity {
            Need::Unused => None,
            need => {
                let need = self.configured(MappingKind::Activity, source, need);
                let found = self.resolve_activity(source, project.map(|p| p.0), &mut ex);
                if found.is_none() {
                    complete &= self.missing(need, "activity", &mut ex);
                    if need == Need::Required {
                        reasons.push(UnmappedReason::UnmappedActivity);
                    }
                }
                found
            }
        };
        reasons.sort_unstable();
        ex.steps.append(&mut project_ex.steps);
        let user = self.resolve_user(source, &mut ex);
        if user.is_none() {
            reasons.push(UnmappedReason::UnmappedUser);
        }
        let (true, Some(user)) = (complete, user) else {
            return MappingResult::Unmapped {
                reasons,
                explanation: ex,
            };
        };
        let (project, p_billable) = project.unzip();
        let (activity, a_billable) = activity.unzip();
        let (a_billable, p_billable) = (a_billable.flatten(), p_billable.flatten());

        let billable = match (a_billable, p_billable) {
            (Some((b, id)), _) => {
                ex.push(
                    "billable",
                    RuleSource::Mapping,
                    Some(id),
                    format!("{b} from activity mapping #{id}"),
                );
                Some(b)
            }
            (None, Some((b, id))) => {
                ex.push(
                    "billable",
                    RuleSource::Mapping,
                    Some(id),
                    format!("{b} from project mapping #{id}"),
                );
                Some(b)
            }
            (None, None) => {
                let defaults = &self.directory.rules.billable;
                let computed = project.zip(activity).and_then(|(project, activity)| {
                    let project_ref = NamedRef {
                        key: project.key.clone(),
                        name: project.name.clone(),
                    };
                    defaults.default_for(project.customer.as_ref(), &project_ref, activity)
                });
                match computed {
                    Some((b, why)) => {
                        ex.push("billable", RuleSource::TargetDefault, None, why);
                        Some(b)
                    }
                    None => {
                        ex.push(
                            "billable",
                            RuleSource::TargetDefault,
                            None,
                            "computed by the target (its master data does not say)".into(),
                        );
                        None
                    }
                }
            }
        };
        let mut tags = source.tags.clone();
        match billable {
            Some(true) => tags.push(self.settings.billable_tag.clone()),
            Some(false) => tags.push(self.settings.non_billable_tag.clone()),
            None => {}
        }
        tags.retain(|t| !t.is_empty());
        tags.sort_unstable();
        tags.dedup();

        let description = match &source.ticket {
            Some(t) => {
                ex.push(
                    "description",
                    RuleSource::Source,
                    None,
                    format!("ticket #{}", t.number),
                );
                format!("#{} {}", t.number, t.title)
            }
            None => {
                ex.push(
                    "description",
                    RuleSource::Source,
                    None,
                    "source description".into(),
                );
                source.description.clone()
            }
        };

        let mut entry = Entry {
            system: self.settings.system.clone(),
            key: source.key.clone(),
            ticket: source.ticket.clone(),
            customer: project.and_then(|p| p.customer.clone()),
            project: project.map(|p| NamedRef {
                key: p.key.clone(),
                name: p.name.clone(),
            }),
            activity: activity.cloned(),
            user: Some(UserRef {
                key: user.key.clone(),
                email: user.email.clone(),
                name: user.name.clone(),
            }),
            begin: source.begin,
            end: source.end,
            duration_seconds: source.duration_seconds,
            running: source.running,
            description,
            billable: if self.settings.set_billable_field {
                billable
            } else {
                None
            },
            tags,
        };
        // Rounding after mapping: its rules name target customers and projects, and the
        // input is always the source's raw duration (never rounded twice).
        let rounding = self
            .rules
            .options
            .rounding
            .apply(&mut entry)
            .map(|(applied, text)| {
                ex.push("duration", RuleSource::Rounding, None, text);
                applied
            });
        let refusal = self.directory.rules.refusal(&entry);
        MappingResult::Mapped {
            entry,
            explanation: ex,
            refusal,
            rounding,
        }
    }

    /// [`Resolver::resolve`], but a mapped entry's explanation is left empty. A sync holds
    /// every entry's result while it runs (44,000 explanations were ~23 MB of one), and only
    /// unmapped entries (the planner's message) and conflicts need theirs: who needs the
    /// explanation of a mapped entry calls [`Resolver::resolve`] again, which gives the same
    /// answer for the same rules, directory and entry.
    pub fn resolve_unexplained(&self, source: &Entry) -> MappingResult {
        let mut result = self.resolve(source);
        if let MappingResult::Mapped { explanation, .. } = &mut result {
            *explanation = Explanation::default();
        }
        result
    }

    #[allow(clippy::type_complexity)]
    fn resolve_activity(
        &self,
        source: &Entry,
        project: Option<&TargetProject>,
        ex: &mut Explanation,
    ) -> Option<(&NamedRef, Option<(bool, i64)>)> {
        let key = source.activity.as_ref().map(|a| a.key.as_str());
        if let Some(rule) = key.and_then(|k| self.rules.get(MappingKind::Activity, k)) {
            let target = rule.target_key.as_deref();
            return match target.and_then(|k| self.directory.activities.get(k)) {
                Some(a) => {
                    ex.push(
                        "activity",
                        RuleSource::Mapping,
                        Some(rule.id),
                        mapping_text(rule, a.name.as_deref()),
                    );
                    Some((a, rule.billable.map(|b| (b, rule.id))))
                }
                None => {
                    ex.push(
                        "activity",
                        RuleSource::Unmapped,
                        Some(rule.id),
                        format!(
                            "mapping #{} points to activity {} which the target does not have",
                            rule.id,
                            target.unwrap_or("-")
                        ),
                    );
                    None
                }
            };
        }
        let by_name = match self.match_project_activity(project, source.activity.as_ref()) {
            Ok(None) => self.match_name(
                &self.directory.activities_by_name,
                source.activity.as_ref(),
                "activities",
            ),
            found => found,
        };
        let note = match by_name {
            Ok(Some(k)) => {
                let a = &self.directory.activities[k];
                ex.push(
                    "activity",
                    RuleSource::NameMatch,
                    None,
                    format!(
                        "matched by name (activity {}{})",
                        a.key,
                        quoted(a.name.as_deref())
                    ),
                );
                return Some((a, None));
            }
            Ok(None) => String::new(),
            Err(why) => format!("; {why}"),
        };
        if let Some(default) = &self.rules.options.default_activity {
            return match self.directory.activities.get(default) {
                Some(a) => {
                    ex.push(
                        "activity",
                        RuleSource::PipelineDefault,
                        None,
                        format!(
                            "pipeline default (activity {}{}){note}",
                            a.key,
                            quoted(a.name.as_deref())
                        ),
                    );
                    Some((a, None))
                }
                None => {
                    ex.push(
                        "activity",
                        RuleSource::Unmapped,
                        None,
                        format!("pipeline default activity {default} does not exist in the target"),
                    );
                    None
                }
            };
        }
        let text = match key {
            Some(k) => format!("no mapping for type {k} and no pipeline default{note}"),
            None => "the entry has no type and there is no pipeline default".into(),
        };
        ex.push("activity", RuleSource::Unmapped, None, text);
        None
    }

    #[allow(clippy::type_complexity)]
    fn resolve_project(
        &self,
        source: &Entry,
        ex: &mut Explanation,
    ) -> Option<(&TargetProject, Option<(bool, i64)>)> {
        let dimension = source.project.as_ref().or(source.customer.as_ref());
        let key = dimension.map(|c| c.key.as_str());
        let by_key = key.and_then(|k| self.rules.get(MappingKind::Project, k));
        let by_keyword = match by_key {
            Some(_) => None,
            None => self.rules.keyword_rule(&source.description),
        };
        if let Some(rule) = by_keyword {
            let target = rule.target_key.as_deref();
            return match target.and_then(|k| self.directory.projects.get(k)) {
                Some(p) => {
                    ex.push(
                        "project",
                        RuleSource::Mapping,
                        Some(rule.id),
                        format!(
                            "mapping #{} (keyword \"{}\" in the description → project {}{})",
                            rule.id,
                            rule.source_key,
                            p.key,
                            quoted(p.name.as_deref().or(rule.target_label.as_deref()))
                        ),
                    );
                    Some((p, rule.billable.map(|b| (b, rule.id))))
                }
                None => {
                    ex.push(
                        "project",
                        RuleSource::Unmapped,
                        Some(rule.id),
                        format!(
                            "mapping #{} (keyword \"{}\") points to project {} which the \
                             target does not have",
                            rule.id,
                            rule.source_key,
                            target.unwrap_or("-")
                        ),
                    );
                    None
                }
            };
        }
        if let Some(rule) = by_key {
            let target = rule.target_key.as_deref();
            return match target.and_then(|k| self.directory.projects.get(k)) {
                Some(p) => {
                    ex.push(
                        "project",
                        RuleSource::Mapping,
                        Some(rule.id),
                        mapping_text(rule, p.name.as_deref()),
                    );
                    Some((p, rule.billable.map(|b| (b, rule.id))))
                }
                None => {
                    ex.push(
                        "project",
                        RuleSource::Unmapped,
                        Some(rule.id),
                        format!(
                            "mapping #{} points to project {} which the target does not have",
                            rule.id,
                            target.unwrap_or("-")
                        ),
                    );
                    None
                }
            };
        }
        let by_name = self.match_name(&self.directory.projects_by_name, dimension, "projects");
        let note = match by_name {
            Ok(Some(k)) => {
                let p = &self.directory.projects[k];
                ex.push(
                    "project",
                    RuleSource::NameMatch,
                    None,
                    format!(
                        "matched by name (project {}{})",
                        p.key,
                        quoted(p.name.as_deref())
                    ),
                );
                return Some((p, None));
            }
            Ok(None) => String::new(),
            Err(why) => format!("; {why}"),
        };
        if let Some(default) = &self.rules.options.default_project {
            return match self.directory.projects.get(default) {
                Some(p) => {
                    ex.push(
                        "project",
                        RuleSource::PipelineDefault,
                        None,
                        format!(
                            "pipeline default (project {}{}){note}",
                            p.key,
                            quoted(p.name.as_deref())
                        ),
                    );
                    Some((p, None))
                }
                None => {
                    ex.push(
                        "project",
                        RuleSource::Unmapped,
                        None,
                        format!("pipeline default project {default} does not exist in the target"),
                    );
                    None
                }
            };
        }
        let text = match key {
            Some(k) => format!("no mapping for organization {k} and no pipeline default{note}"),
            None => "the entry has no organization and there is no pipeline default".into(),
        };
        ex.push("project", RuleSource::Unmapped, None, text);
        None
    }

    /// `need`, except that a dimension someone configured for this entry (a mapping of its
    /// source key, or the pipeline's default) is required: a mapping or default that
    /// points nowhere is a conflict, never a silent write without the field.
    fn configured(&self, kind: MappingKind, source: &Entry, need: Need) -> Need {
        let (dimension, default) = match kind {
            MappingKind::Activity => (
                source.activity.as_ref(),
                &self.rules.options.default_activity,
            ),
            _ => (
                source.project.as_ref().or(source.customer.as_ref()),
                &self.rules.options.default_project,
            ),
        };
        let mapped = dimension.is_some_and(|d| self.rules.get(kind, &d.key).is_some())
            || (kind == MappingKind::Project
                && self.rules.keyword_rule(&source.description).is_some());
        if mapped || default.is_some() {
            Need::Required
        } else {
            need
        }
    }

    /// Records that the target lacks `field` for this entry; returns whether the entry can
    /// still be written (the field is optional for the target).
    fn missing(&self, need: Need, field: &'static str, ex: &mut Explanation) -> bool {
        if need == Need::Optional {
            ex.push(
                field,
                RuleSource::Unmapped,
                None,
                format!("written without {field}: the target does not require one"),
            );
            true
        } else {
            false
        }
    }

    /// With `match_by_name`: the key of the one activity of `project` (a project's own
    /// task) whose name equals the source activity's.
    fn match_project_activity(
        &self,
        project: Option<&TargetProject>,
        source: Option<&NamedRef>,
    ) -> Result<Option<&str>, String> {
        let (true, Some(project), Some(name)) = (
            self.rules.options.match_by_name,
            project,
            source.and_then(|r| r.name.as_deref()),
        ) else {
            return Ok(None);
        };
        let index = (project.key.clone(), normalise_name(name));
        match self.directory.project_activities_by_name.get(&index) {
            Some(Some(key)) => Ok(Some(key.as_str())),
            Some(None) => Err(format!(
                "several activities of project {} are named \"{}\", so none matched by name",
                project.key,
                name.trim()
            )),
            None => Ok(None),
        }
    }

    /// With `match_by_name`: the key of the one target record whose name equals the
    /// source record's; `Ok(None)` when the option is off or nothing matches; `Err` with
    /// the reason when several target records share the name.
    fn match_name<'d>(
        &self,
        index: &'d HashMap<String, Option<String>>,
        source: Option<&NamedRef>,
        plural: &str,
    ) -> Result<Option<&'d str>, String> {
        if !self.rules.options.match_by_name {
            return Ok(None);
        }
        let Some(name) = source.and_then(|r| r.name.as_deref()) else {
            return Ok(None);
        };
        let normal = normalise_name(name);
        match index.get(&normal) {
            Some(Some(key)) => Ok(Some(key.as_str())),
            Some(None) => Err(format!(
                "several target {plural} are named \"{}\", so none matched by name",
                name.trim()
            )),
            None => Ok(None),
        }
    }

    fn resolve_user(&self, source: &Entry, ex: &mut Explanation) -> Option<&TargetUser> {
        let agent = source.user.as_ref();
        if let Some(rule) = agent.and_then(|u| self.rules.get(MappingKind::User, &u.key)) {
            let target = rule.target_key.as_deref();
            return match target.and_then(|k| self.directory.users.get(k)) {
                Some(u) => {
                    ex.push(
                        "user",
                        RuleSource::Mapping,
                        Some(rule.id),
                        mapping_text(rule, u.name.as_deref()),
                    );
                    Some(u)
                }
                None => {
                    ex.push(
                        "user",
                        RuleSource::Unmapped,
                        Some(rule.id),
                        format!(
                            "mapping #{} points to user {} which the target does not have",
                            rule.id,
                            target.unwrap_or("-")
                        ),
                    );
                    None
                }
            };
        }
        let email = agent.and_then(|u| u.email.as_deref()).map(normalise_email);
        if let Some(email) = email.as_deref().filter(|e| !e.is_empty()) {
            match self.directory.users_by_email.get(email) {
                Some(Some(key)) => {
                    let u = &self.directory.users[key];
                    ex.push(
                        "user",
                        RuleSource::EmailMatch,
                        None,
                        format!("matched by e-mail {email}"),
                    );
                    return Some(u);
                }
                Some(None) => {
                    ex.push(
                        "user",
                        RuleSource::Unmapped,
                        None,
                        format!("several target users have the e-mail {email}; add a user mapping"),
                    );
                    return None;
                }
                None => {}
            }
        }
        if self.rules.options.unmapped_user == UnmappedUserPolicy::TokenUser
            && let Some(u) = self
                .directory
                .token_user
                .as_ref()
                .and_then(|k| self.directory.users.get(k))
        {
            ex.push(
                "user",
                RuleSource::TokenUser,
                None,
                format!("token user {}", u.key),
            );
            return Some(u);
        }
        let who = match (agent.map(|u| u.key.as_str()), email.as_deref()) {
            (Some(k), Some(e)) => format!("agent {k} ({e})"),
            (Some(k), None) => format!("agent {k}"),
            _ => "the entry's agent".into(),
        };
        ex.push(
            "user",
            RuleSource::Unmapped,
            None,
            format!("no mapping and no target user with the e-mail of {who}"),
        );
        None
    }
}
