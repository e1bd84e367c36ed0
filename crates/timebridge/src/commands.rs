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
/// `timebridge healthcheck`: asks the server listening on BIND whether it is ready.
pub async fn healthcheck(config: &Config) -> anyhow::Result<()> {
    let mut addr = config.bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("http://{addr}/api/health/ready");
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?;
    let answer = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("no answer from {url}"))?;
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    if status.is_success() {
        println!("ready: {body}");
        Ok(())
    } else {
        anyhow::bail!("not ready ({status}): {body}")
    }
}

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
                        problems += check_connectors(&store).await;
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

/// Tests every configured connector the way a sync would use it; returns the number of
/// connectors that fail.
async fn check_connectors(store: &Store) -> usize {
    let ctx = timebridge_connectors::ConnectorContext {
        retry: Some(timebridge_connectors::http::RetryPolicy {
            max_attempts: 2,
            ..Default::default()
        }),
        ..Default::default()
    };
    let Ok(connectors) = store.all_connectors().await else {
        println!("connectors: cannot be listed");
        return 1;
    };
    let mut failed = 0;
    for c in connectors {
        let result = match store.get_connector_secrets(c.id).await {
            Err(e) => Err(format!("secrets cannot be read ({e})")),
            Ok(secrets) => match timebridge_server::remote::build(&c, &secrets, &ctx) {
                Err(e) => Err(e.to_string()),
                Ok(instance) => {
                    let report = instance.test().await;
                    if report.ok {
                        Ok(report.message)
                    } else {
                        Err(report.message)
                    }
                }
            },
        };
        match result {
            Ok(message) => println!("connector `{}` ({}): ok — {message}", c.name, c.kind),
            Err(message) => {
                failed += 1;
                println!("connector `{}` ({}): FAILED — {message}", c.name, c.kind);
            }
        }
    }
    failed
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

/// `timebridge sync`: one run of a pipeline in this process, in the foreground, with a
/// progress bar on a terminal and a summary table at the end. Exits non-zero when the
/// run failed or some entries could not be written.
pub async fn sync(config: Config, args: crate::cli::SyncArgs) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    use timebridge_server::sync::worker::{default_window, lease, run_claimed, worker_name};

    let keys = config.resolve_keys()?;
    let store = timebridge_server::open_store(&config, &keys).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    // The engine's own narrow environment: no web state is built for a foreground run.
    let state = timebridge_server::sync::SyncEnv::new(store, clock.clone());
    let pipeline = timebridge_server::sync::context::choose_pipeline(&state.store, args.pipeline)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = clock.now();
    // A run whose process died is queued again once its lease has expired.
    state.store.requeue_expired_runs(now).await?;
    let queued = match state.store.active_run(pipeline.id).await? {
        Some(active) if active.status == timebridge_store::RunStatus::Running => anyhow::bail!(
            "run #{} of pipeline `{}` is running; wait for it to finish",
            active.id,
            pipeline.name
        ),
        // A queued run (e.g. one a killed process left) is the one to do now.
        Some(queued) => {
            println!("Run #{} was waiting in the queue; running it.", queued.id);
            queued
        }
        None => {
            let (_, default_to) = default_window(now.date_naive(), pipeline.window_days);
            let to = args.to.unwrap_or(default_to);
            let from = args.from.unwrap_or_else(|| {
                to - chrono::Duration::days(i64::from(pipeline.window_days.max(1)) - 1)
            });
            anyhow::ensure!(from <= to, "--from must not be after --to");
            state
                .store
                .enqueue_run(
                    timebridge_store::NewRun {
                        pipeline_id: pipeline.id,
                        trigger: timebridge_store::RunTrigger::Manual,
                        dry_run: args.dry_run,
                        window_from: from,
                        window_to: to,
                        ticket_ids: None,
                        run_after: now,
                        scope: None,
                        undo_of: None,
                    },
                    now,
                )
                .await?
        }
    };
    let (from, to) = (queued.window_from, queued.window_to);
    let owner = worker_name();
    let Some(run) = state
        .store
        .claim_run(queued.id, &owner, now, now + lease())
        .await?
    else {
        anyhow::bail!(
            "pipeline `{}` is being synced by another process; run #{} stays queued for it",
            pipeline.name,
            queued.id
        );
    };
    println!(
        "Syncing pipeline `{}` (#{}) for {from} to {to}{} — run #{}",
        pipeline.name,
        pipeline.id,
        if run.dry_run { " (dry run)" } else { "" },
        run.id
    );
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let painter = {
        let board = state.progress.clone();
        let id = run.id;
        tokio::spawn(async move {
            let tty = std::io::stderr().is_terminal();
            let mut last = String::new();
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
                }
                let Some(p) = board.get(id) else { continue };
                let line = if p.total > 0 {
                    let width = 30u64;
                    let filled = (p.done * width / p.total.max(1)).min(width) as usize;
                    format!(
                        "{:<15} [{}{}] {}/{}",
                        p.phase,
                        "#".repeat(filled),
                        "-".repeat(width as usize - filled),
                        p.done,
                        p.total
                    )
                } else {
                    format!("{:<15}", p.phase)
                };
                if tty {
                    eprint!("\r{line}\x1b[K");
                    let _ = std::io::stderr().flush();
                } else if p.phase != last {
                    eprintln!("{}", p.phase);
                }
                last = p.phase;
            }
            if tty {
                eprint!("\r\x1b[K");
            }
        })
    };
    // SIGINT/SIGTERM: the writes in flight finish, no new ones are sent, and the run is
    // recorded (the entries not attempted are done by the next run).
    let interrupter = {
        let stopping = state.stopping.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            eprintln!("\nStopping: finishing the writes in flight, then recording the run…");
            stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let finished = run_claimed(&state, &owner, run).await;
    interrupter.abort();
    let _ = stop.send(true);
    let _ = painter.await;
    let finished = finished?;
    let items = state.store.list_run_items(finished.id).await?;
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    for i in &items {
        if let Some(r) = &i.reason {
            *reasons.entry(r.clone()).or_default() += 1;
        }
    }
    let s = &finished.stats;
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    println!();
    println!("  {:<12} {}", "status", finished.status);
    for k in [
        "fetched",
        "in_sync",
        "created",
        "updated",
        "skipped",
        "conflicts",
        "errors",
    ] {
        println!("  {k:<12} {:>8}", n(k));
    }
    for (reason, count) in &reasons {
        println!("    {reason:<22} {count:>6}");
    }
    if let Some(e) = &finished.error {
        println!("  error        {e}");
    }
    match finished.status.as_str() {
        "succeeded" => Ok(()),
        other => anyhow::bail!(
            "run #{} ended {other}: {}",
            finished.id,
            finished.error.clone().unwrap_or_default()
        ),
    }
}

