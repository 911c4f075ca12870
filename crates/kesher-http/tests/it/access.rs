//! Access control over HTTP: every route × every role against the permission matrix, branch
//! scoping, anonymised reads, sessions with CSRF, tokens, rate limits, export and erasure.

use crate::support::{reply, spawn_app, spawn_app_with};
use kesher_auth::{Action, Grant, Rate, RateLimiter, Role, grant};
use kesher_http::auth::Limits;
use serde_json::{Value, json};

fn fill(path: &str) -> String {
    path.replace("{id}", "0190a0b0-0000-7000-8000-000000000001")
        .replace("{sku}", "NOPE")
        .replace("{kind}", "customers")
        .replace("{name}", "vip")
}

#[test]
fn every_route_for_every_role_follows_the_matrix() {
    let app = spawn_app();
    app.seed();
    let table = kesher_http::route_table();
    // The table and the API description list the same operations: a route cannot be added to
    // one without the other.
    let (_, doc) = app.get("/api/openapi.json");
    let mut documented = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    for (m, p) in &documented {
        assert!(
            table.iter().any(|r| r.method.as_str() == m && r.path == p),
            "{m} {p} is documented but has no entry in the permission table"
        );
    }
    for r in &table {
        // The web interface's pages are not API operations (docs/web.md lists them).
        if !r.path.starts_with("/api/") || r.path == "/api/openapi.json" {
            continue;
        }
        assert!(
            documented.iter().any(|(m, p)| m == r.method.as_str() && p == r.path),
            "{} {} is in the table but not in the API description",
            r.method,
            r.path
        );
    }
    let tokens: Vec<(Role, String)> = Role::ALL
        .iter()
        .map(|&role| {
            let branch = role.needs_branch().then_some("B1");
            (role, app.token_for(role, branch))
        })
        .collect();
    let mut checked = 0;
    for r in &table {
        let path = fill(r.path);
        let body = (r.method != "GET" && r.method != "DELETE").then(|| json!({}));
        // Without a credential: only public routes answer.
        let (s, v) = app.call_as(None, r.method.as_str(), &path, body.clone());
        if r.action == Action::Public {
            assert_ne!(s, 401, "{} {} is public: {v}", r.method, r.path);
        } else {
            assert_eq!(s, 401, "{} {} without a credential: {v}", r.method, r.path);
        }
        for (role, token) in &tokens {
            let (s, v) = app.call_as(Some(token), r.method.as_str(), &path, body.clone());
            let refused = s == 403 && v["error"]["code"] == "auth.forbidden.role";
            match grant(*role, r.action) {
                Grant::Deny => assert!(refused, "{role} {} {} must be refused: {s} {v}", r.method, r.path),
                _ => {
                    assert!(
                        !refused && s != 401,
                        "{role} {} {} must be let through: {s} {v}",
                        r.method,
                        r.path
                    );
                    assert!(s < 500, "{role} {} {} failed: {s} {v}", r.method, r.path);
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 45 * Role::ALL.len(), "{checked}");
}

fn two_branches(app: &crate::support::TestApp) -> (String, String) {
    app.seed();
    let (s, v) = app.post_raw(
        "/api/import/branches",
        "text/csv",
        b"branch_id,name,region,time_zone\nB2,Haifa,North,Asia/Jerusalem\n",
    );
    assert_eq!(s, 200, "{v}");
    let (_, a) = app.post(
        "/api/customers",
        json!({"member_no": "A1", "name": "Dana Levi", "phone": "050-1111111", "branch": "B1"}),
    );
    let (_, b) = app.post(
        "/api/customers",
        json!({"member_no": "B1X", "name": "Dana Katz", "phone": "050-2222222", "branch": "B2"}),
    );
    (a["id"].as_str().unwrap().into(), b["id"].as_str().unwrap().into())
}

#[test]
fn clerks_and_branch_managers_work_at_their_own_branch() {
    let app = spawn_app();
    let (mine, theirs) = two_branches(&app);
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let c = Some(clerk.as_str());
    let (s, page) = app.call_as(c, "GET", "/api/customers?q=dana", None);
    assert_eq!(s, 200);
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["id"], mine);
    assert_eq!(app.call_as(c, "GET", &format!("/api/customers/{mine}"), None).0, 200);
    let (s, v) = app.call_as(c, "GET", &format!("/api/customers/{theirs}/overview"), None);
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("auth.out_of_branch")),
        "{v}"
    );
    // The till recognises a member of any branch.
    assert_eq!(
        app.call_as(c, "GET", "/api/customers/lookup?phone=050-2222222", None).0,
        200
    );
    // Sales only at the clerk's own branch.
    let sale = |ext: &str, branch: &str| {
        json!({"external_id": ext, "customer_id": mine, "branch": branch, "currency": "ILS", "occurred_at": "2025-05-01T10:00:00Z",
               "lines": [{"sku": "P1", "quantity": 1, "unit_price": "89.90"}]})
    };
    let (s, v) = app.call_as(c, "POST", "/api/transactions", Some(sale("T-B2", "B2")));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("auth.out_of_branch")),
        "{v}"
    );
    let (s, v) = app.call_as(c, "POST", "/api/transactions", Some(sale("T-B1", "B1")));
    assert_eq!(s, 201, "{v}");
    // Enrolment registers the customer at the clerk's branch; another branch is refused.
    let (s, v) = app.call_as(
        c,
        "POST",
        "/api/customers",
        Some(json!({"member_no": "N1", "name": "New"})),
    );
    assert_eq!(s, 201, "{v}");
    let (_, branches) = app.get("/api/branches");
    let b1 = branches
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["external_id"] == "B1")
        .unwrap();
    assert_eq!(v["source_branch_id"], b1["id"]);
    let (s, _) = app.call_as(
        c,
        "POST",
        "/api/customers",
        Some(json!({"member_no": "N2", "branch": "B2"})),
    );
    assert_eq!(s, 403);
    let (s, _) = app.call_as(
        c,
        "PUT",
        &format!("/api/customers/{theirs}"),
        Some(json!({"name": "x", "branch": "B2"})),
    );
    assert_eq!(s, 403);
    // Lists across the business need a customer of the branch.
    assert_eq!(app.call_as(c, "GET", "/api/transactions", None).0, 403);
    let (s, v) = app.call_as(c, "GET", &format!("/api/transactions?customer_id={mine}"), None);
    assert_eq!((s, v["total"].as_u64()), (200, Some(1)), "{v}");
    assert_eq!(
        app.call_as(c, "GET", &format!("/api/interactions?customer_id={theirs}"), None)
            .0,
        403
    );
    // A clerk never exports, erases, imports or reads the audit log.
    for (m, p) in [
        ("GET", format!("/api/customers/{mine}/export")),
        ("POST", format!("/api/customers/{mine}/erase")),
        ("GET", "/api/audit".to_string()),
    ] {
        let (s, v) = app.call_as(c, m, &p, (m == "POST").then(|| json!({})));
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some("auth.forbidden.role")),
            "{m} {p}"
        );
    }
    // The branch manager merges only within the branch.
    let bm = app.token_for(Role::BranchManager, Some("B1"));
    let (s, _) = app.call_as(
        Some(&bm),
        "POST",
        "/api/customers/merge",
        Some(json!({"keep": mine, "drop": theirs})),
    );
    assert_eq!(s, 403);
    let (s, v) = app.call_as(Some(&bm), "GET", "/api/analytics/ladder", None);
    assert_ne!(s, 403, "{v}");
}

