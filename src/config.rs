//! Settings, layered: built-in defaults, then a TOML file, then `FERRY_*`
//! environment variables (`FERRY_SECTION__KEY`, lists comma-separated, a
//! secret `K` may come from the file named by `K_FILE`).

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Every setting Ferry reads. `config.example.toml` lists them all.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// SQLite database, host keys and default homes live here.
    pub data_dir: PathBuf,
    pub sftpd: SftpdSettings,
    pub httpd: HttpdSettings,
    pub default_admin: DefaultAdminSettings,
    pub data_provider: DataProviderSettings,
    pub common: CommonSettings,
    pub storage: StorageSettings,
    pub kms: KmsSettings,
    pub log: LogSettings,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SftpdSettings {
    pub bind: String,
    /// Host key files to use instead of the generated ones.
    pub host_keys: Vec<String>,
    /// Seconds without traffic before a session is closed; 0 disables it.
    pub idle_timeout: u64,
    /// Authentication attempts allowed per connection.
    pub max_auth_tries: u32,
    /// Seconds from connecting to being logged in, handshake included.
    pub login_grace_time: u64,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpdSettings {
    pub bind: String,
    /// Minutes an admin token lives (1-720).
    pub jwt_lifetime: u64,
    /// Secret the token signing key derives from; random per start when empty.
    pub signing_passphrase: String,
    /// Networks (CIDR) or addresses of reverse proxies whose
    /// `X-Forwarded-For` / `X-Real-IP` headers name the client; empty: none.
    pub proxy_allowed: Vec<String>,
    /// PEM certificate chain for HTTPS; empty, with the key, for plain HTTP.
    pub certificate_path: String,
    /// PEM private key of `certificate_path`; set both or neither.
    pub certificate_key_path: String,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DefaultAdminSettings {
    pub username: String,
    pub password: String,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DataProviderSettings {
    /// `sqlite`, `postgresql` or `mysql` (MySQL and MariaDB).
    pub driver: String,
    /// The SQLite database file, relative to the data dir; for a database
    /// server, the database's name.
    pub name: String,
    /// The database server's host name or address (`postgresql`, `mysql`).
    pub host: String,
    /// The database server's port; 0 picks the engine's usual one.
    pub port: i64,
    pub username: String,
    pub password: String,
    /// SFTPGo's `sslmode`: 0 plain connection; 1 to 3 (TLS) are refused.
    pub sslmode: i64,
    /// Quota usage tracking: 0 off, 1 every user, 2 users with limits only.
    pub track_quota: i64,
    /// Where `dumpdata` writes and `loaddata` reads backup files, relative
    /// to the data dir.
    pub backups_path: String,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CommonSettings {
    /// 1 lets a non-empty directory on object storage be renamed, object by
    /// object; 0 refuses it.
    pub rename_mode: i64,
    /// Clients' mode, owner and time changes: 0 carried out, 1 ignored,
    /// 2 ignored where the storage cannot carry them out.
    pub setstat_mode: i64,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    /// Cloud storage without credentials uses the environment's (IAM role,
    /// workload identity); when false such a configuration is refused.
    pub allow_ambient_credentials: bool,
    /// Hosts a user's or folder's storage endpoint may name; empty: any.
    pub allowed_endpoints: Vec<String>,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KmsSettings {
    /// The key stored cloud credentials are sealed with (at least 32 bytes);
    /// when empty, with `master_key_file` empty too, one is generated into
    /// the data dir.
    pub master_key: String,
    /// A file holding the master key.
    pub master_key_file: String,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// A tracing filter (`info`, `ferry=debug,info`); `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./ferry-data"),
            sftpd: SftpdSettings::default(),
            httpd: HttpdSettings::default(),
            default_admin: DefaultAdminSettings::default(),
            data_provider: DataProviderSettings::default(),
            common: CommonSettings::default(),
            storage: StorageSettings::default(),
            kms: KmsSettings::default(),
            log: LogSettings::default(),
        }
    }
}

impl Default for SftpdSettings {
    fn default() -> Self {
        Self {
            bind: "0.0.0.0:2022".into(),
            host_keys: Vec::new(),
            idle_timeout: 900,
            max_auth_tries: 6,
            login_grace_time: 120,
        }
    }
}

impl Default for HttpdSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            jwt_lifetime: 20,
            signing_passphrase: String::new(),
            proxy_allowed: Vec::new(),
            certificate_path: String::new(),
            certificate_key_path: String::new(),
        }
    }
}

