//! API tests against the real server, each on SQLite and on PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod auth;
mod billable;
mod conflict_groups;
mod connectors;
mod conventions;
mod hostile;
mod hub;
mod mappings_and_pipelines;
mod money_at_risk;
mod notifications;
mod oauth;
mod openapi;
mod pairs;
mod remote_connectors;
mod rounding;
mod rule_simulator;
mod scheduler;
mod settings_and_health;
mod startup;
mod sync_e2e;
mod ui;
mod undo;
mod webhooks;
