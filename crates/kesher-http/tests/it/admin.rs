//! The administration pages over HTTP: an admin adds, changes, disables and enables users,
//! creates and revokes tokens (the secret shown once), reads the audit log a page at a time and
//! sets and runs the retention rule, each change then seen through the JSON API; the other
//! roles get 403 on every page and no menu entry; forms without the CSRF field are refused; a
//! bad value is said on the page and changes nothing; Hebrew pages are right to left.

use crate::support::{TestApp, spawn_app};
use crate::web::{Visitor, user};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

/// An app with branch B1 and an admin `root` signed in on a browser.
fn admin() -> (TestApp, Visitor) {
    let app = spawn_app();
    app.seed();
    user(&app, "root", "admin", None);
    let v = Visitor::sign_in(&app, "root", PASSWORD);
    (app, v)
}

fn api_user(app: &TestApp, name: &str) -> serde_json::Value {
    let (s, users) = app.get("/api/users");
    assert_eq!(s, 200);
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

fn sign_in_status(app: &TestApp, name: &str, password: &str) -> u16 {
    app.call_as(
        None,
        "POST",
        "/api/auth/login",
        Some(json!({"username": name, "password": password})),
    )
    .0
}

#[test]
fn an_admin_adds_changes_disables_and_enables_a_user_from_the_page() {
    let (app, mut v) = admin();
    let page = v.get("/admin/users");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"id="user-root""#), "{}", page.body);
    assert!(!page.body.contains("argon2"), "no password hash on the page");
    let csrf = v.csrf("/admin/users");
    let r = v.post(
        "/admin/users",
        &[
            ("username", "noa"),
            ("display_name", "Noa Levi"),
            ("role", "clerk"),
            ("branch", "B1"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(
        (r.status, r.location.as_deref()),
        (303, Some("/admin/users?done=user-added")),
        "{}",
        r.body
    );
    let noa = api_user(&app, "noa");
    assert_eq!(
        (noa["role"].as_str(), noa["disabled"].as_bool()),
        (Some("clerk"), Some(false))
    );
    assert!(noa["branch_id"].is_string());
    let id = noa["id"].as_str().unwrap().to_string();
    let page = v.get("/admin/users?done=user-added");
    assert!(page.body.contains(r#"id="flash""#));
    assert!(page.body.contains(r#"id="user-noa""#));

    // A role that works everywhere: the branch goes with the change.
    let at = format!("/admin/users/{id}");
    let r = v.post(&at, &[("role", "marketing_manager"), ("branch", "B1"), ("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.body);
    let noa = api_user(&app, "noa");
    assert_eq!(noa["role"], "marketing_manager");
    assert!(noa["branch_id"].is_null(), "{noa}");

    // Disable: she cannot sign in; enable: she can again.
    let r = v.post(&at, &[("disabled", "true"), ("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(api_user(&app, "noa")["disabled"], true);
    assert_eq!(sign_in_status(&app, "noa", PASSWORD), 403);
    let r = v.post(&at, &[("disabled", "false"), ("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(api_user(&app, "noa")["disabled"], false);
    assert_eq!(sign_in_status(&app, "noa", PASSWORD), 200);

    // A new password replaces the old one.
    let r = v.post(&at, &[("password", "a brand new secret"), ("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(sign_in_status(&app, "noa", PASSWORD), 401);
    assert_eq!(sign_in_status(&app, "noa", "a brand new secret"), 200);

    // Every change is in the audit log, which its page shows.
    let page = v.get("/admin/audit?action=user.update");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("user.update"));
    assert!(!page.body.contains("argon2"), "no password hash in the log's page");
}

#[test]
fn the_last_admin_cannot_be_disabled_and_the_page_says_why() {
    let (app, mut v) = admin();
    // The test's token is an admin's, but no other admin user exists.
    let root = api_user(&app, "root");
    let csrf = v.csrf("/admin/users");
    let r = v.post(
        &format!("/admin/users/{}", root["id"].as_str().unwrap()),
        &[("disabled", "true"), ("csrf", &csrf)],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains(r#"id="error""#));
    assert!(r.body.contains("last active administrator"), "{}", r.body);
    assert_eq!(api_user(&app, "root")["disabled"], false);
}

#[test]
fn a_bad_value_is_shown_on_the_page_translated_and_changes_nothing() {
    let (app, mut v) = admin();
    let csrf = v.csrf("/admin/users");
    // Too short a password; a clerk without a branch; a till as a user.
    for (form, says) in [
        (
            vec![("username", "omer"), ("role", "analyst"), ("password", "short")],
            "at least",
        ),
        (
            vec![("username", "omer"), ("role", "clerk"), ("password", PASSWORD)],
            "one branch",
        ),
        (
            vec![("username", "omer"), ("role", "pos_device"), ("password", PASSWORD)],
            "API tokens",
        ),
    ] {
        let mut form = form;
        form.push(("csrf", &csrf));
        let r = v.post("/admin/users", &form);
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains(r#"id="error""#), "{}", r.body);
        assert!(r.body.contains(says), "{says}: {}", r.body);
        // The form keeps what was typed, never the password.
        assert!(r.body.contains(r#"value="omer""#));
        assert!(!r.body.contains(PASSWORD));
    }
    assert!(api_user(&app, "omer").is_null(), "nothing was added");

    // In Hebrew the reason is Hebrew.
    let r = v.send(
        "POST",
        "/admin/users",
        Some(&[
            ("username", "omer"),
            ("role", "analyst"),
            ("password", "short"),
            ("csrf", &csrf),
        ]),
        Some("he"),
    );
    assert_eq!(r.status, 422);
    assert!(r.body.contains("הסיסמה חייבת"), "{}", r.body);

    // Retention: not a number, out of range.
    app.call("PUT", "/api/privacy/retention", Some(json!({"years": 7})));
    for bad in ["abc", "0", "500"] {
        let r = v.post("/admin/retention", &[("years", bad), ("csrf", &csrf)]);
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
        assert!(r.body.contains(r#"id="retention-years" name="years" value=""#));
        assert!(r.body.contains(r#"aria-invalid="true""#), "the field is named");
        assert!(r.body.contains("whole number of years from 1 to"), "{}", r.body);
    }
    assert_eq!(app.get("/api/privacy/retention").1["years"], 7);

    // A token with an unknown scope, a bad expiry.
    let r = v.post(
        "/admin/tokens",
        &[
            ("name", "x"),
            ("role", "analyst"),
            ("scopes", "fly.away"),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("There is no action"), "{}", r.body);
    let r = v.post(
        "/admin/tokens",
        &[
            ("name", "x"),
            ("role", "analyst"),
            ("expires_in_days", "soon"),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("not a whole number"), "{}", r.body);
    let (_, tokens) = app.get("/api/tokens");
    assert!(tokens.as_array().unwrap().iter().all(|t| t["name"] != "x"));

    // The audit log's filter: a date that is not one.
    let r = v.get("/admin/audit?from=yesterday");
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("is not a date"), "{}", r.body);
}

#[test]
fn forms_without_the_csrf_field_are_refused() {
    let (app, mut v) = admin();
    let bogus = "0".repeat(64);
    for (path, form) in [
        (
            "/admin/users",
            vec![("username", "eve"), ("role", "analyst"), ("password", PASSWORD)],
        ),
        ("/admin/tokens", vec![("name", "eve"), ("role", "analyst")]),
        ("/admin/retention", vec![("years", "2")]),
        ("/admin/retention/run", vec![("confirm", "yes")]),
    ] {
        let r = v.post(path, &form);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        let mut with_bogus = form.clone();
        with_bogus.push(("csrf", &bogus));
        let r = v.post(path, &with_bogus);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    assert!(api_user(&app, "eve").is_null());
    let (_, tokens) = app.get("/api/tokens");
    assert!(tokens.as_array().unwrap().iter().all(|t| t["name"] != "eve"));
    assert!(app.get("/api/privacy/retention").1["years"].is_null());
}

#[test]
fn a_tokens_secret_is_shown_once_and_it_can_be_revoked() {
    let (app, mut v) = admin();
    let csrf = v.csrf("/admin/tokens");
    let r = v.post(
        "/admin/tokens",
        &[
            ("name", "till-1"),
            ("role", "pos_device"),
            ("branch", "B1"),
            ("scopes", "customers.lookup, transactions.record"),
            ("expires_in_days", "30"),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let at = r.body.find(r#"id="token-secret">"#).expect("the secret is shown");
    let rest = &r.body[at + r#"id="token-secret">"#.len()..];
    let secret = rest[..rest.find('<').unwrap()].to_string();
    assert!(secret.len() > 20, "{secret}");
    // The secret opens the API (limited to its actions: its own identity is not one of them,
    // a refusal rather than "who are you"), and is never shown again: not on the page, not by
    // the API.
    let (s, refused) = app.call_as(Some(&secret), "GET", "/api/auth/me", None);
    assert_eq!(s, 403, "{refused}");
    let page = v.get("/admin/tokens");
    assert!(page.body.contains("till-1"));
    assert!(!page.body.contains(&secret), "the list never shows a secret");
    assert!(!page.body.contains(r#"id="token-secret""#));
    let (_, tokens) = app.get("/api/tokens");
    assert!(!tokens.to_string().contains(&secret));
    let token = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "till-1")
        .unwrap()
        .clone();
    assert_eq!(token["role"], "pos_device");
    assert_eq!(token["scopes"], json!(["customers.lookup", "transactions.record"]));
    assert!(token["expires_at"].is_string());

    // Revoke: the API lists it revoked and the secret no longer opens anything.
    let r = v.post(
        &format!("/admin/tokens/{}/revoke", token["id"].as_str().unwrap()),
        &[("csrf", &csrf)],
    );
    assert_eq!(
        (r.status, r.location.as_deref()),
        (303, Some("/admin/tokens?done=token-revoked"))
    );
    let (_, tokens) = app.get("/api/tokens");
    let token = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "till-1")
        .unwrap();
    assert!(token["revoked_at"].is_string());
    assert_eq!(app.call_as(Some(&secret), "GET", "/api/auth/me", None).0, 401);
    let page = v.get("/admin/tokens");
    assert!(
        !page
            .body
            .contains(&format!("/admin/tokens/{}/revoke", token["id"].as_str().unwrap()))
    );
}

#[test]
fn the_audit_log_page_is_newest_first_filtered_and_paged_by_entry() {
    let (app, mut v) = admin();
    let t0: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
    for i in 0..70i64 {
        let who = if i % 2 == 0 { "user:dana" } else { "user:omer" };
        let when = t0.checked_add(jiff::SignedDuration::from_mins(i)).unwrap();
        app.app
            .append_audit(
                &kesher_store::Actor::new(who, when),
                "test.step",
                "step",
                &format!("step-{i:02}"),
                Some(&json!({"i": i})),
            )
            .unwrap();
    }
    let first = v.get("/admin/audit?action=test.step");
    assert_eq!(first.status, 200, "{}", first.body);
    let pos = |body: &str, s: &str| body.find(s);
    // Newest first: step-69 before step-68; 50 on a page.
    assert!(pos(&first.body, "step-69").unwrap() < pos(&first.body, "step-68").unwrap());
    assert!(first.body.contains("step-20"));
    assert!(!first.body.contains("step-19"));
    let at = first.body.find(r#"id="audit-next""#).expect("a link to older entries");
    let href_at = first.body[..at].rfind("href=\"").unwrap() + 6;
    let href = &first.body[href_at..];
    let href = href[..href.find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    assert!(href.contains("before="), "{href}");
    assert!(href.contains("action=test.step"), "the filter is kept: {href}");
    let second = v.get(&href);
    assert_eq!(second.status, 200);
    assert!(second.body.contains("step-19") && second.body.contains("step-00"));
    assert!(!second.body.contains("step-20"));
    assert!(!second.body.contains(r#"id="audit-next""#));
    // By actor (the user name alone finds "user:dana"), and by dates.
    let dana = v.get("/admin/audit?actor=dana&action=test.step");
    assert!(dana.body.contains("step-68") && !dana.body.contains("step-69"));
    let none = v.get("/admin/audit?action=test.step&until=2026-02-28");
    assert!(none.body.contains(r#"id="audit-empty""#), "{}", none.body);
    let day = v.get("/admin/audit?action=test.step&from=2026-03-01&until=2026-03-01");
    assert!(day.body.contains("step-69"));
    // Each entry's details, and the export's link.
    assert!(first.body.contains("&quot;i&quot;: 69"), "{}", first.body);
    assert!(first.body.contains(r#"href="/api/audit/export""#));
    let export = v.get("/api/audit/export");
    assert_eq!(export.status, 200, "the export opens with the page's session");
    assert!(export.body.contains("step-69"));
}

#[test]
fn the_roles_page_shows_the_permission_matrix() {
    let (_app, mut v) = admin();
    let r = v.get("/admin/roles");
    assert_eq!(r.status, 200, "{}", r.body);
    let row = |key: &str| {
        let at = r.body.find(&format!(r#"id="action-{key}""#)).unwrap();
        let end = r.body[at..].find("</tr>").unwrap();
        r.body[at..at + end].to_string()
    };
    // Admin, marketing manager, branch manager, clerk, analyst, till.
    let grants = |row: &str| {
        row.split("class=\"grant grant-")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        grants(&row("users-manage")),
        ["allow", "deny", "deny", "deny", "deny", "deny"]
    );
    assert_eq!(
        grants(&row("customers-read")),
        ["allow", "allow", "own-branch", "own-branch", "anonymised", "deny"]
    );
}

#[test]
fn retention_is_set_checked_then_run_from_its_page() {
    let (app, mut v) = admin();
    let csrf = v.csrf("/admin/retention");
    let r = v.post("/admin/retention", &[("years", "3"), ("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(app.get("/api/privacy/retention").1["years"], 3);
    // The first step only counts, and asks to confirm when there is someone to remove.
    let r = v.post("/admin/retention/run", &[("csrf", &csrf)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#"id="retention-check""#), "{}", r.body);
    assert!(!r.body.contains(r#"id="retention-done""#));
    let r = v.post("/admin/retention/run", &[("confirm", "yes"), ("csrf", &csrf)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#"id="retention-done""#), "{}", r.body);
    // Empty keeps customers forever.
    let r = v.post("/admin/retention", &[("years", ""), ("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    assert!(app.get("/api/privacy/retention").1["years"].is_null());
}

#[test]
fn other_roles_get_403_on_every_admin_page_and_no_menu_entry() {
    let (app, mut root) = admin();
    assert!(root.get("/").body.contains(r#"id="nav-admin""#));
    user(&app, "mona", "marketing_manager", None);
    user(&app, "carl", "clerk", Some("B1"));
    user(&app, "ana", "analyst", None);
    for name in ["mona", "carl", "ana"] {
        let mut v = Visitor::sign_in(&app, name, PASSWORD);
        let home = v.get("/");
        assert_eq!(home.status, 200);
        assert!(!home.body.contains(r#"id="nav-admin""#), "{name} sees the menu entry");
        assert!(!home.body.contains("/admin/"), "{name}");
        for page in [
            "/admin/users",
            "/admin/roles",
            "/admin/tokens",
            "/admin/audit",
            "/admin/retention",
        ] {
            let r = v.get(page);
            assert_eq!(r.status, 403, "{name} {page}");
            assert!(r.body.contains("<html"), "an error page");
        }
        let csrf = v.csrf("/");
        for (path, form) in [
            (
                "/admin/users",
                vec![("username", "x"), ("role", "admin"), ("password", PASSWORD)],
            ),
            ("/admin/tokens", vec![("name", "x"), ("role", "admin")]),
            ("/admin/retention", vec![("years", "1")]),
            ("/admin/retention/run", vec![("confirm", "yes")]),
        ] {
            let mut form = form;
            form.push(("csrf", &csrf));
            assert_eq!(v.post(path, &form).status, 403, "{name} {path}");
        }
    }
    assert!(api_user(&app, "x").is_null());
}

#[test]
fn admin_pages_are_mirrored_in_hebrew_and_dated_in_persian() {
    let (_app, mut v) = admin();
    for page in [
        "/admin/users",
        "/admin/roles",
        "/admin/tokens",
        "/admin/audit",
        "/admin/retention",
    ] {
        let r = v.send("GET", page, None, Some("he"));
        assert_eq!(r.status, 200, "{page}");
        assert!(r.body.contains(r#"<html lang="he" dir="rtl">"#), "{page}");
        assert!(!r.body.contains("style="), "{page}: no inline style");
        assert!(!r.body.contains("<script>"), "{page}: no inline script");
    }
    // Persian: the dates of the users' list in the Solar Hijri calendar, Persian digits.
    let r = v.send("GET", "/admin/users", None, Some("fa"));
    assert!(r.body.contains(r#"dir="rtl""#));
    assert!(r.body.contains('۱') || r.body.contains('۰'), "Persian digits");
    assert!(!r.body.contains("2026-"), "no Gregorian ISO date");
}
