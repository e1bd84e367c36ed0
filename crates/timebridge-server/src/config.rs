//! Process configuration: read from environment variables (and an optional `.env`,
//! loaded by the binary), overridable by command-line flags, validated up front.
//!
//! [`Config::from_map`] takes an explicit map so tests never touch the process
//! environment. Every bad value yields a [`ConfigError`] that names the variable and says
//! what is expected.

use std::collections::HashMap;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

/// Every variable the configuration reads, with its meaning; printed by `timebridge check`.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "DATABASE_URL",
        "sqlite://… or postgres://… (default sqlite://$DATA_DIR/timebridge.db)",
    ),
    ("BIND", "listen address (default 127.0.0.1:8080)"),
    ("ADMIN_USERNAME", "the single admin user (default admin)"),
    (
        "ADMIN_PASSWORD",
        "sets the admin's password at start; required until an admin exists",
    ),
    (
        "DATA_DIR",
        "generated keys and the default SQLite file (default ./data)",
    ),
    (
        "ENCRYPTION_KEY",
        "32 bytes, standard base64; generated into DATA_DIR if unset",
    ),
    (
        "SECRET_KEY",
        "32 bytes, standard base64; generated into DATA_DIR if unset",
    ),
    (
        "SYNC_SCHEDULE_HOURS",
        "default sync interval of new pipelines (default 6)",
    ),
    (
        "CORS_ORIGINS",
        "comma list of origins allowed to call the API (default none)",
    ),
    (
        "LOG_FORMAT",
        "pretty or json (default pretty on a TTY, else json)",
    ),
    (
        "PUBLIC_URL",
        "the address people and remotes reach this server at, for links in notifications and the OAuth redirect (default http://BIND)",
    ),
    (
        "SHUTDOWN_GRACE_SECONDS",
        "on SIGTERM, how long a run in progress may take to finish its writes in flight and be recorded (default 20; keep it below the orchestrator's grace, compose: stop_grace_period 30s)",
    ),
    (
        "TRUST_FORWARDED_FOR",
        "true to take the client IP from X-Forwarded-For (only behind a reverse proxy)",
    ),
];

/// Variables that hold secrets; each may instead name a file in `<NAME>_FILE` (Docker
/// and Kubernetes secrets), whose content (without a trailing newline) is the value.
pub const SECRET_VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "ADMIN_PASSWORD",
    "ENCRYPTION_KEY",
    "SECRET_KEY",
];

/// `vars` with every `<NAME>_FILE` of [`SECRET_VARIABLES`] read into `<NAME>`. Both set, or
/// a file that cannot be read, is an error naming the variable.
fn with_secret_files(
    vars: &HashMap<String, String>,
) -> Result<HashMap<String, String>, ConfigError> {
    let mut out = vars.clone();
    for name in SECRET_VARIABLES {
        let file_var = format!("{name}_FILE");
        let Some(path) = vars
            .get(&file_var)
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
        else {
            continue;
        };
        if vars.get(*name).is_some_and(|v| !v.trim().is_empty()) {
            return Err(ConfigError::new(
                &file_var,
                format!("set either {name} or {file_var}, not both"),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(&file_var, format!("cannot read the file {path}: {e}"))
        })?;
        let value = text.strip_suffix('\n').unwrap_or(&text);
        let value = value.strip_suffix('\r').unwrap_or(value);
        out.insert((*name).to_owned(), value.to_owned());
    }
    Ok(out)
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The variable (or key file) at fault.
    pub variable: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl ConfigError {
    fn new(variable: &str, message: impl Into<String>) -> Self {
        Self {
            variable: variable.to_string(),
            message: message.into(),
        }
    }
}

/// How logs are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// A 32-byte key. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Key32([u8; 32]);

impl Key32 {
    /// The raw key bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses standard base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| {
            "expected standard base64 of 32 random bytes (e.g. `openssl rand -base64 32`)"
                .to_string()
        })?;
        let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "expected exactly 32 bytes in standard base64 (e.g. `openssl rand -base64 32`), got {} bytes",
                bytes.len()
            )
        })?;
        Ok(Self(arr))
    }

    fn random() -> Self {
        let mut arr = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut arr);
        Self(arr)
    }

    fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

