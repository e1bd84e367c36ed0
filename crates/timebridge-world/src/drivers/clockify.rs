//! Clockify: one driver per workspace (the simulator serves two), so a workspace can be a
//! pair's source and another its target. Entries are time entries; a target record is
//! identified by the marker in its description; an edit, at either end, makes the entry
//! 15 minutes longer.

use anyhow::Context;
use timebridge_sim::ClockifyControl;

use super::{SourceDriver, TargetDriver, TargetRecord, marked_key};

/// One workspace of a Clockify simulator.
#[derive(Debug, Clone)]
pub struct ClockifyWorkspace {
    /// The simulator.
    pub control: ClockifyControl,
    /// The workspace's id.
    pub workspace: String,
}

impl ClockifyWorkspace {
    /// The workspace `workspace` of the simulator behind `control`.
    pub fn new(control: ClockifyControl, workspace: &str) -> Self {
        ClockifyWorkspace {
            control,
            workspace: workspace.to_owned(),
        }
    }

    /// Requests about this workspace (the other one may be the pair's other end) or about
    /// no workspace (the user endpoints both ends call).
    fn requests_here(&self) -> usize {
        let scope = format!("/workspaces/{}/", self.workspace);
        self.control
            .log()
            .entries()
            .iter()
            .filter(|r| r.path.contains(&scope) || !r.path.contains("/workspaces/"))
            .count()
    }

    fn longer(&self, id: &str) -> anyhow::Result<()> {
        let e = self
            .control
            .entry(id)
            .filter(|e| e.workspace == self.workspace)
            .with_context(|| format!("no time entry {id} in {}", self.workspace))?;
        anyhow::ensure!(e.end.is_some(), "time entry {id} is still running");
        self.control.edit_entry(id, |e| {
            if let Some(end) = e.end.as_mut() {
                *end += chrono::Duration::minutes(15);
            }
        })?;
        Ok(())
    }
}

impl SourceDriver for ClockifyWorkspace {
    fn keys(&self) -> Vec<String> {
        self.control
            .entries(&self.workspace)
            .into_iter()
            .map(|e| e.id)
            .collect()
    }

    fn edit(&self, key: &str) -> anyhow::Result<()> {
        self.longer(key)
    }

    fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.control.delete_entry(key)?;
        Ok(())
    }

    fn requests(&self) -> usize {
        self.requests_here()
    }
}

impl TargetDriver for ClockifyWorkspace {
    fn records(&self) -> Vec<TargetRecord> {
        self.control
            .entries(&self.workspace)
            .into_iter()
            .map(|e| TargetRecord {
                identity: marked_key(&e.description),
                id: e.id,
            })
            .collect()
    }

    fn edit(&self, id: &str) -> anyhow::Result<()> {
        self.longer(id)
    }

    /// Writes into this workspace only (the other one may be the pair's source); the batch
    /// read is a POST but writes nothing.
    fn write_requests(&self) -> usize {
        let scope = format!("/workspaces/{}/", self.workspace);
        self.control
            .log()
            .entries()
            .iter()
            .filter(|r| r.method != "GET" && r.path.contains(&scope))
            .filter(|r| !r.route.ends_with("/time-entries/batch"))
            .count()
    }

    fn requests(&self) -> usize {
        self.requests_here()
    }
}
