//! TimeTracker: entries are time entries; as a target they carry the link marker at the
//! end of their notes. A person's edit makes an entry 15 minutes longer.

use anyhow::Context;
use timebridge_sim::TimetrackerSim;

use super::{SourceDriver, TargetDriver, TargetRecord, marked_key};

fn id(key: &str) -> anyhow::Result<u64> {
    key.parse().context("a TimeTracker key is an entry id")
}

fn longer(sim: &TimetrackerSim, key: &str) -> anyhow::Result<()> {
    sim.edit_entry(id(key)?, |e| {
        if let Some(end) = e.end.as_mut() {
            *end += chrono::Duration::minutes(15);
        }
    })?;
    Ok(())
}

impl SourceDriver for TimetrackerSim {
    fn keys(&self) -> Vec<String> {
        self.entries().iter().map(|e| e.id.to_string()).collect()
    }

    fn edit(&self, key: &str) -> anyhow::Result<()> {
        longer(self, key)
    }

    fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.delete_entry(id(key)?)?;
        Ok(())
    }
}

impl TargetDriver for TimetrackerSim {
    fn records(&self) -> Vec<TargetRecord> {
        self.entries()
            .into_iter()
            .map(|e| TargetRecord {
                id: e.id.to_string(),
                identity: marked_key(e.notes.as_deref().unwrap_or("")),
            })
            .collect()
    }

    fn edit(&self, id: &str) -> anyhow::Result<()> {
        longer(self, id)
    }

    fn write_requests(&self) -> usize {
        self.log().write_count()
    }
}
