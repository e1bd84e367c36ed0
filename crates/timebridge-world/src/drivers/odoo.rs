//! Odoo: records are timesheets (identified by the marker in `name`) and attendances
//! (identified by employee and check-in: they have no text field); an edit lengthens one
//! by 15 minutes, as a person would in Odoo. Ids are Odoo's own, as the connector reports
//! them: a world writes one model (its connector's `model` setting), so they are not
//! ambiguous there.

use anyhow::Context;
use serde_json::json;
use timebridge_sim::OdooSim;

use super::{TargetDriver, TargetRecord, marked_key};

impl TargetDriver for OdooSim {
    fn records(&self) -> Vec<TargetRecord> {
        let timesheets = self.timesheets().into_iter().map(|t| TargetRecord {
            id: t.id.to_string(),
            identity: marked_key(&t.name),
        });
        let attendances = self.attendances().into_iter().map(|a| TargetRecord {
            id: a.id.to_string(),
            identity: Some(format!("{}@{}", a.employee_id, a.check_in)),
        });
        timesheets.chain(attendances).collect()
    }

    fn edit(&self, id: &str) -> anyhow::Result<()> {
        let id: i64 = id.parse().context("an Odoo id is a number")?;
        let timesheet = self.timesheets().into_iter().find(|t| t.id == id);
        let attendance = self.attendances().into_iter().find(|a| a.id == id);
        match (timesheet, attendance) {
            (Some(t), None) => {
                self.write(
                    "account.analytic.line",
                    id,
                    json!({"unit_amount": t.unit_amount + 0.25}),
                )?;
            }
            (None, Some(a)) => {
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
            (None, None) => anyhow::bail!("no Odoo record {id}"),
            (Some(_), Some(_)) => anyhow::bail!("{id} is a timesheet and an attendance"),
        }
        Ok(())
    }

    fn write_requests(&self) -> usize {
        self.write_count()
    }
}