/// `timebridge rotate-key`: re-encrypts every stored secret under a new key in one
/// transaction. With a generated key file (no ENCRYPTION_KEY), the file is replaced;
/// otherwise the operator sets ENCRYPTION_KEY to the new key before the next start.
pub async fn rotate_key(config: Config, vars: &HashMap<String, String>) -> anyhow::Result<()> {
    use std::io::Write;
    let keys = config.resolve_keys()?;
    let store = timebridge_server::open_store(&config, &keys).await?;
    let (new_key, generated) = match vars
        .get("NEW_ENCRYPTION_KEY")
        .filter(|v| !v.trim().is_empty())
    {
        Some(v) => (v.trim().to_owned(), false),
        None => (Cipher::generate_key(), true),
    };
    let cipher =
        Cipher::from_base64(&new_key).map_err(|e| anyhow::anyhow!("NEW_ENCRYPTION_KEY: {e}"))?;
    let count = store.rotate_encryption_key(&cipher).await?;
    println!("Re-encrypted {count} secret(s) under the new key.");
    if config.encryption_key.is_none() {
        let path = config.data_dir.join("encryption.key");
        let tmp = config.data_dir.join("encryption.key.new");
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            writeln!(f, "{new_key}")?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        println!("Replaced the key file {} (back it up).", path.display());
    } else if generated {
        println!("Set ENCRYPTION_KEY to this new key before the next start:\n{new_key}");
    } else {
        println!("Set ENCRYPTION_KEY to the value of NEW_ENCRYPTION_KEY before the next start.");
    }
    tracing::info!(secrets = count, "Encryption key rotated.");
    Ok(())
}