impl fmt::Debug for Key32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key32(<redacted>)")
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `BIND`.
    pub bind: SocketAddr,
    /// `ADMIN_USERNAME`.
    pub admin_username: String,
    /// `ADMIN_PASSWORD`, if given.
    pub admin_password: Option<SecretString>,
    /// `DATA_DIR`.
    pub data_dir: PathBuf,
    /// `ENCRYPTION_KEY`, if given (else generated, see [`Config::resolve_keys`]).
    pub encryption_key: Option<Key32>,
    /// `SECRET_KEY`, if given (else generated, see [`Config::resolve_keys`]).
    pub secret_key: Option<Key32>,
    /// `SYNC_SCHEDULE_HOURS`.
    pub sync_schedule_hours: u32,
    /// `CORS_ORIGINS`, each an `http(s)://host[:port]` origin.
    pub cors_origins: Vec<String>,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `PUBLIC_URL`: where people and remote systems reach this server (links in
    /// notifications, the OAuth redirect URI, push channel addresses); no trailing slash.
    pub public_url: String,
    /// `SHUTDOWN_GRACE_SECONDS`: how long shutdown waits for a run in progress.
    pub shutdown_grace: std::time::Duration,
    /// `TRUST_FORWARDED_FOR`: take the client IP from `X-Forwarded-For` (right-most
    /// entry). Only safe behind a reverse proxy that sets the header.
    pub trust_forwarded_for: bool,
}

/// The keys in use, after generation or loading.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Encrypts secrets at rest.
    pub encryption: Key32,
    /// Keys the HMAC under which session tokens are stored.
    pub secret: Key32,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Reads the configuration from `vars`; empty values count as unset. A secret may come
    /// from a file instead (`<NAME>_FILE`, e.g. Docker secrets), see [`SECRET_VARIABLES`].
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let vars = &with_secret_files(vars)?;
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".into()));

        let database_url = match get("DATABASE_URL") {
            Some(url) => {
                let ok = url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://");
                if !ok {
                    return Err(ConfigError::new(
                        "DATABASE_URL",
                        "expected a sqlite://… or postgres://… URL",
                    ));
                }
                url
            }
            None => format!("sqlite://{}", data_dir.join("timebridge.db").display()),
        };

        let bind = match get("BIND") {
            Some(b) => b.parse::<SocketAddr>().map_err(|_| {
                ConfigError::new(
                    "BIND",
                    "expected an IP address and port such as 127.0.0.1:8080",
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };

        let admin_username = get("ADMIN_USERNAME").unwrap_or_else(|| "admin".into());
        if admin_username.chars().count() > 64 || admin_username.chars().any(char::is_control) {
            return Err(ConfigError::new(
                "ADMIN_USERNAME",
                "expected at most 64 printable characters",
            ));
        }
        // The password is not trimmed: spaces may be part of it.
        let admin_password = vars
            .get("ADMIN_PASSWORD")
            .filter(|v| !v.is_empty())
            .map(|v| SecretString::from(v.clone()));

        let key = |name: &str| -> Result<Option<Key32>, ConfigError> {
            get(name)
                .map(|v| Key32::from_base64(&v).map_err(|m| ConfigError::new(name, m)))
                .transpose()
        };
        let encryption_key = key("ENCRYPTION_KEY")?;
        let secret_key = key("SECRET_KEY")?;

        let sync_schedule_hours = match get("SYNC_SCHEDULE_HOURS") {
            Some(v) => match v.parse::<u32>() {
                Ok(h) if (1..=24 * 366).contains(&h) => h,
                _ => {
                    return Err(ConfigError::new(
                        "SYNC_SCHEDULE_HOURS",
                        "expected a whole number of hours between 1 and 8784",
                    ));
                }
            },
            None => 6,
        };

        let cors_origins = match get("CORS_ORIGINS") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|o| parse_origin(o).map_err(|m| ConfigError::new("CORS_ORIGINS", m)))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };

        let log_format = match get("LOG_FORMAT").map(|v| v.to_ascii_lowercase()).as_deref() {
            None => {
                if std::io::stdout().is_terminal() {
                    LogFormat::Pretty
                } else {
                    LogFormat::Json
                }
            }
            Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => {
                return Err(ConfigError::new(
                    "LOG_FORMAT",
                    "expected `pretty` or `json`",
                ));
            }
        };

        let public_url = match get("PUBLIC_URL") {
            Some(url) => parse_public_url(&url).map_err(|m| ConfigError::new("PUBLIC_URL", m))?,
            None => format!("http://{bind}"),
        };

        let shutdown_grace = match get("SHUTDOWN_GRACE_SECONDS") {
            Some(v) => match v.parse::<u64>() {
                Ok(s) if (1..=3600).contains(&s) => std::time::Duration::from_secs(s),
                _ => {
                    return Err(ConfigError::new(
                        "SHUTDOWN_GRACE_SECONDS",
                        "expected a whole number of seconds between 1 and 3600",
                    ));
                }
            },
            None => std::time::Duration::from_secs(20),
        };

        let trust_forwarded_for = match get("TRUST_FORWARDED_FOR")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("false" | "0" | "no" | "off") => false,
            Some("true" | "1" | "yes" | "on") => true,
            Some(_) => {
                return Err(ConfigError::new(
                    "TRUST_FORWARDED_FOR",
                    "expected `true` or `false`",
                ));
            }
        };

        Ok(Self {
            database_url,
            bind,
            admin_username,
            admin_password,
            data_dir,
            encryption_key,
            secret_key,
            sync_schedule_hours,
            cors_origins,
            log_format,
            public_url,
            shutdown_grace,
            trust_forwarded_for,
        })
    }

    /// The keys to use: the configured ones, else those stored in `DATA_DIR`
    /// (`encryption.key`, `secret.key`), else freshly generated ones written there with
    /// mode 0600 (and a warning, since losing `encryption.key` loses the stored secrets).
    pub fn resolve_keys(&self) -> Result<Keys, ConfigError> {
        let encryption = match &self.encryption_key {
            Some(k) => k.clone(),
            None => load_or_generate_key(&self.data_dir, "encryption.key", "ENCRYPTION_KEY")?,
        };
        let secret = match &self.secret_key {
            Some(k) => k.clone(),
            None => load_or_generate_key(&self.data_dir, "secret.key", "SECRET_KEY")?,
        };
        Ok(Keys { encryption, secret })
    }

    /// The admin password, if configured.
    pub fn admin_password(&self) -> Option<&str> {
        self.admin_password.as_ref().map(|p| p.expose_secret())
    }
}