#[test]
fn analysts_never_see_personal_identifiers() {
    let app = spawn_app();
    let (mine, _) = two_branches(&app);
    app.post(
        "/api/interactions",
        json!({"customer_id": mine, "channel": "phone", "kind": "complaint", "text": "Dana Levi called from 050-1111111"}),
    );
    let analyst = app.token_for(Role::Analyst, None);
    let a = Some(analyst.as_str());
    let (s, page) = app.call_as(a, "GET", "/api/customers?limit=10", None);
    assert_eq!(s, 200);
    assert_eq!(page["total"], 2);
    let (_, one) = app.call_as(a, "GET", &format!("/api/customers/{mine}/overview"), None);
    let (_, ints) = app.call_as(a, "GET", &format!("/api/interactions?customer_id={mine}"), None);
    let seen = format!("{page}{one}{ints}");
    for pii in ["Dana", "Levi", "1111111", "A1"] {
        assert!(!seen.contains(pii), "an analyst sees {pii}: {seen}");
    }
    assert_eq!(one["interactions"][0]["kind"], "complaint", "the facts stay");
    assert_eq!(
        app.call_as(a, "GET", "/api/customers/lookup?phone=050-1111111", None).0,
        403
    );
    assert_eq!(
        app.call_as(a, "GET", &format!("/api/customers/{mine}/export"), None).0,
        403
    );
    assert_eq!(
        app.call_as(a, "POST", "/api/customers", Some(json!({"name": "x"}))).0,
        403
    );
}

