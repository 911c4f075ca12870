//! `kesher import`: stream a CSV file into the store with a progress bar and a summary.

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kesher_app::App;
use kesher_app::import::{ImportKind, ImportOptions, ImportSummary, Rejected};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct ImportArgs {
    /// customers, branches, employees, products, transactions or interactions.
    #[arg(value_parser = ["customers", "branches", "employees", "products", "transactions", "interactions"])]
    kind: String,
    /// The CSV file.
    file: PathBuf,
    /// Import the valid rows; write the rejected ones with their reason to FILE.rejects.csv.
    #[arg(long)]
    skip_invalid: bool,
    /// Create bare customers, branches and employees that the file names but the database lacks.
    #[arg(long)]
    create_missing: bool,
    /// Transactions: the sales written earn loyalty points by the earning rule (and refunds take
    /// back their share), in the same unit of work. Off by default: imported history earned, or
    /// did not, under the rules of its time (docs/import-formats.md).
    #[arg(long)]
    award_points: bool,
}

/// Exit code when `--skip-invalid` left rows out: the valid rows landed, but not all of them.
pub const EXIT_REJECTED_ROWS: u8 = 3;

pub fn run(app: &App, a: ImportArgs) -> anyhow::Result<ExitCode> {
    let kind = ImportKind::parse(&a.kind).context("unknown kind")?;
    let opts = ImportOptions {
        skip_invalid: a.skip_invalid,
        create_missing: a.create_missing,
        award_points: a.award_points,
    };
    let s = import_file(app, kind, &a.file, opts, true)?;
    app.audit_import(
        &crate::accounts::cli_actor(app),
        kind,
        &a.file.display().to_string(),
        &s,
    )?;
    println!("{}: {s}", a.file.display());
    if s.rejected > 0 {
        eprintln!("{} rows rejected; see {}", s.rejected, rejects_path(&a.file).display());
        return Ok(ExitCode::from(EXIT_REJECTED_ROWS));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn rejects_path(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".rejects.csv");
    PathBuf::from(p)
}

/// Import one file; the progress bar shows on a terminal only.
pub fn import_file(
    app: &App,
    kind: ImportKind,
    file: &Path,
    opts: ImportOptions,
    progress: bool,
) -> anyhow::Result<ImportSummary> {
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if progress && std::io::stderr().is_terminal() {
        let b = ProgressBar::new(len);
        b.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.set_message(kind.as_str());
        b
    } else {
        ProgressBar::hidden()
    };
    let reader = std::io::BufReader::with_capacity(1 << 20, bar.wrap_read(f));
    let mut rejects: Option<csv::Writer<std::fs::File>> = None;
    let mut reject_err: Option<anyhow::Error> = None;
    let rpath = rejects_path(file);
    let name = file.display().to_string();
    let result = app.import_csv(kind, reader, &name, opts, &mut |r: Rejected| {
        if reject_err.is_some() {
            return;
        }
        let w = match &mut rejects {
            Some(w) => w,
            None => match std::fs::File::create(&rpath) {
                Ok(f) => {
                    let mut w = csv::Writer::from_writer(f);
                    let _ = w.write_record(["line", "column", "reason", "record"]);
                    rejects.insert(w)
                }
                Err(e) => {
                    reject_err = Some(anyhow::Error::new(e).context(format!("creating {}", rpath.display())));
                    return;
                }
            },
        };
        let record = r.record.join(",");
        if let Err(e) = w.write_record([r.line.to_string(), r.column.unwrap_or_default(), r.reason, record]) {
            reject_err = Some(anyhow::Error::new(e).context("writing rejects"));
        }
    });
    bar.finish_and_clear();
    if let Some(mut w) = rejects {
        w.flush().context("writing rejects")?;
    }
    if let Some(e) = reject_err {
        return Err(e);
    }
    Ok(result?)
}