impl Default for DefaultAdminSettings {
    fn default() -> Self {
        Self {
            username: "admin".into(),
            password: "password".into(),
        }
    }
}

impl Default for DataProviderSettings {
    fn default() -> Self {
        Self {
            driver: "sqlite".into(),
            name: "ferry.db".into(),
            host: String::new(),
            port: 0,
            username: String::new(),
            password: String::new(),
            sslmode: 0,
            track_quota: 2,
            backups_path: "backups".into(),
        }
    }
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            allow_ambient_credentials: true,
            allowed_endpoints: Vec::new(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}

/// The settings plus what loading them noticed (unknown keys), to be logged
/// once logging is up.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    pub warnings: Vec<String>,
}

const ENV_PREFIX: &str = "FERRY_";
/// `ferry serve`'s own flags, read by the command line parser: not settings.
const CLI_ENV_VARS: [&str; 4] = [
    "FERRY_LOADDATA_FROM",
    "FERRY_LOADDATA_MODE",
    "FERRY_LOADDATA_SCAN",
    "FERRY_LOADDATA_CLEAN",
];
const DEFAULT_FILE: &str = "ferry.toml";

impl Settings {
    /// Loads defaults, then `file` (or `./ferry.toml` if present), then the
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Loaded> {
        Self::load_from(file, std::env::vars())
    }

    fn load_from(
        file: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Loaded> {
        let defaults = Value::try_from(Settings::default()).context("serialising defaults")?;
        let Value::Table(defaults) = defaults else {
            bail!("defaults are not a table");
        };
        let mut merged = defaults.clone();
        let mut warnings = Vec::new();

        let path = match file {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.exists()),
        };
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            let table: Table = toml::from_str(&text)
                .with_context(|| format!("parsing config file {}", path.display()))?;
            merge_file(&mut merged, &defaults, table, "", &mut warnings)?;
        }

