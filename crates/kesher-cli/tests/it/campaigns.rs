//! `kesher campaigns …` end to end on SQLite: a campaign created from a file, listed, shown,
//! previewed, launched on the log channel (the control group drawn, every row written), delivered,
//! reported; a recurring birthday campaign run day by day (`run-recurring --as-of`), once a year
//! per customer; the sample-size plan.

use super::*;

const DEFINITION: &str = r#"{
  "name": "Hello",
  "kind": {"type": "scheduled", "at": "2025-03-01T10:00"},
  "audience": "visits >= 0",
  "channels": ["log"],
  "default_language": "en",
  "templates": {"en": {"subject": "Hi", "body": "Hello {{ customer.name }}"}},
  "control_bp": 3400
}"#;

#[test]
fn a_campaign_is_created_launched_delivered_and_reported() {
    let d = Dir::new();
    seed(&d);
    let f = d.file("c.json", DEFINITION);
    let o = kesher(&d.db(), &["campaigns", "create", f.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let id = text(&o).0.trim().to_string();
    let o = kesher(&d.db(), &["campaigns", "list"]);
    assert!(text(&o).0.contains("draft"), "{:?}", text(&o));
    let o = kesher(&d.db(), &["campaigns", "preview", &id, "--customer", "M3"]);
    let preview: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(preview["body"], "Hello Moshe Levi", "{preview}");
    assert_eq!(preview["channel"], "log");
    let o = kesher(&d.db(), &["campaigns", "launch", &id]);
    assert!(o.status.success(), "{:?}", text(&o));
    let launch: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    // Three prospects, 34 %: round(1.02) = 1 in the control group.
    assert_eq!(launch["audience"], 3);
    assert_eq!(launch["control"], 1);
    assert_eq!(launch["queued"], 2);
    let o = kesher(&d.db(), &["campaigns", "deliver"]);
    let delivered: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(delivered["sent"], 2, "{delivered}");
    let o = kesher(&d.db(), &["campaigns", "report", &id, "--json"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let report: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(report["sent"], 2);
    assert_eq!(report["control"], 1);
    for key in ["suppressed", "response", "revenue", "projection"] {
        assert!(report.get(key).is_some(), "{key}: {report}");
    }
    let o = kesher(&d.db(), &["campaigns", "pause", &id]);
    assert!(text(&o).0.contains("paused"), "{:?}", text(&o));
}

#[test]
fn a_running_server_delivers_a_launched_campaign() {
    let d = Dir::new();
    seed(&d);
    let f = d.file("c.json", DEFINITION);
    let o = kesher(&d.db(), &["campaigns", "create", f.to_str().unwrap()]);
    let id = text(&o).0.trim().to_string();
    let _server = super::jobs::Server(super::jobs::server(&d.db()));
    let o = kesher(&d.db(), &["campaigns", "launch", &id]);
    assert!(o.status.success(), "{:?}", text(&o));
    // Nobody calls deliver: the server's delivery loop sends both queued messages.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let o = kesher(&d.db(), &["campaigns", "report", &id, "--json"]);
        let report: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap_or_default();
        if report["sent"] == 2 && report["queued"] == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not delivered: {report}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn the_plan_gives_customers_per_group() {
    let d = Dir::new();
    let o = kesher(&d.db(), &["campaigns", "plan", "--baseline", "0.05", "--lift", "0.2"]);
    assert_eq!(text(&o).0, "8158 customers per group\n", "{:?}", text(&o));
}

#[test]
fn run_recurring_greets_each_birthday_once_a_year() {
    let d = Dir::new();
    seed(&d);
    let birthday = DEFINITION.replace(
        r#"{"type": "scheduled", "at": "2025-03-01T10:00"}"#,
        r#"{"type": "recurring", "on": "birthday", "local_time": "09:00"}"#,
    );
    let f = d.file(
        "birthday.json",
        &birthday.replace("\"control_bp\": 3400", "\"control_bp\": 0"),
    );
    let o = kesher(&d.db(), &["campaigns", "create", f.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let id = text(&o).0.trim().to_string();
    let o = kesher(&d.db(), &["campaigns", "launch", &id]);
    assert!(o.status.success(), "{:?}", text(&o));
    let run = |day: &str| -> serde_json::Value {
        let o = kesher(&d.db(), &["campaigns", "run-recurring", "--as-of", day]);
        assert!(o.status.success(), "{:?}", text(&o));
        serde_json::from_str(&text(&o).0).unwrap()
    };
    // M1 and M2 were born on 12 April; M3 has no birth date.
    let first = run("2025-04-12");
    assert_eq!(first["day"], "2025-04-12");
    assert_eq!(first["campaigns"][0]["written"], 2, "{first}");
    assert_eq!(run("2025-04-12")["campaigns"][0]["written"], 0, "once a year");
    assert_eq!(run("2025-04-13")["campaigns"][0]["due"], 0);
    assert_eq!(run("2026-04-12")["campaigns"][0]["written"], 2, "again the next year");
    let o = kesher(&d.db(), &["campaigns", "deliver"]);
    let delivered: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(delivered["sent"], 4, "{delivered}");
    let o = kesher(&d.db(), &["campaigns", "report", &id, "--json"]);
    let report: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(report["sent"], 4, "{report}");
    assert_eq!(report["occurrences"][0]["occurrence"], 2025, "{report}");
    assert_eq!(report["occurrences"][1]["sent"], 2, "{report}");
    let o = kesher(&d.db(), &["campaigns", "run-recurring", "--as-of", "12 April"]);
    assert!(!o.status.success(), "a day that is not a date is refused");
}
