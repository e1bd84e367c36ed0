//! Kimai: records are timesheets, identified by the marker in their description.

use anyhow::Context;
use timebridge_sim::KimaiSim;

use super::{TargetDriver, TargetRecord, marked_key};

impl TargetDriver for KimaiSim {
    fn records(&self) -> Vec<TargetRecord> {
        self.timesheets()
            .into_iter()
            .map(|t| TargetRecord {
                id: t.id.to_string(),
                identity: marked_key(t.description.as_deref().unwrap_or("")),
            })
            .collect()
    }

    fn edit(&self, id: &str) -> anyhow::Result<()> {
        let id: u64 = id.parse().context("a Kimai id is a number")?;
        self.edit_timesheet(id, |t| {
            if let Some(end) = t.end.as_mut() {
                *end += chrono::Duration::minutes(15);
            }
        })?;
        Ok(())
    }

    fn write_requests(&self) -> usize {
        self.log().write_count()
    }

    fn requests(&self) -> usize {
        self.log().len()
    }
}
