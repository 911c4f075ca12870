//! The web interface in a real browser (Debian's Chromium, headless, driven over WebDriver by
//! chromedriver), in English and in Hebrew: sign in, the dashboard's figures against the API's,
//! find a customer, edit a field, add a contact, build a segment with its live count and save it,
//! sign out. The session cookie is HttpOnly; a change without the page's CSRF token is refused.
//! Every main page is photographed at desktop and phone width (`target/screenshots/`, for a
//! person to look at), and fails the test when it overflows horizontally or when a
//! right-to-left page's style sheets hold a physical left/right property. Runs with the
//! `browser-tests` feature (scripts/test.sh installs chromium and chromium-driver).

#![cfg(feature = "browser-tests")]

use crate::support::spawn_app;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

struct Driver {
    child: std::process::Child,
    base: String,
    session: String,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    fn start() -> Driver {
        let driver = std::env::var("KESHER_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let browser = std::env::var("KESHER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            std::path::Path::new(&driver).exists() && std::path::Path::new(&browser).exists(),
            "{driver} or {browser} is missing: scripts/test.sh installs Debian's chromium and chromium-driver"
        );
        let port = free_port();
        let child = std::process::Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let t = Instant::now();
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(t.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = std::env::temp_dir().join(format!("kesher-chromium-{}-{port}", std::process::id()));
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": browser,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-quic", format!("--user-data-dir={}", profile.display())]}}}});
        let v: Value = ureq::post(&format!("{base}/session"))
            .send_json(caps)
            .unwrap()
            .into_json()
            .unwrap();
        let session = v["value"]["sessionId"].as_str().unwrap().to_string();
        Driver {
            child,
            base,
            session,
            profile,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = ureq::request(method, &url);
        let r = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let r = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let v: Value = r.into_json().unwrap();
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    fn element(&self, css: &str) -> String {
        let t = Instant::now();
        loop {
            let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})));
            if let Some(obj) = v.as_object()
                && let Some(id) = obj.values().next().and_then(|x| x.as_str())
                && !obj.contains_key("error")
            {
                return id.to_string();
            }
            assert!(t.elapsed() < Duration::from_secs(10), "no element {css}: {v}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/value"), Some(json!({"text": text})));
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": js, "args": []})))
    }

    /// Wait until `js` (an expression) is truthy.
    fn wait_for(&self, js: &str) {
        let t = Instant::now();
        loop {
            let v = self.script(&format!("return !!({js});"));
            if v == json!(true) {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(15), "timed out waiting for {js}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Driver {
    fn text(&self, css: &str) -> String {
        let id = self.element(css);
        self.cmd("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn clear(&self, css: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({})));
    }

    fn size(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": height})));
    }

    /// Wait for a page load that follows a click.
    fn wait_path(&self, path_prefix: &str) {
        self.wait_for(&format!(
            "location.pathname.startsWith({}) && document.readyState === 'complete'",
            json!(path_prefix)
        ));
    }

    /// Photograph the page at desktop and phone width, and check that neither overflows, and
    /// that a right-to-left page's style sheets hold no physical left/right.
    fn inspect(&self, lang: &str, name: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        for (w, h, label) in [(1280, 900, "desktop"), (375, 800, "phone")] {
            self.size(w, h);
            std::thread::sleep(Duration::from_millis(200));
            let overflow =
                self.script("return document.documentElement.scrollWidth - document.documentElement.clientWidth;");
            assert!(
                overflow.as_i64().unwrap_or(1) <= 0,
                "{lang} {name} at {w}px overflows by {overflow}px"
            );
            let png = self.cmd("GET", "/screenshot", None);
            let bytes = decode_base64(png.as_str().unwrap());
            std::fs::write(dir.join(format!("{name}-{lang}-{label}.png")), bytes).unwrap();
        }
        self.size(1280, 900);
        if lang != "en" {
            assert_eq!(self.script("return document.documentElement.dir;"), json!("rtl"));
            let physical = self.script(
                "const css = [...document.styleSheets].flatMap(s => [...s.cssRules]).map(r => r.cssText).join('\\n');
                 const m = css.match(/(margin|padding|border|inset)-(left|right)|(^|[;{\\s])(left|right)\\s*:|float:\\s*(left|right)|text-align:\\s*(left|right)|clear:\\s*(left|right)/);
                 return m ? m[0] : null;",
            );
            assert_eq!(
                physical,
                Value::Null,
                "{lang} {name}: a physical left/right in the style sheets"
            );
            assert_eq!(
                self.script("return document.querySelectorAll('[style]').length;"),
                json!(0),
                "{name}: no inline style"
            );
        }
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A small demo business, imported and analysed, and a marketing manager to sign in as.
fn business() -> crate::support::TestApp {
    let app = spawn_app();
    let cfg = kesher_demo::DemoConfig {
        customers: 400,
        seed: 3,
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
    let (s, v) = app.post("/api/analytics/run", json!({"as_of": "2025-06-30T23:59:59Z"}));
    assert_eq!(s, 200, "{v}");
    let (s, v) = app.post(
        "/api/users",
        json!({"username": "dana", "role": "marketing_manager", "password": "correct horse battery"}),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = app.post(
        "/api/users",
        json!({"username": "root", "role": "admin", "password": "correct horse battery"}),
    );
    assert_eq!(s, 201, "{v}");
    app
}

fn walk_through(lang: &str) {
    let app = business();
    let (_, run) = app.get("/api/analytics/value");
    assert!(run["buyers"].as_u64().unwrap() > 0);
    let (_, page) = app.get("/api/customers?limit=1");
    let target = page["items"][0].clone();
    let (id, member) = (target["id"].as_str().unwrap(), target["member_no"].as_str().unwrap());
    let d = Driver::start();
    d.size(1280, 900);
    d.go(&app.base);
    d.wait_path("/login");
    if lang != "en" {
        // The language menu applies at once (the page's script submits it).
        d.script(&format!(
            "const s = document.getElementById('lang-select'); s.value = '{lang}'; s.dispatchEvent(new Event('change'));"
        ));
        d.wait_for(&format!("document.documentElement.lang === '{lang}'"));
    }
    d.inspect(lang, "login");
    // A wrong password: the page says so, in the page's language.
    d.type_into("#u", "dana");
    d.type_into("#pw", "not the password");
    d.click("#login button");
    d.wait_for("document.getElementById('error')");
    let wrong = d.text("#error");
    match lang {
        "he" => assert!(wrong.contains("סיסמה שגויים"), "{wrong}"),
        _ => assert!(wrong.contains("Wrong user name or password"), "{wrong}"),
    }
    d.clear("#pw");
    d.type_into("#pw", "correct horse battery");
    d.click("#login button");
    d.wait_for("document.getElementById('who')");
    assert!(d.text("#who").contains("dana"));
    // The session cookie is invisible to scripts.
    assert_eq!(
        d.script("return document.cookie.includes('kesher_session');"),
        json!(false)
    );

    // The dashboard's figures are the API's.
    let customers = d.script("return document.getElementById('fig-customers').dataset.value;");
    let (_, counts) = app.get("/api/stats");
    assert_eq!(customers.as_str().unwrap(), counts["customers"].to_string(), "{counts}");
    let buyers = d.script("return document.getElementById('fig-buyers').dataset.value;");
    assert_eq!(buyers.as_str().unwrap(), run["buyers"].to_string());
    assert!(
        d.script("return document.querySelectorAll('#chart-ladder svg rect').length;")
            .as_u64()
            .unwrap()
            >= 4
    );
    d.inspect(lang, "dashboard");

    // The analytics page: the model's parameters are the run's, the charts drawn.
    d.go(&format!("{}/analytics", app.base));
    d.wait_path("/analytics");
    assert!(d.script("return !!document.getElementById('last-refresh');") == json!(true));
    let model = run["model"].as_str().unwrap_or("none");
    if model != "none" {
        let shown = d.script("return document.querySelectorAll('#model-params tbody tr').length;");
        assert_eq!(
            shown.as_u64(),
            Some(run["params"].as_object().map_or(0, |p| p.len()) as u64)
        );
    }
    assert!(
        d.script("return document.querySelectorAll('#chart-rfm svg rect').length;")
            .as_u64()
            .unwrap()
            >= 1
    );
    d.inspect(lang, "analytics");

    // Find the customer by member number and open them.
    d.go(&format!("{}/customers", app.base));
    d.wait_path("/customers");
    d.type_into("#q", member);
    d.click("form.search button");
    d.wait_for("document.getElementById('results')");
    d.inspect(lang, "customers");
    d.click("#results a");
    d.wait_path(&format!("/customers/{id}"));
    assert_eq!(d.text("#f-member"), member);
    d.inspect(lang, "customer");

    // Edit one field: the others stay.
    let (_, before) = app.get(&format!("/api/customers/{id}"));
    let city = if lang == "he" { "באר שבע" } else { "Beersheba" };
    d.clear("#e-city");
    d.type_into("#e-city", city);
    d.click("#edit-form button");
    d.wait_for("document.getElementById('flash')");
    assert_eq!(d.text("#f-city"), city);
    let (_, after) = app.get(&format!("/api/customers/{id}"));
    assert_eq!(after["city"], city);
    for keep in ["name", "phone", "email", "member_no", "card", "birth_date"] {
        assert_eq!(after[keep], before[keep], "{keep} kept");
    }

    // Add a contact: it is on the timeline and in the API.
    let note = format!("browser note {lang}");
    d.script("document.getElementById('k-kind').value = 'complaint';");
    d.type_into("#k-text", &note);
    d.click("#contact-form button");
    d.wait_for("document.getElementById('flash')");
    assert!(d.text("#timeline").contains(&note));
    let (_, ints) = app.get(&format!("/api/interactions?customer_id={id}"));
    assert!(
        ints["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["text"] == note.as_str() && i["kind"] == "complaint"),
        "{ints}"
    );

    // The loyalty program: its page lists the tiers; a member is enrolled from the form and the
    // customer view then shows their tier.
    let (s, v) = app.call(
        "PUT",
        "/api/loyalty/program",
        Some(json!({"name": "מועדון קשר", "currency": "ILS", "qualification": {"by": "spend", "days": 365},
            "tiers": [{"key": "silver", "name": "Silver", "threshold": "0"},
                      {"key": "gold", "name": "Gold", "threshold": "1000.00", "multiplier": "1.5", "benefits": ["Free coffee"]}]})),
    );
    assert_eq!(s, 200, "{v}");
    d.go(&format!("{}/loyalty", app.base));
    d.wait_path("/loyalty");
    assert!(d.text("#loy-tiers").contains("Gold"));
    d.type_into("#loy-who", member);
    d.click("form[action='/loyalty/enrol'] button");
    d.wait_for("document.getElementById('flash')");
    assert!(d.text("#loy-members").contains(&id[..8]));
    d.inspect(lang, "loyalty");
    let (s, w) = app.get(&format!("/api/customers/{id}/wallet"));
    assert_eq!((s, w["member"]["status"].as_str()), (200, Some("active")), "{w}");
    d.go(&format!("{}/customers/{id}", app.base));
    d.wait_path(&format!("/customers/{id}"));
    assert!(
        d.text("#f-loyalty")
            .contains(w["progress"]["tier_name"].as_str().unwrap_or("—"))
    );

    // Build a segment: the count appears as one types; saved, it is listed and in the API.
    d.go(&format!("{}/segments", app.base));
    d.wait_path("/segments");
    d.type_into("#seg-expr", "stage = \"core\"");
    d.wait_for("/\\d|[۰-۹]/.test(document.getElementById('seg-live').textContent)");
    let (_, members) = app.get("/api/segments/members?segment=stage%20%3D%20%22core%22&limit=1");
    let live = d.text("#seg-live");
    if lang == "en" {
        assert!(live.contains(&members["count"].to_string()), "{live} vs {members}");
    }
    d.type_into("#seg-name", &format!("core-{lang}"));
    d.click("button[value=save]");
    d.wait_for(&format!("document.getElementById('saved-segments') && document.getElementById('saved-segments').textContent.includes('core-{lang}')"));
    let (s, _) = app.get(&format!("/api/segments/core-{lang}"));
    assert_eq!(s, 200);
    d.inspect(lang, "segments");

    // A campaign: created from its definition pasted in the form, launched, its outbox counted.
    d.go(&format!("{}/campaigns", app.base));
    d.wait_path("/campaigns");
    let definition = json!({"name": format!("Spring {lang}"), "kind": {"type": "scheduled", "at": "2025-07-01T10:00"},
        "audience": "visits >= 1", "channels": ["log"], "default_language": "en", "control_bp": 1000,
        "templates": {"en": {"subject": "Hello", "body": "<p>Hello {{ customer.first_name }}</p>"},
                      "he": {"subject": "שלום", "body": "<p>שלום {{ customer.first_name }}</p>"}}});
    d.script(&format!(
        "document.getElementById('camp-definition').value = {};",
        serde_json::to_string(&definition.to_string()).unwrap()
    ));
    d.click("#campaign-form button");
    d.wait_for("document.getElementById('flash') || document.getElementById('error')");
    let refused = d.script("const e = document.getElementById('error'); return e ? e.textContent : '';");
    assert_eq!(refused, json!(""), "the definition was refused");
    assert!(d.script("return !!document.getElementById('launch-form');") == json!(true));
    d.click("#launch-form button");
    d.wait_for("document.getElementById('flash') && document.getElementById('pause-form')");
    let outbox = d.text("#camp-outbox-table");
    assert!(outbox.chars().any(|c| c.is_numeric()), "{outbox}");
    d.inspect(lang, "campaign");

    // A change without the page's CSRF token is refused even with the cookie.
    let status = d.script(
        "const x = new XMLHttpRequest(); x.open('POST', '/api/auth/logout', false); x.send(); return x.status;",
    );
    assert_eq!(status, json!(403));
    d.click("#sign-out");
    d.wait_path("/login");
    let status =
        d.script("const x = new XMLHttpRequest(); x.open('GET', '/api/auth/me', false); x.send(); return x.status;");
    assert_eq!(status, json!(401), "signed out");

    // The administration pages, as an admin: the menu's entry, each page photographed.
    d.type_into("#u", "root");
    d.type_into("#pw", "correct horse battery");
    d.click("#login button");
    d.wait_for("document.getElementById('nav-admin')");
    d.click("#nav-admin");
    d.wait_path("/admin/users");
    d.inspect(lang, "admin-users");
    for page in ["roles", "tokens", "audit", "retention"] {
        d.go(&format!("{}/admin/{page}", app.base));
        d.wait_path(&format!("/admin/{page}"));
        d.inspect(lang, &format!("admin-{page}"));
    }
}

#[test]
fn the_whole_walk_through_in_english() {
    walk_through("en");
}

#[test]
fn the_whole_walk_through_in_hebrew() {
    walk_through("he");
}
