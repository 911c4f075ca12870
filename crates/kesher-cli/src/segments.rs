//! `kesher segments …`: check, count and list a segment's members, saved segments, and
//! personalised messages rendered for them.

use crate::accounts::cli_actor;
use anyhow::Context;
use clap::Subcommand;
use kesher_app::App;
use kesher_segment::{FIELDS, Segment};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum SegmentsCommand {
    /// Check an expression: print its canonical form and the fields it names, or where it is wrong.
    Check { expression: String },
    /// Every field an expression may name.
    Fields,
    /// Count a segment's members (a saved segment's name or an expression).
    Count { segment: String },
    /// List a segment's members (member number, name), or --json.
    Members {
        segment: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Save (create or replace) a segment under a name.
    Save {
        name: String,
        expression: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// List saved segments.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a saved segment.
    Delete { name: String },
    /// A saved segment's history: who entered and who left it and when, newest first.
    History {
        name: String,
        /// Events shown, 1-1000.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Only events older than this one (the `seq` a previous page ended at).
        #[arg(long)]
        before: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Evaluate every saved segment again, record who entered and who left, and fire the
    /// triggered campaigns on the entries (what the hourly job `segments.refresh` does).
    Refresh {
        #[arg(long)]
        json: bool,
    },
    /// Render a template (Jinja syntax, a file) for the first members of a segment.
    Render {
        segment: String,
        #[arg(long)]
        template: PathBuf,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

pub fn run(app: &App, c: SegmentsCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match c {
        SegmentsCommand::Check { expression } => match Segment::parse(&expression) {
            Ok(s) => {
                writeln!(out, "{s}")?;
                let fields: Vec<String> = s.fields().iter().map(|f| f.name()).collect();
                writeln!(out, "fields: {}", fields.join(", "))?;
            }
            Err(e) => {
                eprintln!("{expression}");
                eprintln!("{}^", " ".repeat(e.column.saturating_sub(1)));
                eprintln!("error: {e}");
                return Ok(ExitCode::FAILURE);
            }
        },
        SegmentsCommand::Fields => {
            for f in FIELDS {
                writeln!(out, "{:<26} {:<10?} {:<9?} {}", f.name, f.ty, f.source, f.doc)?;
            }
            writeln!(
                out,
                "{:<26} {:<10} {:<9} a key of the customer's free-form attributes",
                "attributes.<key>", "Any", "Profile"
            )?;
        }
        SegmentsCommand::Count { segment } => {
            let seg = app.resolve_segment(&segment)?;
            let ev = app.evaluate_segment(&seg, None)?;
            writeln!(
                out,
                "{} of {} customers ({} undecided: a value the expression needs is missing)",
                ev.members.len(),
                ev.considered,
                ev.unknown
            )?;
        }
        SegmentsCommand::Members { segment, limit, json } => {
            let seg = app.resolve_segment(&segment)?;
            let ev = app.evaluate_segment(&seg, None)?;
            let mut rows = Vec::new();
            for id in ev.members.iter().take(limit) {
                if let Some(c) = app.get_customer(*id)? {
                    rows.push(c);
                }
            }
            if json {
                let doc: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|c| serde_json::json!({"id": c.id.to_string(), "member_no": c.member_no, "name": c.name, "language": c.language}))
                    .collect();
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"count": ev.members.len(), "members": doc})
                )?;
            } else {
                for c in &rows {
                    writeln!(
                        out,
                        "{}  {:<12} {}",
                        c.id,
                        c.member_no.as_deref().unwrap_or("-"),
                        c.name.as_deref().unwrap_or("")
                    )?;
                }
                writeln!(out, "{} members", ev.members.len())?;
            }
        }
        SegmentsCommand::Save {
            name,
            expression,
            description,
        } => {
            let s = app.save_segment(&name, &expression, description.as_deref(), &cli_actor(app))?;
            writeln!(out, "saved segment {}: {}", s.name, s.expression)?;
        }
        SegmentsCommand::List { json } => {
            let list = app.list_segments()?;
            if json {
                let doc: Vec<serde_json::Value> = list
                    .iter()
                    .map(|s| {
                        serde_json::json!({"name": s.name, "expression": s.expression, "description": s.description,
                        "updated_at": s.updated_at.to_string(), "updated_by": s.updated_by})
                    })
                    .collect();
                writeln!(out, "{}", serde_json::Value::Array(doc))?;
            } else {
                for s in &list {
                    writeln!(out, "{:<24} {}", s.name, s.expression)?;
                }
            }
        }
        SegmentsCommand::Delete { name } => {
            app.delete_segment(&name, &cli_actor(app))?;
            writeln!(out, "deleted segment {name}")?;
        }
        SegmentsCommand::History {
            name,
            limit,
            before,
            json,
        } => {
            let page = app.segment_history(&name, None, before, limit as usize)?;
            let member_no = |id: kesher_core::CustomerId| -> anyhow::Result<Option<String>> {
                Ok(app.get_customer(id)?.and_then(|c| c.member_no))
            };
            if json {
                let mut events = Vec::new();
                for e in &page.events {
                    events.push(serde_json::json!({
                        "seq": e.seq, "customer_id": e.customer_id.to_string(),
                        "member_no": member_no(e.customer_id)?, "kind": e.kind.as_str(),
                        "at": e.at.to_string(), "run_id": e.run_id.to_string(),
                    }));
                }
                let doc = serde_json::json!({
                    "segment": page.segment, "saved": page.saved, "members": page.members,
                    "events": events, "next_before": page.next_before,
                });
                writeln!(out, "{doc}")?;
            } else {
                for e in &page.events {
                    writeln!(
                        out,
                        "{:>8}  {}  {:<7}  {}  {}",
                        e.seq,
                        e.at,
                        e.kind.as_str(),
                        e.customer_id,
                        member_no(e.customer_id)?.as_deref().unwrap_or("-")
                    )?;
                }
                let state = if page.saved { "" } else { " (deleted)" };
                writeln!(out, "{}{state}: {} members now", page.segment, page.members)?;
                if let Some(b) = page.next_before {
                    writeln!(out, "older events: --before {b}")?;
                }
            }
        }
        SegmentsCommand::Refresh { json } => {
            let r = app.refresh_segment_history(&cli_actor(app))?;
            // Triggered campaigns fire on the entries just recorded.
            let triggered = app.fire_triggered_campaigns(&cli_actor(app))?;
            if json {
                let mut doc = serde_json::to_value(&r)?;
                doc["triggered"] = serde_json::to_value(&triggered)?;
                writeln!(out, "{doc}")?;
            } else {
                for t in triggered.campaigns.iter().filter(|t| t.written > 0) {
                    writeln!(
                        out,
                        "campaign {} ({}): {} entered, {} messages written",
                        t.campaign, t.segment, t.entered, t.written
                    )?;
                }
                for s in r.segments.iter().chain(&r.ended) {
                    match &s.skipped {
                        Some(why) => writeln!(out, "{:<24} skipped: {why}", s.name)?,
                        None => writeln!(
                            out,
                            "{:<24} {} members, {} entered, {} left",
                            s.name, s.members, s.entered, s.left
                        )?,
                    }
                }
                writeln!(
                    out,
                    "refreshed {} segments at {} (run {})",
                    r.segments.len(),
                    r.at,
                    r.run_id
                )?;
            }
        }
        SegmentsCommand::Render {
            segment,
            template,
            limit,
        } => {
            let text = std::fs::read_to_string(&template).with_context(|| format!("reading {}", template.display()))?;
            let seg = app.resolve_segment(&segment)?;
            for m in app.render_for_segment(&seg, &text, None, limit)? {
                writeln!(out, "--- {} ({})", m.customer_id, m.language.as_deref().unwrap_or("-"))?;
                writeln!(out, "{}", m.text)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
