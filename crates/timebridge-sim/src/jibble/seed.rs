//! The Jibble simulator's seed, derived from the shared seed ([`crate::seed`]) so that the
//! pairs fit together: every agent is a person with the same e-mail and zone (Odoo has an
//! employee for each), except the last agent, whose Jibble account uses a private
//! address ([`PRIVATE_DOMAIN`]; a user mapping connects them); activities are named like
//! the Zammad types, projects like the organizations.
//!
//! Punches, on the generated month's workdays (the first three with `Seed::Tiny`), per
//! person and day in the person's zone: clock-in between 08:00 and 09:30 on a project and
//! an activity; on most days a lunch break (a break In) after about four hours and a
//! clock-in 30–45 minutes later, possibly on another activity; a clock-out about eight
//! hours after the start. Every 13th session is closed by Jibble (`clientType: AutoOut`)
//! at 20:00 instead. The agent in UTC works a night shift on Wednesdays, 21:00 to 05:00,
//! whose clock-out belongs to the previous day. Every time is a whole minute.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::state::{JState, LUNCH_BREAK_ID, Named, NewPunch, Person, Punch, PunchType};
use crate::SimOptions;
use crate::seed::{self, Seed};

/// The e-mail domain of the one person whose Jibble address differs from their work one.
pub const PRIVATE_DOMAIN: &str = "private-mail.example";

fn at(tz: Tz, day: NaiveDate, minutes: i64) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    let local = midnight + Duration::minutes(minutes);
    tz.from_local_datetime(&local)
        .earliest()
        .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
}

pub(crate) fn load(st: &mut JState, opts: &SimOptions, now: DateTime<Utc>) {
    let data = seed::generate(opts.seed, opts.rng_seed, now);
    if data.agents.is_empty() {
        return;
    }
    for (i, agent) in data.agents.iter().enumerate() {
        let id = st.new_id(0x9e50_0001);
        let user_id = st.new_id(0x05e4_0001);
        let email = if i + 1 == data.agents.len() {
            format!("{}@{PRIVATE_DOMAIN}", agent.login)
        } else {
            agent.email.clone()
        };
        st.people.push(Person {
            id,
            full_name: format!("{} {}", agent.firstname, agent.lastname),
            email: Some(email),
            status: "Joined".into(),
            timezone: agent.timezone,
            user_id,
        });
    }
    for (name, active) in &data.types {
        if *active {
            let id = st.new_id(0xac70_0001);
            let code = name.chars().take(3).collect::<String>().to_uppercase();
            st.activities.push(Named {
                id,
                name: name.clone(),
                code,
            });
        }
    }
    for o in &data.organizations {
        let id = st.new_id(0x9c00_0001);
        let code = o.name.chars().take(4).collect::<String>().to_uppercase();
        st.projects.push(Named {
            id,
            name: o.name.clone(),
            code,
        });
    }
    let Some(month_start) = data.month_start else {
        return;
    };
    let mut days = Vec::new();
    let mut d = month_start;
    while d.month() == month_start.month() {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            days.push(d);
        }
        d += Duration::days(1);
    }
    if opts.seed == Seed::Tiny {
        days.truncate(3);
    }
    let mut rng = StdRng::seed_from_u64(opts.rng_seed ^ 0x71bb_1e5e);
    let people = st.people.clone();
    let activities: Vec<String> = st.activities.iter().map(|a| a.id.clone()).collect();
    let projects: Vec<String> = st.projects.iter().map(|p| p.id.clone()).collect();
    let mut session = 0usize;
    let mut punches = Vec::new();
    for day in &days {
        for person in &people {
            let tz = person.timezone;
            let pick = |rng: &mut StdRng, list: &[String]| {
                (!list.is_empty()).then(|| list[rng.gen_range(0..list.len())].clone())
            };
            let project = pick(&mut rng, &projects);
            let activity = pick(&mut rng, &activities);
            session += 1;
            if tz == chrono_tz::UTC && day.weekday() == Weekday::Wed {
                let mut p = NewPunch::new(&person.id, PunchType::In, at(tz, *day, 21 * 60));
                p.project_id = project;
                p.activity_id = activity;
                p.note = Some("Night shift".into());
                punches.push(p);
                punches.push(NewPunch::new(
                    &person.id,
                    PunchType::Out,
                    at(tz, *day, 29 * 60),
                ));
                continue;
            }
            let start = 8 * 60 + rng.gen_range(0..=90);
            let mut p = NewPunch::new(&person.id, PunchType::In, at(tz, *day, start));
            p.project_id = project.clone();
            p.activity_id = activity.clone();
            punches.push(p);
            let mut worked = 0;
            if rng.gen_bool(0.85) {
                let morning = 210 + rng.gen_range(0..=60);
                let lunch = 30 + rng.gen_range(0..=15);
                let mut b = NewPunch::new(&person.id, PunchType::In, at(tz, *day, start + morning));
                b.break_id = Some(LUNCH_BREAK_ID.into());
                punches.push(b);
                let mut back = NewPunch::new(
                    &person.id,
                    PunchType::In,
                    at(tz, *day, start + morning + lunch),
                );
                back.project_id = project;
                back.activity_id = if rng.gen_bool(0.3) {
                    pick(&mut rng, &activities)
                } else {
                    activity
                };
                punches.push(back);
                worked = lunch;
            }
            let out = if session.is_multiple_of(13) {
                let mut o = NewPunch::new(&person.id, PunchType::Out, at(tz, *day, 20 * 60));
                o.client_type = "AutoOut".into();
                o
            } else {
                let length = 8 * 60 + worked + rng.gen_range(0..=60);
                NewPunch::new(&person.id, PunchType::Out, at(tz, *day, start + length))
            };
            punches.push(out);
        }
    }
    // In time order, so that each punch's work day follows from the one before it: a
    // punch while the person is clocked in (or on a break) counts toward the session's day.
    punches.sort_by_key(|p| p.time);
    let created = now - Duration::days(1);
    let mut open: HashMap<String, NaiveDate> = HashMap::new();
    for p in punches {
        let tz = people
            .iter()
            .find(|x| x.id == p.person_id)
            .map_or(chrono_tz::UTC, |x| x.timezone);
        let day = match open.get(&p.person_id) {
            Some(d) => *d,
            None => p.time.with_timezone(&tz).date_naive(),
        };
        if p.kind == PunchType::In {
            open.insert(p.person_id.clone(), day);
        } else {
            open.remove(&p.person_id);
        }
        let id = st.new_id(0x7e00_0001);
        st.punches.push(Punch {
            id,
            person_id: p.person_id,
            kind: p.kind,
            time: p.time,
            belongs_to_date: day,
            activity_id: p.activity_id,
            project_id: p.project_id,
            break_id: p.break_id,
            note: p.note,
            client_type: p.client_type,
            archived: false,
            is_manual: false,
            previous: None,
            next: None,
            updated_at: created,
        });
    }
    for person in &people {
        st.relink(&person.id);
    }
}
