//! Campaigns over HTTP: create (a bad definition named by its key), list, show, preview in the
//! customer's language, launch (the outbox written once, relaunch writes nothing twice), pause,
//! deliver, the report, the plan; who may do what; and the public one-click unsubscribe link,
//! which a GET never triggers, works without a session, and suppresses a queued message; and the
//! tracked links (`/c/{token}`): a sent e-mail's links point there, a click redirects to the
//! original address and counts in the report, a forged token is a 404 and never a redirect.

use crate::support::{check_error_body, spawn_app};
use kesher_auth::Role;
use serde_json::{Value, json};

fn definition() -> Value {
    json!({
        "name": "Spring",
        "kind": {"type": "scheduled", "at": "2020-01-01T10:00"},
        "audience": "visits >= 0",
        "channels": ["log"],
        "default_language": "en",
        "templates": {
            "en": {"subject": "Hello {{ customer.first_name }}", "body": "<p>Hello {{ customer.first_name }}</p>"},
            "he": {"subject": "שלום {{ customer.first_name }}", "body": "<p dir=\"rtl\">שלום {{ customer.first_name }}</p>"}
        },
        "control_bp": 0
    })
}

/// An app with three customers: Dana (he, e-mail consent), Eli (en, e-mail consent), Noa (en,
/// no consent).
fn setup() -> (crate::support::TestApp, Vec<String>) {
    let app = spawn_app();
    app.seed();
    let people = [
        ("M1", "Dana Levi", "he", Some("granted")),
        ("M2", "Eli Cohen", "en", Some("granted")),
        ("M3", "Noa Katz", "en", None),
    ];
    let ids = people
        .iter()
        .map(|(m, name, lang, consent)| {
            let mut body = json!({"member_no": m, "name": name, "language": lang, "branch": "B1",
                                  "email": format!("{}@example.com", m.to_lowercase())});
            if let Some(c) = consent {
                body["consents"] = json!({"email": c});
            }
            let (s, c) = app.post("/api/customers", body);
            assert_eq!(s, 201, "{c}");
            c["id"].as_str().unwrap().to_string()
        })
        .collect();
    (app, ids)
}

#[test]
fn a_campaign_is_created_previewed_launched_paused_and_reported() {
    let (app, ids) = setup();
    let (s, c) = app.post("/api/campaigns", definition());
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["campaign"]["state"], "draft");
    assert_eq!(c["definition"]["name"], "Spring");
    assert_eq!(c["outbox"], json!([]));
    let id = c["campaign"]["id"].as_str().unwrap().to_string();

    let (s, list) = app.get("/api/campaigns");
    assert_eq!(s, 200, "{list}");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], id.as_str());

    // The preview is in the customer's language.
    let (s, p) = app.get(&format!("/api/campaigns/{id}/preview?customer_id={}", ids[0]));
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        (&p["language"], &p["subject"], &p["channel"]),
        (&json!("he"), &json!("שלום Dana"), &json!("log"))
    );
    let (s, p) = app.get(&format!("/api/campaigns/{id}/preview?customer_id={}", ids[1]));
    assert_eq!((s, &p["body"]), (200, &json!("<p>Hello Eli</p>")), "{p}");

    // No report before the launch.
    let (s, e) = app.get(&format!("/api/campaigns/{id}/report"));
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "campaign.state");

    let (s, l) = app.post(&format!("/api/campaigns/{id}/launch"), json!({}));
    assert_eq!(s, 200, "{l}");
    assert_eq!(
        (&l["audience"], &l["written"], &l["queued"], &l["control"]),
        (&json!(3), &json!(3), &json!(3), &json!(0)),
        "{l}"
    );
    // Launching again writes nothing twice.
    let (s, again) = app.post(&format!("/api/campaigns/{id}/launch"), json!({}));
    assert_eq!(
        (s, &again["written"], &again["queued"]),
        (200, &json!(0), &json!(3)),
        "{again}"
    );

    let (s, shown) = app.get(&format!("/api/campaigns/{id}"));
    assert_eq!(s, 200, "{shown}");
    assert_eq!(shown["campaign"]["state"], "launched");
    assert_eq!(
        shown["outbox"],
        json!([{"state": "queued", "reason": null, "count": 3}])
    );

    let (s, paused) = app.post(&format!("/api/campaigns/{id}/pause"), json!({}));
    assert_eq!((s, &paused["state"]), (200, &json!("paused")), "{paused}");
    let (s, e) = app.post(&format!("/api/campaigns/{id}/pause"), json!({}));
    assert_eq!(s, 409, "{e}");
    check_error_body(&e, "pause a paused campaign");
    // Paused: nothing is delivered.
    let (s, d) = app.post("/api/campaigns/deliver", json!({}));
    assert_eq!((s, &d["sent"]), (200, &json!(0)), "{d}");
    let (s, _) = app.post(&format!("/api/campaigns/{id}/launch"), json!({}));
    assert_eq!(s, 200);
    let (s, d) = app.post("/api/campaigns/deliver?limit=10", json!({}));
    assert_eq!((s, &d["claimed"], &d["sent"]), (200, &json!(3), &json!(3)), "{d}");

    let (s, r) = app.get(&format!("/api/campaigns/{id}/report"));
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (&r["sent"], &r["control"], &r["queued"]),
        (&json!(3), &json!(0), &json!(0)),
        "{r}"
    );
    assert_eq!(r["recipients"]["customers"], 3);
    // No control group: the lift cannot be measured, and the report says why.
    assert_eq!(r["response"]["error"], "campaign.stats.empty", "{r}");
}

