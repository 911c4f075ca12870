//! `kesher copy`: move a whole business from one store to another (typically from the embedded
//! SQLite file to a PostgreSQL server) without losing a row. Every table is streamed out of the
//! source and written into the target in one database transaction; then both sides are read
//! again and each table's row count and checksum compared.

use anyhow::{Context, bail};
use clap::Args;
use kesher_store::Store;
use kesher_store::bulk::{TABLES, TableSpec, TableSum, Value};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Instant;

#[derive(Args)]
pub struct CopyArgs {
    /// The source: a SQLite file (`sqlite:PATH` or a plain path) or a postgres:// URL.
    #[arg(long)]
    from: String,
    /// The target: a postgres:// URL or a SQLite file; its schema is created if needed.
    #[arg(long)]
    to: String,
    /// Copy into a target that already holds rows (by default a non-empty target is refused).
    /// Rows that collide with the target's keys fail the copy, and nothing lands.
    #[arg(long)]
    append: bool,
}

/// Rows in flight between the reading thread and the writer.
const CHANNEL: usize = 16_384;

fn sum_of(s: &dyn Store, t: &'static TableSpec) -> anyhow::Result<TableSum> {
    let mut sum = TableSum::default();
    s.bulk_read(t, &mut |row| sum.add(row))
        .with_context(|| format!("reading {}", t.name))?;
    Ok(sum)
}

pub fn run(args: CopyArgs) -> anyhow::Result<ExitCode> {
    if args.from == args.to {
        bail!("--from and --to name the same database");
    }
    let source = crate::open_store(&args.from).context("opening the source (--from)")?;
    let target = crate::open_store(&args.to).context("opening the target (--to)")?;
    let (source, target) = (source.as_ref(), target.as_ref());

    // What the target holds already: refused unless --append, else the baseline of the check.
    let mut before = Vec::with_capacity(TABLES.len());
    let mut occupied = Vec::new();
    for t in TABLES {
        let n = target
            .bulk_count(t)
            .with_context(|| format!("counting {} in the target", t.name))?;
        if n > 0 {
            occupied.push(format!("{} ({n})", t.name));
        }
        before.push(if n > 0 && args.append {
            sum_of(target, t)?
        } else {
            TableSum::default()
        });
    }
    if !occupied.is_empty() && !args.append {
        bail!(
            "the target is not empty: {}; copy into an empty database, or pass --append",
            occupied.join(", ")
        );
    }

    let started = Instant::now();
    let mut copied: Vec<TableSum> = Vec::with_capacity(TABLES.len());
    let mut writer = target.begin_bulk_write().context("starting the write on the target")?;
    for t in TABLES {
        let t0 = Instant::now();
        let (read, written) = std::thread::scope(|scope| {
            let (tx, rx) = mpsc::sync_channel::<Vec<Value>>(CHANNEL);
            let reader = scope.spawn(move || {
                let mut sum = TableSum::default();
                let mut open = true;
                let r = source.bulk_read(t, &mut |row| {
                    sum.add(row);
                    // A writer that failed has hung up: keep counting, stop sending.
                    open = open && tx.send(row.to_vec()).is_ok();
                });
                r.map(|()| sum)
            });
            let written = writer.write_table(t, &mut rx.into_iter());
            let read = reader
                .join()
                .unwrap_or_else(|_| Err(kesher_store::StoreError::Backend("the reading thread panicked".into())));
            (read, written)
        });
        let read = read.with_context(|| format!("reading {} from the source", t.name))?;
        let written = written.with_context(|| format!("writing {} to the target", t.name))?;
        if written != read.rows {
            bail!("{}: read {} rows but wrote {written}", t.name, read.rows);
        }
        let secs = t0.elapsed().as_secs_f64();
        eprintln!(
            "copied {:<18} {:>11} rows in {:>7.2} s{}",
            t.name,
            read.rows,
            secs,
            if secs > 0.5 {
                format!(" ({:.0} rows/s)", read.rows as f64 / secs)
            } else {
                String::new()
            }
        );
        copied.push(read);
    }
    writer.commit().context("committing the copy on the target")?;
    let total: u64 = copied.iter().map(|s| s.rows).sum();
    eprintln!(
        "committed {total} rows in {:.1} s; reading both sides again to compare",
        started.elapsed().as_secs_f64()
    );

    // Both sides read again, independently of what was sent.
    println!(
        "{:<18} {:>11} {:>11}  {:<16}  {:<16}  result",
        "table", "source rows", "target rows", "source checksum", "target checksum"
    );
    let mut differing = 0;
    for (i, t) in TABLES.iter().enumerate() {
        let src = sum_of(source, t)?;
        let expected = before[i].plus(src);
        let got = sum_of(target, t)?;
        let ok = got == expected && src == copied[i];
        if !ok {
            differing += 1;
        }
        println!(
            "{:<18} {:>11} {:>11}  {:016x}  {:016x}  {}",
            t.name,
            src.rows,
            got.rows - before[i].rows.min(got.rows),
            src.checksum,
            got.checksum.wrapping_sub(before[i].checksum),
            if ok { "ok" } else { "DIFFERS" }
        );
    }
    if differing > 0 {
        eprintln!("error: {differing} tables differ between the source and the target");
        return Ok(ExitCode::FAILURE);
    }
    println!("all {} tables equal: {total} rows copied", TABLES.len());
    Ok(ExitCode::SUCCESS)
}
