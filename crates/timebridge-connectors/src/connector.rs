//! The interface between the sync engine and connector plugins. The engine, the API and
//! the UI use only these traits and the registry; no code outside a connector's folder
//! names a concrete system.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;
use timebridge_core::entry::{Entry, Window};
use timebridge_core::mapping::{ProjectRule, TargetDirectory, TargetSettings};
use timebridge_core::mirror::CatalogProject;
use timebridge_core::notify::Notification;
use timebridge_core::plan::TargetItem;
use timebridge_core::rates::RateCard;

use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{HttpMetrics, RetryPolicy, Sleeper, tokio_sleeper};
use crate::marker::Marker;
use crate::oauth::TokenSet;

/// A configured connector as the store holds it, secrets decrypted.
#[derive(Clone)]
pub struct ConnectorConfig {
    pub id: i64,
    /// The admin's name for it; labels metrics and log lines.
    pub name: String,
    pub base_url: String,
    pub api_token: SecretString,
    /// Non-secret settings, already normalised by the registry (defaults filled in).
    pub settings: Value,
    /// Secret settings by name (e.g. `webhook_secret`).
    pub secrets: BTreeMap<String, SecretString>,
}

impl fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorConfig")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("api_token", &"[redacted]")
            .field("settings", &self.settings)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What every connector instance shares with the process: the metrics registry, how
/// retries wait, (in tests) a tighter retry policy, what instances remember between runs
/// and where remotes reach this server.
#[derive(Clone)]
pub struct ConnectorContext {
    pub metrics: Arc<HttpMetrics>,
    pub sleeper: Sleeper,
    /// Overrides the default retry policy (tests use short backoffs).
    pub retry: Option<RetryPolicy>,
    /// State kept between the instances of one connector in this process (an instance
    /// lives for one run): access tokens, sync tokens, push channels. Lost on restart.
    pub memory: Arc<InstanceMemory>,
    /// Where remote systems reach this server (`PUBLIC_URL`, no trailing slash), for
    /// callbacks such as push channels; `None` where no server runs (`timebridge sync`).
    pub public_url: Option<String>,
}

impl fmt::Debug for ConnectorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorContext")
            .field("retry", &self.retry)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl ConnectorContext {
    /// The retries of one notifier delivery: few, and a long `Retry-After` is left to the
    /// outbox, which tries again later instead of holding a delivery open.
    pub fn notifier_retry(&self) -> RetryPolicy {
        self.retry.unwrap_or(RetryPolicy {
            max_attempts: 3,
            max_retry_after: std::time::Duration::from_secs(5),
            ..RetryPolicy::default()
        })
    }
}

impl Default for ConnectorContext {
    fn default() -> Self {
        ConnectorContext {
            metrics: Arc::new(HttpMetrics::default()),
            sleeper: tokio_sleeper(),
            retry: None,
            memory: Arc::new(InstanceMemory::default()),
            public_url: None,
        }
    }
}

/// What connector instances remember between runs, one slot per connector id and type.
/// A kind keeps its own types here (its folder decides what they hold); a slot's content
/// must check itself against the configuration it was made for (a connector whose settings
/// or secrets changed keeps its id).
#[derive(Default)]
pub struct InstanceMemory {
    slots: std::sync::Mutex<HashMap<(i64, TypeId), Arc<dyn Any + Send + Sync>>>,
}

impl fmt::Debug for InstanceMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.slots.lock().map(|s| s.len()).unwrap_or_default();
        f.debug_struct("InstanceMemory").field("slots", &n).finish()
    }
}

impl InstanceMemory {
    /// The slot of type `T` of connector `connector_id`, created empty on first use.
    pub fn slot<T: Any + Send + Sync + Default>(&self, connector_id: i64) -> Arc<T> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let any = slots
            .entry((connector_id, TypeId::of::<T>()))
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn Any + Send + Sync>)
            .clone();
        drop(slots);
        any.downcast::<T>()
            .unwrap_or_else(|_| unreachable!("slots are keyed by their type"))
    }

    /// Forgets everything remembered about connector `connector_id`.
    pub fn forget(&self, connector_id: i64) {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(id, _), _| *id != connector_id);
    }
}

/// The answer of `POST /api/connectors/{id}/test`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReport {
    pub ok: bool,
    pub message: String,
    /// What was checked, what the remote said (version, user, permissions), and on failure
    /// the error class (`unauthorized`, `unreachable`, `tls`, `forbidden`, ...).
    pub details: Value,
}

impl TestReport {
    /// A failed test from the error that ended it; `step` says what was being checked.
    pub fn failed(step: &str, error: &ConnectorError, mut details: Value) -> Self {
        if let Value::Object(map) = &mut details {
            map.insert("failed_step".into(), Value::String(step.to_owned()));
            map.insert(
                "error_class".into(),
                serde_json::to_value(error.class()).unwrap_or(Value::Null),
            );
        }
        TestReport {
            ok: false,
            message: format!("{step}: {error}"),
            details,
        }
    }
}

