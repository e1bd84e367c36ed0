//! Group commit of the executor's write bookkeeping.
//!
//! Every remote write is bracketed by two records: its intent, committed before the write
//! is sent, and its completion (link, intent removed, audit event), committed after. Made
//! one by one, that is a few statements and two transactions per entry, and with the
//! SQLite driver every statement is a round trip to the connection's own thread: at no
//! latency, the bookkeeping, not the remote, set the pace of a sync (bench/README.md).
//!
//! A [`Book`] is one task per run that takes whatever intents, completions and conflicts
//! the run's decisions have asked for since its last commit and commits each kind in one
//! transaction, then answers each asker. The contract is unchanged: a write is sent only after its own
//! intent is committed (its asker waits for the answer), and a write's link, intent removal
//! and audit event are committed together or not at all. A group commit only makes a crash
//! leave more intents at once, which the next run settles by marker as before.

use chrono::{DateTime, Utc};
use timebridge_store::{
    CompletedWrite, NewConflict, NewWriteIntent, Store, StoreError, StoreResult,
};

use crate::clock::SharedClock;
use tokio::sync::{mpsc, oneshot};

/// At most this many records in one transaction (the engine has 8 writes in flight, so
/// a group is rarely larger; the bound keeps one statement's parameters small).
const MAX_GROUP: usize = 64;

enum Ask {
    Intent(
        NewWriteIntent,
        DateTime<Utc>,
        oneshot::Sender<StoreResult<i64>>,
    ),
    Complete(CompletedWrite, oneshot::Sender<StoreResult<()>>),
    Conflict(NewConflict, oneshot::Sender<StoreResult<(i64, bool)>>),
}

/// The bookkeeping of one run's writes; cheap to share by reference among its writes.
pub(super) struct Book {
    asks: mpsc::UnboundedSender<Ask>,
    task: tokio::task::JoinHandle<()>,
}

impl Book {
    /// Starts the bookkeeping task on `store`; conflicts are raised by `actor` (their
    /// audit events) at the time `clock` tells.
    pub(super) fn open(store: Store, clock: SharedClock, actor: &'static str) -> Book {
        let (asks, rx) = mpsc::unbounded_channel();
        Book {
            asks,
            task: tokio::spawn(keep(store, clock, actor, rx)),
        }
    }

    /// Records a write about to be made; returns once its intent is committed.
    pub(super) async fn intent(&self, new: NewWriteIntent, now: DateTime<Utc>) -> StoreResult<i64> {
        let (tx, rx) = oneshot::channel();
        self.asks
            .send(Ask::Intent(new, now, tx))
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// Records a write that succeeded; returns once link, intent removal and audit event
    /// are committed.
    pub(super) async fn complete(&self, done: CompletedWrite) -> StoreResult<()> {
        let (tx, rx) = oneshot::channel();
        self.asks
            .send(Ask::Complete(done, tx))
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// Raises (or refreshes) a conflict, with its audit event when it is new or its reason
    /// changed; returns its id and whether it was raised.
    pub(super) async fn conflict(&self, new: NewConflict) -> StoreResult<(i64, bool)> {
        let (tx, rx) = oneshot::channel();
        self.asks
            .send(Ask::Conflict(new, tx))
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// Ends the task once every record asked for is committed.
    pub(super) async fn close(self) {
        drop(self.asks);
        let _ = self.task.await;
    }
}

async fn commit_conflicts(store: &Store, now: DateTime<Utc>, actor: &str, asks: Vec<ConflictAsk>) {
    if asks.is_empty() {
        return;
    }
    let rows = asks.iter().map(|(n, _)| n.clone()).collect();
    match store.raise_conflicts(rows, actor, now).await {
        Ok(raised) => {
            for ((_, tx), r) in asks.into_iter().zip(raised) {
                let _ = tx.send(Ok(r));
            }
        }
        Err(_) if asks.len() > 1 => {
            for (new, tx) in asks {
                let r = store.raise_conflicts(vec![new], actor, now).await;
                let _ = tx.send(r.map(|r| r[0]));
            }
        }
        Err(e) => {
            if let Some((_, tx)) = asks.into_iter().next() {
                let _ = tx.send(Err(e));
            }
        }
    }
}

/// The task is gone (only if it panicked): the record was not made.
fn closed() -> StoreError {
    StoreError::other("the run's bookkeeping stopped")
}

async fn keep(
    store: Store,
    clock: SharedClock,
    actor: &'static str,
    mut rx: mpsc::UnboundedReceiver<Ask>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let mut intents = Vec::new();
        let mut completions = Vec::new();
        let mut conflicts = Vec::new();
        for ask in group.drain(..) {
            match ask {
                Ask::Intent(new, now, tx) => intents.push((new, now, tx)),
                Ask::Complete(done, tx) => completions.push((done, tx)),
                Ask::Conflict(new, tx) => conflicts.push((new, tx)),
            }
        }
        // Intents first: their writes wait for them.
        commit_intents(&store, intents).await;
        commit_completions(&store, completions).await;
        commit_conflicts(&store, clock.now(), actor, conflicts).await;
    }
}

type IntentAsk = (
    NewWriteIntent,
    DateTime<Utc>,
    oneshot::Sender<StoreResult<i64>>,
);
type CompleteAsk = (CompletedWrite, oneshot::Sender<StoreResult<()>>);
type ConflictAsk = (NewConflict, oneshot::Sender<StoreResult<(i64, bool)>>);

async fn commit_intents(store: &Store, asks: Vec<IntentAsk>) {
    if asks.is_empty() {
        return;
    }
    let rows = asks.iter().map(|(n, at, _)| (n.clone(), *at)).collect();
    match store.add_write_intents(rows).await {
        Ok(ids) => {
            for ((_, _, tx), id) in asks.into_iter().zip(ids) {
                let _ = tx.send(Ok(id));
            }
        }
        // One bad record must not fail the others: each alone, with its own answer.
        Err(_) if asks.len() > 1 => {
            for (new, at, tx) in asks {
                let _ = tx.send(store.add_write_intent(new, at).await);
            }
        }
        Err(e) => {
            if let Some((_, _, tx)) = asks.into_iter().next() {
                let _ = tx.send(Err(e));
            }
        }
    }
}

async fn commit_completions(store: &Store, asks: Vec<CompleteAsk>) {
    if asks.is_empty() {
        return;
    }
    let rows = asks.iter().map(|(d, _)| d.clone()).collect();
    match store.complete_writes(rows).await {
        Ok(()) => {
            for (_, tx) in asks {
                let _ = tx.send(Ok(()));
            }
        }
        Err(_) if asks.len() > 1 => {
            for (done, tx) in asks {
                let _ = tx.send(store.complete_writes(vec![done]).await);
            }
        }
        Err(e) => {
            if let Some((_, tx)) = asks.into_iter().next() {
                let _ = tx.send(Err(e));
            }
        }
    }
}