fn session_call(
    app: &crate::support::TestApp,
    cookie: &str,
    csrf: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = ureq::request(method, &format!("{}{path}", app.base)).set("Cookie", cookie);
    if let Some(c) = csrf {
        req = req.set("X-CSRF-Token", c);
    }
    reply(
        match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        },
        path,
    )
}

fn sign_in(app: &crate::support::TestApp, user: &str, password: &str) -> Result<(String, String), (u16, Value)> {
    let res =
        ureq::post(&format!("{}/api/auth/login", app.base)).send_json(json!({"username": user, "password": password}));
    match res {
        Ok(r) => {
            let cookie = r.header("set-cookie").unwrap().to_string();
            for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
                assert!(cookie.contains(attr), "{cookie} lacks {attr}");
            }
            let v: Value = r.into_json().unwrap();
            let pair = cookie.split(';').next().unwrap().to_string();
            Ok((pair, v["csrf_token"].as_str().unwrap().to_string()))
        }
        Err(e) => Err(reply(Err(e), "login")),
    }
}

#[test]
fn browser_sessions_need_the_csrf_token_and_end_on_sign_out_or_disable() {
    let app = spawn_app();
    app.seed();
    let (s, v) = app.post(
        "/api/users",
        json!({"username": "Noa", "role": "marketing_manager", "password": "correct horse battery"}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["username"], "noa");
    let (s, v) = app.post(
        "/api/users",
        json!({"username": "noa", "role": "clerk", "branch": "B1", "password": "another long one"}),
    );
    assert_eq!((s, v["error"]["field"].as_str()), (409, Some("username")));
    let (s, v) = app.post(
        "/api/users",
        json!({"username": "x", "role": "clerk", "password": "long enough pw"}),
    );
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (422, Some("branch")),
        "a clerk needs a branch"
    );
    let (s, v) = app.post(
        "/api/users",
        json!({"username": "y", "role": "analyst", "password": "short"}),
    );
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("password")));

    let (s, v) = sign_in(&app, "noa", "wrong password!!").unwrap_err();
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (401, Some("wrong user name or password"))
    );
    let (s, _) = sign_in(&app, "nobody", "wrong password!!").unwrap_err();
    assert_eq!(s, 401, "the same answer for an unknown name");
    let (cookie, csrf) = sign_in(&app, "NOA", "correct horse battery").unwrap();
    let (s, me) = session_call(&app, &cookie, None, "GET", "/api/auth/me", None);
    assert_eq!(
        (s, me["role"].as_str(), me["name"].as_str()),
        (200, Some("marketing_manager"), Some("user:noa"))
    );
    // A change without the CSRF token is refused, with it accepted.
    let body = json!({"member_no": "S1", "name": "From the browser"});
    let (s, v) = session_call(&app, &cookie, None, "POST", "/api/customers", Some(body.clone()));
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("auth.csrf")));
    let (s, _) = session_call(
        &app,
        &cookie,
        Some("0".repeat(64).as_str()),
        "POST",
        "/api/customers",
        Some(body.clone()),
    );
    assert_eq!(s, 403);
    let (s, v) = session_call(&app, &cookie, Some(&csrf), "POST", "/api/customers", Some(body));
    assert_eq!(s, 201, "{v}");
    // A marketing manager may not manage users.
    assert_eq!(session_call(&app, &cookie, None, "GET", "/api/users", None).0, 403);
    // Sign out ends the session.
    assert_eq!(
        session_call(&app, &cookie, Some(&csrf), "POST", "/api/auth/logout", None).0,
        204
    );
    assert_eq!(session_call(&app, &cookie, None, "GET", "/api/auth/me", None).0, 401);
    // Disabling a user ends their sessions and their sign-ins.
    let (cookie, _) = sign_in(&app, "noa", "correct horse battery").unwrap();
    let (s, v) = app.call("PATCH", "/api/users/noa", Some(json!({"disabled": true})));
    assert_eq!((s, v["disabled"].as_bool()), (200, Some(true)));
    assert_eq!(session_call(&app, &cookie, None, "GET", "/api/auth/me", None).0, 401);
    let (s, v) = sign_in(&app, "noa", "correct horse battery").unwrap_err();
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("auth.disabled")));
    // The audit log has the sign-ins, failed ones too, with the address they came from.
    let (_, log) = app.get("/api/audit?limit=100");
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "auth.sign_in",
        "auth.sign_in_failed",
        "auth.sign_in_disabled",
        "user.create",
        "user.update",
    ] {
        assert!(actions.contains(&a), "{a} not in {actions:?}");
    }
    // Never lock the business out: the last admin cannot be demoted or disabled.
    let (s, _) = app.post(
        "/api/users",
        json!({"username": "admin", "role": "admin", "password": "the admin password"}),
    );
    assert_eq!(s, 201);
    let (s, v) = app.call("PATCH", "/api/users/admin", Some(json!({"role": "analyst"})));
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("role")), "{v}");
}

