//! Zammad: entries are time accountings; an edit moves one to another type (the only
//! change a Zammad accounting allows besides deletion).

use anyhow::Context;
use timebridge_sim::ZammadSim;

use super::SourceDriver;

fn id(key: &str) -> anyhow::Result<u64> {
    key.parse().context("a Zammad key is an accounting id")
}

impl SourceDriver for ZammadSim {
    fn keys(&self) -> Vec<String> {
        self.accountings()
            .iter()
            .map(|a| a.id.to_string())
            .collect()
    }

    fn edit(&self, key: &str) -> anyhow::Result<()> {
        let acc = self
            .accounting(id(key)?)
            .with_context(|| format!("no accounting {key}"))?;
        let other = self
            .types()
            .into_iter()
            .find(|t| Some(t.id) != acc.type_id)
            .context("the seed has a second type")?;
        self.set_accounting_type(acc.id, Some(other.id))?;
        Ok(())
    }

    fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.delete_accounting(id(key)?)?;
        Ok(())
    }

    fn requests(&self) -> usize {
        self.log().len()
    }
}