#[test]
fn bad_input_is_refused_with_the_field_named() {
    let (app, ids) = setup();
    let mut bad = definition();
    bad["control_bp"] = json!(20_000);
    let (s, e) = app.post("/api/campaigns", bad);
    assert_eq!(s, 422, "{e}");
    check_error_body(&e, "control share over 100 %");
    assert_eq!(e["error"]["params"]["key"], "control_bp", "{e}");

    let mut bad = definition();
    bad["audience"] = json!("visits >=");
    let (s, e) = app.post("/api/campaigns", bad);
    assert_eq!(s, 422, "{e}");
    check_error_body(&e, "a broken audience");

    let (s, e) = app.get("/api/campaigns/not-an-id");
    assert_eq!(s, 422, "{e}");
    check_error_body(&e, "a malformed id");
    let (s, e) = app.get("/api/campaigns/0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee");
    assert_eq!(s, 404, "{e}");
    check_error_body(&e, "no such campaign");

    // A template naming what the data lacks: refused at preview, and nothing is written at launch.
    let mut bad = definition();
    bad["templates"]["en"]["subject"] = json!("Hi {{ customer.nickname }}");
    let (s, c) = app.post("/api/campaigns", bad);
    assert_eq!(s, 201, "{c}");
    let id = c["campaign"]["id"].as_str().unwrap().to_string();
    let (s, e) = app.get(&format!("/api/campaigns/{id}/preview?customer_id={}", ids[1]));
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["code"]
            .as_str()
            .unwrap_or("")
            .starts_with("campaign.template"),
        "{e}"
    );
    let (s, e) = app.post(&format!("/api/campaigns/{id}/launch"), json!({}));
    assert_eq!(s, 422, "{e}");
    let (_, shown) = app.get(&format!("/api/campaigns/{id}"));
    assert_eq!(shown["outbox"], json!([]), "nothing written: {shown}");

    let (s, e) = app.post("/api/campaigns/deliver?limit=0", json!({}));
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "query.limit.out_of_range");

    let (s, p) = app.get("/api/campaigns/plan?baseline=0.05&lift=0.2");
    assert_eq!(s, 200, "{p}");
    let n = p["per_group"].as_u64().unwrap();
    assert!((8_000..9_000).contains(&n), "about 8,150 per group for 5 % → 6 %: {n}");
    let (s, e) = app.get("/api/campaigns/plan?baseline=1.5&lift=0.2");
    assert_eq!(s, 422, "{e}");
    check_error_body(&e, "a rate over 1");
}

