//! `kesher users …`, `kesher tokens …` and `kesher privacy …`: accounts, API tokens, retention.

use anyhow::{Context, bail};
use clap::Subcommand;
use kesher_app::App;
use kesher_app::auth::{NewToken, NewUser, UserChange};
use kesher_auth::{Action, Role};
use kesher_store::Actor;
use std::io::BufRead;
use std::process::ExitCode;

/// Who the command line acts as in the audit log.
pub fn cli_actor(app: &App) -> Actor {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Actor::new(format!("cli:{who}"), app.now()).from("cli")
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a user. The password is read from standard input with --password-stdin, or generated
    /// and printed once.
    Add {
        username: String,
        /// admin, marketing_manager, branch_manager, clerk or analyst.
        #[arg(long)]
        role: String,
        /// The branch (its id in your files) of a branch manager or clerk.
        #[arg(long)]
        branch: Option<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user (id or user name): they can no longer sign in and their sessions end.
    Disable { user: String },
    /// Enable a disabled user again.
    Enable { user: String },
    /// Set a new password (read from standard input with --password-stdin, or generated).
    Passwd {
        user: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role (and branch).
    Role {
        user: String,
        role: String,
        #[arg(long)]
        branch: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum TokensCommand {
    /// Create an API token for an integration or a point-of-sale device; prints the secret once.
    Create {
        /// A name to recognise it by, e.g. pos-telaviv-1.
        #[arg(long)]
        name: String,
        /// The role it acts with: pos_device for tills, or any user role.
        #[arg(long)]
        role: String,
        #[arg(long)]
        branch: Option<String>,
        /// Limit it to these actions (repeat), e.g. --scope customers.lookup --scope transactions.record.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Expire after this many days.
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id or name.
    Revoke { token: String },
}

#[derive(Subcommand)]
pub enum PrivacyCommand {
    /// Show or set the retention period: customers inactive for longer are anonymised.
    Retention {
        /// Years of inactivity after which a customer is anonymised.
        #[arg(long, conflicts_with = "clear")]
        years: Option<u32>,
        /// Keep customers forever.
        #[arg(long)]
        clear: bool,
    },
    /// Apply the retention rule now (the server also applies it once a day).
    Apply {
        /// Count only.
        #[arg(long)]
        dry_run: bool,
        /// Use this many years instead of the stored setting.
        #[arg(long)]
        years: Option<u32>,
    },
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password")?;
        let p = line.trim_end_matches(['\n', '\r']).to_owned();
        return Ok((p, false));
    }
    Ok((kesher_app::auth::generate_password()?, true))
}

fn parse_role(s: &str) -> anyhow::Result<Role> {
    Role::parse(s).map_err(|e| anyhow::anyhow!("--role: {e}"))
}

pub fn users(app: &App, c: UsersCommand) -> anyhow::Result<ExitCode> {
    let actor = cli_actor(app);
    match c {
        UsersCommand::Add {
            username,
            role,
            branch,
            name,
            password_stdin,
        } => {
            let role = parse_role(&role)?;
            if role == Role::PosDevice {
                bail!("point-of-sale devices get API tokens: kesher tokens create --role pos_device");
            }
            let (password, generated) = read_password(password_stdin)?;
            let u = app.add_user(
                NewUser {
                    username,
                    display_name: name,
                    role,
                    branch,
                    password: password.clone(),
                },
                &actor,
            )?;
            println!("user {} ({}) added as {}", u.username, u.id, u.role);
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UsersCommand::List { json } => {
            for u in app.list_users()? {
                let branch = match u.branch {
                    Some(b) => app.get_branch(b)?.map(|b| b.external_id),
                    None => None,
                };
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"id": u.id.to_string(), "username": u.username, "display_name": u.display_name,
                            "role": u.role.as_str(), "branch": branch, "disabled": u.disabled, "created_at": u.created_at.to_string()})
                    );
                } else {
                    println!(
                        "{}\t{}\t{}\t{}{}",
                        u.username,
                        u.role,
                        branch.as_deref().unwrap_or("-"),
                        u.display_name.as_deref().unwrap_or(""),
                        if u.disabled { "\t(disabled)" } else { "" }
                    );
                }
            }
        }
        UsersCommand::Disable { user } => {
            let u = app.change_user(
                &user,
                UserChange {
                    disabled: Some(true),
                    ..Default::default()
                },
                &actor,
            )?;
            println!("user {} disabled; their sessions ended", u.username);
        }
        UsersCommand::Enable { user } => {
            let u = app.change_user(
                &user,
                UserChange {
                    disabled: Some(false),
                    ..Default::default()
                },
                &actor,
            )?;
            println!("user {} enabled", u.username);
        }
        UsersCommand::Passwd { user, password_stdin } => {
            let (password, generated) = read_password(password_stdin)?;
            let u = app.change_user(
                &user,
                UserChange {
                    password: Some(password.clone()),
                    ..Default::default()
                },
                &actor,
            )?;
            println!("password of {} changed; their sessions ended", u.username);
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UsersCommand::Role { user, role, branch } => {
            let role = parse_role(&role)?;
            let u = app.change_user(
                &user,
                UserChange {
                    role: Some(role),
                    branch: branch.map(Some),
                    ..Default::default()
                },
                &actor,
            )?;
            println!("user {} is now {}", u.username, u.role);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn tokens(app: &App, c: TokensCommand) -> anyhow::Result<ExitCode> {
    let actor = cli_actor(app);
    match c {
        TokensCommand::Create {
            name,
            role,
            branch,
            scopes,
            expires_days,
        } => {
            let role = parse_role(&role)?;
            let scopes = scopes
                .iter()
                .map(|s| Action::parse(s).map_err(|e| anyhow::anyhow!("--scope: {e}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (t, secret) = app.create_token(
                NewToken {
                    name,
                    role,
                    branch,
                    scopes,
                    expires_in_days: expires_days,
                },
                &actor,
            )?;
            eprintln!(
                "token {} ({}) created for role {}; the secret is shown once:",
                t.name, t.id, t.role
            );
            println!("{}", secret.0);
        }
        TokensCommand::List { json } => {
            for t in app.list_tokens()? {
                let scopes: Vec<&str> = t.scopes.iter().map(|a| a.as_str()).collect();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"id": t.id.to_string(), "name": t.name, "role": t.role.as_str(), "scopes": scopes,
                            "hint": t.hint, "created_at": t.created_at.to_string(), "created_by": t.created_by,
                            "expires_at": t.expires_at.map(|x| x.to_string()), "revoked_at": t.revoked_at.map(|x| x.to_string())})
                    );
                } else {
                    println!(
                        "{}\t{}\t{}\t{}…\t{}\t{}",
                        t.id,
                        t.name,
                        t.role,
                        t.hint,
                        if scopes.is_empty() {
                            "all".to_string()
                        } else {
                            scopes.join(",")
                        },
                        match t.revoked_at {
                            Some(r) => format!("revoked {r}"),
                            None => "live".into(),
                        }
                    );
                }
            }
        }
        TokensCommand::Revoke { token } => {
            let t = app.revoke_token(&token, &actor)?;
            println!("token {} ({}) revoked", t.name, t.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn privacy(app: &App, c: PrivacyCommand) -> anyhow::Result<ExitCode> {
    let actor = cli_actor(app);
    match c {
        PrivacyCommand::Retention { years, clear } => {
            if clear {
                app.set_retention_years(None, &actor)?;
            } else if let Some(y) = years {
                app.set_retention_years(Some(y), &actor)?;
            }
            match app.retention_years()? {
                Some(y) => println!("customers inactive for more than {y} years are anonymised"),
                None => println!("no retention period: customers are kept until erased"),
            }
        }
        PrivacyCommand::Apply { dry_run, years } => {
            let r = app.apply_retention(years, dry_run, &actor)?;
            match (r.years, r.cutoff) {
                (Some(y), Some(cut)) => println!(
                    "retention {y} years (no activity since {cut}): {} customers {}",
                    if dry_run { r.candidates } else { r.erased },
                    if dry_run { "would be anonymised" } else { "anonymised" }
                ),
                _ => println!("no retention period set (kesher privacy retention --years N)"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