#[test]
fn sign_in_and_point_of_sale_calls_are_rate_limited() {
    let app = spawn_app_with(Limits {
        sign_in_failures: kesher_auth::Backoff::new(2, 60, 600),
        pos: RateLimiter::new(Rate {
            burst: 5,
            per_second: 0.001,
        }),
        ..Limits::default()
    });
    app.seed();
    for _ in 0..3 {
        assert_eq!(sign_in(&app, "admin", "not the password").unwrap_err().0, 401);
    }
    let (s, v) = sign_in(&app, "admin", "not the password").unwrap_err();
    assert_eq!((s, v["error"]["code"].as_str()), (429, Some("rate_limited")), "{v}");
    assert!(v["error"]["params"]["retry_after"].is_u64(), "{v}");
    let pos = app.token_for(Role::PosDevice, Some("B1"));
    for _ in 0..5 {
        assert_eq!(
            app.call_as(Some(&pos), "GET", "/api/customers/lookup?card=C1", None).0,
            404
        );
    }
    let (s, v) = app.call_as(Some(&pos), "GET", "/api/customers/lookup?card=C1", None);
    assert_eq!((s, v["error"]["code"].as_str()), (429, Some("rate_limited")));
    // Another device has its own allowance.
    let other = app.token_for(Role::PosDevice, Some("B1"));
    assert_eq!(
        app.call_as(Some(&other), "GET", "/api/customers/lookup?card=C1", None)
            .0,
        404
    );
}

#[test]
fn tokens_are_scoped_revocable_and_never_shown_twice() {
    let app = spawn_app();
    app.seed();
    let (s, v) = app.post(
        "/api/tokens",
        json!({"name": "till-1", "role": "pos_device", "branch": "B1", "scopes": ["customers.lookup"], "expires_in_days": 30}),
    );
    assert_eq!(s, 201, "{v}");
    let secret = v["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("ksr_") && secret.len() == 68);
    let (_, list) = app.get("/api/tokens");
    assert!(!list.to_string().contains(&secret), "the list never shows a secret");
    let till = Some(secret.as_str());
    assert_eq!(app.call_as(till, "GET", "/api/customers/lookup?card=C9", None).0, 404);
    let (s, v) = app.call_as(
        till,
        "POST",
        "/api/transactions",
        Some(json!({"external_id": "T1", "branch": "B1", "currency": "ILS", "occurred_at": "2025-05-01T10:00:00Z", "lines": [{"sku": "P1", "quantity": 1, "unit_price": "1"}]})),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("auth.forbidden.scope")),
        "outside its scopes"
    );
    let (s, v) = app.post(
        "/api/tokens",
        json!({"name": "x", "role": "pos_device", "branch": "B1", "scopes": ["import"]}),
    );
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (422, Some("scopes")),
        "a scope cannot widen a role"
    );
    let (s, v) = app.call("DELETE", "/api/tokens/till-1", None);
    assert_eq!(s, 200, "{v}");
    assert!(v["revoked_at"].is_string());
    assert_eq!(app.call_as(till, "GET", "/api/customers/lookup?card=C9", None).0, 401);
    assert_eq!(app.call_as(Some("ksr_nonsense"), "GET", "/api/auth/me", None).0, 401);
}