        let mut env: Vec<_> = env
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !CLI_ENV_VARS.contains(&k.as_str()))
            .collect();
        env.sort();
        for (name, value) in env {
            apply_env(&mut merged, &defaults, &name, value, &mut warnings)?;
        }

        let mut settings: Settings = Value::Table(merged)
            .try_into()
            .context("invalid settings")?;
        // Homes and other paths derived from the data dir are stored with
        // users, so they must not depend on the directory Ferry starts in.
        settings.data_dir = std::path::absolute(&settings.data_dir)
            .with_context(|| format!("resolving data_dir {}", settings.data_dir.display()))?;
        settings.check()?;
        Ok(Loaded { settings, warnings })
    }

    fn check(&self) -> Result<()> {
        self.sftp_bind()?;
        self.http_bind()?;
        self.proxy_allowed()?;
        self.tls_files()?;
        if !(1..=720).contains(&self.httpd.jwt_lifetime) {
            bail!("httpd.jwt_lifetime must be between 1 and 720 minutes");
        }
        check_log_level(&self.log.level)?;
        self.quota_tracking()?;
        if self.sftpd.login_grace_time == 0 {
            bail!("sftpd.login_grace_time must be at least 1 second");
        }
        if self.sftpd.max_auth_tries == 0 {
            bail!("sftpd.max_auth_tries must be at least 1");
        }
        self.database()?;
        if !(0..=1).contains(&self.common.rename_mode) {
            bail!("common.rename_mode must be 0 or 1");
        }
        self.setstat_mode()?;
        if let Some(bad) = self
            .storage
            .allowed_endpoints
            .iter()
            .find(|h| !valid_host(h))
        {
            bail!("storage.allowed_endpoints: {bad:?} is not a host name or address");
        }
        if !self.kms.master_key.is_empty() && !self.kms.master_key_file.is_empty() {
            bail!("kms.master_key and kms.master_key_file are both set: give one");
        }
        if self.default_admin.username.is_empty() || self.default_admin.password.is_empty() {
            bail!("default_admin.username and default_admin.password cannot be empty");
        }
        Ok(())
    }

    /// `common.setstat_mode`, parsed.
    pub fn setstat_mode(&self) -> Result<crate::app::SetstatMode> {
        crate::app::SetstatMode::from_code(self.common.setstat_mode)
            .map_err(|e| anyhow::anyhow!("common.{}", e.message()))
    }

    /// Where the data provider lives, from `data_provider`.
    pub fn database(&self) -> Result<Database> {
        let dp = &self.data_provider;
        let (scheme, usual_port) = match dp.driver.as_str() {
            "sqlite" => {
                if dp.name.is_empty() {
                    bail!("data_provider.name cannot be empty: it names the SQLite file");
                }
                return Ok(Database::Sqlite(self.resolve(&dp.name)));
            }
            "postgresql" => ("postgres", 5432),
            "mysql" => ("mysql", 3306),
            other => bail!(
                "data_provider.driver {other:?} is not supported: \"sqlite\", \"postgresql\" or \"mysql\""
            ),
        };
        for (field, value) in [
            ("host", &dp.host),
            ("name", &dp.name),
            ("username", &dp.username),
        ] {
            if value.is_empty() {
                bail!(
                    "data_provider.{field} cannot be empty with driver {:?}",
                    dp.driver
                );
            }
        }
        if !valid_host(&dp.host) {
            bail!(
                "data_provider.host {:?} is not a host name or address",
                dp.host
            );
        }
        let port = match dp.port {
            0 => usual_port,
            p => u16::try_from(p)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| anyhow::anyhow!("data_provider.port {p} is not a port"))?,
        };
        // LIMITATION: connections to a database server are not encrypted
        // (SFTPGo's sslmode 1-3 are refused); keep it on a private network.
        match dp.sslmode {
            0 => {}
            1..=3 => bail!(
                "data_provider.sslmode {} (TLS) is not supported: only 0, a plain connection",
                dp.sslmode
            ),
            other => bail!("data_provider.sslmode must be between 0 and 3, not {other}"),
        }
        // An IPv6 address may come with or without its brackets.
        let bare = dp.host.trim().trim_start_matches('[').trim_end_matches(']');
        let host = if bare.contains(':') {
            format!("[{bare}]")
        } else {
            bare.to_owned()
        };
        let credentials = if dp.password.is_empty() {
            url_escape(&dp.username)
        } else {
            format!("{}:{}", url_escape(&dp.username), url_escape(&dp.password))
        };
        let database = url_escape(&dp.name);
        let mode = if scheme == "postgres" {
            "sslmode=disable"
        } else {
            "ssl-mode=DISABLED"
        };
        Ok(Database::Server {
            url: format!("{scheme}://{credentials}@{host}:{port}/{database}?{mode}"),
            shown: format!("{}://{host}:{port}/{database}", dp.driver),
        })
    }

    /// `data_provider.track_quota`, parsed.
    pub fn quota_tracking(&self) -> Result<ferry_domain::QuotaTracking> {
        ferry_domain::QuotaTracking::from_code(self.data_provider.track_quota)
            .map_err(|e| anyhow::anyhow!("data_provider.{}", e.message()))
    }

    pub fn sftp_bind(&self) -> Result<SocketAddr> {
        parse_bind("sftpd.bind", &self.sftpd.bind)
    }

    pub fn http_bind(&self) -> Result<SocketAddr> {
        parse_bind("httpd.bind", &self.httpd.bind)
    }

    /// `httpd.proxy_allowed`, parsed.
    pub fn proxy_allowed(&self) -> Result<ferry_http::ProxyAllowed> {
        ferry_http::ProxyAllowed::parse(&self.httpd.proxy_allowed)
            .map_err(|e| anyhow::anyhow!("httpd.proxy_allowed: {e}"))
    }

    /// The HTTPS certificate and key, resolved; `None` for plain HTTP.
    pub fn tls_files(&self) -> Result<Option<ferry_http::TlsFiles>> {
        let httpd = &self.httpd;
        let (cert, key) = (&httpd.certificate_path, &httpd.certificate_key_path);
        match (cert.is_empty(), key.is_empty()) {
            (true, true) => Ok(None),
            (false, false) => Ok(Some(ferry_http::TlsFiles {
                certificate: self.resolve(cert),
                private_key: self.resolve(key),
            })),
            (false, true) => bail!(
                "httpd.certificate_path is set but httpd.certificate_key_path is empty: \
                 HTTPS needs both, plain HTTP neither"
            ),
            (true, false) => bail!(
                "httpd.certificate_key_path is set but httpd.certificate_path is empty: \
                 HTTPS needs both, plain HTTP neither"
            ),
        }
    }

    /// A path setting, resolved against the data dir when relative.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.data_dir.join(p)
        }
    }
}

