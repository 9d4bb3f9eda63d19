//! `coffee staff add|list|remove`: staff accounts, on the system's own store (the data
//! directory, or PostgreSQL), with or without the server running.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use coffee_auth::{AuthKey, Authenticator};
use coffee_bus::Store;
use coffee_bus::postgres::PgStore;
use coffee_bus::sqlite::{Durability, SqliteOptions, SqliteStore};
use coffee_domain::{StaffName, StaffRole};
use coffee_identity::IdentityService;
use coffee_identity::model::AddStaff;
use coffee_service::Context as Ctx;

use crate::backend::DATABASE_FILE;

#[derive(Debug, Args)]
pub struct StaffArgs {
    #[command(subcommand)]
    pub command: StaffCommand,
    /// The data directory of `coffee serve` (with --database sqlite).
    #[arg(long, global = true, env = "COFFEE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// `sqlite` (the data directory), or the PostgreSQL URL the system uses.
    #[arg(long, global = true, env = "COFFEE_DATABASE", default_value = "sqlite")]
    pub database: String,
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a member of staff (or give a removed one their account back).
    Add {
        /// Their login name: lowercase letters, digits, '.', '_' or '-'.
        name: String,
        /// barista or admin.
        #[arg(long)]
        role: String,
        /// Read the password from standard input (one line), so it is in no shell history.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List the staff.
    List,
    /// Remove a member of staff: their sessions end.
    Remove { name: String },
}

pub async fn run(args: StaffArgs) -> anyhow::Result<()> {
    let store = open(&args).await?;
    // Staff commands sign nothing: any key serves the service's own checks here.
    let service = IdentityService::new(store.shared(), Authenticator::new(&AuthKey::generate(), Vec::new())?);
    let ctx = Ctx::internal();
    let done = match args.command {
        StaffCommand::Add { name, role, .. } => {
            let password = read_password()?;
            let request = AddStaff { name: StaffName::parse(&name)?, role: StaffRole::parse(&role)?, password };
            let added = service.add_staff(&ctx, &request).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("added {} ({})", added.name, added.role);
            Ok(())
        }
        StaffCommand::List => {
            let staff = service.staff_list(&ctx).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if staff.is_empty() {
                println!("no staff");
            }
            for s in staff {
                println!("{:<20} {}", s.name, s.role);
            }
            Ok(())
        }
        StaffCommand::Remove { name } => {
            service.remove_staff(&ctx, &StaffName::parse(&name)?).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("removed {name}; their sessions have ended");
            Ok(())
        }
    };
    close(store).await;
    done
}

/// The password: one line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().take(4096).read_to_string(&mut text).context("reading the password from standard input")?;
    let password = text.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        bail!("no password on standard input (e.g. `printf '%s' \"$PASSWORD\" | coffee staff add ...`)");
    }
    Ok(password)
}

enum Opened {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl Opened {
    fn shared(&self) -> Arc<dyn Store> {
        match self {
            Opened::Sqlite(s) => s.clone(),
            Opened::Postgres(s) => s.clone(),
        }
    }
}

async fn open(args: &StaffArgs) -> anyhow::Result<Opened> {
    if args.database == "sqlite" {
        std::fs::create_dir_all(&args.data_dir)
            .with_context(|| format!("cannot create the data directory {}", args.data_dir.display()))?;
        let path = args.data_dir.join(DATABASE_FILE);
        let options = SqliteOptions {
            path: path.clone(),
            durability: Durability::Full,
            rules: crate::services::rules(),
            readers: 1,
        };
        let store = SqliteStore::open_beside_server(options, &crate::services::migrations())
            .with_context(|| format!("cannot open {}", path.display()))?;
        return Ok(Opened::Sqlite(store));
    }
    if !(args.database.starts_with("postgres://") || args.database.starts_with("postgresql://")) {
        bail!("--database must be `sqlite` or a URL like postgres://user@host/db");
    }
    let store = PgStore::connect(&args.database, coffee_identity::SCHEMA, coffee_identity::store::MIGRATIONS, 2)
        .await
        .with_context(|| format!("cannot use PostgreSQL schema {}", coffee_identity::SCHEMA))?;
    Ok(Opened::Postgres(store))
}

async fn close(store: Opened) {
    match store {
        Opened::Sqlite(s) => s.close().await,
        Opened::Postgres(s) => s.close().await,
    }
}
