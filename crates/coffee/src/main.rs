use anyhow::Context;
use clap::{Parser, Subcommand};
use coffee::app::Application;
use coffee::bench::BenchArgs;
use coffee::config::ServeConfig;
use coffee::dlq::DlqArgs;
use tokio_util::sync::CancellationToken;

// The services allocate many small, short-lived strings and JSON values per request;
// mimalloc handled that load with less CPU than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Event Driven Coffee: order, pay, make and collect coffee, the event-driven way.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole system in this process, on the embedded durable store.
    Serve(ServeConfig),
    /// Generate load against a running system and report sagas per second and latency.
    Bench(BenchArgs),
    /// Show or replay the dead-letter queues of a running system.
    Dlq(DlqArgs),
    /// Print the event catalogue (docs/events.md): every event, its producer and consumers.
    Events,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(config) => serve(config).await,
        Command::Bench(args) => coffee::bench::run(args).await,
        Command::Dlq(args) => coffee::dlq::run(args).await,
        Command::Events => {
            print!("{}", coffee::catalogue::markdown());
            Ok(())
        }
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let app = Application::start(config).await?;
    // Scripts and tests read this line to find the port.
    println!("coffee listening on http://{}", app.addr());
    tracing::info!(data_dir = %data_dir.display(), "serving; Ctrl-C stops cleanly");
    stop_on_signal(app.shutdown_token());
    app.run_until_stopped().await.context("shutting down")?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// The first Ctrl-C or SIGTERM stops cleanly; a second one exits at once.
fn stop_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        signal().await;
        tracing::info!("stopping: finishing requests and messages in hand (again to force)");
        token.cancel();
        signal().await;
        tracing::warn!("forced exit; anything unfinished is redelivered on the next start");
        std::process::exit(130);
    });
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
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
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