/// One option of a catalog (a Zammad type, a Kimai project, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogItem {
    pub key: String,
    pub label: String,
    pub extra: Value,
}

/// A connector instance: what every kind offers, plus its roles.
#[async_trait]
pub trait Connector: Send + Sync + fmt::Debug {
    /// The registry kind (`zammad`, `kimai`, ...).
    fn kind(&self) -> &'static str;

    /// Calls what a sync will call, with the smallest reads possible, and reports
    /// whether it works. Never fails: a failure is `ok: false` with the reason.
    async fn test(&self) -> TestReport;

    /// Lists the options of catalog `what` (one of the kind's
    /// [`crate::registry::KindInfo::catalogs`]).
    async fn catalog(&self, what: &str) -> ConnectorResult<Vec<CatalogItem>>;

    /// The address of a project's page in the target's own web interface (where a person
    /// changes what makes the target refuse entries), if the kind has one.
    fn project_url(&self, _project_key: &str) -> Option<String> {
        None
    }

    /// The source role, if the kind has it.
    fn as_source(&self) -> Option<&dyn SourceConnector> {
        None
    }

    /// The target role, if the kind has it.
    fn as_target(&self) -> Option<&dyn TargetConnector> {
        None
    }

    /// The notifier role, if the kind has it.
    fn as_notifier(&self) -> Option<&dyn Notifier> {
        None
    }

    /// The OAuth connect flow, for kinds with [`crate::Feature::Oauth`].
    fn as_oauth(&self) -> Option<&dyn OAuthConnect> {
        None
    }
}

/// What a notifier reports about a delivered message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivered {
    /// Where it went and what the remote said (channel and message `ts`, SMTP reply,
    /// HTTP status), for the audit trail. Never a secret.
    pub details: Value,
}

/// A notifier: delivers [`Notification`]s (Slack, e-mail, a signed webhook).
///
/// The server delivers through a stored outbox and decides from the error's class what
/// happens next: a failure that left nothing behind ([`ConnectorError::Unreachable`], a
/// rate limit, a temporary refusal) is retried later; a failure whose outcome is unknown
/// ([`ConnectorError::outcome_unknown`]: timeout, broken connection) is retried only where
/// [`Notifier::repeat_safe`] says the receiver drops repeats; anything else is final.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends `notification` once (no retries of a send whose outcome is unknown).
    async fn deliver(&self, notification: &Notification) -> ConnectorResult<Delivered>;

    /// Whether delivering the same notification twice is harmless because the receiver
    /// recognises its delivery id (the signed webhook). Default: false — people would
    /// see the message twice.
    fn repeat_safe(&self) -> bool {
        false
    }
}

/// The OAuth connect flow of a kind that connects through an authorization-code grant:
/// the server sends a person to [`OAuthConnect::authorize_url`] and, on their return,
/// exchanges the code and stores the refresh token as the secret setting
/// [`crate::oauth::REFRESH_TOKEN_SECRET`]. The server never names the system.
#[async_trait]
pub trait OAuthConnect: Send + Sync {
    /// Where to send the person: the system's consent page for this connector's client,
    /// coming back to `redirect_uri` with `state`.
    fn authorize_url(&self, redirect_uri: &str, state: &str) -> ConnectorResult<String>;

    /// Exchanges the authorization `code` (once) for tokens.
    async fn exchange(&self, code: &str, redirect_uri: &str) -> ConnectorResult<TokenSet>;
}

/// What a run asks the source for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceQuery {
    /// Entries whose `begin` lies in this window.
    pub window: Window,
    /// Only entries of these tickets (a webhook-triggered run); `None` reads the window.
    pub tickets: Option<Vec<i64>>,
    /// Tickets whose entries must be read even when nothing else points at them (the
    /// tickets of stored links), so that edits and deletions that leave no trace on the
    /// ticket are still seen.
    pub linked_tickets: Vec<i64>,
    /// Source keys of the stored links. A source that reads by window (not by ticket)
    /// must report each of them that still exists outside the window in
    /// [`SourceBatch::known_keys`]; a linked key it neither lists nor knows counts as
    /// deleted when the scope is [`SourceScope::Everything`].
    pub linked_keys: Vec<String>,
    /// What this connector remembered after an earlier read ([`SourceBatch::memory`]), as
    /// the store kept it; `None` on a first read or after the connector was edited. A
    /// cache of the kind's own making: a kind checks it against its configuration and
    /// may ignore it, and must read correctly without it.
    pub memory: Option<serde_json::Value>,
}

/// How a source read was done; it bounds what "absent" means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum SourceScope {
    /// Every entry of the source was listed: a key absent from the batch is deleted.
    Everything,
    /// The entries of these tickets were listed completely: a key of one of these tickets
    /// absent from the batch is deleted; other keys are unknown.
    Tickets { ticket_ids: Vec<i64> },
    /// Every entry was listed except those the read did not reach, which are older than
    /// the window (a newest-first read that stopped early): a key absent from the batch
    /// is deleted unless it is in `unread`, whose keys are neither listed nor judged.
    Recent { unread: HashSet<String> },
}

