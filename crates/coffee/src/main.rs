use anyhow::Context;
use clap::Parser;
use coffee::app::{Application, Node};
use coffee::cli::{Cli, Command, LogFormat};
use coffee::services::ServiceKind;
use tokio_util::sync::CancellationToken;

// The services allocate many small, short-lived strings and JSON values per request, the
// load mimalloc is built for. (Adopted together with other changes; not measured alone.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    let result = coffee::telemetry::init(cli.command.name()).and_then(|telemetry| {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
        let result = runtime.block_on(run(cli));
        // The runtime's tasks end first; the spans they left are exported after.
        drop(runtime);
        telemetry.shutdown();
        result
    });
    if let Err(e) = result {
        // The whole chain of context, without a backtrace: this is for people.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // sqlx reports each "already exists, skipping" of a migration at info.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        // The span's fields (a request's id, method and path) on each line, flattened beside the event's.
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).flatten_event(true).init(),
    }
    let (node, what) = match cli.command {
        Command::Serve(config) => (config.node()?, "the whole system"),
        Command::Order(config) => (config.node(ServiceKind::Order)?, "the order service"),
        Command::Payment(config) => (config.node(ServiceKind::Payment)?, "the payment service"),
        Command::Fulfilment(config) => (config.node(ServiceKind::Fulfilment)?, "the fulfilment service"),
        Command::Gateway(config) => (config.node()?, "the gateway"),
        Command::Bench(args) => return coffee::bench::run(args).await,
        Command::Dlq(args) => return coffee::dlq::run(args).await,
        Command::Staff(args) => return coffee::staff::run(args).await,
        // Blocking file work, and nothing else runs in this process meanwhile.
        Command::Health(args) => return coffee::health::run(args).await,
        Command::Doctor(args) => return coffee::doctor::run(args).await,
        Command::Backup(args) => return coffee::backup::backup(args),
        Command::Restore(args) => return coffee::backup::restore(args),
        Command::Events => {
            print!("{}", coffee::catalogue::markdown());
            return Ok(());
        }
        Command::Asyncapi => {
            print!("{}", coffee::asyncapi::document());
            return Ok(());
        }
        Command::Openapi => {
            print!("{}", coffee::openapi::system());
            return Ok(());
        }
    };
    serve(node, what).await
}

async fn serve(node: Node, what: &str) -> anyhow::Result<()> {
    let backend = node.backend.describe();
    let app = Application::start_node(node).await?;
    // Scripts and tests read this line to find the port.
    println!("coffee listening on http://{}", app.addr());
    if let Some(notice) = app.notice() {
        println!("{notice}");
    }
    tracing::info!(serving = what, on = %backend, "serving; Ctrl-C stops cleanly");
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
