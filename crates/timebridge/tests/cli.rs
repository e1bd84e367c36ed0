//! The binary's command line: version, and configuration errors that name the variable
//! and exit before touching anything.

use std::process::Command;

fn timebridge() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_timebridge"));
    cmd.env_clear().current_dir(std::env::temp_dir());
    cmd
}

#[test]
fn version_prints_the_package_version() {
    let out = timebridge().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("timebridge {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_bad_variable_stops_every_command_with_a_message_naming_it() {
    for (var, value, command) in [
        ("BIND", "nowhere", "serve"),
        ("ENCRYPTION_KEY", "c2hvcnQ=", "migrate"),
        ("DATABASE_URL", "mysql://db", "check"),
    ] {
        let out = timebridge().env(var, value).arg(command).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!("error: {var}: expected")),
            "{stderr}"
        );
    }
}

#[test]
fn a_flag_overrides_its_variable() {
    let out = timebridge()
        .env("BIND", "127.0.0.1:8080")
        .args(["--bind", "not-an-address", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BIND: expected"));
}

#[tokio::test]
async fn rotate_key_re_encrypts_the_secrets_and_replaces_a_generated_key_file() {
    use timebridge_store::{Cipher, NewConnector, Secret, Store};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/tb.db", dir.path().display());
    let run = |cmd: &str| {
        timebridge()
            .env("DATA_DIR", dir.path())
            .env("DATABASE_URL", &db)
            .env("LOG_FORMAT", "json")
            .arg(cmd)
            .output()
            .unwrap()
    };
    assert!(run("migrate").status.success());
    let key_file = dir.path().join("encryption.key");
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    let store = Store::connect(&db, Cipher::from_base64(&old_key).unwrap())
        .await
        .unwrap();
    let c = store
        .create_connector(NewConnector {
            kind: "kimai".into(),
            name: "k".into(),
            base_url: "http://127.0.0.1:9".into(),
            api_token: Some(Secret::new("the-token-value")),
            settings: serde_json::json!({}),
            secret_settings: Default::default(),
        })
        .await
        .unwrap();
    let out = run("rotate-key");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Re-encrypted 1 secret"));
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(new_key.trim(), old_key.trim());
    let reopened = Store::connect(&db, Cipher::from_base64(&new_key).unwrap())
        .await
        .unwrap();
    reopened.verify_encryption_key().await.unwrap();
    let secrets = reopened.get_connector_secrets(c.id).await.unwrap();
    assert_eq!(secrets.api_token.unwrap().expose(), "the-token-value");
    assert!(store.verify_encryption_key().await.is_err());
}

#[test]
fn healthcheck_passes_once_the_server_is_ready_and_fails_when_nothing_answers() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let with_env = |mut cmd: Command| {
        cmd.env("DATA_DIR", dir.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/tb.db?mode=rwc", dir.path().display()),
            )
            .env("ADMIN_PASSWORD", "a-password-for-tests")
            .env("LOG_FORMAT", "json")
            .env("BIND", &bind);
        cmd
    };
    let nothing = with_env(timebridge()).arg("healthcheck").output().unwrap();
    assert_eq!(nothing.status.code(), Some(1), "nothing listens yet");

    let mut server = with_env(timebridge())
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let ready = loop {
        let out = with_env(timebridge()).arg("healthcheck").output().unwrap();
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(ready.contains("\"pending_migrations\":0"), "{ready}");
    server.kill().unwrap();
    server.wait().unwrap();
    let gone = with_env(timebridge()).arg("healthcheck").output().unwrap();
    assert_eq!(gone.status.code(), Some(1));
}

/// The crash points of the crash-safety tests exist only in test builds: the binary a
/// user builds (`cargo build --release -p timebridge`, normal dependencies only) must not
/// enable the `crash-points` feature anywhere.
#[test]
fn a_normal_build_has_no_crash_points() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal,features",
            "-p",
            "timebridge",
            "-f",
            "{p} {f}",
            "--manifest-path",
            manifest,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("timebridge-server"), "{tree}");
    assert!(
        !tree.contains("crash-points"),
        "a normal build enables crash points:\n{tree}"
    );
    // The test builds do enable it (the crash-safety tests rely on that).
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "dev,features",
            "-p",
            "timebridge",
            "-f",
            "{p} {f}",
            "--manifest-path",
            manifest,
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("crash-points"));
}
