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
    let vars = cli.global.variables();
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