/// A random password for the demo's admin (letters and digits, 20 characters).
pub fn random_password() -> String {
    use rand::Rng;
    use rand::distributions::Alphanumeric;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// `timebridge demo`: `serve` plus Zammad and Kimai simulators on loopback (data in the
/// previous calendar month), connectors, a pipeline and mappings configured (updated on
/// every start, since the simulators' ports change), and a first sync started at once.
pub async fn demo(
    config: Config,
    args: crate::cli::DemoArgs,
    generated_password: Option<String>,
) -> anyhow::Result<()> {
    use timebridge_sim::SimOptions;
    use timebridge_world::{Pair, World};

    // Listen first: the simulators take ports of their own, and with `BIND` on port 0 the
    // address printed below is the one the system chose.
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("BIND: cannot listen on {}", config.bind))?;
    let bind = listener
        .local_addr()
        .context("BIND: the listening address")?;
    let username = config.admin_username.clone();
    let clock: SharedClock = Arc::new(SystemClock);
    let now = clock.now();
    let sim_options = || SimOptions {
        seed: args.seed,
        latency: std::time::Duration::from_millis(args.latency_ms),
        token: random_password(),
        now: Some(now),
        running_clock: true,
        ..SimOptions::default()
    };
    let mut world = World::start(Pair::ZammadKimai, sim_options())
        .await
        .context("cannot start the simulators")?;
    let state = timebridge_server::prepare(config, clock.clone()).await?;
    // The Slack-like sink every demo pipeline notifies.
    let slack = timebridge_sim::SlackSim::start(sim_options())
        .await
        .context("cannot start the Slack simulator")?;
    let notify = demo_notifier(&state, &slack).await?;
    // The other pairs, each with its own simulators, beside the main one.
    let mut others = Vec::new();
    let mut jibble_live = None;
    for pair in DEMO_PAIRS {
        let mut world = World::start(*pair, sim_options())
            .await
            .with_context(|| format!("cannot start the simulators of {pair:?}"))?;
        world.plan.pipeline.options["notify"] = notify.clone();
        let (world, run, source) = demo_other_pair(&state, world, now).await?;
        if *pair == Pair::JibbleOdoo {
            jibble_live = Some((world.jibble().control(), source));
        }
        others.push((world, run));
    }
    let webhook_secret = random_password();
    let unmapped_type = demo_plan(&mut world, &webhook_secret);
    world.plan.pipeline.options["notify"] = notify;
    let ids =
        timebridge_world::configure_store(&state.store, &world.plan, state.clock.now()).await?;
    let (pipeline, zammad_id) = (ids.pipeline, ids.source_connector);
    let (zammad, kimai) = world.into_zammad_kimai();
    let from = timebridge_sim::seed::previous_month_start(now);
    // A run left queued by an earlier demo start is the first sync then.
    state.store.requeue_expired_runs(now).await?;
    let run = match state.store.active_run(pipeline).await? {
        Some(run) => run,
        None => {
            state
                .store
                .enqueue_run(
                    timebridge_store::NewRun {
                        pipeline_id: pipeline,
                        trigger: timebridge_store::RunTrigger::Manual,
                        dry_run: false,
                        window_from: from,
                        window_to: now.date_naive(),
                        ticket_ids: None,
                        run_after: now,
                        scope: None,
                        undo_of: None,
                    },
                    now,
                )
                .await?
        }
    };
    println!();
    println!("  timebridge demo is running at http://{bind}/");
    println!(
        "  log in as `{username}` with password {}",
        match &generated_password {
            Some(p) =>
                format!("`{p}` (generated for this start; set ADMIN_PASSWORD to choose one)"),
            None => "from ADMIN_PASSWORD".into(),
        }
    );
    println!(
        "  Zammad simulator: {}   Kimai simulator: {}",
        zammad.url, kimai.url
    );
    println!(
        "  the first sync (run #{}) has started; see Sync and Conflicts in the UI",
        run.id
    );
    println!(
        "  deliberate problems, each on a few entries: type `{unmapped_type}` is not mapped, \
         one agent has no Kimai user, a project has ended in Kimai, a negative correction, \
         an entry of parts of a minute, and one Kimai entry gets edited by hand after the sync"
    );
    println!("  new accountings arrive every 30 s with a signed webhook, to watch live sync");
    println!(
        "  Slack-like sink (notifications of every demo pipeline: failed and partial runs, \
         new conflicts, the daily summary): {}/",
        slack.url
    );
    println!(
        "  in Jibble people clock in and out every 20 s (a relay webhook tells timebridge): \
         open attendances appear in Odoo and close"
    );
    for (world, run) in &others {
        let plan = &world.plan;
        println!(
            "  {} (run #{run}): {} {}   {} {}",
            plan.pipeline.name,
            plan.source.name,
            plan.source.base_url,
            plan.target.name,
            plan.target.base_url
        );
    }
    println!();
    let live = tokio::spawn(demo_live(
        state.clone(),
        zammad.control(),
        kimai.control(),
        run.id,
        format!("http://{bind}/api/webhook/zammad/{zammad_id}"),
        webhook_secret,
    ));
    let jibble = jibble_live.map(|(jibble, source)| {
        tokio::spawn(demo_jibble_live(
            jibble,
            format!("http://{bind}/api/webhook/jibble/{source}"),
        ))
    });
    let served = timebridge_server::launch_with_listener(listener, state, shutdown_signal()).await;
    live.abort();
    slack.shutdown().await;
    if let Some(jibble) = jibble {
        jibble.abort();
    }
    zammad.shutdown().await;
    kimai.shutdown().await;
    drop(others);
    served
}

