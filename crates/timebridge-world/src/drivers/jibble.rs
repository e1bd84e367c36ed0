//! Jibble: an entry is a worked interval, keyed by its clock-in; the person's next punch
//! ends it. A person's edit moves that end a quarter of an hour later (or half-way to the
//! punch after it, so that intervals never overlap); a deletion archives the clock-in
//! and the punch that ended it, as Jibble's "delete" does.

use anyhow::Context;
use timebridge_sim::JibbleSim;
use timebridge_sim::jibble::PunchType;

use super::SourceDriver;

impl SourceDriver for JibbleSim {
    fn keys(&self) -> Vec<String> {
        self.punches()
            .into_iter()
            .filter(|p| p.kind == PunchType::In && p.break_id.is_none() && !p.archived)
            .map(|p| p.id)
            .collect()
    }

    fn edit(&self, key: &str) -> anyhow::Result<()> {
        let start = self.punch(key).context("no such clock-in")?;
        let end = self
            .punch(
                start
                    .next
                    .as_deref()
                    .context("the clock-in is still running")?,
            )
            .context("the clock-in's end is gone")?;
        let limit = end
            .next
            .as_deref()
            .and_then(|n| self.punch(n))
            .map(|after| (after.time - end.time) / 2);
        let by = limit.map_or(chrono::Duration::minutes(15), |l| {
            l.min(chrono::Duration::minutes(15))
        });
        anyhow::ensure!(by > chrono::Duration::zero(), "no room to move the end");
        self.edit_punch(&end.id, |p| p.time += by)?;
        Ok(())
    }

    fn delete(&self, key: &str) -> anyhow::Result<()> {
        let start = self.punch(key).context("no such clock-in")?;
        if let Some(end) = start.next.as_deref().and_then(|n| self.punch(n))
            && end.kind == PunchType::Out
        {
            self.archive(&end.id)?;
        }
        self.archive(key)?;
        Ok(())
    }

    fn requests(&self) -> usize {
        self.log().len()
    }
}
