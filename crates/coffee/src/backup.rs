//! `coffee backup --to FILE` and `coffee restore --from FILE`: the embedded store's data
//! directory, copied while the server runs and put back while it is stopped. PostgreSQL has
//! its own tools for this (docs/operations.md).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use coffee_bus::sqlite::backup::{self, Contents};

use crate::backend::DATABASE_FILE;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new file to write the backup to (refused if it exists).
    #[arg(long)]
    pub to: PathBuf,
    /// The data directory of `coffee serve`; the server may be running.
    #[arg(long, env = "COFFEE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file `coffee backup` wrote.
    #[arg(long)]
    pub from: PathBuf,
    /// The data directory to restore into; no server may be running on it. The database that
    /// is there is kept beside it, renamed `coffee.db.before-restore-<time>`.
    #[arg(long, env = "COFFEE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let db = args.data_dir.join(DATABASE_FILE);
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    eprintln!("backing up {} ({}) to {} ...", db.display(), megabytes(size), args.to.display());
    let done = backup::backup(&db, &args.to).context("backup failed")?;
    println!(
        "backed up to {}: {}, checked in {:.1} s",
        args.to.display(),
        describe(&done.contents),
        done.took.as_secs_f64()
    );
    println!("keep auth.key and webhook.secret from {} too (they are not in the backup)", args.data_dir.display());
    Ok(())
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let db = args.data_dir.join(DATABASE_FILE);
    eprintln!("restoring {} into {} ...", args.from.display(), db.display());
    let done = backup::restore(&args.from, &db, &crate::services::migrations()).context("restore failed")?;
    println!("restored {}: {}", db.display(), describe(&done.contents));
    if let Some(old) = &done.replaced {
        println!("the database that was there is kept as {}", old.display());
    }
    println!("start the server with --data-dir {} to go on from the backup's moment", args.data_dir.display());
    Ok(())
}

fn describe(c: &Contents) -> String {
    format!(
        "{}, {} events in the journal, {} messages queued, {} dead letters",
        megabytes(c.bytes),
        c.events,
        c.queued,
        c.dead_letters
    )
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}
