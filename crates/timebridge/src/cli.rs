//! Command-line interface. Flags override the environment variables of the same
//! meaning (`--bind` over `BIND`, …); the environment (plus an optional `.env`) is read
//! by `timebridge_server::config`.

use std::collections::HashMap;

use clap::{Args, Parser, Subcommand};

/// timebridge: syncs and reconciles time entries between Zammad and Kimai.
#[derive(Debug, Parser)]
#[command(name = "timebridge", version, about, propagate_version = true)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Overrides of configuration variables; each wins over its environment variable.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Database URL, `sqlite://…` or `postgres://…` [env: DATABASE_URL].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Directory for generated keys and the default SQLite file [env: DATA_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// Log format, `pretty` or `json` [env: LOG_FORMAT].
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Listen address [env: BIND].
    #[arg(long, global = true, value_name = "ADDR")]
    pub bind: Option<String>,
    /// The admin's username [env: ADMIN_USERNAME].
    #[arg(long, global = true, value_name = "NAME")]
    pub admin_username: Option<String>,
    /// Default sync interval of new pipelines in hours [env: SYNC_SCHEDULE_HOURS].
    #[arg(long, global = true, value_name = "HOURS")]
    pub sync_schedule_hours: Option<String>,
    /// Comma list of origins allowed to call the API [env: CORS_ORIGINS].
    #[arg(long, global = true, value_name = "ORIGINS")]
    pub cors_origins: Option<String>,
    /// Take the client IP from X-Forwarded-For; only behind a reverse proxy
    /// [env: TRUST_FORWARDED_FOR].
    #[arg(long, global = true)]
    pub trust_forwarded_for: bool,
}

impl GlobalArgs {
    /// The configuration variables: the process environment with the flags laid over it.
    pub fn variables(&self) -> HashMap<String, String> {
        let mut vars: HashMap<String, String> = std::env::vars().collect();
        let overrides = [
            ("DATABASE_URL", &self.database_url),
            ("DATA_DIR", &self.data_dir),
            ("LOG_FORMAT", &self.log_format),
            ("BIND", &self.bind),
            ("ADMIN_USERNAME", &self.admin_username),
            ("SYNC_SCHEDULE_HOURS", &self.sync_schedule_hours),
            ("CORS_ORIGINS", &self.cors_origins),
        ];
        for (name, value) in overrides {
            if let Some(value) = value {
                vars.insert(name.to_string(), value.clone());
            }
        }
        if self.trust_forwarded_for {
            vars.insert("TRUST_FORWARDED_FOR".into(), "true".into());
        }
        vars
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API, web UI, scheduler and webhook receiver.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Check the configuration, the database and its migrations, then exit.
    Check,
    /// Ask the running server on BIND whether it is ready (`/api/health/ready`); exit 0
    /// when it is, 1 when not. The container image's health check (needs no curl).
    Healthcheck,
    /// Run one Zammad or Kimai simulator on loopback (for trying clients and timebridge
    /// against a realistic fake server).
    Sim(SimArgs),
    /// Run one sync of a pipeline in the foreground, with progress and a summary.
    Sync(SyncArgs),
    /// Re-encrypt every stored secret under a new encryption key (stop every `serve`
    /// process first). The new key comes from NEW_ENCRYPTION_KEY, or is generated.
    RotateKey,
    /// Serve with built-in Zammad and Kimai simulators, pre-configured connectors, a
    /// pipeline and mappings, and a first sync started at once.
    Demo(DemoArgs),
}

/// Options of `timebridge demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seeded data set of the simulators: `demo` (Small's month with each deliberate
    /// problem on a few entries), `tiny`, `small` or `month`.
    #[arg(long, default_value = "demo")]
    pub seed: timebridge_sim::Seed,
    /// Added latency per simulated request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

/// Options of `timebridge sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Plan only: show what would happen, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// First day (UTC) of the window, `YYYY-MM-DD` (default: `window_days` before `--to`).
    #[arg(long, value_name = "DATE")]
    pub from: Option<chrono::NaiveDate>,
    /// Last day (UTC) of the window, `YYYY-MM-DD` (default: today).
    #[arg(long, value_name = "DATE")]
    pub to: Option<chrono::NaiveDate>,
    /// The pipeline id (may be omitted when there is exactly one).
    #[arg(long, value_name = "ID")]
    pub pipeline: Option<i64>,
}

/// Options of `timebridge sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Which server to simulate: `zammad`, `kimai`, `odoo` (the token is the
    /// administrator's API key; database `tb_odoo18`, login `admin`),
    /// `timetracker`, `clockify` or `slack` (the token is the bot token; received messages
    /// are shown at `/`).
    pub kind: timebridge_sim::SimKind,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The API token clients must send.
    #[arg(long)]
    pub token: String,
    /// Seeded data set: `empty`, `tiny`, `small`, `month` or `demo`.
    #[arg(long, default_value = "small")]
    pub seed: timebridge_sim::Seed,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}