#[test]
fn export_and_erasure_keep_the_totals() {
    let app = spawn_app();
    app.seed();
    let (_, c) = app.post(
        "/api/customers",
        json!({"member_no": "M7", "name": "רונית אברהם", "phone": "054-7777777", "email": "ronit@example.com",
               "birth_date": "1980-01-02", "branch": "B1", "consents": {"sms": "granted"}, "attributes": {"diet": "vegan"}}),
    );
    let id = c["id"].as_str().unwrap().to_string();
    for (ext, price) in [("T1", "89.90"), ("T2", "6.50")] {
        let (s, v) = app.post(
            "/api/transactions",
            json!({"external_id": ext, "member_no": "M7", "branch": "B1", "currency": "ILS", "occurred_at": "2025-05-01T10:00:00Z",
                   "lines": [{"sku": "P1", "quantity": 2, "unit_price": price}]}),
        );
        assert_eq!(s, 201, "{v}");
    }
    app.post(
        "/api/interactions",
        json!({"customer_id": id, "channel": "store", "kind": "note", "text": "Ronit prefers oat milk"}),
    );
    let (s, doc) = app.get(&format!("/api/customers/{id}/export"));
    assert_eq!(s, 200);
    assert_eq!(doc["customer"]["name"], "רונית אברהם");
    assert_eq!(doc["customer"]["attributes"]["diet"], "vegan");
    assert_eq!(doc["transactions"].as_array().unwrap().len(), 2);
    assert_eq!(doc["interactions"][0]["text"], "Ronit prefers oat milk");
    assert_eq!(doc["consent_history"][0]["channel"], "sms");
    assert!(
        doc["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "customer.create")
    );
    let (_, before) = app.get("/api/stats");
    let (_, tx_before) = app.get(&format!("/api/transactions?customer_id={id}"));
    let (s, r) = app.post(&format!("/api/customers/{id}/erase"), json!({}));
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["interactions_cleared"], 1);
    let (_, after) = app.get("/api/stats");
    assert_eq!(before, after, "counts are unchanged");
    let (_, tx_after) = app.get(&format!("/api/transactions?customer_id={id}"));
    assert_eq!(tx_before, tx_after, "the transactions and their totals stay");
    let (_, doc) = app.get(&format!("/api/customers/{id}/export"));
    let text = doc.to_string();
    for pii in ["רונית", "7777777", "ronit@", "1980-01-02", "vegan", "oat milk", "M7"] {
        assert!(!text.contains(pii), "{pii} survived the erasure: {text}");
    }
    assert!(doc["erased_at"].is_string());
    assert_eq!(app.get("/api/customers/lookup?phone=054-7777777").0, 404);
    let (s, _) = app.call("GET", "/api/audit/export", None);
    assert_eq!(s, 200);
    let log = ureq::get(&format!("{}/api/audit/export", app.base))
        .set("Authorization", &format!("Bearer {}", app.token))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    for a in ["customer.export", "customer.erase", "audit.export"] {
        assert!(log.contains(a), "{a} missing from the exported audit log");
    }
    assert!(!log.contains("רונית"), "the audit log keeps no erased name");
    // Retention: nothing is older than a year here.
    let (s, _) = app.call("PUT", "/api/privacy/retention", Some(json!({"years": 1})));
    assert_eq!(s, 200);
    let (s, v) = app.post("/api/privacy/retention/run", json!({"dry_run": true}));
    assert_eq!(
        (s, v["years"].as_u64(), v["candidates"].as_u64()),
        (200, Some(1), Some(0)),
        "{v}"
    );
    let (s, v) = app.call("PUT", "/api/privacy/retention", Some(json!({"years": 0})));
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("years")));
    // A period the calendar cannot subtract is refused, not a 500 on the next run.
    let (s, v) = app.call("PUT", "/api/privacy/retention", Some(json!({"years": 4_000_000})));
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("years")), "{v}");
    let (s, v) = app.post(
        "/api/privacy/retention/run",
        json!({"years": 4_000_000, "dry_run": true}),
    );
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("years")), "{v}");
}

#[test]
fn the_documented_route_table_is_the_code() {
    let doc = include_str!("../../../../docs/permissions.md");
    let table = kesher_http::route_table_markdown();
    assert!(
        doc.contains(&table),
        "docs/permissions.md is out of date; paste in:\n{table}"
    );
}

