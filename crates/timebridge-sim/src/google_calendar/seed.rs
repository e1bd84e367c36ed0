//! The Google Calendar simulator's seed, derived from the shared seed ([`crate::seed`]):
//! the account is the first agent's (same e-mail as their Kimai and TimeTracker users),
//! its calendar shown in that agent's zone (offsets on the wire), with events on the
//! generated month's workdays that never overlap:
//!
//! - a weekly series "Weekly planning" on Mondays 08:30–09:00 and a daily series
//!   "Daily standup" 09:00–09:15 on the first five days (instances with their own ids);
//! - each workday a call 10:00–11:00 (+15 minutes every other day) and a review
//!   14:00–15:30, whose summaries name the organizations of [`KEYWORD_ORGS`] by their
//!   first word (the keyword rules of the pairs map them to projects);
//! - every fifth workday an all-day "Conference"; on the third a cancelled "Dentist", on
//!   the fourth a "Board meeting" the owner declined and on the fifth an "Optional
//!   training" they answered tentatively (an entry like any other).

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, Offset, TimeZone, Utc, Weekday,
};

use super::state::{Event, Freq, GState, When};
use crate::SimOptions;
use crate::seed::{self, Seed};

/// Indexes of the shared seed's organizations whose first word names events (their
/// projects take every entry in Kimai and TimeTracker alike).
pub const KEYWORD_ORGS: [usize; 3] = [0, 2, 4];

/// The keyword of an organization name: its first word.
pub fn keyword(org_name: &str) -> String {
    org_name
        .split_whitespace()
        .next()
        .unwrap_or(org_name)
        .to_owned()
}

fn at(tz: chrono_tz::Tz, day: NaiveDate, h: u32, m: u32) -> When {
    let local = tz
        .from_local_datetime(&day.and_hms_opt(h, m, 0).expect("valid time"))
        .earliest()
        .expect("a workday hour exists");
    let offset: FixedOffset = local.offset().fix();
    When::Timed(local.with_timezone(&offset))
}

pub(crate) fn load(st: &mut GState, opts: &SimOptions, now: DateTime<Utc>) {
    let data = seed::generate(opts.seed, opts.rng_seed, now);
    let Some(owner) = data.agents.first() else {
        st.owner_email = "owner@calendar.example".into();
        st.owner_name = "Calendar Owner".into();
        return;
    };
    st.owner_email = owner.email.clone();
    st.owner_name = format!("{} {}", owner.firstname, owner.lastname);
    let tz = owner.timezone;
    st.time_zone = tz.name().to_owned();
    let orgs: Vec<String> = KEYWORD_ORGS
        .iter()
        .filter_map(|i| data.organizations.get(*i))
        .map(|o| keyword(&o.name))
        .collect();
    let Some(month_start) = data.month_start else {
        return;
    };
    let workdays = match opts.seed {
        Seed::Empty => 0,
        Seed::Tiny => 5,
        _ => 31,
    };
    let mut days = Vec::new();
    let mut d = month_start;
    while d.month() == month_start.month() && days.len() < workdays {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            days.push(d);
        }
        d += Duration::days(1);
    }
    let created = now - Duration::days(40);
    let add = |st: &mut GState, summary: String, start: When, end: When| -> String {
        let id = st.new_event_id();
        st.seq += 1;
        st.events.insert(
            id.clone(),
            Event {
                id: id.clone(),
                summary,
                start,
                end,
                status: "confirmed".into(),
                response: None,
                recurrence: None,
                recurring_event_id: None,
                changed_seq: st.seq,
                updated: created,
            },
        );
        id
    };
    if let Some(first_monday) = days.iter().find(|d| d.weekday() == Weekday::Mon) {
        let mondays = days.iter().filter(|d| d.weekday() == Weekday::Mon).count();
        let id = add(
            st,
            "Weekly planning".into(),
            at(tz, *first_monday, 8, 30),
            at(tz, *first_monday, 9, 0),
        );
        if let Some(e) = st.events.get_mut(&id) {
            e.recurrence = Some((Freq::Weekly, u32::try_from(mondays).unwrap_or(1)));
        }
    }
    if let Some(first) = days.first() {
        let id = add(
            st,
            "Daily standup".into(),
            at(tz, *first, 9, 0),
            at(tz, *first, 9, 15),
        );
        if let Some(e) = st.events.get_mut(&id) {
            e.recurrence = Some((Freq::Daily, 5));
        }
    }
    for (i, day) in days.iter().enumerate() {
        if orgs.is_empty() {
            break;
        }
        let a = &orgs[i % orgs.len()];
        let b = &orgs[(i + 1) % orgs.len()];
        let extra = if i % 2 == 1 { 15 } else { 0 };
        add(
            st,
            format!("Support call {a}"),
            at(tz, *day, 10, 0),
            at(tz, *day, 11, extra),
        );
        add(
            st,
            format!("{b} review"),
            at(tz, *day, 14, 0),
            at(tz, *day, 15, 30),
        );
        if i % 5 == 0 {
            add(
                st,
                "Conference".into(),
                When::AllDay(*day),
                When::AllDay(*day + Duration::days(1)),
            );
        }
        let special = match i {
            2 => Some(("Dentist", None, true)),
            3 => Some(("Board meeting", Some("declined"), false)),
            4 => Some(("Optional training", Some("tentative"), false)),
            _ => None,
        };
        if let Some((summary, response, cancelled)) = special {
            let id = add(st, summary.into(), at(tz, *day, 16, 0), at(tz, *day, 17, 0));
            if let Some(e) = st.events.get_mut(&id) {
                e.response = response.map(str::to_owned);
                if cancelled {
                    e.status = "cancelled".into();
                }
            }
        }
    }
}
