//! The `kesher` binary: a thin clap shell over `kesher_app` and `kesher_http`.

mod accounts;
mod analyze;
mod baskets;
mod campaigns;
mod copy;
mod customers;
mod demo;
mod import;
mod jobs;
mod loyalty;
mod models;
mod points;
mod segments;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kesher_app::clock::Clock;
use kesher_app::{App, Settings};
use kesher_core::Country;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "kesher",
    version,
    about = "Customer relationship and customer-centric marketing engine"
)]
struct Cli {
    /// The database: a SQLite file path (or sqlite:PATH) or a postgres:// URL [default: kesher.db; kesher-demo.db for `demo`].
    #[arg(long, global = true, env = "KESHER_DATABASE_URL")]
    db: Option<PathBuf>,
    /// Country for phone numbers written without a country code (ISO 3166 code).
    #[arg(long, global = true, env = "KESHER_COUNTRY", default_value = "IL")]
    country: String,
    /// Act as if the process had been started at this instant (RFC 3339, e.g.
    /// 2026-01-31T23:00:00Z); the clock runs on from there. For replaying a past day and for tests.
    #[arg(long, global = true, env = "KESHER_NOW")]
    now: Option<jiff::Timestamp>,
    /// The business's IANA time zone, for schedules [default: the first branch's zone, else UTC].
    #[arg(long, global = true, env = "KESHER_TIME_ZONE")]
    time_zone: Option<String>,
    /// How long a job worker's claim lasts without a heartbeat (e.g. 5m, 2s); the heartbeat
    /// renews it every third of that.
    #[arg(long, global = true, env = "KESHER_JOB_LEASE", default_value = "5m")]
    job_lease: jiff::SignedDuration,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import a CSV file (formats: docs/import-formats.md).
    Import(import::ImportArgs),
    /// Create the database if needed and bring its schema up to date (SQLite path or postgres:// URL).
    Migrate,
    /// Copy every table from one database to another (e.g. SQLite to PostgreSQL), then compare
    /// row counts and checksums table by table.
    Copy(copy::CopyArgs),
    /// Serve the JSON API.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
    },
    /// Generate a realistic demo business, import it and serve it.
    Demo(demo::DemoArgs),
    /// Basket analysis: frequent itemsets and association rules.
    #[command(subcommand)]
    Baskets(baskets::BasketsCommand),
    /// Refresh the customer analytics: summary, model fit, P(alive), CLV, RFM, tiers, lifecycle stage.
    Analyze(analyze::AnalyzeArgs),
    /// Fit a customer-base model (BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma) on a summary CSV.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Customers: duplicates, merge, show, export (right of access), erase (right to be forgotten).
    #[command(subcommand)]
    Customers(customers::CustomersCommand),
    /// User accounts: add, list, disable, enable, passwd, role.
    #[command(subcommand)]
    Users(accounts::UsersCommand),
    /// API tokens for integrations and point-of-sale devices: create, list, revoke.
    #[command(subcommand)]
    Tokens(accounts::TokensCommand),
    /// Privacy: the retention period and applying it.
    #[command(subcommand)]
    Privacy(accounts::PrivacyCommand),
    /// Segments: check, count, members, save, list, delete, render a personalised message.
    #[command(subcommand)]
    Segments(segments::SegmentsCommand),
    /// Campaigns: create, list, show, preview, launch, pause, deliver, report, plan.
    #[command(subcommand)]
    Campaigns(campaigns::CampaignsCommand),
    /// Loyalty points: balance, history, adjust, redeem, the earning rule, award.
    #[command(subcommand)]
    Points(points::PointsCommand),
    /// Background jobs: list (with the schedules), run, enqueue, cancel.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// The loyalty program: its definition, enrolment, leaving, members, wallets, tier review.
    #[command(subcommand)]
    Loyalty(loyalty::LoyaltyCommand),
}

