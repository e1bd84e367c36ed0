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
