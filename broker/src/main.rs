//! The `tallymq` command line: run the broker, print the default configuration, manage the
//! password file.

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
    /// Score messages with the harassment model, as the broker's moderate stage does (the
    /// model and the thresholds of [moderation]; the legal rules need a room and are not run).
    /// Reads one message per line from standard input, plain text or JSON with a "text" field
    /// (an "id" is echoed), and prints one JSON line per message: every category's score, the
    /// categories over threshold, the decision and the model version.
    Moderate {
        /// TOML configuration file for [moderation] (model, runtime library, thresholds).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Add a user to a password file or change their password (argon2id), like
    /// mosquitto_passwd. The password is asked twice on a terminal, or read as one line from
    /// standard input. The running broker rereads the file on SIGHUP.
    Passwd {
        /// The password file (created if missing).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(value_name = "USER")]
        user: String,
        /// Remove the user instead.
        #[arg(long, short = 'D')]
        delete: bool,
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
    /// Development mode: accept every client and allow every topic (sets auth.mode = "open").
    /// Never in production.
    #[arg(long)]
    open: bool,
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
        Command::Passwd { file, user, delete } => passwd(&file, &user, delete),
        Command::Moderate { config } => moderate(config.as_deref()),
    }
}

fn moderate(config: Option<&std::path::Path>) -> anyhow::Result<()> {
    use tallymq::pipeline::{model_source, policy_of, runtime_library};
    use tallymq_ai_filter::{init_runtime, Classifier};

    let config = match config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let settings = &config.moderation;
    init_runtime(runtime_library(settings))?;
    let mut classifier = Classifier::load(&model_source(settings))?;
    let policy = policy_of(settings, classifier.info());
    let input = std::io::stdin().lock();
    let output = std::io::BufWriter::new(std::io::stdout().lock());
    let summary = tallymq_ai_filter::cli::run_moderate(input, output, &mut classifier, &policy).context("moderate")?;
    eprintln!("{}", summary.describe(&classifier.info().version));
    Ok(())
}

fn passwd(file: &std::path::Path, user: &str, delete: bool) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal};
    use tallymq::auth::password_file::PasswordFile;

    let mut users = PasswordFile::load_or_empty(file)?;
    if delete {
        anyhow::ensure!(users.remove(user), "{} has no user {user:?}", file.display());
        users.save(file)?;
        println!("{user} removed from {}", file.display());
        return Ok(());
    }
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {user}: ")).context("cannot read the password")?;
        let again = rpassword::prompt_password("Again: ").context("cannot read the password")?;
        anyhow::ensure!(first == again, "the passwords differ; nothing changed");
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    anyhow::ensure!(!password.is_empty(), "empty password; nothing changed");
    let existed = users.contains(user);
    users.set(user, password.as_bytes())?;
    users.save(file)?;
    println!("{user} {} in {}", if existed { "changed" } else { "added" }, file.display());
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    config.apply_overrides(args.listen, args.ws_listen, args.data_dir);
    if args.open {
        config.auth.mode = tallymq_config::AuthMode::Open;
    }
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
        // Installed before "started" is logged: from then on SIGHUP reloads, it never kills.
        let signals = Signals::install().context("cannot install signal handlers")?;
        tracing::info!(version = env!("CARGO_PKG_VERSION"), "tallymq started");
        signals.serve_until_stopped(&server).await;
        tracing::info!("shutting down");
        server.shutdown().await;
        Ok(())
    })
}

/// The signals the broker acts on: SIGINT and SIGTERM stop it, SIGHUP rereads what
/// `Server::reload` rereads (certificates, ...) without dropping connections.
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Reloads on every SIGHUP until SIGINT or SIGTERM arrives.
    async fn serve_until_stopped(mut self, server: &Server) {
        loop {
            tokio::select! {
                _ = self.terminate.recv() => return,
                _ = self.interrupt.recv() => return,
                _ = self.hangup.recv() => {
                    // Reads a few small files; failures are logged by `reload`, naming them.
                    let report = server.reload();
                    if report.is_ok() {
                        tracing::info!(%report, "reloaded on SIGHUP");
                    } else {
                        tracing::error!(%report, "reload on SIGHUP incomplete");
                    }
                }
            }
        }
    }
}
