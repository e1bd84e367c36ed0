//! Google Calendar as a pair's source: entries are the timed events and instances the
//! owner did not decline; an edit ends an event five minutes earlier (never into the next
//! one); a deletion cancels it, as Google keeps deleted events.

use timebridge_sim::GoogleCalendarControl;
use timebridge_sim::google_calendar::When;

use timebridge_connectors::google_calendar::{entry_key, event_id};

use super::SourceDriver;

impl SourceDriver for GoogleCalendarControl {
    fn keys(&self) -> Vec<String> {
        self.timed_ids().iter().map(|id| entry_key(id)).collect()
    }

    fn edit(&self, key: &str) -> anyhow::Result<()> {
        self.edit_event(&event_id(key), |e| {
            if let When::Timed(t) = &mut e.end {
                *t -= chrono::Duration::minutes(5);
            }
        })?;
        Ok(())
    }

    fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.delete_event(&event_id(key))?;
        Ok(())
    }

    fn requests(&self) -> usize {
        self.log().len()
    }
}