/// The result of a source read.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceBatch {
    /// Entries whose `begin` lies in the window, normalised (UTC, signed durations).
    pub entries: Vec<Entry>,
    /// Keys of entries that exist but lie outside the window.
    pub known_keys: HashSet<String>,
    pub scope: SourceScope,
    /// Remarks for the run log (e.g. which read mode the token allowed).
    pub notes: Vec<String>,
    /// What to remember for the next read (handed back as [`SourceQuery::memory`]);
    /// `None` leaves what is stored as it is.
    pub memory: Option<serde_json::Value>,
}

/// A source of time entries.
#[async_trait]
pub trait SourceConnector: Send + Sync {
    /// Reads the entries of `query`, with every page, and the names they refer to (each
    /// looked up once per call).
    async fn fetch(&self, query: &SourceQuery) -> ConnectorResult<SourceBatch>;

    /// How its entries name their project (see [`ProjectRule`]): by key (default), or in
    /// words only, so that `project` mappings are keywords (calendars).
    fn project_rule(&self) -> ProjectRule {
        ProjectRule::ByKey
    }

    /// Project creation (the `create_projects` feature, for project mirroring), if the
    /// kind offers it. Default: unsupported.
    fn as_project_creator(&self) -> Option<&dyn ProjectCreator> {
        None
    }
}

/// A source that can list and create its projects (the `create_projects` feature): the
/// engine mirrors the target's active projects into it (pipeline option
/// `mirror_projects`).
#[async_trait]
pub trait ProjectCreator: Send + Sync {
    /// Every project of the source, active or not, complete (an archived project still
    /// counts as "the source has it").
    async fn projects(&self) -> ConnectorResult<Vec<CatalogProject>>;

    /// Creates an active project named `name`, under client `client_key` where the source
    /// has clients (ignored where it has none), and returns it as the source stored it.
    /// The engine calls it only for names the source lacks and records an intent first;
    /// a failure whose outcome is unknown must say so
    /// ([`ConnectorError::outcome_unknown`]) so that the next run looks the name up
    /// before creating it again.
    async fn create_project(
        &self,
        name: &str,
        client_key: Option<&str>,
    ) -> ConnectorResult<CatalogProject>;
}

/// A target of time entries.
///
/// Entries are read and written in normalised form; the connector converts times,
/// appends the link [`Marker`] to the description when writing and strips it when reading
/// (reporting it as [`TargetItem::link_key`] when it names `source_system`).
#[async_trait]
pub trait TargetConnector: Send + Sync {
    /// Settings that shape the desired entries (billable tags, ...).
    fn target_settings(&self) -> TargetSettings;

    /// The master data that mapping resolves against (users, projects, activities, the
    /// token's user), complete. Its projects are the target's **active** ones (the ones
    /// new entries may use); project mirroring mirrors exactly these.
    async fn directory(&self) -> ConnectorResult<TargetDirectory>;

    /// Every target entry whose `begin` lies in `window`, each once.
    async fn fetch(&self, window: &Window, source_system: &str)
    -> ConnectorResult<Vec<TargetItem>>;

    /// The entries with these ids; ids that do not exist are simply absent.
    async fn fetch_by_ids(
        &self,
        ids: &[String],
        source_system: &str,
    ) -> ConnectorResult<Vec<TargetItem>>;

    /// Every target entry that a create of `desired` carrying `marker` may have written:
    /// found by the target's own search for the marker, or, where the target has no
    /// field to carry it (Odoo attendances), by the desired entry's identity (employee
    /// and begin). Recovery of an interrupted run adopts the oldest one.
    async fn find_marked(
        &self,
        marker: &Marker,
        desired: &Entry,
    ) -> ConnectorResult<Vec<TargetItem>>;

    /// Creates the entry `desired` carrying `marker` and returns it as the target stored
    /// it. Never creates two: when a failure leaves the outcome unknown, the connector looks
    /// for the marker before it tries again and adopts what it finds.
    async fn create(&self, marker: &Marker, desired: &Entry) -> ConnectorResult<TargetItem>;

    /// Overwrites entry `target_id` with `desired` (marker kept) and returns it as stored.
    async fn update(
        &self,
        target_id: &str,
        marker: &Marker,
        desired: &Entry,
    ) -> ConnectorResult<TargetItem>;

    /// Deletes entry `target_id`; an entry that is already gone counts as deleted.
    async fn delete(&self, target_id: &str) -> ConnectorResult<()>;

    /// The target's billing rates (by customer, project, activity and user, with their
    /// currency), complete for its master data, where the kind keeps rates; `None` where it
    /// keeps none (the default). Used to price time not yet in the target.
    async fn rates(&self) -> ConnectorResult<Option<RateCard>> {
        Ok(None)
    }
}