/// An allowed endpoint is a bare host: a name, an IPv4 address or a
/// bracketed IPv6 address, optionally with a port.
fn valid_host(host: &str) -> bool {
    let host = host.trim();
    !host.is_empty()
        && !host.contains("://")
        && !host.contains('/')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c))
}

const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// `log.level` is a filter: comma-separated `level` or `target=level` items.
/// A bare unknown word would silently turn on tracing for a target of that
/// name, so each item must name a level.
fn check_log_level(filter: &str) -> Result<()> {
    for item in filter.split(',').map(str::trim) {
        let level = item.rsplit_once('=').map_or(item, |(_, level)| level);
        if !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            bail!(
                "log.level {filter:?}: {item:?} names no level (one of {}, optionally as \
                 target=level)",
                LOG_LEVELS.join(", ")
            );
        }
    }
    Ok(())
}

fn parse_bind(name: &str, value: &str) -> Result<SocketAddr> {
    value
        .parse()
        .with_context(|| format!("{name} {value:?} is not an address:port"))
}

/// Merges a file's table into `merged`, warning about keys Ferry does not know.
fn merge_file(
    merged: &mut Table,
    defaults: &Table,
    file: Table,
    section: &str,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for (key, value) in file {
        let full = if section.is_empty() {
            key.clone()
        } else {
            format!("{section}.{key}")
        };
        match (defaults.get(&key), value) {
            (None, _) => warnings.push(format!("unknown setting {full:?} in the config file")),
            (Some(Value::Table(sub_defaults)), Value::Table(sub)) => {
                let Some(Value::Table(target)) = merged.get_mut(&key) else {
                    bail!("setting {full:?} should be a section");
                };
                merge_file(target, sub_defaults, sub, &full, warnings)?;
            }
            (Some(Value::Table(_)), _) => bail!("setting {full:?} should be a section"),
            (Some(_), value) => {
                merged.insert(key, value);
            }
        }
    }
    Ok(())
}

/// Applies one `FERRY_*` variable, converting its text to the type of the
/// default it replaces. A `_FILE` variable reads the value from a file.
fn apply_env(
    merged: &mut Table,
    defaults: &Table,
    name: &str,
    value: String,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let lowered = name[ENV_PREFIX.len()..].to_ascii_lowercase();
    let mut parts: Vec<&str> = lowered.split("__").collect();
    let (section, mut key) = match parts.len() {
        1 => (None, parts.remove(0).to_owned()),
        2 => (Some(parts[0]), parts[1].to_owned()),
        _ => {
            warnings.push(format!("unknown setting in environment variable {name}"));
            return Ok(());
        }
    };
    let section_defaults = match section {
        Some(s) => match defaults.get(s) {
            Some(Value::Table(t)) => t,
            _ => {
                warnings.push(format!("unknown setting in environment variable {name}"));
                return Ok(());
            }
        },
        None => defaults,
    };
    let mut value = value;
    if !section_defaults.contains_key(&key) {
        if let Some(base) = key
            .strip_suffix("_file")
            .filter(|b| section_defaults.contains_key(*b))
        {
            value = read_secret_file(name, &value)?;
            key = base.to_owned();
        } else {
            warnings.push(format!("unknown setting in environment variable {name}"));
            return Ok(());
        }
    }
    let typed = convert(name, &section_defaults[&key], &value)?;
    let target = match section {
        Some(s) => match merged.get_mut(s) {
            Some(Value::Table(t)) => t,
            _ => bail!("setting section {s:?} is missing"),
        },
        None => merged,
    };
    target.insert(key, typed);
    Ok(())
}

fn read_secret_file(name: &str, path: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the file named by {name}"))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

fn convert(name: &str, default: &Value, raw: &str) -> Result<Value> {
    Ok(match default {
        Value::String(_) => Value::String(raw.to_owned()),
        Value::Integer(_) => Value::Integer(
            raw.trim()
                .parse()
                .with_context(|| format!("{name} must be an integer, got {raw:?}"))?,
        ),
        Value::Boolean(_) => Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => bail!("{name} must be true or false, got {raw:?}"),
        }),
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
        other => bail!(
            "{name} cannot be set from the environment ({})",
            other.type_str()
        ),
    })
}

