//! The subcommands' implementations; each returns when the command is done.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use timebridge_server::config::{Config, VARIABLES};
use timebridge_server::{SharedClock, SystemClock};
use timebridge_store::{Cipher, Store};

/// `timebridge serve`: prepare (keys, migrations, admin) and serve until Ctrl-C/SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind;
    let clock: SharedClock = Arc::new(SystemClock);
    let state = timebridge_server::prepare(config, clock).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("BIND: cannot listen on {bind}"))?;
    timebridge_server::launch_with_listener(listener, state, shutdown_signal()).await
}

/// `timebridge migrate`: apply migrations (and check the encryption key).
pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let keys = config.resolve_keys()?;
    timebridge_server::open_store(&config, &keys).await?;
    tracing::info!("Migrations applied.");
    Ok(())
}

/// `timebridge check`: reports on configuration, keys and database without changing
/// anything; fails when something would stop `serve`.
pub async fn check(config: Config, vars: &HashMap<String, String>) -> anyhow::Result<()> {
    let mut problems = 0;
    println!("configuration: ok");
    for (name, meaning) in VARIABLES {
        let set = vars.get(*name).is_some_and(|v| !v.trim().is_empty());
        println!(
            "  {name:<20} {}  {meaning}",
            if set { "set  " } else { "unset" }
        );
    }

    let key_state = |configured: bool, file: &str| {
        if configured {
            "from the environment".to_string()
        } else if config.data_dir.join(file).exists() {
            format!("from {}", config.data_dir.join(file).display())
        } else {
            format!(
                "will be generated into {}",
                config.data_dir.join(file).display()
            )
        }
    };
    println!(
        "ENCRYPTION_KEY: {}",
        key_state(config.encryption_key.is_some(), "encryption.key")
    );
    println!(
        "SECRET_KEY: {}",
        key_state(config.secret_key.is_some(), "secret.key")
    );

    // A cipher is needed to open the store; checking never writes, so a missing key only
    // means there is nothing encrypted to check yet.
    let cipher = match &config.encryption_key {
        Some(k) => Cipher::new(k.bytes()),
        None => match std::fs::read_to_string(config.data_dir.join("encryption.key")) {
            Ok(text) => Cipher::from_base64(&text)
                .map_err(|e| anyhow::anyhow!("ENCRYPTION_KEY (file in DATA_DIR): {e}"))?,
            Err(_) => Cipher::new(&[0u8; 32]),
        },
    };
    match Store::connect(&config.database_url, cipher).await {
        Err(e) => {
            problems += 1;
            println!("database: unreachable ({e})");
        }
        Ok(store) => match store.ping().await {
            Err(e) => {
                problems += 1;
                println!("database: unreachable ({e})");
            }
            Ok(()) => {
                println!("database: reachable ({:?})", store.backend());
                match store.get_admin(&config.admin_username).await {
                    Ok(admin) => {
                        println!("migrations: schema present");
                        match (admin.is_some(), config.admin_password.is_some()) {
                            (true, _) => println!("admin `{}`: exists", config.admin_username),
                            (false, true) => println!(
                                "admin `{}`: will be created from ADMIN_PASSWORD",
                                config.admin_username
                            ),
                            (false, false) => {
                                problems += 1;
                                println!(
                                    "admin `{}`: missing and ADMIN_PASSWORD is unset",
                                    config.admin_username
                                );
                            }
                        }
                    }
                    Err(e) => {
                        println!(
                            "migrations: not applied yet ({e}); `timebridge serve` or `timebridge migrate` applies them"
                        );
                        if config.admin_password.is_none() {
                            problems += 1;
                            println!("ADMIN_PASSWORD: required for the first start");
                        }
                    }
                }
            }
        },
    }
    if problems > 0 {
        anyhow::bail!("{problems} problem(s) found");
    }
    println!("all checks passed");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("Shutdown requested.");
}