#[test]
fn responses_carry_security_headers() {
    let app = spawn_app();
    for path in ["/", "/api/health", "/api/customers"] {
        let r = match ureq::get(&format!("{}{path}", app.base)).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(
            r.header("content-security-policy")
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        if path.starts_with("/api/") {
            assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        }
    }
}
#[test]
fn analysts_cannot_search_by_name_or_identifier() {
    let app = spawn_app();
    let (mine, _) = two_branches(&app);
    app.call(
        "PATCH",
        &format!("/api/customers/{mine}"),
        Some(json!({"email": "dana@example.com", "card": "C77"})),
    );
    let analyst = app.token_for(Role::Analyst, None);
    let a = Some(analyst.as_str());
    for q in [
        "Levi",
        "Dana",
        "050-1111111",
        "+972501111111",
        "dana@example.com",
        "dan",
        "A1",
        "C77",
        "l",
    ] {
        let (s, v) = app.call_as(a, "GET", &format!("/api/customers?q={}", urlencode(q)), None);
        assert_eq!((s, v["error"]["field"].as_str()), (403, Some("q")), "q={q}: {v}");
    }
    // Without q the anonymised list stays open to them; others still search.
    let (s, listed) = app.call_as(a, "GET", "/api/customers?limit=1", None);
    assert_eq!(s, 200);
    // A page of the listing: no identifier in it, and the next page announced.
    let first = &listed["items"][0];
    for hidden in ["name", "phone", "email", "member_no", "card"] {
        assert!(first[hidden].is_null(), "{hidden}: {listed}");
    }
    assert_eq!(
        (listed["more"].as_bool(), listed["total_capped"].as_bool()),
        (Some(true), Some(false)),
        "{listed}"
    );
    let (s, v) = app.get("/api/customers?q=Levi");
    assert_eq!((s, v["total"].as_u64()), (200, Some(1)), "{v}");
    assert_eq!(v["more"].as_bool(), Some(false), "{v}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
#[test]
fn a_clerk_sees_only_what_a_sale_needs_of_another_branchs_customer() {
    let app = spawn_app();
    let (mine, theirs) = two_branches(&app);
    app.call(
        "PATCH",
        &format!("/api/customers/{theirs}"),
        Some(json!({"email": "katz@example.com", "card": "C2", "attributes": {"diet": "vegan"}, "consents": {"sms": "granted"}})),
    );
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let c = Some(clerk.as_str());
    for q in ["phone=050-2222222", "member=B1X", "card=C2", "email=katz@example.com"] {
        let (s, v) = app.call_as(c, "GET", &format!("/api/customers/lookup?{q}"), None);
        assert_eq!(s, 200, "{q}: {v}");
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["id", "member_no", "name", "points_balance"], "{q}: {v}");
        assert_eq!(
            (v["id"].as_str(), v["member_no"].as_str()),
            (Some(theirs.as_str()), Some("B1X"))
        );
        let text = v.to_string();
        for secret in ["2222222", "katz@", "C2", "vegan", "sms"] {
            assert!(!text.contains(secret), "{q}: {secret} in {text}");
        }
    }
    // Their own branch's customer: the whole record, as before.
    let (s, v) = app.call_as(c, "GET", "/api/customers/lookup?phone=050-1111111", None);
    assert_eq!(
        (s, v["id"].as_str(), v["phone"].as_str()),
        (200, Some(mine.as_str()), Some("+972501111111")),
        "{v}"
    );
    // An admin sees everyone whole.
    let (_, v) = app.get("/api/customers/lookup?member=B1X");
    assert_eq!(v["phone"], "+972502222222", "{v}");
}

#[test]
fn lookups_are_rate_limited_per_caller_apart_from_sales() {
    let app = spawn_app_with(Limits {
        lookup: RateLimiter::new(Rate {
            burst: 3,
            per_second: 0.001,
        }),
        ..Limits::default()
    });
    app.seed();
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    for _ in 0..3 {
        assert_eq!(
            app.call_as(Some(&clerk), "GET", "/api/customers/lookup?member=M404", None)
                .0,
            404
        );
    }
    let r = ureq::get(&format!("{}/api/customers/lookup?member=M404", app.base))
        .set("Authorization", &format!("Bearer {clerk}"))
        .call();
    let Err(ureq::Error::Status(429, r)) = r else {
        panic!("the fourth lookup is not refused")
    };
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    // Sales go on, and another caller has its own allowance.
    let sale = json!({"external_id": "T1", "branch": "B1", "currency": "ILS", "occurred_at": "2025-05-01T10:00:00Z",
        "lines": [{"sku": "P1", "quantity": 1, "unit_price": "89.90"}]});
    assert_eq!(
        app.call_as(Some(&clerk), "POST", "/api/transactions", Some(sale)).0,
        201
    );
    let other = app.token_for(Role::Clerk, Some("B1"));
    assert_eq!(
        app.call_as(Some(&other), "GET", "/api/customers/lookup?member=M404", None)
            .0,
        404
    );
}
/// Sign in from the loopback address `from` (127.0.0.x): the status.
fn sign_in_from(app: &crate::support::TestApp, from: &str, user: &str, password: &str) -> u16 {
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let body = json!({"username": user, "password": password}).to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
        let mut s = sock.connect(addr).await.unwrap();
        let req = format!(
            "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out.split(' ').nth(1).unwrap().parse().unwrap()
    })
}
#[test]
fn wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere() {
    let app = spawn_app();
    app.seed();
    let (s, _) = app.post(
        "/api/users",
        json!({"username": "noa", "role": "analyst", "password": "correct horse battery"}),
    );
    assert_eq!(s, 201);
    let mut refused = 0;
    for _ in 0..12 {
        match sign_in_from(&app, "127.0.0.1", "noa", "wrong guess") {
            401 => {}
            429 => refused += 1,
            s => panic!("status {s}"),
        }
    }
    assert!(refused > 0, "the guessing address is slowed down");
    assert_eq!(
        sign_in_from(&app, "127.0.0.1", "noa", "correct horse battery"),
        429,
        "the guessing address waits even with the right password"
    );
    assert_eq!(
        sign_in_from(&app, "127.0.0.2", "noa", "correct horse battery"),
        200,
        "the real user elsewhere signs in"
    );
    // Another user at the guessing address is not held up by the guesses against noa.
    assert_eq!(sign_in_from(&app, "127.0.0.1", "admin2", "whatever it is"), 401);
}

#[test]
fn local_phone_notation_is_read_in_the_country_of_the_callers_branch() {
    let app = spawn_app();
    app.seed();
    let (s, v) = app.post(
        "/api/branches",
        json!({"external_id": "TEH", "name": "Tehran Vanak", "region": "Tehran", "time_zone": "Asia/Tehran"}),
    );
    assert_eq!(s, 201, "{v}");
    let tehran = app.token_for(Role::Clerk, Some("TEH"));
    let t = Some(tehran.as_str());
    // Enrolled at the Tehran till with a local Iranian mobile number.
    let (s, c) = app.call_as(
        t,
        "POST",
        "/api/customers",
        Some(json!({"member_no": "IR1", "name": "Sara", "phone": "0912 345 6789"})),
    );
    assert_eq!((s, c["phone"].as_str()), (201, Some("+989123456789")), "{c}");
    let (s, v) = app.call_as(t, "GET", "/api/customers/lookup?phone=0912%20345%206789", None);
    assert_eq!((s, v["member_no"].as_str()), (200, Some("IR1")), "{v}");
    let (s, v) = app.call_as(t, "GET", "/api/customers?q=09123456789", None);
    assert_eq!((s, v["total"].as_u64()), (200, Some(1)), "{v}");
    let (s, v) = app.call_as(
        t,
        "PATCH",
        &format!("/api/customers/{}", c["id"].as_str().unwrap()),
        Some(json!({"phone": "0935 111 2233"})),
    );
    assert_eq!((s, v["phone"].as_str()), (200, Some("+989351112233")), "{v}");
    // The same digits at a Tel Aviv till or without a branch are read as Israeli (and refused:
    // too long), and Tel Aviv's own local numbers still work there.
    let tel_aviv = app.token_for(Role::Clerk, Some("B1"));
    let (s, v) = app.call_as(
        Some(&tel_aviv),
        "GET",
        "/api/customers/lookup?phone=0935%20111%202233",
        None,
    );
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("phone")), "{v}");
    assert_eq!(app.get("/api/customers/lookup?phone=0935%20111%202233").0, 422);
    let (s, v) = app.call_as(
        Some(&tel_aviv),
        "POST",
        "/api/customers",
        Some(json!({"member_no": "IL1", "phone": "050-7654321"})),
    );
    assert_eq!((s, v["phone"].as_str()), (201, Some("+972507654321")), "{v}");
    // In international notation it is found from anywhere.
    let (s, v) = app.get("/api/customers/lookup?phone=%2B989351112233");
    assert_eq!((s, v["member_no"].as_str()), (200, Some("IR1")), "{v}");
}
