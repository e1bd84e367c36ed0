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

/// At most this many records in one transaction (the engine applies as many decisions at
/// a time, so a group is rarely larger; the bound keeps one statement's parameters few).
const MAX_GROUP: usize = 64;

type Answer<T> = oneshot::Sender<StoreResult<T>>;

enum Ask {
    Intent((NewWriteIntent, DateTime<Utc>), Answer<i64>),
    Complete(CompletedWrite, Answer<()>),
    Conflict(NewConflict, Answer<(i64, bool)>),
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
        self.ask(|tx| Ask::Intent((new, now), tx)).await
    }

    /// Records a write that succeeded; returns once link, intent removal and audit event
    /// are committed.
    pub(super) async fn complete(&self, done: CompletedWrite) -> StoreResult<()> {
        self.ask(|tx| Ask::Complete(done, tx)).await
    }

    /// Raises (or refreshes) a conflict, with its audit event when it is new or its reason
    /// changed; returns its id and whether it was raised.
    pub(super) async fn conflict(&self, new: NewConflict) -> StoreResult<(i64, bool)> {
        self.ask(|tx| Ask::Conflict(new, tx)).await
    }

    async fn ask<T>(&self, ask: impl FnOnce(Answer<T>) -> Ask) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel();
        self.asks.send(ask(tx)).map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// Ends the task once every record asked for is committed.
    pub(super) async fn close(self) {
        drop(self.asks);
        let _ = self.task.await;
    }
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
                Ask::Intent(new, tx) => intents.push((new, tx)),
                Ask::Complete(done, tx) => completions.push((done, tx)),
                Ask::Conflict(new, tx) => conflicts.push((new, tx)),
            }
        }
        // Intents first: their writes wait for them.
        commit(intents, |rows| {
            let store = store.clone();
            async move { store.add_write_intents(rows).await }
        })
        .await;
        commit(completions, |rows| {
            let store = store.clone();
            async move {
                let n = rows.len();
                store.complete_writes(rows).await.map(|()| vec![(); n])
            }
        })
        .await;
        let now = clock.now();
        commit(conflicts, |rows| {
            let store = store.clone();
            async move { store.raise_conflicts(rows, actor, now).await }
        })
        .await;
    }
}

/// Commits the records `asks` asked for with `all` (one answer per record, in order) and
/// answers each asker. One bad record must not fail the others: when the group fails,
/// each record is tried alone and gets its own answer.
async fn commit<R: Clone, T, F>(asks: Vec<(R, Answer<T>)>, all: impl Fn(Vec<R>) -> F)
where
    F: std::future::Future<Output = StoreResult<Vec<T>>>,
{
    if asks.is_empty() {
        return;
    }
    let rows = asks.iter().map(|(r, _)| r.clone()).collect();
    match all(rows).await {
        Ok(answers) => {
            for ((_, tx), answer) in asks.into_iter().zip(answers) {
                let _ = tx.send(Ok(answer));
            }
        }
        Err(_) if asks.len() > 1 => {
            for (row, tx) in asks {
                let answer = all(vec![row]).await.and_then(|a| {
                    a.into_iter()
                        .next()
                        .ok_or_else(|| StoreError::other("the record was not stored"))
                });
                let _ = tx.send(answer);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A store stand-in for `commit`: refuses any group holding a negative record, and
    /// remembers the size of every group it was given.
    fn picky(
        groups: &Mutex<Vec<usize>>,
    ) -> impl Fn(Vec<i64>) -> std::future::Ready<StoreResult<Vec<i64>>> {
        move |rows: Vec<i64>| {
            groups.lock().unwrap().push(rows.len());
            std::future::ready(if rows.iter().any(|r| *r < 0) {
                Err(StoreError::other("refused"))
            } else {
                Ok(rows.iter().map(|r| r * 10).collect())
            })
        }
    }

    type Asked = (
        Vec<(i64, Answer<i64>)>,
        Vec<oneshot::Receiver<StoreResult<i64>>>,
    );

    fn asks(rows: &[i64]) -> Asked {
        rows.iter()
            .map(|r| {
                let (tx, rx) = oneshot::channel();
                ((*r, tx), rx)
            })
            .unzip()
    }

    #[tokio::test]
    async fn a_group_is_committed_at_once_and_each_asker_gets_its_own_answer() {
        let groups = Mutex::new(Vec::new());
        let (group, answers) = asks(&[1, 2, 3]);
        commit(group, picky(&groups)).await;
        let mut got = Vec::new();
        for rx in answers {
            got.push(rx.await.unwrap().unwrap());
        }
        assert_eq!(got, [10, 20, 30]);
        assert_eq!(*groups.lock().unwrap(), [3]);
    }

    #[tokio::test]
    async fn one_bad_record_fails_only_its_own_asker() {
        let groups = Mutex::new(Vec::new());
        let (group, answers) = asks(&[1, -2, 3]);
        commit(group, picky(&groups)).await;
        let mut got = Vec::new();
        for rx in answers {
            got.push(rx.await.unwrap().ok());
        }
        assert_eq!(got, [Some(10), None, Some(30)]);
        // The group once, then each record alone.
        assert_eq!(*groups.lock().unwrap(), [3, 1, 1, 1]);
    }
}