/// Where the data provider lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file that one server process opens at a time.
    Sqlite(PathBuf),
    /// A database server that replicas share.
    Server {
        /// The connection URL, password included.
        url: String,
        /// What logs and errors call it: no password.
        shown: String,
    },
}

/// Shows a server database without its URL, which holds the password.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Server { shown, .. } => f.debug_tuple("Server").field(shown).finish(),
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a
/// user name, password or database name cannot change the URL's shape.
fn url_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn redact(secret: &str) -> &'static str {
    if secret.is_empty() { "" } else { "[redacted]" }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("sftpd.bind", &self.sftpd.bind)
            .field("sftpd.host_keys", &self.sftpd.host_keys)
            .field("sftpd.idle_timeout", &self.sftpd.idle_timeout)
            .field("sftpd.max_auth_tries", &self.sftpd.max_auth_tries)
            .field("sftpd.login_grace_time", &self.sftpd.login_grace_time)
            .field("httpd.bind", &self.httpd.bind)
            .field("httpd.jwt_lifetime", &self.httpd.jwt_lifetime)
            .field(
                "httpd.signing_passphrase",
                &redact(&self.httpd.signing_passphrase),
            )
            .field("httpd.proxy_allowed", &self.httpd.proxy_allowed)
            .field("httpd.certificate_path", &self.httpd.certificate_path)
            .field(
                "httpd.certificate_key_path",
                &self.httpd.certificate_key_path,
            )
            .field("default_admin.username", &self.default_admin.username)
            .field(
                "default_admin.password",
                &redact(&self.default_admin.password),
            )
            .field("data_provider.driver", &self.data_provider.driver)
            .field("data_provider.name", &self.data_provider.name)
            .field("data_provider.host", &self.data_provider.host)
            .field("data_provider.port", &self.data_provider.port)
            .field("data_provider.username", &self.data_provider.username)
            .field(
                "data_provider.password",
                &redact(&self.data_provider.password),
            )
            .field("data_provider.sslmode", &self.data_provider.sslmode)
            .field("data_provider.track_quota", &self.data_provider.track_quota)
            .field(
                "data_provider.backups_path",
                &self.data_provider.backups_path,
            )
            .field("common.rename_mode", &self.common.rename_mode)
            .field("common.setstat_mode", &self.common.setstat_mode)
            .field(
                "storage.allow_ambient_credentials",
                &self.storage.allow_ambient_credentials,
            )
            .field("storage.allowed_endpoints", &self.storage.allowed_endpoints)
            .field("kms.master_key", &redact(&self.kms.master_key))
            .field("kms.master_key_file", &self.kms.master_key_file)
            .field("log.level", &self.log.level)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: Option<&str>, env: &[(&str, &str)]) -> Result<Loaded> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).unwrap();
        }
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Settings::load_from(
            file.map(|_| path.as_path()),
            env.collect::<Vec<_>>().into_iter(),
        )
    }

    fn database(env: &[(&str, &str)]) -> Result<Database> {
        load(None, env).map(|loaded| loaded.settings.database().unwrap())
    }

    #[test]
    fn database_servers_get_a_url_with_escaped_credentials() {
        let db = database(&[
            ("FERRY_DATA_PROVIDER__DRIVER", "postgresql"),
            ("FERRY_DATA_PROVIDER__HOST", "db.internal"),
            ("FERRY_DATA_PROVIDER__NAME", "ferry"),
            ("FERRY_DATA_PROVIDER__USERNAME", "sftp user"),
            ("FERRY_DATA_PROVIDER__PASSWORD", "p@ss/w:rd?#"),
        ])
        .unwrap();
        assert_eq!(
            db,
            Database::Server {
                url: "postgres://sftp%20user:p%40ss%2Fw%3Ard%3F%23@db.internal:5432/ferry?sslmode=disable"
                    .into(),
                shown: "postgresql://db.internal:5432/ferry".into(),
            }
        );
        let db = database(&[
            ("FERRY_DATA_PROVIDER__DRIVER", "mysql"),
            ("FERRY_DATA_PROVIDER__HOST", "::1"),
            ("FERRY_DATA_PROVIDER__PORT", "3307"),
            ("FERRY_DATA_PROVIDER__NAME", "ferry"),
            ("FERRY_DATA_PROVIDER__USERNAME", "root"),
        ])
        .unwrap();
        let Database::Server { url, .. } = db else {
            panic!("a server database expected");
        };
        assert_eq!(url, "mysql://root@[::1]:3307/ferry?ssl-mode=DISABLED");
        let bracketed = database(&[
            ("FERRY_DATA_PROVIDER__DRIVER", "mysql"),
            ("FERRY_DATA_PROVIDER__HOST", " [::1] "),
            ("FERRY_DATA_PROVIDER__NAME", "ferry"),
            ("FERRY_DATA_PROVIDER__USERNAME", "root"),
        ])
        .unwrap();
        let Database::Server { url, .. } = bracketed else {
            panic!("a server database expected");
        };
        assert_eq!(url, "mysql://root@[::1]:3306/ferry?ssl-mode=DISABLED");
    }

    #[test]
    fn incomplete_or_unsupported_database_settings_are_refused() {
        let server = [
            ("FERRY_DATA_PROVIDER__DRIVER", "postgresql"),
            ("FERRY_DATA_PROVIDER__HOST", "127.0.0.1"),
            ("FERRY_DATA_PROVIDER__NAME", "ferry"),
            ("FERRY_DATA_PROVIDER__USERNAME", "postgres"),
        ];
        let refused = |extra: &[(&str, &str)], without: &str| {
            let mut env: Vec<(&str, &str)> = server
                .iter()
                .copied()
                .filter(|(k, _)| *k != without)
                .collect();
            env.extend_from_slice(extra);
            load(None, &env)
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default()
        };
        assert!(
            refused(&[], "FERRY_DATA_PROVIDER__HOST")
                .contains("data_provider.host cannot be empty")
        );
        assert!(refused(&[], "FERRY_DATA_PROVIDER__USERNAME").contains("data_provider.username"));
        assert!(refused(&[("FERRY_DATA_PROVIDER__SSLMODE", "1")], "").contains("TLS"));
        assert!(refused(&[("FERRY_DATA_PROVIDER__SSLMODE", "7")], "").contains("sslmode"));
        assert!(
            refused(&[("FERRY_DATA_PROVIDER__PORT", "70000")], "").contains("data_provider.port")
        );
        assert!(
            refused(&[("FERRY_DATA_PROVIDER__HOST", "http://x")], "")
                .contains("data_provider.host")
        );
        assert!(
            refused(
                &[("FERRY_DATA_PROVIDER__DRIVER", "bolt")],
                "FERRY_DATA_PROVIDER__DRIVER"
            )
            .contains("\"bolt\" is not supported")
        );
        let sqlite = database(&[("FERRY_DATA_DIR", "/srv/ferry")]).unwrap();
        assert_eq!(
            sqlite,
            Database::Sqlite(PathBuf::from("/srv/ferry/ferry.db"))
        );
    }

    #[test]
    fn defaults_then_file_then_env() {
        let loaded = load(
            Some("data_dir = \"/srv\"\n[sftpd]\nbind = \"127.0.0.1:1\"\nidle_timeout = 5\n"),
            &[
                ("FERRY_SFTPD__BIND", "127.0.0.1:2"),
                ("FERRY_HTTPD__JWT_LIFETIME", "30"),
            ],
        )
        .unwrap();
        let s = loaded.settings;
        assert_eq!(s.data_dir, PathBuf::from("/srv"));
        assert_eq!(s.sftpd.bind, "127.0.0.1:2");
        assert_eq!(s.sftpd.idle_timeout, 5);
        assert_eq!(s.httpd.jwt_lifetime, 30);
        assert_eq!(s.httpd.bind, "127.0.0.1:8080");
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn lists_secrets_from_files_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("pw");
        std::fs::write(&secret, "hunter2\n").unwrap();
        let loaded = load(
            Some("[sftpd]\nnope = 1\n"),
            &[
                ("FERRY_SFTPD__HOST_KEYS", "/a, /b"),
                (
                    "FERRY_DEFAULT_ADMIN__PASSWORD_FILE",
                    secret.to_str().unwrap(),
                ),
                ("FERRY_BOGUS", "x"),
            ],
        )
        .unwrap();
        assert_eq!(loaded.settings.sftpd.host_keys, vec!["/a", "/b"]);
        assert_eq!(loaded.settings.default_admin.password, "hunter2");
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        let debug = format!("{:?}", loaded.settings);
        assert!(!debug.contains("hunter2"));
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let err = load(None, &[("FERRY_SFTPD__BIND", "nowhere")]).unwrap_err();
        assert!(format!("{err:#}").contains("sftpd.bind"), "{err:#}");
        let err = load(None, &[("FERRY_HTTPD__JWT_LIFETIME", "x")]).unwrap_err();
        assert!(format!("{err:#}").contains("integer"), "{err:#}");
        assert!(load(Some("[sftpd\n"), &[]).is_err());
        assert!(load(Some("sftpd = 3\n"), &[]).is_err());
    }

    #[test]
    fn a_relative_data_dir_is_made_absolute_at_load() {
        let loaded = load(None, &[("FERRY_DATA_DIR", "rel/data")]).unwrap();
        let expected = std::env::current_dir().unwrap().join("rel/data");
        assert_eq!(loaded.settings.data_dir, expected);
        assert!(loaded.settings.data_dir.is_absolute());
    }

    #[test]
    fn log_level_must_name_levels() {
        for good in [
            "info",
            "DEBUG",
            "ferry=debug,info",
            "warn,ferry_sftp=trace",
            "off",
        ] {
            assert!(load(None, &[("FERRY_LOG__LEVEL", good)]).is_ok(), "{good}");
        }
        for bad in ["verbose", "ferry=loud", "info,", "ferry"] {
            let err = load(None, &[("FERRY_LOG__LEVEL", bad)]).unwrap_err();
            assert!(format!("{err:#}").contains("log.level"), "{bad}: {err:#}");
        }
    }

    #[test]
    fn proxy_allowed_is_a_checked_list() {
        let env = [("FERRY_HTTPD__PROXY_ALLOWED", "127.0.0.1/32, 10.0.0.0/8,::1")];
        let loaded = load(None, &env).unwrap();
        assert_eq!(
            loaded.settings.httpd.proxy_allowed,
            ["127.0.0.1/32", "10.0.0.0/8", "::1"]
        );
        assert!(!loaded.settings.proxy_allowed().unwrap().is_empty());
        let err = load(None, &[("FERRY_HTTPD__PROXY_ALLOWED", "10.0.0.0/99")]).unwrap_err();
        assert!(
            format!("{err:#}").contains("httpd.proxy_allowed"),
            "{err:#}"
        );
    }

    #[test]
    fn https_needs_both_paths_resolved_against_the_data_dir() {
        let loaded = load(None, &[]).unwrap();
        assert!(loaded.settings.tls_files().unwrap().is_none());
        let env = [
            ("FERRY_DATA_DIR", "/srv/ferry"),
            ("FERRY_HTTPD__CERTIFICATE_PATH", "tls/cert.pem"),
            ("FERRY_HTTPD__CERTIFICATE_KEY_PATH", "/etc/ferry/key.pem"),
        ];
        let files = load(None, &env).unwrap().settings.tls_files().unwrap();
        let files = files.expect("both paths are set");
        assert_eq!(files.certificate, PathBuf::from("/srv/ferry/tls/cert.pem"));
        assert_eq!(files.private_key, PathBuf::from("/etc/ferry/key.pem"));
        for (set, missing) in [
            ("CERTIFICATE_PATH", "certificate_key_path"),
            ("CERTIFICATE_KEY_PATH", "certificate_path"),
        ] {
            let name = format!("FERRY_HTTPD__{set}");
            let err = load(None, &[(name.as_str(), "x.pem")]).unwrap_err();
            let missing = format!("httpd.{missing} is empty");
            assert!(format!("{err:#}").contains(&missing), "{err:#}");
        }
    }

    #[test]
    fn the_example_file_lists_every_setting_with_its_default() {
        let text = include_str!("../config.example.toml");
        let example: Table = toml::from_str(text).unwrap();
        let defaults = Value::try_from(Settings::default()).unwrap();
        assert_eq!(Value::Table(example), defaults);
    }
}
