//! Odoo: records are timesheets (identified by the marker in `name`) and attendances
//! (identified by employee and check-in: they have no text field); an edit lengthens one
//! by 15 minutes, as a person would in Odoo.

use anyhow::Context;
use serde_json::json;
use timebridge_sim::OdooSim;

use super::{TargetDriver, TargetRecord, marked_key};

impl TargetDriver for OdooSim {
    fn records(&self) -> Vec<TargetRecord> {
        let timesheets = self.timesheets().into_iter().map(|t| TargetRecord {
            id: format!("timesheet:{}", t.id),
            identity: marked_key(&t.name),
        });
        let attendances = self.attendances().into_iter().map(|a| TargetRecord {
            id: format!("attendance:{}", a.id),
            identity: Some(format!("{}@{}", a.employee_id, a.check_in)),
        });
        timesheets.chain(attendances).collect()
    }

    fn edit(&self, id: &str) -> anyhow::Result<()> {
        let (model, id) = id
            .split_once(':')
            .context("an Odoo record id is model:id")?;
        let id: i64 = id.parse().context("an Odoo id is a number")?;
        match model {
            "timesheet" => {
                let t = self
                    .timesheets()
                    .into_iter()
                    .find(|t| t.id == id)
                    .with_context(|| format!("no timesheet {id}"))?;
                self.write(
                    "account.analytic.line",
                    id,
                    json!({"unit_amount": t.unit_amount + 0.25}),
                )?;
            }
            "attendance" => {
                let a = self
                    .attendances()
                    .into_iter()
                    .find(|a| a.id == id)
                    .with_context(|| format!("no attendance {id}"))?;
                let out = a
                    .check_out
                    .context("an open attendance has no end to move")?
                    + chrono::Duration::minutes(15);
                self.write(
                    "hr.attendance",
                    id,
                    json!({"check_out": out.format("%Y-%m-%d %H:%M:%S").to_string()}),
                )?;
            }
            other => anyhow::bail!("unknown Odoo record kind {other}"),
        }
        Ok(())
    }

    fn write_requests(&self) -> usize {
        self.write_count()
    }
}