fn main() -> std::process::ExitCode {
    // A reader that stops early (`kesher loyalty wallet X | head`) is not an error: the print
    // that meets the closed pipe ends the process quietly, as a Unix tool does, instead of a
    // panic with a backtrace. Every other panic goes to the default hook.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info)
    }));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let country = Country::parse(&cli.country).map_err(|e| anyhow::anyhow!("--country: {}", e.reason))?;
    let time_zone = match cli.time_zone.as_deref() {
        Some(name) => Some(jiff::tz::TimeZone::get(name).with_context(|| format!("--time-zone {name:?}"))?),
        None => None,
    };
    if cli.job_lease <= jiff::SignedDuration::ZERO {
        anyhow::bail!("--job-lease must be positive");
    }
    let settings = Settings {
        default_country: country,
        time_zone,
        job_lease: cli.job_lease,
    };
    let clock: Arc<dyn Clock> = match cli.now {
        Some(start) => Arc::new(kesher_app::clock::OffsetClock::starting_at(start)),
        None => Arc::new(kesher_app::clock::SystemClock),
    };
    // Set once, before any command runs; a second set cannot happen.
    let _ = CLOCK.set(clock);
    let db = cli.db.unwrap_or_else(|| {
        PathBuf::from(if matches!(cli.command, Command::Demo(_)) {
            "kesher-demo.db"
        } else {
            "kesher.db"
        })
    });
    match cli.command {
        Command::Import(args) => import::run(&open_for_import(&db, settings)?, args),
        Command::Migrate => {
            let version = schema_version(&db)?;
            println!("{}: schema at version {version}", db.display());
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Serve { bind } => {
            let app = open(&db, settings)?;
            serve(app, bind)?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Demo(args) => demo::run(args, &db, settings),
        Command::Customers(c) => customers::run(&open(&db, settings)?, c),
        Command::Baskets(b) => baskets::run(&db, settings, b),
        Command::Models(m) => models::run(m),
        Command::Analyze(a) => analyze::run(&open(&db, settings)?, a),
        Command::Users(u) => accounts::users(&open(&db, settings)?, u),
        Command::Tokens(t) => accounts::tokens(&open(&db, settings)?, t),
        Command::Privacy(p) => accounts::privacy(&open(&db, settings)?, p),
        Command::Copy(c) => copy::run(c),
        Command::Segments(c) => segments::run(&open(&db, settings)?, c),
        Command::Campaigns(c) => campaigns::run(&open(&db, settings)?, c),
        Command::Points(p) => points::run(&open(&db, settings)?, p),
        Command::Jobs(j) => jobs::run(&open(&db, settings)?, j),
        Command::Loyalty(l) => loyalty::run(&open(&db, settings)?, l),
    }
}

/// The process's clock: the system's, or one started at `--now`.
static CLOCK: std::sync::OnceLock<Arc<dyn Clock>> = std::sync::OnceLock::new();

/// The clock every command reads "now" from (the system clock until `run` sets `--now`'s).
fn clock() -> Arc<dyn Clock> {
    CLOCK
        .get()
        .cloned()
        .unwrap_or_else(|| Arc::new(kesher_app::clock::SystemClock))
}

/// The store named by `--db`: a `postgres://` URL selects PostgreSQL, anything else is a
/// SQLite file path (`sqlite:` prefix optional).
fn open(db: &Path, settings: Settings) -> anyhow::Result<App> {
    Ok(App::new(open_store(&db.to_string_lossy())?, settings).with_clock(clock()))
}

/// [`open`] for `kesher import`: a SQLite file is opened for a bulk load (an import unit writes
/// its pages once, in a rollback journal, when no other connection has the file open).
fn open_for_import(db: &Path, settings: Settings) -> anyhow::Result<App> {
    Ok(App::new(open_store_as(&db.to_string_lossy(), true)?, settings).with_clock(clock()))
}

/// A store by name: a `postgres://` URL or a SQLite file path (`sqlite:` prefix optional).
fn open_store(name: &str) -> anyhow::Result<Arc<dyn kesher_store::Store>> {
    open_store_as(name, false)
}

/// [`open_store`], a SQLite file opened for a bulk load when `bulk_load`.
fn open_store_as(name: &str, bulk_load: bool) -> anyhow::Result<Arc<dyn kesher_store::Store>> {
    Ok(
        if name.starts_with("postgres://") || name.starts_with("postgresql://") {
            Arc::new(kesher_store_postgres::PgStore::open(name).context("opening the PostgreSQL database")?)
        } else {
            let path = name.strip_prefix("sqlite:").unwrap_or(name);
            let store = if bulk_load {
                kesher_store_sqlite::SqliteStore::open_for_bulk_load(path)
            } else {
                kesher_store_sqlite::SqliteStore::open(path)
            };
            Arc::new(store.with_context(|| format!("opening database {path}"))?)
        },
    )
}

/// Open the database (which applies any pending migration) and report its schema version.
fn schema_version(db: &Path) -> anyhow::Result<i64> {
    let name = db.to_string_lossy();
    if name.starts_with("postgres://") || name.starts_with("postgresql://") {
        let store = kesher_store_postgres::PgStore::open(&name).context("opening the PostgreSQL database")?;
        Ok(store.schema_version()?)
    } else {
        let path = name.strip_prefix("sqlite:").unwrap_or(&name);
        let store = kesher_store_sqlite::SqliteStore::open(path).with_context(|| format!("opening database {path}"))?;
        Ok(store.schema_version()?)
    }
}

/// Serve the API: first make sure an admin exists (its password from KESHER_ADMIN_PASSWORD, or
/// generated and printed once), and run the job worker beside it (the schedules: the nightly
/// analysis and the daily retention run; docs/jobs.md).
fn serve(app: App, bind: std::net::SocketAddr) -> anyhow::Result<()> {
    let password = std::env::var("KESHER_ADMIN_PASSWORD").ok();
    if let Some((user, generated)) = app.ensure_first_admin(password.as_deref())? {
        match generated {
            Some(p) => println!(
                "first start: created user {user:?} with password {p:?} (shown once; change it with kesher users passwd {user})"
            ),
            None => println!("first start: created user {user:?} with the password in KESHER_ADMIN_PASSWORD"),
        }
    }
    let worker = jobs::JobWorker::start(app.clone())?;
    let warmer = jobs::CacheWarmer::start(app.clone())?;
    let delivery = jobs::start_delivery(app.clone())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let served = rt
        .block_on(kesher_http::serve(app, bind, |addr| {
            println!("kesher is serving on http://{addr}/ (API under /api, Ctrl-C to stop)");
        }))
        .with_context(|| format!("serving on {bind}"));
    worker.stop();
    warmer.stop();
    delivery.stop();
    served
}
