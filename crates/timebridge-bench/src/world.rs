//! A fresh SQLite database with the Zammad → Kimai test world (`timebridge_world`:
//! simulators in this process, connectors, a pipeline and the seed mappings) configured
//! directly through `timebridge_store` (as the crash-safety tests do), and the environment
//! to run the real `timebridge` binary on it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use timebridge_sim::{KimaiSim, SimOptions, ZammadSim};
use timebridge_store::{Cipher, Store};
use timebridge_world::Pair;

/// The encryption key of the benchmark databases (any fixed key will do).
pub(crate) const KEY: [u8; 32] = [42u8; 32];
/// The webhook secret of the Zammad connector.
pub use timebridge_world::WEBHOOK_SECRET;

#[derive(Debug)]
pub struct World {
    pub dir: tempfile::TempDir,
    pub db_url: String,
    pub store: Store,
    pub zammad: ZammadSim,
    pub kimai: KimaiSim,
    pub zammad_connector: i64,
    pub pipeline: i64,
}

impl World {
    /// Starts the simulators with `opts` and configures the test world's plan: connectors
    /// (the Zammad one with [`WEBHOOK_SECRET`]), one pipeline and its mappings (every
    /// Zammad type to the Kimai global activity of the same name, every organization to
    /// the project with its id; agents map by e-mail without rules).
    pub async fn new(opts: SimOptions) -> anyhow::Result<World> {
        let dir = tempfile::tempdir()?;
        let db_url = format!("sqlite://{}", dir.path().join("timebridge.db").display());
        let store = Store::connect(&db_url, Cipher::new(&KEY)).await?;
        store.migrate().await?;
        let world = timebridge_world::World::start(Pair::ZammadKimai, opts).await?;
        let ids =
            timebridge_world::configure_store(&store, &world.plan, chrono::Utc::now()).await?;
        let (zammad, kimai) = world.into_zammad_kimai();
        Ok(World {
            dir,
            db_url,
            store,
            zammad,
            kimai,
            zammad_connector: ids.source_connector,
            pipeline: ids.pipeline,
        })
    }

    /// The `timebridge` binary with this world's environment (and nothing else), its
    /// output going to `<dir>/<log>.out` and `.err`.
    pub fn command(&self, bin: &Path, args: &[&str], log: &str) -> anyhow::Result<Command> {
        process(bin, self.dir.path(), &self.db_url, args, log)
    }

    pub fn log_path(&self, log: &str, ext: &str) -> PathBuf {
        self.dir.path().join(format!("{log}.{ext}"))
    }

    /// Forgets the simulators' request logs.
    pub fn clear_logs(&self) {
        self.zammad.log().clear();
        self.kimai.log().clear();
    }

    /// Requests both simulators logged since the last [`World::clear_logs`].
    pub fn requests(&self) -> Requests {
        let mut r = Requests::default();
        for e in self
            .zammad
            .log()
            .entries()
            .into_iter()
            .chain(self.kimai.log().entries())
        {
            if e.method == "GET" {
                r.reads += 1;
            } else {
                r.writes += 1;
            }
            *r.by_route.entry(e.route).or_default() += 1;
        }
        r
    }

    /// The stats of the pipeline's latest run.
    pub async fn last_run_stats(&self) -> anyhow::Result<serde_json::Value> {
        let (runs, _) = self.store.list_runs(Some(self.pipeline), 1, 0).await?;
        let run = runs
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no run recorded"))?;
        let mut stats = run.stats;
        stats["status"] = serde_json::json!(run.status);
        Ok(stats)
    }
}

/// The `timebridge` binary on the database `db_url` with data directory `dir` (and nothing
/// else in its environment), its output going to `<dir>/<log>.out` and `.err`.
pub fn process(
    bin: &Path,
    dir: &Path,
    db_url: &str,
    args: &[&str],
    log: &str,
) -> anyhow::Result<Command> {
    // BENCH_WRAP (e.g. `heaptrack -o /tmp/ht/{log}`) runs the binary under a profiler;
    // `{log}` becomes the phase (`full`, `resync`, `incremental`, `serve`, `pair`).
    let wrap: Vec<String> = std::env::var("BENCH_WRAP")
        .map(|w| {
            w.split_whitespace()
                .map(|a| a.replace("{log}", log))
                .collect()
        })
        .unwrap_or_default();
    let mut cmd = match wrap.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let b64 = |k: &[u8]| base64::engine::general_purpose::STANDARD.encode(k);
    let file = |ext: &str| std::fs::File::create(dir.join(format!("{log}.{ext}")));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir)
        .env("DATABASE_URL", db_url)
        .env("DATA_DIR", dir)
        .env("ENCRYPTION_KEY", b64(&KEY))
        .env("SECRET_KEY", b64(&[7u8; 32]))
        .env("ADMIN_PASSWORD", "a long enough password")
        .env("LOG_FORMAT", "json")
        .args(args)
        .stdin(Stdio::null())
        .stdout(file("out")?)
        .stderr(file("err")?);
    Ok(cmd)
}

/// Remote requests by kind.
#[derive(Debug, Default, Clone)]
pub struct Requests {
    /// GET requests.
    pub reads: u64,
    /// POST, PATCH, PUT and DELETE requests.
    pub writes: u64,
    pub by_route: BTreeMap<String, u64>,
}

impl Requests {
    pub fn total(&self) -> u64 {
        self.reads + self.writes
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "total": self.total(),
            "reads": self.reads,
            "writes": self.writes,
            "by_route": self.by_route,
        })
    }
}
