//! The `timebridge` binary: CLI parsing, telemetry setup and dispatch.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;
use timebridge_server::config::Config;

use crate::cli::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    // An optional `.env` is read before the environment; a broken one is an error.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("error: cannot read .env: {e}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    // A simulator needs no configuration of ours: run it before reading any.
    if let Command::Sim(args) = cli.command {
        return match timebridge_sim::run_standalone(
            args.kind,
            args.port,
            args.token,
            args.seed,
            args.latency_ms,
        )
        .await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut vars = cli.global.variables();
    // The demo runs on its own database and makes up a password when none is given, so
    // it works on a fresh machine with no configuration at all.
    let mut generated_password = None;
    if let Command::Demo(_) = &cli.command {
        let data_dir = vars
            .get("DATA_DIR")
            .cloned()
            .unwrap_or_else(|| "./data".into());
        vars.entry("DATABASE_URL".into())
            .or_insert_with(|| format!("sqlite://{data_dir}/demo.db"));
        if vars
            .get("ADMIN_PASSWORD")
            .is_none_or(|p| p.trim().is_empty())
        {
            let password = commands::random_password();
            vars.insert("ADMIN_PASSWORD".into(), password.clone());
            generated_password = Some(password);
        }
    }
    let config = match Config::from_map(&vars) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    timebridge_server::telemetry::init(config.log_format);

    let result = match cli.command {
        Command::Serve => commands::serve(config).await,
        Command::Migrate => commands::migrate(config).await,
        Command::Check => commands::check(config, &vars).await,
        Command::Sync(args) => commands::sync(config, args).await,
        Command::RotateKey => commands::rotate_key(config, &vars).await,
        Command::Demo(args) => commands::demo(config, args, generated_password).await,
        Command::Sim(_) => unreachable!("dispatched above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "Command failed.");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
