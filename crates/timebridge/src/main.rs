//! The `timebridge` binary: CLI parsing, telemetry setup and dispatch.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;
use timebridge_server::config::Config;

use crate::cli::{Cli, Command};

/// glibc's malloc keeps up to twice its (dynamically raised) mmap threshold of freed memory
/// at the top of its heap instead of returning it: after one large short-lived allocation
/// (a password hash, a sync's entries) an idle server held ~20 MB it did not use. A fixed
/// trim threshold, read by glibc from the environment at start, returns it. There is no
/// safe way to set it in-process, so the process re-executes itself once with it set
/// (same pid, same arguments); an explicit value in the environment is left alone. The
/// same re-execution caps glibc's arenas at two (`MALLOC_ARENA_MAX`, unless set): with one
/// arena per thread that ever allocated, a sync's freed memory stays spread over partly
/// used arenas (the 44,000-entry sync peaked at 148 MB with the cap, 160 MB without, at
/// 20 ms latency; at 0 ms both measured 160 MB: a small effect, see bench/README.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn ensure_malloc_trim() {
    use std::os::unix::process::CommandExt;
    const VAR: &str = "MALLOC_TRIM_THRESHOLD_";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(std::env::args_os().skip(1)).env(VAR, "131072");
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        cmd.env("MALLOC_ARENA_MAX", "2");
    }
    let err = cmd.exec();
    // Only reached when the exec failed: run as we are.
    eprintln!("note: could not re-execute with {VAR} set ({err}); continuing");
}

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    ensure_malloc_trim();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
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
        Command::Healthcheck => commands::healthcheck(&config).await,
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
