//! The `tallymq` command line: run the broker, print the default configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tallymq::server::Server;
use tallymq_config::Config;

#[derive(Parser)]
#[command(name = "tallymq", version, about = "An MQTT 3.1.1 and 5.0 broker that stores every message before acknowledging it")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker (embedded defaults unless --config is given).
    Serve(ServeArgs),
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file; keys it does not set keep their defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// MQTT over TCP address (overrides listener.tcp.address).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// MQTT over WebSocket address (overrides listener.ws.address).
    #[arg(long, value_name = "ADDR")]
    ws_listen: Option<SocketAddr>,
    /// Data directory (overrides storage.data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the full default configuration, every key commented.
    Defaults,
    /// Check a configuration file and report the first problem.
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Config { command: ConfigCommand::Defaults } => {
            print!("{}", tallymq_config::defaults_toml());
            Ok(())
        }
        Command::Config { command: ConfigCommand::Check { file } } => {
            Config::load(&file)?;
            println!("{}: ok", file.display());
            Ok(())
        }
        Command::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    config.apply_overrides(args.listen, args.ws_listen, args.data_dir);
    config.validate()?;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log.level))
        .with_context(|| format!("invalid log.level {:?}", config.log.level))?;
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    std::fs::create_dir_all(&config.storage.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.storage.data_dir.display()))?;

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let server = Server::start(config).await?;
        tracing::info!(version = env!("CARGO_PKG_VERSION"), "tallymq started");
        wait_for_signal().await;
        tracing::info!("shutting down");
        server.shutdown().await;
        Ok(())
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
