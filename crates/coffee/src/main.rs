use anyhow::Context;
use clap::Parser;
use coffee::app::Application;
use coffee::cli::{Cli, Command};
use coffee::config::{self as config, Backend, ServeConfig, ServiceConfig};
use coffee::distributed::{self, NodeConfig, Role};
use tokio_util::sync::CancellationToken;

// The services allocate many small, short-lived strings and JSON values per request, the
// load mimalloc is built for. (Adopted together with other changes; not measured alone.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    if let Err(e) = run(Cli::parse()).await {
        // The whole chain of context, without a backtrace: this is for people.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // sqlx reports each "already exists, skipping" of a migration at info.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(config) => serve(config).await,
        Command::Order(config) => service(Role::Order, config).await,
        Command::Payment(config) => service(Role::Payment, config).await,
        Command::Fulfilment(config) => service(Role::Fulfilment, config).await,
        Command::Gateway(config) => {
            let node = distributed::start_gateway(config).await?;
            run_node(node, "gateway").await
        }
        Command::Bench(args) => coffee::bench::run(args).await,
        Command::Dlq(args) => coffee::dlq::run(args).await,
        Command::Events => {
            print!("{}", coffee::catalogue::markdown());
            Ok(())
        }
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    if let Backend::Distributed { bus, database } = Backend::parse(&config.bus, &config.database)? {
        let node = distributed::start(NodeConfig {
            listen: config.listen,
            bus,
            database,
            roles: Role::ALL.to_vec(),
            gateway: true,
            nats: config.nats.clone(),
            webhook_secret: config.webhook_secret(),
            delivery: config.delivery.options(),
        })
        .await?;
        return run_node(node, "all services").await;
    }
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

async fn service(role: Role, config: ServiceConfig) -> anyhow::Result<()> {
    let Backend::Distributed { bus, database } = Backend::parse(&config.bus, &config.database)? else {
        anyhow::bail!(
            "a service on its own needs --bus nats://... and --database postgres://... (or use `coffee serve`)"
        );
    };
    let node = distributed::start(NodeConfig {
        listen: config.listen,
        bus,
        database,
        roles: vec![role],
        gateway: false,
        nats: config.nats.clone(),
        webhook_secret: config::webhook_secret(config.webhook_secret.as_deref()),
        delivery: config.delivery.options(),
    })
    .await?;
    run_node(node, role.schema()).await
}

async fn run_node(node: Application, what: &str) -> anyhow::Result<()> {
    println!("coffee listening on http://{}", node.addr());
    tracing::info!(serving = what, "serving on NATS JetStream and PostgreSQL; Ctrl-C stops cleanly");
    stop_on_signal(node.shutdown_token());
    node.run_until_stopped().await.context("shutting down")?;
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
