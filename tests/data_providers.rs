//! Ferry on a database server: replicas that share PostgreSQL or MariaDB
//! see the same users and admins (a server that does not answer is in
//! cli.rs, with the other refusals at start).
//! Each test creates its own database (with `psql` or `mariadb`, on the
//! local servers at 127.0.0.1) and drops it at the end.

mod common;

use common::{Cred, Options, Server, all_perms, scratch_dir, sftp, user_json};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy)]
enum Engine {
    Postgres,
    MariaDb,
}

/// A database created for one test, dropped when the test ends.
struct FreshDatabase {
    engine: Engine,
    name: String,
}

impl FreshDatabase {
    fn create(engine: Engine) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("ferry_e2e_{}_{nanos}", std::process::id());
        let db = Self { engine, name };
        db.admin_sql(&format!("CREATE DATABASE {}", db.name));
        db
    }

    /// The engine's command-line client, running `sql` as its superuser.
    fn client(&self, sql: &str) -> Command {
        let mut cmd = match self.engine {
            Engine::Postgres => {
                let mut cmd = Command::new("psql");
                cmd.args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    "5432",
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                ])
                .args(["-v", "ON_ERROR_STOP=1", "-qc", sql]);
                cmd
            }
            Engine::MariaDb => {
                let mut cmd = Command::new("mariadb");
                cmd.args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-e", sql]);
                cmd
            }
        };
        cmd.stdin(Stdio::null());
        cmd
    }

    fn admin_sql(&self, sql: &str) {
        let output = self.client(sql).output().expect("run the database client");
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn env(&self) -> Vec<(String, String)> {
        let (driver, port, user) = match self.engine {
            Engine::Postgres => ("postgresql", "5432", "postgres"),
            Engine::MariaDb => ("mysql", "3306", "root"),
        };
        [
            ("FERRY_DATA_PROVIDER__DRIVER", driver),
            ("FERRY_DATA_PROVIDER__HOST", "127.0.0.1"),
            ("FERRY_DATA_PROVIDER__PORT", port),
            ("FERRY_DATA_PROVIDER__USERNAME", user),
            ("FERRY_DATA_PROVIDER__NAME", &self.name),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {}", self.name);
        let _ = self.client(&sql).output();
    }
}

fn replicas_share_one_database(engine: Engine) {
    let db = FreshDatabase::create(engine);
    let options = || Options {
        env: db.env(),
        ..Options::default()
    };
    let first = Server::start_with(options());
    let second = Server::start_with(options());
    let status = first.api("GET", "/api/v2/status", None).json();
    let driver = match engine {
        Engine::Postgres => "postgresql",
        Engine::MariaDb => "mysql",
    };
    assert_eq!(
        status["data_provider"],
        serde_json::json!({"is_active": true, "driver": driver})
    );

    // A user created through one replica logs in through the other, into
    // the home the user record names (replicas share it in production).
    let password = "shared secret 1";
    first.create_user(&user_json("carol", Some(password), &[], all_perms()));
    let seen = second.get_user("carol");
    assert_eq!(seen["username"], "carol");
    let scratch = scratch_dir();
    sftp(
        &second,
        "carol",
        Cred::Password(password),
        scratch.path(),
        "pwd\n",
    )
    .assert_ok("a login through the second replica");
    let home = seen["home_dir"].as_str().expect("a home_dir");
    assert!(std::path::Path::new(home).is_dir(), "{home} missing");

    // A change made on the second is what the first answers.
    second.update_user("carol", |user| user["status"] = 0.into());
    assert_eq!(first.get_user("carol")["status"], 0);

    // Nothing lives in the replica: a restart finds everything again.
    let first = first.restart(options());
    assert_eq!(first.get_user("carol")["status"], 0);
    let admins = first.api("GET", "/api/v2/admins", None);
    assert_eq!(admins.status, 200, "{admins:?}");
    assert_eq!(admins.json().as_array().map(Vec::len), Some(1));
}

#[test]
fn replicas_share_users_on_postgresql() {
    replicas_share_one_database(Engine::Postgres);
}

#[test]
fn replicas_share_users_on_mariadb() {
    replicas_share_one_database(Engine::MariaDb);
}
