//! The web interface's pages over HTTP (the browser tests in `browser.rs` drive the same pages
//! in Chromium): sign-in by form, the visitor sent to sign in, forms refused without the CSRF
//! field, the language from the setting, the cookie and Accept-Language, pages under the same
//! permissions as the API, and the dashboard's numbers equal to the API's.

use crate::support::{TestApp, spawn_app};
use serde_json::{Value, json};

/// A browser without a browser: a session cookie, redirects seen rather than followed.
pub(crate) struct Visitor {
    agent: ureq::Agent,
    base: String,
    cookies: Vec<(String, String)>,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) body: String,
}

impl Visitor {
    pub(crate) fn new(app: &TestApp) -> Visitor {
        Visitor {
            agent: ureq::AgentBuilder::new().redirects(0).build(),
            base: app.base.clone(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, r: &ureq::Response) {
        for c in r.all("set-cookie") {
            let Some((kv, _)) = c.split_once(';') else { continue };
            let Some((k, v)) = kv.split_once('=') else { continue };
            self.cookies.retain(|(n, _)| n != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    pub(crate) fn send(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
        lang: Option<&str>,
    ) -> Reply {
        // As a browser does: a page's errors come back as pages.
        let mut req = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        if !self.cookies.is_empty() {
            req = req.set("Cookie", &self.cookie_header());
        }
        if let Some(l) = lang {
            req = req.set("Accept-Language", l);
        }
        let res = match form {
            Some(f) => req.send_form(f),
            None => req.call(),
        };
        let r = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        self.keep_cookies(&r);
        Reply {
            status: r.status(),
            location: r.header("location").map(str::to_string),
            body: r.into_string().unwrap_or_default(),
        }
    }

    pub(crate) fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, None, None)
    }

    pub(crate) fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.send("POST", path, Some(form), None)
    }

    /// The CSRF token of the page's forms.
    pub(crate) fn csrf(&mut self, page: &str) -> String {
        let body = self.get(page).body;
        let at = body.find(r#"name="csrf" value=""#).expect("a form with the CSRF field");
        let rest = &body[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    pub(crate) fn sign_in(app: &TestApp, user: &str, password: &str) -> Visitor {
        let mut v = Visitor::new(app);
        let r = v.post("/login", &[("username", user), ("password", password), ("next", "/")]);
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(v.cookies.iter().any(|(k, _)| k == "kesher_session"));
        v
    }
}

pub(crate) fn user(app: &TestApp, name: &str, role: &str, branch: Option<&str>) {
    let mut body = json!({"username": name, "role": role, "password": "correct horse battery"});
    if let Some(b) = branch {
        body["branch"] = json!(b);
    }
    let (s, v) = app.post("/api/users", body);
    assert_eq!(s, 201, "{v}");
}

fn customer(app: &TestApp, body: Value) -> String {
    let (s, v) = app.post("/api/customers", body);
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn a_visitor_is_sent_to_sign_in_and_back_to_the_page_asked_for() {
    let app = spawn_app();
    let mut v = Visitor::new(&app);
    let r = v.get("/customers?q=dana");
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/login?next=/customers%3Fq%3Ddana"));
    let r = v.get("/login?next=/customers");
    assert_eq!(r.status, 200);
    assert!(r.body.contains(r#"id="login""#));
    // The next page is this site's only.
    user(&app, "dana", "marketing_manager", None);
    for evil in ["//evil.example/x", "https://evil.example/", "/\\evil"] {
        let mut v = Visitor::new(&app);
        let r = v.post(
            "/login",
            &[
                ("username", "dana"),
                ("password", "correct horse battery"),
                ("next", evil),
            ],
        );
        assert_eq!((r.status, r.location.as_deref()), (303, Some("/")), "{evil}");
    }
    let mut v = Visitor::new(&app);
    let r = v.post(
        "/login",
        &[
            ("username", "dana"),
            ("password", "correct horse battery"),
            ("next", "/customers"),
        ],
    );
    assert_eq!(r.location.as_deref(), Some("/customers"));
    assert_eq!(v.get("/customers").status, 200);
}

#[test]
fn a_wrong_password_is_said_in_the_readers_language() {
    let app = spawn_app();
    user(&app, "dana", "analyst", None);
    let mut v = Visitor::new(&app);
    let r = v.send(
        "POST",
        "/login",
        Some(&[("username", "dana"), ("password", "nope")]),
        Some("he-IL,he;q=0.9"),
    );
    assert_eq!(r.status, 401);
    assert!(r.body.contains("שם משתמש או סיסמה שגויים"), "{}", r.body);
    assert!(r.body.contains(r#"<html lang="he" dir="rtl">"#));
    // The user name typed stays in the form; the password does not.
    assert!(r.body.contains(r#"value="dana""#));
    assert!(!r.body.contains("nope"));
}

#[test]
fn forms_are_refused_without_the_sessions_csrf_field() {
    let app = spawn_app();
    app.seed();
    user(&app, "dana", "marketing_manager", None);
    let id = customer(&app, json!({"member_no": "M1", "name": "Dana Levi", "city": "Haifa"}));
    let mut v = Visitor::sign_in(&app, "dana", "correct horse battery");
    let path = format!("/customers/{id}/edit");
    let r = v.post(&path, &[("name", "Mallory")]);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = v.post(
        &path,
        &[
            ("name", "Mallory"),
            (
                "csrf",
                "0000000000000000000000000000000000000000000000000000000000000000",
            ),
        ],
    );
    assert_eq!(r.status, 403);
    let (_, c) = app.get(&format!("/api/customers/{id}"));
    assert_eq!(c["name"], "Dana Levi", "nothing changed");
    // With the page's own token the change is made, and only the fields of the form change.
    let csrf = v.csrf(&format!("/customers/{id}"));
    let r = v.post(&path, &[("name", "Dana Levi-Cohen"), ("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.body);
    let (_, c) = app.get(&format!("/api/customers/{id}"));
    assert_eq!(c["name"], "Dana Levi-Cohen");
    assert_eq!(c["city"], "Haifa", "a field the form did not send is kept");
    assert_eq!(c["member_no"], "M1");
    // The API's JSON sign-in gives the same token the pages use.
    let (s, signed) = app.call_as(
        None,
        "POST",
        "/api/auth/login",
        Some(json!({"username": "dana", "password": "correct horse battery"})),
    );
    assert_eq!(s, 200);
    assert_eq!(signed["csrf_token"].as_str().unwrap().len(), 64);
}

#[test]
fn a_bad_value_in_a_form_is_shown_on_the_page_and_changes_nothing() {
    let app = spawn_app();
    app.seed();
    user(&app, "dana", "marketing_manager", None);
    let id = customer(&app, json!({"member_no": "M1", "name": "Dana", "phone": "050-1234567"}));
    let mut v = Visitor::sign_in(&app, "dana", "correct horse battery");
    let csrf = v.csrf(&format!("/customers/{id}"));
    let r = v.send(
        "POST",
        &format!("/customers/{id}/edit"),
        Some(&[("phone", "abc"), ("name", "Dana K"), ("csrf", &csrf)]),
        None,
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains(r#"id="error""#), "{}", r.body);
    assert!(r.body.contains("not a phone number"), "{}", r.body);
    let (_, c) = app.get(&format!("/api/customers/{id}"));
    assert_eq!(c["name"], "Dana", "all or nothing");
}

#[test]
fn the_language_is_the_users_setting_then_the_cookie_then_accept_language() {
    let app = spawn_app();
    user(&app, "dana", "analyst", None);
    let mut v = Visitor::new(&app);
    let r = v.send("GET", "/login", None, Some("fa-IR,fa;q=0.9,en;q=0.5"));
    assert!(r.body.contains(r#"<html lang="fa" dir="rtl">"#));
    assert!(r.body.contains("ورود"));
    // A visitor's choice: a cookie, which outranks the browser's languages.
    let r = v.post("/lang", &[("lang", "he"), ("back", "/login")]);
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")));
    let r = v.send("GET", "/login", None, Some("fa"));
    assert!(r.body.contains(r#"<html lang="he" dir="rtl">"#));
    // A signed-in user's choice is stored and follows them to a fresh browser.
    let mut v = Visitor::sign_in(&app, "dana", "correct horse battery");
    let csrf = v.csrf("/");
    let r = v.post("/lang", &[("lang", "fa"), ("back", "/"), ("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    let mut other = Visitor::sign_in(&app, "dana", "correct horse battery");
    let r = other.send("GET", "/", None, Some("en"));
    assert!(
        r.body.contains(r#"<html lang="fa" dir="rtl">"#),
        "{}",
        &r.body[..200.min(r.body.len())]
    );
    // Without the page's token a signed-in user's setting is not changed.
    let r = other.post("/lang", &[("lang", "en"), ("back", "/")]);
    assert_eq!(r.status, 403);
    let r = v.post("/lang", &[("lang", "xx"), ("csrf", &csrf)]);
    assert_eq!(r.status, 422);
}

#[test]
fn pages_obey_the_permission_matrix() {
    let app = spawn_app();
    app.seed();
    user(&app, "ana", "analyst", None);
    let id = customer(
        &app,
        json!({"member_no": "M7", "name": "Shira Ben-David", "phone": "050-7654321", "email": "shira@example.com"}),
    );
    let mut v = Visitor::sign_in(&app, "ana", "correct horse battery");
    let r = v.get(&format!("/customers/{id}"));
    assert_eq!(r.status, 200, "{}", r.body);
    // An analyst never sees a phone number, an e-mail or a name on any page.
    for secret in ["7654321", "shira@example.com", "Shira", "M7"] {
        assert!(!r.body.contains(secret), "the analyst's page shows {secret}");
    }
    // Nor the forms their role may not use.
    assert!(!r.body.contains(r#"id="edit-form""#));
    let csrf = v.csrf("/");
    let r = v.post(&format!("/customers/{id}/edit"), &[("name", "x"), ("csrf", &csrf)]);
    assert_eq!(r.status, 403);
    assert!(r.body.contains("<html"), "an error page, not JSON");
    // Searching by identifiers is refused to an analyst, as in the API.
    let r = v.get("/customers?q=050");
    assert_eq!(r.status, 403);
}

#[test]
fn the_dashboard_shows_the_numbers_the_api_gives() {
    let app = spawn_app();
    let cfg = kesher_demo::DemoConfig {
        customers: 600,
        seed: 5,
        end: "2025-06-30".parse().unwrap(),
        now: None,
    };
    let mut sinks = kesher_demo::DemoSinks::try_new(|_| Ok::<_, std::io::Error>(Vec::new())).unwrap();
    kesher_demo::generate(&cfg, &mut sinks).unwrap();
    for (kind, body) in [
        ("branches", &sinks.branches),
        ("employees", &sinks.employees),
        ("products", &sinks.products),
        ("customers", &sinks.customers),
        ("transactions", &sinks.transactions),
    ] {
        let (s, v) = app.post_raw(&format!("/api/import/{kind}"), "text/csv", body);
        assert_eq!(s, 200, "{kind}: {v}");
    }
    user(&app, "dana", "marketing_manager", None);
    let mut v = Visitor::sign_in(&app, "dana", "correct horse battery");
    let r = v.get("/");
    assert!(r.body.contains(r#"id="empty-state""#), "before the first analysis");
    let (s, run) = app.post("/api/analytics/run", json!({"as_of": "2025-06-30T23:59:59Z"}));
    assert_eq!(s, 200, "{run}");
    let r = v.get("/");
    assert_eq!(r.status, 200);
    let figure = |body: &str, id: &str| -> u64 {
        let at = body
            .find(&format!(r#"id="{id}" data-value=""#))
            .unwrap_or_else(|| panic!("no {id}"));
        let rest = &body[at + id.len() + 18..];
        rest[..rest.find('"').unwrap()].parse().unwrap()
    };
    assert_eq!(figure(&r.body, "fig-customers"), run["customers"].as_u64().unwrap());
    assert_eq!(figure(&r.body, "fig-buyers"), run["buyers"].as_u64().unwrap());
    // The ladder's table holds each stage's count as the API gives it.
    for (stage, n) in run["stages"].as_object().unwrap() {
        let n = n.as_u64().unwrap();
        let shown = format!("{}", n);
        let grouped = if n >= 1000 {
            format!("{},{:03}", n / 1000, n % 1000)
        } else {
            shown
        };
        assert!(r.body.contains(&format!("<td>{grouped}</td>")), "stage {stage}: {n}");
    }
    for chart in [
        "chart-ladder",
        "chart-pareto",
        "chart-clv",
        "chart-cohorts",
        "chart-tiers",
    ] {
        assert!(r.body.contains(&format!(r#"id="{chart}""#)), "{chart}");
    }
    // Moves between rungs only once the previous month was analysed too.
    assert!(
        !r.body.contains(r#"id="chart-flows""#),
        "a first analysis has no moves to show"
    );
    let (s, _) = app.post("/api/analytics/run", json!({"as_of": "2025-07-31T23:59:59Z"}));
    assert_eq!(s, 200);
    let r = v.get("/");
    assert!(
        r.body.contains(r#"id="chart-flows""#),
        "a month later the moves are shown"
    );
    let (_, ladder) = app.get("/api/analytics/ladder?from=2025-06&to=2025-07");
    let moved: u64 = ladder["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["from"] != t["to"])
        .map(|t| t["customers"].as_u64().unwrap())
        .sum();
    assert!(moved > 0, "{ladder}");
    // The same page in Persian: Persian digits.
    let r = v.send("GET", "/", None, Some("fa"));
    assert!(r.body.contains(r#"dir="rtl""#));
    assert!(r.body.contains('۰') || r.body.contains('۱'));
}

#[test]
fn pages_answer_with_a_strict_content_security_policy_and_embedded_assets() {
    let app = spawn_app();
    let mut v = Visitor::new(&app);
    let res = ureq::get(&format!("{}/login", app.base))
        .set("Accept", "text/html")
        .call()
        .unwrap();
    let csp = res.header("content-security-policy").unwrap().to_string();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("script-src 'self'"));
    let page = res.into_string().unwrap();
    assert!(!page.contains("<script>"), "no inline script");
    assert!(!page.contains("style="), "no inline style");
    for (path, ty) in [("/static/app.css", "text/css"), ("/static/app.js", "text/javascript")] {
        let r = ureq::get(&format!("{}{path}", app.base)).call().unwrap();
        assert!(r.header("content-type").unwrap().starts_with(ty));
    }
    assert_eq!(v.get("/static/nope.js").status, 404);
    // An unknown page: the error page for a browser, the JSON error for any other client.
    let r = v.get("/no/such/page");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<html"));
    let (s, body) = app.call_as(None, "GET", "/no/such/page", None);
    assert_eq!((s, body["error"]["code"].as_str()), (404, Some("route.not_found")));
    // Without a session a page sends a browser to sign in, and tells a script 401.
    let (s, _) = app.call_as(None, "GET", "/customers", None);
    assert_eq!(s, 401);
}

#[test]
fn a_segment_is_checked_and_saved_from_its_page_and_exported() {
    let app = spawn_app();
    app.seed();
    user(&app, "dana", "marketing_manager", None);
    customer(&app, json!({"member_no": "M1", "name": "Dana", "city": "Haifa"}));
    customer(&app, json!({"member_no": "M2", "name": "=cmd()", "city": "Haifa"}));
    customer(&app, json!({"member_no": "M3", "name": "Noa", "city": "Eilat"}));
    let mut v = Visitor::sign_in(&app, "dana", "correct horse battery");
    let r = v.get("/segments/live?expression=city%20%3D%20%22Haifa%22");
    assert_eq!(r.status, 200);
    // Fluent isolates the inserted number (U+2068 … U+2069) so it reads right in any direction.
    assert_eq!(r.body.replace(['\u{2068}', '\u{2069}'], ""), "2 customers match");
    // A business this small is counted exactly as one types: no estimate in the answer.
    let (s, m) = app.get("/api/segments/members?segment=city%20%3D%20%22Haifa%22&estimate=true&limit=1");
    assert_eq!(
        (s, m["count"].as_u64(), m["members"].as_array().map(Vec::len)),
        (200, Some(2), Some(1)),
        "{m}"
    );
    assert!(m.get("estimate").is_none(), "{m}");
    let r = v.get("/segments/live?expression=citty%20%3D%201");
    assert!(r.body.contains("no field named"), "{}", r.body);
    let csrf = v.csrf("/segments");
    let r = v.post(
        "/segments",
        &[
            ("name", "haifa"),
            ("expression", "city = \"Haifa\""),
            ("action", "save"),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("haifa"));
    let (s, seg) = app.get("/api/segments/haifa");
    assert_eq!(s, 200, "{seg}");
    let r = v.get("/segments/haifa/members.csv");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.lines().count(), 3, "{}", r.body);
    assert!(r.body.contains("\"'=cmd()\""), "a formula is neutralised: {}", r.body);
}

#[test]
fn a_clerk_enrols_a_member_from_the_loyalty_page_and_the_customer_view_shows_the_tier() {
    let app = spawn_app();
    app.seed();
    let program = json!({
        "name": "מועדון קשר", "currency": "ILS",
        "qualification": {"by": "spend", "days": 365},
        "tiers": [{"key": "silver", "name": "Silver", "threshold": "0"},
                  {"key": "gold", "name": "Gold", "threshold": "500.00", "multiplier": "2", "benefits": ["Free coffee"]}],
        "promotions": [{"key": "p", "name": "Double", "multiplier": "2", "from": "2026-01-01", "until": "2026-01-31"}]
    });
    user(&app, "noa", "clerk", Some("B1"));
    let id = customer(&app, json!({"member_no": "M7", "name": "Dana", "branch": "B1"}));
    let mut v = Visitor::sign_in(&app, "noa", "correct horse battery");
    // Before a program: the page says so, and the customer view says nothing of it.
    let r = v.get("/loyalty");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("No loyalty program is set yet"), "{}", r.body);
    assert!(!v.get(&format!("/customers/{id}")).body.contains(r#"id="f-loyalty""#));
    let (s, b) = app.call("PUT", "/api/loyalty/program", Some(program));
    assert_eq!(s, 200, "{b}");
    let r = v.get("/loyalty");
    assert!(
        r.body.contains("מועדון קשר") && r.body.contains("Free coffee") && r.body.contains("₪500.00"),
        "{}",
        r.body
    );
    // A clerk reads no aggregates: no KPI panel; a marketing manager sees it.
    assert!(!r.body.contains(r#"id="loy-kpis""#), "{}", r.body);
    user(&app, "mia", "marketing_manager", None);
    let mut m = Visitor::sign_in(&app, "mia", "correct horse battery");
    let k = m.get("/loyalty");
    assert_eq!(k.status, 200, "{}", k.body);
    assert!(
        k.body.contains(r#"id="loy-kpis""#) && k.body.contains("Program KPIs") && k.body.contains("Redemption rate"),
        "{}",
        k.body
    );
    // An unknown customer is said on the page; then the real one is enrolled.
    let csrf = v.csrf("/loyalty");
    let r = v.post("/loyalty/enrol", &[("csrf", &csrf), ("who", "M404"), ("employee", "")]);
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("No such customer"), "{}", r.body);
    let r = v.post("/loyalty/enrol", &[("csrf", &csrf), ("who", "M7"), ("employee", "E1")]);
    assert_eq!(
        (r.status, r.location.as_deref()),
        (303, Some("/loyalty?done=enrolled")),
        "{}",
        r.body
    );
    let r = v.get("/loyalty?done=enrolled");
    assert!(
        r.body.contains("The customer was enrolled.") && r.body.contains(&id[..8]),
        "{}",
        r.body
    );
    // Again: already a member, shown translated, nothing changes.
    let r = v.post("/loyalty/enrol", &[("csrf", &csrf), ("who", "M7"), ("employee", "E1")]);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("already a member"), "{}", r.body);
    let r = v.get(&format!("/customers/{id}"));
    assert!(
        r.body.contains(r#"id="f-loyalty""#) && r.body.contains("Silver"),
        "{}",
        r.body
    );
    // An analyst has no loyalty page.
    user(&app, "ari", "analyst", None);
    let mut a = Visitor::sign_in(&app, "ari", "correct horse battery");
    assert_eq!(a.get("/loyalty").status, 403);
}

#[test]
fn a_clerk_redeems_and_honours_benefits_from_the_customer_view_once_per_form() {
    let app = spawn_app();
    app.seed();
    let program = json!({
        "name": "Kesher Club", "currency": "ILS",
        "benefits": [
            {"key": "coffee", "name": "Free coffee", "kind": "hard", "value": {"type": "gift_product", "sku": "P2"},
             "cost_points": 100, "valid_days": 30},
            {"key": "bonus", "name": "A thank-you of 50 points", "kind": "hard", "value": {"type": "points", "points": 50},
             "valid_days": 30},
            {"key": "vip", "name": "Priority service", "kind": "soft", "valid_days": 365}
        ]
    });
    let (s, b) = app.call("PUT", "/api/loyalty/program", Some(program));
    assert_eq!(s, 200, "{b}");
    user(&app, "noa", "clerk", Some("B1"));
    let id = customer(&app, json!({"member_no": "M7", "name": "Dana", "branch": "B1"}));
    let (s, b) = app.post("/api/loyalty/members", json!({"customer_id": id, "branch": "B1"}));
    assert_eq!(s, 201, "{b}");
    let (s, b) = app.post(
        &format!("/api/customers/{id}/points/adjust"),
        json!({"points": 150, "reason": "welcome"}),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = app.post(&format!("/api/customers/{id}/benefits"), json!({"benefit": "bonus"}));
    assert_eq!(s, 201, "{b}");
    let mut v = Visitor::sign_in(&app, "noa", "correct horse battery");
    let page = v.get(&format!("/customers/{id}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(r#"id="f-benefits""#)
            && page.body.contains("A thank-you of 50 points")
            && page.body.contains(r#"id="redeem-form""#)
            && page
                .body
                .contains("<option value=\"coffee\">Free coffee — \u{2068}100\u{2069} points</option>"),
        "{}",
        page.body
    );
    let csrf = v.csrf(&format!("/customers/{id}"));
    // Redeem 100 points for a coffee; the same form sent again redeems nothing more.
    for _ in 0..2 {
        let r = v.post(
            &format!("/customers/{id}/benefits/redeem"),
            &[("csrf", &csrf), ("benefit", "coffee"), ("key", "web-form-1")],
        );
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let (_, w) = app.get(&format!("/api/customers/{id}/wallet"));
    assert_eq!(w["balance"], 50, "{w}");
    // Another form, not enough points: the page says why, translated, and nothing is written.
    let r = v.post(
        &format!("/customers/{id}/benefits/redeem"),
        &[("csrf", &csrf), ("benefit", "coffee"), ("key", "web-form-2")],
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("The balance is \u{2068}50\u{2069} points"),
        "{}",
        r.body
    );
    // Honour the points benefit: its 50 points are credited, once.
    let (_, grants) = app.get(&format!("/api/customers/{id}/benefits"));
    let bonus = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["benefit"] == "bonus")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..2 {
        let r = v.post(
            &format!("/customers/{id}/benefits/{bonus}/honour"),
            &[("csrf", &csrf), ("key", "web-form-3")],
        );
        assert_eq!(
            (r.status, r.location.as_deref()),
            (303, Some(format!("/customers/{id}?done=honoured").as_str())),
            "{}",
            r.body
        );
    }
    let (_, w) = app.get(&format!("/api/customers/{id}/wallet"));
    assert_eq!(w["balance"], 100, "{w}");
    let r = v.get(&format!("/customers/{id}?done=honoured"));
    assert!(r.body.contains("The benefit was honoured."), "{}", r.body);
    // Honoured with another form's key: refused with its state.
    let r = v.post(
        &format!("/customers/{id}/benefits/{bonus}/honour"),
        &[("csrf", &csrf), ("key", "web-form-4")],
    );
    assert_eq!(r.status, 409, "{}", r.body);
    // Without the CSRF token nothing happens.
    let r = v.post(
        &format!("/customers/{id}/benefits/redeem"),
        &[("benefit", "coffee"), ("key", "web-form-5")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // An analyst sees neither the benefits nor the forms.
    user(&app, "ari", "analyst", None);
    let mut a = Visitor::sign_in(&app, "ari", "correct horse battery");
    let r = a.get(&format!("/customers/{id}"));
    assert!(!r.body.contains(r#"id="redeem-form""#), "{}", r.body);
    // The loyalty page shows the catalogue.
    let r = v.get("/loyalty");
    assert!(
        r.body.contains(r#"id="loy-benefits""#) && r.body.contains("Priority service"),
        "{}",
        r.body
    );
}

/// A scheduled campaign to everyone, by e-mail, with a fifth of the audience held back.
const CAMPAIGN: &str = r#"{
  "name": "Spring <sale>",
  "kind": {"type": "scheduled", "at": "2026-03-01T10:00"},
  "audience": "visits >= 0",
  "channels": ["email"],
  "default_language": "en",
  "templates": {
    "en": {"subject": "Hello {{ customer.first_name }}", "body": "<p>Hello {{ customer.first_name }}</p>"},
    "he": {"subject": "שלום {{ customer.first_name }}", "body": "<p>שלום {{ customer.first_name }}</p>"}
  },
  "control_bp": 2000
}"#;

/// Customers M1..=M12: named, with an e-mail address; all but M11 and M12 consented to e-mail;
/// the even ones read Hebrew.
fn campaign_customers(app: &TestApp) {
    for i in 1..=12 {
        let mut c = json!({"member_no": format!("M{i}"), "name": format!("Dana{i} Levi"), "branch": "B1",
            "email": format!("c{i}@example.com"), "language": if i % 2 == 0 { "he" } else { "en" }});
        if i <= 10 {
            c["consents"] = json!({"email": "granted"});
        }
        customer(app, c);
    }
}

/// The text of the table row whose first cell is the header `label`.
fn row_of<'a>(body: &'a str, label: &str) -> &'a str {
    let start = body
        .find(&format!("<tr><th>{label}</th>"))
        .unwrap_or_else(|| panic!("no row {label}: {body}"));
    let rest = &body[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

#[test]
fn a_marketing_manager_creates_launches_measures_and_pauses_a_campaign_from_its_pages() {
    let app = spawn_app();
    app.seed();
    campaign_customers(&app);
    user(&app, "mia", "marketing_manager", None);
    let mut v = Visitor::sign_in(&app, "mia", "correct horse battery");
    // The empty list, the menu's link, the form.
    let r = v.get("/campaigns");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(r#"<a href="/campaigns" aria-current="page">Campaigns</a>"#)
            && r.body.contains(r#"id="empty-state""#)
            && r.body.contains("No campaign yet.")
            && r.body.contains(r#"id="campaign-form""#),
        "{}",
        r.body
    );
    let csrf = v.csrf("/campaigns");
    // Without the form's token nothing is created.
    let r = v.post("/campaigns", &[("definition", CAMPAIGN)]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(app.app.list_campaigns().unwrap().is_empty());
    // A definition with a wrong channel: the form again, its text kept, the key named.
    let bad = CAMPAIGN.replace(r#"["email"]"#, r#"["email", "fax"]"#);
    let r = v.post("/campaigns", &[("definition", &bad), ("csrf", &csrf)]);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body
            .contains("The definition is not valid at \u{2068}channels[1]\u{2069}: ")
            && r.body.contains("fax")
            && r.body.contains("&quot;name&quot;: &quot;Spring &lt;sale&gt;&quot;"),
        "{}",
        r.body
    );
    // Not JSON at all: the top level is named, in Hebrew too.
    let r = v.send(
        "POST",
        "/campaigns",
        Some(&[("definition", "nope"), ("csrf", &csrf)]),
        Some("he"),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains(r#"<html lang="he" dir="rtl">"#)
            && r.body.contains("ההגדרה אינה תקינה ב־\u{2068}הרמה העליונה\u{2069}")
            && r.body.contains(">nope</textarea>"),
        "{}",
        r.body
    );
    assert!(app.app.list_campaigns().unwrap().is_empty());
    // The draft.
    let r = v.post("/campaigns", &[("definition", CAMPAIGN), ("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.location.unwrap();
    let id = location
        .strip_prefix("/campaigns/")
        .and_then(|l| l.strip_suffix("?done=created"))
        .unwrap_or_else(|| panic!("{location}"))
        .to_string();
    let page = format!("/campaigns/{id}");
    let r = v.get(&location);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("The campaign was created as a draft.")
            && r.body.contains("Spring &lt;sale&gt;")
            && r.body.contains(r#"id="camp-state">Draft<"#)
            && r.body.contains("Scheduled for \u{2068}2026-03-01 10:00\u{2069}")
            && r.body.contains(r#"<code dir="ltr">visits &gt;= 0</code>"#)
            && r.body.contains("<dd>20.0%</dd>")
            && r.body.contains("\u{2068}14\u{2069} days")
            && r.body.contains("The outbox is empty")
            && r.body.contains("The report begins once the campaign is launched.")
            && r.body.contains(r#"id="launch-form""#)
            && !r.body.contains(r#"id="pause-form""#)
            && r.body.contains(r#"id="preview-form""#),
        "{}",
        r.body
    );
    // The preview: a Hebrew reader's message in Hebrew; one without consent gets nothing.
    let r = v.post(&format!("{page}/preview"), &[("who", "M2"), ("csrf", &csrf)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(r#"<dd dir="auto" id="preview-subject">שלום Dana2</dd>"#)
            && r.body.contains(
                r#"<pre class="message" dir="auto" id="preview-body">&lt;p&gt;שלום Dana2&lt;&#x2f;p&gt;</pre>"#
            )
            && r.body.contains("<dd>e-mail</dd>")
            && r.body.contains(r#"value="M2""#),
        "{}",
        r.body
    );
    let r = v.post(&format!("{page}/preview"), &[("who", "M11"), ("csrf", &csrf)]);
    assert!(
        r.body
            .contains("Nothing would be sent: \u{2068}no consent for the campaign&#x27;s channels\u{2069}"),
        "{}",
        r.body
    );
    let r = v.post(&format!("{page}/preview"), &[("who", "M404"), ("csrf", &csrf)]);
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("No such customer.") && r.body.contains(r#"id="camp-summary""#));
    // Launch: back to the page with what was written.
    let r = v.post(&format!("{page}/launch"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.location.unwrap();
    assert!(
        location.starts_with(&format!("{page}?done=launched&audience=12&queued=")),
        "{location}"
    );
    let view = app.app.campaign(id.parse().unwrap()).unwrap();
    let count = |state: &str, reason: Option<&str>| {
        view.counts
            .rows
            .iter()
            .filter(|(s, r, _)| s.as_str() == state && r.as_deref() == reason)
            .map(|(_, _, n)| *n)
            .sum::<u64>()
    };
    // The control group is drawn from the whole audience, M11 and M12 among it; the others of
    // the audience have no e-mail consent.
    let (queued, control) = (count("queued", None), count("suppressed", Some("control")));
    let no_consent = count("suppressed", Some("no_consent"));
    assert!(control > 0 && queued > 0 && no_consent <= 2);
    assert_eq!(queued + control + no_consent, 12);
    let r = v.get(&location);
    assert!(
        r.body.contains(&format!(
            "Launched: \u{2068}12\u{2069} customers in the audience, \u{2068}{queued}\u{2069} messages queued (\u{2068}0\u{2069} waiting for a variant&#x27;s winner), \u{2068}{control}\u{2069} in the control group, \u{2068}{no_consent}\u{2069} suppressed."
        )) && r.body.contains(r#"id="camp-state">Launched<"#)
            && (no_consent == 0
                || r.body.contains(&format!(
                    r#"<tr><td>Suppressed</td><td>no consent for the campaign&#x27;s channels</td><td class="num">{no_consent}</td></tr>"#
                )))
            && r.body.contains(&format!(
                r#"<tr><td>Queued</td><td>—</td><td class="num">{queued}</td></tr>"#
            ))
            && r.body.contains(r#"id="pause-form""#)
            && !r.body.contains(r#"id="launch-form""#)
            // Nothing is sent yet: the recipients' group is empty, said so.
            && r.body.contains("A group is still empty: nothing to measure yet.")
            && r.body.contains(r#"id="camp-incomplete""#),
        "{}",
        r.body
    );
    // Delivered (through the log sender), then some customers buy: the report measures them.
    let senders = kesher_app::campaigns::Senders {
        email: Some(Box::new(kesher_app::campaigns::LogSender)),
        sms: None,
        links: None,
    };
    let delivered = app.app.deliver_campaign_messages(&senders, 100).unwrap();
    assert_eq!(delivered.sent, queued);
    let now = jiff::Timestamp::now().to_string();
    for i in (1..=12).filter(|i| i % 3 != 0) {
        let sale = json!({"external_id": format!("S{i}"), "member_no": format!("M{i}"), "branch": "B1", "employee": "E1",
            "occurred_at": now, "currency": "ILS", "lines": [{"sku": "P1", "quantity": 1, "unit_price": format!("{}.00", 10 * i)}]});
        let (s, b) = app.post("/api/transactions", sale);
        assert_eq!(s, 201, "{b}");
    }
    let report = app.app.campaign_report(id.parse().unwrap()).unwrap();
    assert_eq!(report.sent, queued);
    let r = v.get(&page);
    assert_eq!(r.status, 200, "{}", r.body);
    let recipients = row_of(&r.body, "Recipients");
    assert!(
        recipients.contains(&format!(
            r#"<td class="num">{}</td><td class="num">{}</td>"#,
            report.recipients.customers, report.recipients.responders
        )) && recipients.contains("₪"),
        "{recipients}"
    );
    let controls = row_of(&r.body, "Control group");
    assert!(
        controls.contains(&format!(
            r#"<td class="num">{}</td><td class="num">{}</td>"#,
            report.control_group.customers, report.control_group.responders
        )),
        "{controls}"
    );
    assert!(
        r.body.contains(r#"<figure id="chart-response"><svg class="chart""#)
            && r.body.contains(r#"<figure id="chart-revenue"><svg class="chart""#)
            && r.body.contains(r#"id="camp-lifts""#)
            && r.body
                .contains("The attribution window of \u{2068}14\u{2069} days has not ended"),
        "{}",
        r.body
    );
    // The same page in Hebrew, right to left.
    let r = v.send("GET", &page, None, Some("he-IL,he;q=0.9"));
    assert!(
        r.body.contains(r#"<html lang="he" dir="rtl">"#)
            && r.body.contains(r#"id="camp-state">הושק<"#)
            && r.body.contains("<tr><th>נמענים</th>")
            && r.body.contains("חלון הייחוס")
            && r.body.contains(">קמפיינים</a>"),
        "{}",
        r.body
    );
    // Pause; pausing again is refused with the reason, translated.
    let r = v.post(&format!("{page}/pause"), &[("csrf", &csrf)]);
    assert_eq!(
        (r.status, r.location.as_deref()),
        (303, Some(format!("{page}?done=paused").as_str()))
    );
    let r = v.get(&format!("{page}?done=paused"));
    assert!(
        r.body.contains("The campaign is paused: its queued messages wait")
            && r.body.contains(r#"id="camp-state">Paused<"#)
            && r.body.contains("Launch again"),
        "{}",
        r.body
    );
    let r = v.post(&format!("{page}/pause"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body
            .contains("The campaign is \u{2068}paused\u{2069}; it must be \u{2068}launched\u{2069}."),
        "{}",
        r.body
    );
    // The list: the campaign with its figures.
    let r = v.get("/campaigns");
    assert!(
        r.body.contains(&format!(r#"<a href="{page}">Spring &lt;sale&gt;</a>"#))
            && r.body.contains(&format!(
                r#"<td class="num">{queued}</td><td class="num">0</td><td class="num">{no_consent}</td><td class="num">{control}</td>"#
            ))
            && !r.body.contains(r#"id="empty-state""#),
        "{}",
        r.body
    );
}

#[test]
fn campaign_pages_follow_the_permission_matrix() {
    let app = spawn_app();
    app.seed();
    campaign_customers(&app);
    let actor = kesher_store::Actor::new("user:mia", app.app.now());
    let row = app.app.create_campaign(CAMPAIGN, &actor).unwrap();
    let page = format!("/campaigns/{}", row.id);
    // An analyst reads the list and the report, with no form.
    user(&app, "ari", "analyst", None);
    let mut a = Visitor::sign_in(&app, "ari", "correct horse battery");
    let r = a.get("/campaigns");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&format!(r#"<a href="{page}">Spring &lt;sale&gt;</a>"#))
            && r.body.contains(r#"<a href="/campaigns" aria-current="page">"#)
            && !r.body.contains(r#"id="campaign-form""#),
        "{}",
        r.body
    );
    let r = a.get(&page);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(r#"id="camp-summary""#)
            && r.body.contains(r#"id="camp-report""#)
            && !r.body.contains(r#"id="launch-form""#)
            && !r.body.contains(r#"id="preview-form""#)
            && !r.body.contains(r#"id="camp-actions""#),
        "{}",
        r.body
    );
    // Its own token does not let it write.
    let csrf = a.csrf("/");
    let csrf = csrf.as_str();
    for (path, form) in [
        ("/campaigns".to_string(), vec![("definition", CAMPAIGN), ("csrf", csrf)]),
        (format!("{page}/launch"), vec![("csrf", csrf)]),
        (format!("{page}/pause"), vec![("csrf", csrf)]),
        (format!("{page}/preview"), vec![("who", "M1"), ("csrf", csrf)]),
    ] {
        let r = a.post(&path, &form);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(r.body.contains("Your role may not do this."), "{path}: {}", r.body);
    }
    assert_eq!(app.app.list_campaigns().unwrap().len(), 1);
    assert_eq!(app.app.campaign(row.id).unwrap().row.state.as_str(), "draft");
    // A clerk has no campaign pages and no link to them.
    user(&app, "noa", "clerk", Some("B1"));
    let mut c = Visitor::sign_in(&app, "noa", "correct horse battery");
    assert_eq!(c.get("/campaigns").status, 403);
    assert_eq!(c.get(&page).status, 403);
    assert!(!c.get("/").body.contains(r#"href="/campaigns""#));
    // A marketing manager's launch without the form's token is refused; an unknown campaign is
    // a 404 page.
    user(&app, "mia", "marketing_manager", None);
    let mut m = Visitor::sign_in(&app, "mia", "correct horse battery");
    let r = m.post(&format!("{page}/launch"), &[]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(app.app.campaign(row.id).unwrap().row.state.as_str(), "draft");
    assert_eq!(m.get("/campaigns/not-an-id").status, 404);
    assert_eq!(m.get("/campaigns/0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee").status, 404);
}

/// A demo business of `customers` customers imported over the API, its sales ending 2025-06-30.
fn demo_business(app: &TestApp, customers: usize) {
    let cfg = kesher_demo::DemoConfig {
        customers,
        seed: 5,
        end: "2025-06-30".parse().unwrap(),
        now: None,
    };
    let mut sinks = kesher_demo::DemoSinks::try_new(|_| Ok::<_, std::io::Error>(Vec::new())).unwrap();
    kesher_demo::generate(&cfg, &mut sinks).unwrap();
    for (kind, body) in [
        ("branches", &sinks.branches),
        ("employees", &sinks.employees),
        ("products", &sinks.products),
        ("customers", &sinks.customers),
        ("transactions", &sinks.transactions),
    ] {
        let (s, v) = app.post_raw(&format!("/api/import/{kind}"), "text/csv", body);
        assert_eq!(s, 200, "{kind}: {v}");
    }
}

/// The text of attribute `attr` of the first element after `marker` in `body`.
fn attr_after<'a>(body: &'a str, marker: &str, attr: &str) -> &'a str {
    let at = body.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let rest = &body[at..];
    let key = format!(r#"{attr}=""#);
    let from = rest.find(&key).unwrap_or_else(|| panic!("no {attr} after {marker}")) + key.len();
    &rest[from..from + rest[from..].find('"').unwrap()]
}

/// As minijinja writes text into a page.
fn html_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn the_analytics_page_shows_what_the_refresh_stored_and_the_api_gives() {
    let app = spawn_app();
    demo_business(&app, 600);
    user(&app, "ana", "analyst", None);
    let secret = customer(
        &app,
        json!({"member_no": "Z9", "name": "Yael Zimmerman", "phone": "052-9876543", "email": "yael@example.com"}),
    );
    assert!(!secret.is_empty());
    let mut v = Visitor::sign_in(&app, "ana", "correct horse battery");
    // Before the first analysis: the empty state, with the refresh form for a role that may run.
    let r = v.get("/analytics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#"id="empty-state""#), "{}", r.body);
    assert!(r.body.contains(r#"id="refresh-form""#));
    assert!(r.body.contains(r#"id="nav-analytics""#));

    let (s, run) = app.post("/api/analytics/run", json!({"as_of": "2025-06-30T23:59:59Z"}));
    assert_eq!(s, 200, "{run}");
    let r = v.get("/analytics");
    assert_eq!(r.status, 200);
    let body = &r.body;
    assert!(!body.contains(r#"id="empty-state""#));
    // (a) The last refresh and (b) the model's parameters, as the run answered them.
    assert!(body.contains(r#"id="last-refresh""#));
    for (name, value) in run["params"].as_object().unwrap() {
        let shown: f64 = attr_after(body, &format!(r#"<th scope="row">{name}</th>"#), "data-value")
            .parse()
            .unwrap();
        assert!(close(shown, value.as_f64().unwrap()), "{name}: {shown} vs {value}");
    }
    // The holdout check equals the API's calibration report over the same windows.
    let cal = attr_after(body, r#"id="holdout-window""#, "data-calibration-end").to_string();
    let end = attr_after(body, r#"id="holdout-window""#, "data-end").to_string();
    let customers: u64 = attr_after(body, r#"id="holdout-window""#, "data-customers")
        .parse()
        .unwrap();
    let (s, api) = app.get(&format!(
        "/api/analytics/calibration?calibration_end={cal}&end={end}&model={}",
        run["model"].as_str().unwrap()
    ));
    assert_eq!(s, 200, "{api}");
    assert_eq!(customers, api["customers"].as_u64().unwrap());
    for m in api["models"].as_array().unwrap() {
        let name = m["model"].as_str().unwrap();
        let ll: f64 = attr_after(body, &format!(r#"data-model="{name}""#), "data-log-likelihood")
            .parse()
            .unwrap();
        assert!(close(ll, m["log_likelihood"].as_f64().unwrap()), "{name}: {ll} vs {m}");
    }
    // On PostgreSQL the database summarises the sales itself: no purchase times for the
    // cumulative curve (docs/web.md), the other charts as on SQLite.
    let postgres = std::env::var("KESHER_TEST_BACKEND").is_ok_and(|b| b == "postgres");
    for chart in ["chart-cumulative", "chart-by-frequency", "chart-rfm", "chart-tiers"] {
        if chart == "chart-cumulative" && postgres {
            assert!(
                !body.contains(&format!(r#"id="{chart}""#)),
                "{chart} without purchase times"
            );
            continue;
        }
        assert!(body.contains(&format!(r#"id="{chart}""#)), "{chart}");
    }
    // (c) The RFM grid's counts are the API's.
    let (_, value) = app.get("/api/analytics/value");
    for (r_i, row) in value["rfm_grid"].as_array().unwrap().iter().enumerate() {
        for (f_i, n) in row.as_array().unwrap().iter().enumerate() {
            let n = n.as_u64().unwrap();
            if n > 0 {
                let cell = format!("<tr><td>{}</td><td>{}</td><td>{n}</td>", r_i + 1, f_i + 1);
                assert!(body.contains(&cell), "RFM {}{}: {n}", r_i + 1, f_i + 1);
            }
        }
    }
    // (e) Basket rules with their products' names, as the API mines them.
    let (s, rules) = app.get("/api/baskets/rules?limit=20");
    assert_eq!(s, 200, "{rules}");
    let rules = rules["rules"].as_array().unwrap();
    if rules.is_empty() {
        assert!(body.contains(r#"id="rules-none""#));
    } else {
        for rule in rules.iter().take(5) {
            for sku in rule["antecedents"]
                .as_array()
                .unwrap()
                .iter()
                .chain(rule["consequents"].as_array().unwrap())
            {
                let sku = sku.as_str().unwrap();
                let (s, product) = app.get(&format!("/api/products/{sku}"));
                assert_eq!(s, 200, "{product}");
                let named = format!("{} ({})", product["name"].as_str().unwrap(), sku);
                assert!(body.contains(&html_escaped(&named)), "rule item {named}");
            }
        }
    }
    // An analyst never sees a customer's name, phone number or e-mail here.
    for secret in ["Zimmerman", "9876543", "yael@example.com"] {
        assert!(!body.contains(secret), "the analytics page shows {secret}");
    }
    // The Hebrew page mirrors.
    let r = v.send("GET", "/analytics", None, Some("he"));
    assert!(r.body.contains(r#"dir="rtl""#));
    assert!(r.body.contains("כללי סל"));
}

#[test]
fn the_analytics_page_runs_a_refresh_as_a_job_and_shows_its_progress() {
    let app = spawn_app();
    demo_business(&app, 200);
    user(&app, "ana", "analyst", None);
    let mut v = Visitor::sign_in(&app, "ana", "correct horse battery");
    let before: Value = serde_json::from_str(&v.get("/analytics/progress").body).unwrap();
    assert_eq!(before["running"], false, "{before}");
    assert!(before["ran_at"].is_null());
    let csrf = v.csrf("/analytics");
    let r = v.post("/analytics/refresh", &[("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/analytics?done=refreshing"));
    let r = v.get("/analytics?done=refreshing");
    assert_eq!(r.status, 200);
    assert!(r.body.contains(r#"id="flash""#));
    // Polled as the page's script does, until the job has ended.
    let started = std::time::Instant::now();
    loop {
        let p: Value = serde_json::from_str(&v.get("/analytics/progress").body).unwrap();
        if p["running"] == false {
            assert!(p["ran_at"].is_string(), "{p}");
            break;
        }
        assert!(p["text"].is_string(), "{p}");
        assert!(started.elapsed().as_secs() < 120, "the refresh did not end: {p}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let r = v.get("/analytics");
    assert!(r.body.contains(r#"id="last-refresh""#), "{}", r.body);
    assert!(!r.body.contains(r#"id="refresh-progress""#));
    // The job is on record as done, with the steps it went through.
    let (s, jobs) = app.get("/api/jobs?state=done");
    assert_eq!(s, 200, "{jobs}");
    assert!(jobs.to_string().contains("\"analyze\""), "{jobs}");
}

#[test]
fn the_analytics_page_follows_the_permission_matrix() {
    let app = spawn_app();
    app.seed();
    user(&app, "cleo", "clerk", Some("B1"));
    user(&app, "bo", "branch_manager", Some("B1"));
    let mut clerk = Visitor::sign_in(&app, "cleo", "correct horse battery");
    let r = clerk.get("/");
    assert!(
        !r.body.contains(r#"id="nav-analytics""#),
        "a clerk has no analytics entry"
    );
    assert_eq!(clerk.get("/analytics").status, 403);
    assert_eq!(clerk.get("/analytics/progress").status, 403);
    let csrf = clerk.csrf("/");
    assert_eq!(clerk.post("/analytics/refresh", &[("csrf", &csrf)]).status, 403);
    // A branch manager reads the page but may not run the refresh: no form, and the post refused.
    let mut bm = Visitor::sign_in(&app, "bo", "correct horse battery");
    let r = bm.get("/analytics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#"id="empty-state""#));
    assert!(!r.body.contains(r#"id="refresh-form""#));
    let csrf = bm.csrf("/");
    assert_eq!(bm.post("/analytics/refresh", &[("csrf", &csrf)]).status, 403);
}