#[test]
fn only_marketing_manages_campaigns_and_readers_see_aggregates() {
    let (app, ids) = setup();
    let (s, c) = app.post("/api/campaigns", definition());
    assert_eq!(s, 201, "{c}");
    let id = c["campaign"]["id"].as_str().unwrap().to_string();
    let marketing = app.token_for(Role::MarketingManager, None);
    let analyst = app.token_for(Role::Analyst, None);
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let branch = app.token_for(Role::BranchManager, Some("B1"));

    let (s, v) = app.call_as(
        Some(&marketing),
        "POST",
        &format!("/api/campaigns/{id}/launch"),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{v}");
    for (who, token) in [("analyst", &analyst), ("branch manager", &branch)] {
        let (s, v) = app.call_as(Some(token), "GET", &format!("/api/campaigns/{id}/report"), None);
        assert_eq!(s, 200, "{who}: {v}");
        let (s, v) = app.call_as(Some(token), "GET", "/api/campaigns", None);
        assert_eq!(s, 200, "{who}: {v}");
        // A preview shows a person's message: not for readers.
        let path = format!("/api/campaigns/{id}/preview?customer_id={}", ids[0]);
        let (s, v) = app.call_as(Some(token), "GET", &path, None);
        assert_eq!(s, 403, "{who}: {v}");
        let (s, v) = app.call_as(
            Some(token),
            "POST",
            &format!("/api/campaigns/{id}/pause"),
            Some(json!({})),
        );
        assert_eq!(s, 403, "{who}: {v}");
        let (s, v) = app.call_as(Some(token), "POST", "/api/campaigns", Some(definition()));
        assert_eq!(s, 403, "{who}: {v}");
    }
    let (s, v) = app.call_as(Some(&clerk), "GET", "/api/campaigns", None);
    assert_eq!(s, 403, "{v}");
    let (s, v) = app.call_as(None, "GET", "/api/campaigns", None);
    assert_eq!(s, 401, "{v}");
}

/// Raw HTTP for the public page: status and body text.
fn page(app: &crate::support::TestApp, method: &str, path: &str, body: &str) -> (u16, String) {
    let req = ureq::request(method, &format!("{}{path}", app.base))
        .set("accept-language", "en")
        .set("accept", "text/html");
    let res = if method == "POST" {
        req.set("content-type", "application/x-www-form-urlencoded")
            .send_string(body)
    } else {
        req.call()
    };
    match res {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

#[test]
fn the_unsubscribe_link_works_without_signing_in_and_suppresses_queued_messages() {
    let (app, ids) = setup();
    let mut def = definition();
    def["channels"] = json!(["email"]);
    let (s, c) = app.post("/api/campaigns", def);
    assert_eq!(s, 201, "{c}");
    let id = c["campaign"]["id"].as_str().unwrap().to_string();
    let (s, l) = app.post(&format!("/api/campaigns/{id}/launch"), json!({}));
    assert_eq!(s, 200, "{l}");
    assert_eq!(
        (&l["queued"], &l["suppressed"]["no_consent"]),
        (&json!(2), &json!(1)),
        "{l}"
    );

    let dana: kesher_core::CustomerId = ids[0].parse().unwrap();
    let token = app
        .app
        .unsubscribe_token(dana, kesher_campaign::Channel::Email)
        .unwrap();

    // A GET (a mail scanner following the link) changes nothing; the page is in Dana's language.
    let (s, html) = page(&app, "GET", &format!("/u/{token}"), "");
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("lang=\"he\"") && html.contains("dir=\"rtl\""), "{html}");
    assert!(html.contains(&format!("action=\"/u/{token}\"")), "{html}");
    let (_, customer) = app.get(&format!("/api/customers/{}", ids[0]));
    assert!(customer["consents"].to_string().contains("granted"), "{customer}");

    // The one-click POST (RFC 8058), no session, no CSRF token: done at once, and again is fine.
    for _ in 0..2 {
        let (s, html) = page(&app, "POST", &format!("/u/{token}"), "List-Unsubscribe=One-Click");
        assert_eq!(s, 200, "{html}");
        assert!(html.contains("role=\"status\""), "{html}");
    }
    let (_, customer) = app.get(&format!("/api/customers/{}", ids[0]));
    let consents = customer["consents"].to_string();
    assert!(
        consents.contains("withdrawn") && consents.contains("unsubscribe"),
        "{customer}"
    );

    // Dana's queued message is suppressed at sending; Eli's is sent (no SMTP here: it waits).
    let (s, d) = app.post("/api/campaigns/deliver", json!({}));
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (&d["claimed"], &d["suppressed"], &d["retried"]),
        (&json!(2), &json!(1), &json!(1)),
        "{d}"
    );

    // A forged or truncated token: 404 page, nothing changes.
    // (The last hex digit changed to another: never the token itself.)
    let last = if token.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    for bad in [forged.as_str(), "nonsense", &token[..20]] {
        let (s, html) = page(&app, "POST", &format!("/u/{bad}"), "List-Unsubscribe=One-Click");
        assert_eq!(s, 404, "{bad}: {html}");
        assert!(html.contains("role=\"alert\""), "{html}");
        let (s, _) = page(&app, "GET", &format!("/u/{bad}"), "");
        assert_eq!(s, 404);
    }
    // A client that does not ask for HTML gets the coded error.
    let (s, v) = app.post(&format!("/u/{forged}"), json!({}));
    assert_eq!(
        (s, &v["error"]["code"]),
        (404, &json!("campaign.unsubscribe.invalid")),
        "{v}"
    );
    let eli: kesher_core::CustomerId = ids[1].parse().unwrap();
    let eli_token = app.app.unsubscribe_token(eli, kesher_campaign::Channel::Email).unwrap();
    let (_, customer) = app.get(&format!("/api/customers/{}", ids[1]));
    assert!(!customer["consents"].to_string().contains("withdrawn"), "{customer}");
    assert_ne!(eli_token, token);
}

#[test]
fn prices_are_checked_and_the_economics_count_what_was_sent() {
    let (app, _) = setup();
    let (s, e) = app.get("/api/campaigns/economics");
    assert_eq!((s, &e["error"]["code"]), (409, &json!("campaign.costs.missing")), "{e}");
    let (s, e) = app.get("/api/campaigns/costs");
    assert_eq!(s, 404, "{e}");
    for (bad, key) in [
        (
            json!({"currency": "ILS", "per_thousand": {"fax": "1.00"}}),
            "per_thousand.fax",
        ),
        (
            json!({"currency": "ILS", "per_thousand": {"sms": "-1.00"}}),
            "per_thousand.sms",
        ),
        (
            json!({"currency": "ILS", "per_thousand": {"sms": "1.001"}}),
            "per_thousand.sms",
        ),
        (
            json!({"currency": "ILS", "acquisition": "99999999999.00"}),
            "acquisition",
        ),
        (json!({"currency": "XYZ"}), "currency"),
    ] {
        let (s, e) = app.call("PUT", "/api/campaigns/costs", Some(bad.clone()));
        assert_eq!(s, 422, "{bad}: {e}");
        assert_eq!(e["error"]["params"]["key"], key, "{bad}: {e}");
    }
    let (s, e) = app.call(
        "PUT",
        "/api/campaigns/costs",
        Some(json!({"currency": "ILS", "dollars": 1})),
    );
    assert_eq!(s, 422, "{e}");
    let prices = json!({"currency": "ILS", "per_thousand": {"log": "1000.00"}, "acquisition": "45.00"});
    let (s, v) = app.call("PUT", "/api/campaigns/costs", Some(prices.clone()));
    assert_eq!((s, &v), (200, &prices), "{v}");
    let analyst = app.token_for(Role::Analyst, None);
    let (s, v) = app.call_as(Some(&analyst), "GET", "/api/campaigns/costs", None);
    assert_eq!((s, &v), (200, &prices), "{v}");
    let (s, v) = app.call_as(Some(&analyst), "PUT", "/api/campaigns/costs", Some(prices));
    assert_eq!(s, 403, "{v}");

    // One campaign, three messages at 1.00 each, no control group: cost counted, lift unmeasured.
    let (_, c) = app.post("/api/campaigns", definition());
    let id = c["campaign"]["id"].as_str().unwrap().to_string();
    let (s, _) = app.post(&format!("/api/campaigns/{id}/launch"), json!({}));
    assert_eq!(s, 200);
    let (s, d) = app.post("/api/campaigns/deliver", json!({}));
    assert_eq!((s, &d["sent"]), (200, &json!(3)), "{d}");
    let (s, e) = app.call_as(Some(&analyst), "GET", "/api/campaigns/economics", None);
    assert_eq!(s, 200, "{e}");
    assert_eq!(
        (&e["currency"], &e["acquisition"], &e["cost"]),
        (&json!("ILS"), &json!(4500), &json!(300)),
        "{e}"
    );
    let row = &e["rows"][0];
    assert_eq!(
        (&row["name"], &row["cost"], &row["recipients"]),
        (&json!("Spring"), &json!(300), &json!(3)),
        "{e}"
    );
    assert!(
        row["cost_per_kept"].is_null() && row["note"].as_str().unwrap().contains("not measured"),
        "{e}"
    );
    assert!(e["best"].is_null(), "{e}");
}

/// The SMS provider's inbound webhook: no session, the replies' key the only credential; an
/// opt-out word in Hebrew withdraws the SMS consent of the customer holding the number.
#[test]
fn an_sms_reply_with_an_opt_out_word_withdraws_the_consent_without_a_session() {
    let (app, _) = setup();
    let (s, c) = app.post(
        "/api/customers",
        json!({"member_no": "M9", "name": "Rina Azulay", "language": "he", "branch": "B1",
               "phone": "050-7654321", "consents": {"sms": "granted"}}),
    );
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let key = app.app.sms_reply_key().unwrap();
    let reply = |path: &str, header: Option<&str>, body: Value| -> (u16, Value) {
        let mut req = ureq::post(&format!("{}{path}", app.base));
        if let Some(h) = header {
            req = req.set("X-Kesher-Sms-Key", h);
        }
        let (status, text) = match req.send_json(body) {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Err(e) => panic!("{path}: {e}"),
        };
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status >= 400 {
            check_error_body(&v, path);
        }
        (status, v)
    };
    let stop = json!({"from": "+972507654321", "text": "הסר"});
    // Without the key, or with a wrong one: refused, nothing changes.
    for (path, header) in [
        ("/api/sms/replies", None),
        ("/api/sms/replies?key=0000", None),
        ("/api/sms/replies", Some("not-the-key")),
    ] {
        let (s, v) = reply(path, header, stop.clone());
        assert_eq!(s, 403, "{path}: {v}");
        assert_eq!(v["error"]["code"], "campaign.sms.reply.key", "{v}");
    }
    let (_, customer) = app.get(&format!("/api/customers/{id}"));
    assert!(!customer["consents"].to_string().contains("withdrawn"), "{customer}");
    // A number that cannot be read, a text far too long: 422 naming the field.
    let with_key = format!("/api/sms/replies?key={key}");
    let (s, v) = reply(&with_key, None, json!({"from": "call me", "text": "STOP"}));
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("from")), "{v}");
    let (s, v) = reply(
        &with_key,
        None,
        json!({"from": "+972507654321", "text": "x".repeat(3_000)}),
    );
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("value.too_long")), "{v}");
    // Chat is not an opt-out; the opt-out word is, at once; a second one (Twilio's field names,
    // the key in the header) finds it already withdrawn.
    let (s, v) = reply(&with_key, None, json!({"from": "+972507654321", "text": "תודה רבה"}));
    assert_eq!(
        (s, &v),
        (200, &json!({"opt_out": false, "known": true, "withdrawn": false}))
    );
    let (s, v) = reply(&with_key, None, stop);
    assert_eq!(
        (s, &v),
        (200, &json!({"opt_out": true, "known": true, "withdrawn": true}))
    );
    let (_, customer) = app.get(&format!("/api/customers/{id}"));
    let consents = customer["consents"].to_string();
    assert!(
        consents.contains("withdrawn") && consents.contains("sms:opt-out"),
        "{customer}"
    );
    let (s, v) = reply(
        "/api/sms/replies",
        Some(&key),
        json!({"From": "0507654321", "Body": "STOP"}),
    );
    assert_eq!(
        (s, &v),
        (200, &json!({"opt_out": true, "known": true, "withdrawn": false}))
    );
}