/// Creates (or, on a later start, points at this start's simulator) the demo's Slack
/// notifier, and returns the `notify` option every demo pipeline gets.
async fn demo_notifier(
    state: &timebridge_server::AppState,
    slack: &timebridge_sim::SlackSim,
) -> anyhow::Result<serde_json::Value> {
    use timebridge_store::Secret;
    const NAME: &str = "Demo Slack";
    let secrets: std::collections::BTreeMap<String, Secret> = [
        ("webhook_url".to_owned(), Secret::new(slack.webhook_url())),
        ("signing_secret".to_owned(), Secret::new(random_password())),
    ]
    .into_iter()
    .collect();
    let existing = state.store.all_connectors().await?;
    let id = match existing.into_iter().find(|c| c.name == NAME) {
        Some(c) => {
            state
                .store
                .update_connector(
                    c.id,
                    timebridge_store::ConnectorUpdate {
                        name: None,
                        base_url: None,
                        settings: None,
                        api_token: None,
                        secret_settings: secrets,
                        remove_secrets: Vec::new(),
                    },
                )
                .await?;
            c.id
        }
        None => {
            state
                .store
                .create_connector(timebridge_store::NewConnector {
                    kind: "slack".into(),
                    name: NAME.into(),
                    base_url: slack.api_url(),
                    api_token: None,
                    settings: serde_json::json!({}),
                    secret_settings: secrets,
                })
                .await?
                .id
        }
    };
    Ok(serde_json::json!([{"connector_id": id,
        "events": ["run_failed", "run_partial", "conflicts_raised", "daily_summary"]}]))
}

/// The pairs the demo shows beside Zammad → Kimai (which also gets live bookings).
const DEMO_PAIRS: &[timebridge_world::Pair] = &[
    timebridge_world::Pair::TimetrackerKimai,
    timebridge_world::Pair::ZammadOdoo,
    timebridge_world::Pair::ZammadTimetracker,
    timebridge_world::Pair::TimetrackerOdoo,
    timebridge_world::Pair::ClockifyClockify,
    timebridge_world::Pair::JibbleOdoo,
    timebridge_world::Pair::GoogleCalendarTimetracker,
];

