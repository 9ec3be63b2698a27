//! `ferry`: an SFTP server whose homes live on local disk or object storage.

use clap::{Parser, Subcommand};
use ferry::config::Settings;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "SFTP server with an SFTPGo-compatible REST API"
)]
struct Cli {
    /// Settings file (TOML); defaults to ./ferry.toml when it exists.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the SFTP server and the REST API.
    Serve(ServeArgs),
}

/// A backup to restore at start-up, before the listeners open.
#[derive(clap::Args)]
struct ServeArgs {
    /// Backup file (SFTPGo's dumpdata format) to restore before serving.
    #[arg(long, env = "FERRY_LOADDATA_FROM", value_name = "FILE")]
    loaddata_from: Option<PathBuf>,
    /// 0: add new objects and update existing ones; 1: add new ones only,
    /// leave existing ones as they are; 2: as 0.
    #[arg(
        long,
        env = "FERRY_LOADDATA_MODE",
        default_value_t = 1,
        value_name = "0|1|2"
    )]
    loaddata_mode: i64,
    /// Quota scan of the restored users: 0 none, 1 all, 2 those with a quota.
    #[arg(
        long,
        env = "FERRY_LOADDATA_SCAN",
        default_value_t = 0,
        value_name = "0|1|2"
    )]
    loaddata_scan: i64,
    /// Delete the backup file once it is restored.
    #[arg(long, env = "FERRY_LOADDATA_CLEAN",
        value_parser = clap::builder::FalseyValueParser::new())]
    loaddata_clean: bool,
}

impl ServeArgs {
    fn startup_restore(&self) -> Option<ferry::serve::StartupRestore> {
        let file = self.loaddata_from.clone()?;
        Some(ferry::serve::StartupRestore {
            file,
            mode: self.loaddata_mode,
            quota_scan: self.loaddata_scan,
            clean: self.loaddata_clean,
        })
    }
}

fn main() -> ExitCode {
    // One TLS crypto provider for the whole process (russh and jsonwebtoken
    // use aws-lc-rs too). An error only means one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let loaded = match Settings::load(cli.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("ferry: cannot load settings: {e:#}");
            return ExitCode::from(2);
        }
    };
    ferry::serve::init_logging(&loaded.settings.log.level);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Serve(args) => match ferry::serve::run(loaded.settings, args.startup_restore()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("ferry stopped: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