/// An e-mail sender that keeps what it was handed.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl kesher_app::campaigns::Sender for Capture {
    fn send(
        &self,
        message: &kesher_store::OutboxMessage,
        _to: &kesher_core::Customer,
    ) -> Result<(), kesher_app::campaigns::SendError> {
        self.0.lock().unwrap().push(message.body.clone().unwrap_or_default());
        Ok(())
    }
}

/// The `/c/…` addresses of a body, in order.
fn tracked(body: &str, base: &str) -> Vec<String> {
    let prefix = format!("{base}/c/");
    body.match_indices(&prefix)
        .map(|(i, _)| body[i..].split(['"', '<', ' ']).next().unwrap().to_string())
        .collect()
}

/// GET without following the redirect: status and Location.
fn visit(url: &str) -> (u16, Option<String>) {
    let agent = ureq::builder().redirects(0).build();
    match agent.get(url).call() {
        Ok(r) => (r.status(), r.header("location").map(str::to_string)),
        Err(ureq::Error::Status(code, r)) => (code, r.header("location").map(str::to_string)),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

#[test]
fn links_go_through_the_tracked_redirect_and_the_report_counts_clicks() {
    let (app, _) = setup();
    let mut def = definition();
    def["channels"] = json!(["email"]);
    def["templates"]["en"]["body"] = json!(
        "<p>Hello {{ customer.first_name }}: <a href=\"https://shop.example/sale?a=1&amp;b=2\">sale</a>, \
         <a href=\"http://shop.example/branches\">branches</a></p>"
    );
    def["templates"]["he"]["body"] = json!("<p dir=\"rtl\">שלום <a href=\"https://shop.example/he/sale\">מבצע</a></p>");
    let (s, c) = app.post("/api/campaigns", def);
    assert_eq!(s, 201, "{c}");
    let id = c["campaign"]["id"].as_str().unwrap().to_string();
    let (s, l) = app.post(&format!("/api/campaigns/{id}/launch"), json!({}));
    assert_eq!(s, 200, "{l}");
    let capture = Capture::default();
    let senders = kesher_app::campaigns::Senders {
        email: Some(Box::new(capture.clone())),
        sms: None,
        links: Some(kesher_app::campaigns::clicks::LinkTracking::new(
            &app.base,
            app.app.unsubscribe_secret().unwrap(),
        )),
    };
    assert_eq!(app.app.deliver_campaign_messages(&senders, 100).unwrap().sent, 2);
    let bodies = capture.0.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    // Every link of what was sent points at the server's redirect; no original address is left.
    let english = bodies.iter().find(|b| b.contains("Hello")).unwrap();
    assert!(!english.contains("shop.example"), "{english}");
    let links = tracked(english, &app.base);
    assert_eq!(links.len(), 2, "{english}");
    let hebrew = bodies.iter().find(|b| b.contains("שלום")).unwrap();
    assert_eq!(tracked(hebrew, &app.base).len(), 1, "{hebrew}");

    let (_, r) = app.get(&format!("/api/campaigns/{id}/report"));
    assert_eq!(r["clicks"]["unique_clickers"], 0, "{r}");

    // Following a link: a 302 to the original address (the HTML's &amp; read as &).
    assert_eq!(
        visit(&links[0]),
        (302, Some("https://shop.example/sale?a=1&b=2".to_string()))
    );
    assert_eq!(
        visit(&links[1]),
        (302, Some("http://shop.example/branches".to_string()))
    );
    // The same link again: one unique clicker still, three clicks in all.
    assert_eq!(visit(&links[0]).0, 302);
    let (_, r) = app.get(&format!("/api/campaigns/{id}/report"));
    assert_eq!(r["clicks"]["unique_clickers"], 1, "{r}");
    assert_eq!(r["clicks"]["clicks"], 3, "{r}");
    assert_eq!(r["clicks"]["click_rate"], 0.5, "{r}");
    assert_eq!(r["clicks"]["arms"]["all"]["sent"], 2, "{r}");

    // A forged token (the last digit changed, the link number changed, nonsense): a 404 and no
    // redirect; the counts do not move.
    let token = links[0].rsplit('/').next().unwrap().to_string();
    let last = if token.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[3] = "7";
    let other_link = parts.join(".");
    for bad in [forged.as_str(), other_link.as_str(), "nonsense", "a.b.c.d.e"] {
        let (s, location) = visit(&format!("{}/c/{bad}", app.base));
        assert_eq!((s, location), (404, None), "{bad}");
    }
    let (s, v) = app.get(&format!("/c/{forged}"));
    assert_eq!((s, &v["error"]["code"]), (404, &json!("campaign.click.invalid")), "{v}");
    check_error_body(&v, "a forged click");
    let (_, r) = app.get(&format!("/api/campaigns/{id}/report"));
    assert_eq!(r["clicks"]["clicks"], 3, "{r}");

    // The click is on the customer's timeline, once per link.
    let clicker: kesher_core::CustomerId = token.split('.').nth(1).unwrap().parse().unwrap();
    let (_, timeline) = app.get(&format!("/api/interactions?customer_id={clicker}"));
    let text = timeline.to_string();
    assert_eq!(text.matches("\"click\"").count(), 2, "{timeline}");
}