/// Configures one more pair of the demo under names of its own (connectors are found by
/// name on the next start) and queues its first sync; returns the world (its simulators
/// live as long as it does), the run and the source connector's id.
async fn demo_other_pair(
    state: &timebridge_server::AppState,
    mut world: timebridge_world::World,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(timebridge_world::World, i64, i64)> {
    let label = |kind: &str| {
        timebridge_connectors::registry::find(kind)
            .map_or_else(|| kind.to_owned(), |k| k.label.to_owned())
    };
    let plan = &mut world.plan;
    let title = plan.pipeline.name.clone();
    let (mut source, mut target) = (label(&plan.source.kind), label(&plan.target.kind));
    if source == target {
        // Both ends of one kind (Clockify → Clockify): the plan's names tell them apart.
        (source, target) = (plan.source.name.clone(), plan.target.name.clone());
    }
    plan.source.name = format!("Demo {source} ({title})");
    plan.target.name = format!("Demo {target} ({title})");
    plan.pipeline.name = format!("Demo: {title}");
    plan.pipeline.window_days = 62;
    let ids = timebridge_world::configure_store(&state.store, &world.plan, now).await?;
    let run = match state.store.active_run(ids.pipeline).await? {
        Some(run) => run,
        None => {
            state
                .store
                .enqueue_run(
                    timebridge_store::NewRun {
                        pipeline_id: ids.pipeline,
                        trigger: timebridge_store::RunTrigger::Manual,
                        dry_run: false,
                        window_from: timebridge_sim::seed::previous_month_start(now),
                        window_to: now.date_naive(),
                        ticket_ids: None,
                        run_after: now,
                        scope: None,
                        undo_of: None,
                    },
                    now,
                )
                .await?
        }
    };
    Ok((world, run.id, ids.source_connector))
}

/// What Jibble's people do while the demo runs: every 20 s someone clocks in (on a
/// project and an activity) or, if clocked in, out; a relay webhook tells timebridge, so
/// the Odoo simulator's attendances open and close within seconds (the pipeline's
/// 5-minute polling would catch them too).
async fn demo_jibble_live(jibble: timebridge_sim::JibbleControl, webhook_url: String) {
    use rand::Rng;
    use timebridge_sim::jibble::ClockIn;
    let people: Vec<String> = jibble.people().into_iter().map(|p| p.id).collect();
    let activities: Vec<String> = jibble.activities().into_iter().map(|a| a.id).collect();
    let projects: Vec<String> = jibble.projects().into_iter().map(|p| p.id).collect();
    if people.is_empty() {
        return;
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
        let (person, activity, project) = {
            let mut rng = rand::thread_rng();
            let pick = |rng: &mut rand::rngs::ThreadRng, list: &[String]| {
                (!list.is_empty()).then(|| list[rng.gen_range(0..list.len())].clone())
            };
            (
                people[rng.gen_range(0..people.len())].clone(),
                pick(&mut rng, &activities),
                pick(&mut rng, &projects),
            )
        };
        let now = jibble.clock().now();
        let punch = if jibble.is_clocked_in(&person) {
            jibble.clock_out(&person, now)
        } else {
            jibble.clock_in(
                &person,
                now,
                ClockIn {
                    activity_id: activity,
                    project_id: project,
                    note: Some("demo: clocked in".into()),
                },
            )
        };
        if let Ok(punch) = punch {
            let _ = jibble
                .relay_webhook(
                    &webhook_url,
                    timebridge_world::WEBHOOK_SECRET,
                    "timeEntry.created",
                    &punch,
                )
                .await;
        }
    }
}

/// What the demo does while it runs: once the first sync is done, one synced Kimai entry
/// is "corrected by hand" (the next run raises it as `target_modified`); then every 30 s an
/// agent books time on a ticket in Zammad, and Zammad's webhook tells timebridge.
async fn demo_live(
    state: timebridge_server::AppState,
    zammad: timebridge_sim::ZammadControl,
    kimai: timebridge_sim::KimaiControl,
    first_run: i64,
    webhook_url: String,
    secret: String,
) {
    use rand::Rng;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(600);
    while tokio::time::Instant::now() < deadline {
        match state.store.get_run(first_run).await {
            Ok(r) if r.finished_at.is_some() => break,
            _ => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
        }
    }
    if let Some(sheet) = kimai.timesheets().into_iter().find(|t| {
        t.description
            .as_deref()
            .is_some_and(|d| d.contains("[tb-zammad-"))
    }) {
        let _ = kimai.edit_timesheet(sheet.id, |t| {
            t.description = t
                .description
                .take()
                .map(|d| d.replacen(" [tb-", " (corrected by hand in Kimai) [tb-", 1));
        });
    }
    let tickets: Vec<u64> = zammad
        .tickets()
        .into_iter()
        .filter(|t| t.organization_id.is_some())
        .map(|t| t.id)
        .collect();
    let agents: Vec<u64> = zammad
        .users()
        .into_iter()
        .filter(|u| u.id != 1 && matches!(u.role, timebridge_sim::zammad::Role::Agent))
        .map(|u| u.id)
        .collect();
    let types: Vec<u64> = zammad.types().into_iter().map(|t| t.id).collect();
    if tickets.is_empty() || agents.is_empty() {
        return;
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        let (ticket, agent, type_id, minutes) = {
            let mut rng = rand::thread_rng();
            (
                tickets[rng.gen_range(0..tickets.len())],
                agents[rng.gen_range(0..agents.len())],
                types.get(rng.gen_range(0..types.len().max(1))).copied(),
                [5, 10, 15, 30, 45, 60][rng.gen_range(0..6)],
            )
        };
        let mut new =
            timebridge_sim::zammad::NewAccounting::new(ticket, &format!("{minutes}.0"), agent);
        new.type_id = type_id;
        if zammad.add_accounting(new).is_ok() {
            let _ = zammad
                .send_webhook(&webhook_url, Some(&secret), ticket, "demo: time booked")
                .await;
        }
    }
}

/// The demo's changes to the test world's plan (`timebridge_world`, configured through the
/// store on every start, since the simulators' ports change): its own names, this start's
/// webhook secret, an hourly schedule over two months, unmapped users as conflicts, and
/// the last Zammad type ("Internal (old)", which the `demo` seed gives a few accountings)
/// left unmapped on purpose; returns that type's name.
fn demo_plan(world: &mut timebridge_world::World, webhook_secret: &str) -> String {
    let unmapped = world.zammad().types().last().cloned();
    let plan = &mut world.plan;
    plan.source.name = "Demo Zammad".into();
    plan.source.settings["webhook_secret"] = serde_json::json!(webhook_secret);
    plan.target.name = "Demo Kimai".into();
    plan.pipeline = timebridge_world::PipelineDef {
        name: "Demo: Zammad → Kimai".into(),
        enabled: true,
        schedule_enabled: true,
        interval_minutes: 60,
        window_days: 62,
        // Kimai keeps whole minutes: an entry of parts of a minute
        // (`timebridge_sim::seed::DEMO_PART_MINUTE_ACCOUNTINGS`) is rounded up to the next
        // minute, its end (Zammad's booking minute) kept — a policy, not a conflict.
        options: serde_json::json!({"default_project": null, "default_activity": null,
                                     "unmapped_user": "conflict",
                                     "rounding": {"mode": "up", "step_seconds": 60,
                                                  "keep": "end"}}),
    };
    let Some(unmapped) = unmapped else {
        return String::new();
    };
    // Its entries show how an unmapped type looks.
    let key = unmapped.id.to_string();
    plan.mappings
        .retain(|m| !(m.kind == timebridge_store::MappingKind::Activity && m.source_key == key));
    unmapped.name
}