fn parse_public_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            format!("`{url}`: expected an http(s) URL such as https://timebridge.example.com")
        })?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(['?', '#', ' ']) {
        return Err(format!(
            "`{url}`: expected an http(s) URL such as https://timebridge.example.com (a path is allowed, no query)"
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn parse_origin(origin: &str) -> Result<String, String> {
    let expected = "expected a comma list of origins such as https://ui.example.com (scheme, host and optional port; no path, no `*`)";
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("`{origin}`: {expected}"))?;
    let valid = !rest.is_empty()
        && !rest.contains('/')
        && !rest.contains('*')
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if valid {
        Ok(origin.trim_end_matches('/').to_string())
    } else {
        Err(format!("`{origin}`: {expected}"))
    }
}

fn load_or_generate_key(dir: &Path, file: &str, variable: &str) -> Result<Key32, ConfigError> {
    let path = dir.join(file);
    let label = format!("{variable} (file {})", path.display());
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            return Key32::from_base64(&text).map_err(|m| ConfigError::new(&label, m));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ConfigError::new(
                &label,
                format!("cannot read the key file: {e}"),
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        ConfigError::new(
            "DATA_DIR",
            format!(
                "cannot create {} for the generated {variable}: {e}",
                dir.display()
            ),
        )
    })?;
    let key = Key32::random();
    write_private_file(&path, format!("{}\n", key.to_base64()).as_bytes())
        .map_err(|e| ConfigError::new(&label, format!("cannot write the generated key: {e}")))?;
    tracing::warn!(
        path = %path.display(),
        variable,
        "Generated a new key because the variable is unset; back the file up or set the variable."
    );
    Ok(key)
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = Config::from_map(&map(&[("LOG_FORMAT", "json")])).unwrap();
        assert_eq!(c.database_url, "sqlite://./data/timebridge.db");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.admin_username, "admin");
        assert!(c.admin_password.is_none());
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.sync_schedule_hours, 6);
        assert!(c.cors_origins.is_empty());
        assert!(!c.trust_forwarded_for);
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://x"),
            ("BIND", "nowhere"),
            ("ENCRYPTION_KEY", "not base64!"),
            ("SECRET_KEY", "c2hvcnQ="),
            ("SYNC_SCHEDULE_HOURS", "0"),
            ("SYNC_SCHEDULE_HOURS", "six"),
            ("CORS_ORIGINS", "*"),
            ("CORS_ORIGINS", "https://ok.example, ftp://bad"),
            ("LOG_FORMAT", "xml"),
            ("TRUST_FORWARDED_FOR", "maybe"),
        ] {
            let err = Config::from_map(&map(&[(var, value)])).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}");
            assert!(
                err.to_string().starts_with(&format!("{var}: expected"))
                    || err.to_string().contains("expected"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_key_of_the_wrong_length_says_how_many_bytes_it_had() {
        let err = Config::from_map(&map(&[("ENCRYPTION_KEY", "c2hvcnQ=")])).unwrap_err();
        assert!(err.message.contains("exactly 32 bytes"), "{err}");
        assert!(err.message.contains("got 5 bytes"), "{err}");
    }

    #[test]
    fn the_public_url_defaults_to_the_bind_address_and_loses_a_trailing_slash() {
        let c = Config::from_map(&map(&[("BIND", "127.0.0.1:9000")])).unwrap();
        assert_eq!(c.public_url, "http://127.0.0.1:9000");
        let c = Config::from_map(&map(&[("PUBLIC_URL", "https://tb.example.com/sync/")])).unwrap();
        assert_eq!(c.public_url, "https://tb.example.com/sync");
        for bad in ["tb.example.com", "https://", "https://tb.example.com/?x=1"] {
            let err = Config::from_map(&map(&[("PUBLIC_URL", bad)])).unwrap_err();
            assert_eq!(err.variable, "PUBLIC_URL", "{bad}");
        }
    }

    #[test]
    fn a_secret_can_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key32::random().to_base64();
        let key_file = dir.path().join("enc");
        std::fs::write(&key_file, format!("{key}\n")).unwrap();
        let pw_file = dir.path().join("pw");
        std::fs::write(&pw_file, " spaced password \n").unwrap();
        let c = Config::from_map(&map(&[
            ("ENCRYPTION_KEY_FILE", key_file.to_str().unwrap()),
            ("ADMIN_PASSWORD_FILE", pw_file.to_str().unwrap()),
        ]))
        .unwrap();
        assert_eq!(c.encryption_key.as_ref().unwrap().to_base64(), key);
        assert_eq!(c.admin_password(), Some(" spaced password "));
    }

    #[test]
    fn a_secret_file_that_is_missing_or_doubled_names_its_variable() {
        let err =
            Config::from_map(&map(&[("SECRET_KEY_FILE", "/nonexistent/secret")])).unwrap_err();
        assert_eq!(err.variable, "SECRET_KEY_FILE");
        assert!(err.message.contains("cannot read"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "x").unwrap();
        let err = Config::from_map(&map(&[
            ("ADMIN_PASSWORD", "y"),
            ("ADMIN_PASSWORD_FILE", f.to_str().unwrap()),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "ADMIN_PASSWORD_FILE");
    }

    #[test]
    fn the_example_environment_file_documents_every_variable_and_secret_file() {
        let example = include_str!("../../../.env.example");
        for (name, _) in VARIABLES {
            assert!(example.contains(name), ".env.example lacks {name}");
        }
        for name in SECRET_VARIABLES {
            assert!(
                example.contains(&format!("{name}_FILE")),
                ".env.example lacks {name}_FILE"
            );
        }
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = Config::from_map(&map(&[("BIND", ""), ("ENCRYPTION_KEY", " ")])).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert!(c.encryption_key.is_none());
    }

    #[test]
    fn debug_output_never_shows_keys_or_the_password() {
        let key = STANDARD.encode([7u8; 32]);
        let c = Config::from_map(&map(&[
            ("ENCRYPTION_KEY", &key),
            ("ADMIN_PASSWORD", "hunter2-distinctive"),
        ]))
        .unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains(&key));
        assert!(!text.contains("hunter2-distinctive"));
    }
}
