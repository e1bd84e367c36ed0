//! One file per [`crate::Pair`]: start its simulators, write the plan that fits their seed.

pub(crate) mod clockify_clockify;
pub(crate) mod clockify_kimai;
pub(crate) mod jibble_odoo;
pub(crate) mod timetracker_kimai;
pub(crate) mod timetracker_odoo;
pub(crate) mod zammad_clockify;
pub(crate) mod zammad_kimai;
pub(crate) mod zammad_odoo;
pub(crate) mod zammad_timetracker;
