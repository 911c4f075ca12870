//! The web page in a real browser (Debian's Chromium, headless, driven over WebDriver by
//! chromedriver): sign in, the session cookie is HttpOnly and works over http://127.0.0.1, a
//! search, and sign-out — which the server only accepts with the page's CSRF token. Runs with
//! the `browser-tests` feature (scripts/test.sh installs chromium and chromium-driver).

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

#[test]
fn sign_in_search_and_sign_out_in_a_browser() {
    let app = spawn_app();
    app.seed();
    app.post(
        "/api/customers",
        json!({"member_no": "M1", "name": "דנה כהן", "phone": "050-1234567"}),
    );
    let (s, v) = app.post(
        "/api/users",
        json!({"username": "dana", "role": "marketing_manager", "password": "correct horse battery"}),
    );
    assert_eq!(s, 201, "{v}");
    let d = Driver::start();
    d.go(&app.base);
    d.wait_for("document.getElementById('login') && !document.getElementById('login').hidden");
    // A wrong password: the page says so and stays signed out.
    d.type_into("#u", "dana");
    d.type_into("#pw", "not the password");
    d.click("#login button");
    d.wait_for("document.getElementById('err').textContent.includes('wrong user name or password')");
    d.script("document.getElementById('pw').value='';");
    d.type_into("#pw", "correct horse battery");
    d.click("#login button");
    d.wait_for("document.getElementById('who').textContent.includes('user:dana')");
    // The session cookie is invisible to scripts.
    assert_eq!(
        d.script("return document.cookie.includes('kesher_session');"),
        json!(false)
    );
    d.type_into("#q", "דנה");
    d.click("#f button");
    d.wait_for("document.getElementById('t').textContent.includes('דנה כהן')");
    // A change without the CSRF token is refused even with the cookie; the page's own sign-out
    // sends it and is accepted.
    let status = d.script(
        "const x = new XMLHttpRequest(); x.open('POST', '/api/auth/logout', false); x.send(); return x.status;",
    );
    assert_eq!(status, json!(403));
    d.click("#out");
    d.wait_for("!document.getElementById('login').hidden");
    let status =
        d.script("const x = new XMLHttpRequest(); x.open('GET', '/api/auth/me', false); x.send(); return x.status;");
    assert_eq!(status, json!(401), "signed out");
}
