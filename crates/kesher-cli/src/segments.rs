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
