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
    Serve,
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
        Command::Serve => match ferry::serve::run(loaded.settings) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("ferry stopped: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
