// Reference values are kept as Python printed them.
#![allow(clippy::excessive_precision)]

use super::*;
use crate::definition::{CustomerDate, DEFAULT_TEST_HOURS, Kind, Offer};
use crate::draw::{Arm, arm_of, assign_arms, control_group, counts, in_control, pick_winner, share_of};
use crate::sms::{Encoding, measure};
use crate::stats::*;
use crate::timing::{
    anniversary_in, greeting_day, greeting_instants, local_day, pace, recurring_due, recurring_occurrence,
    scheduled_instant,
};
use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use kesher_core::{Consent, ConsentChannel, ConsentState, Customer, CustomerId, Email, Phone};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn id(n: u128) -> CustomerId {
    CustomerId::from_bytes(n.to_be_bytes())
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn close(actual: f64, expected: f64, tolerance: f64) {
    let scale = expected.abs().max(1e-300);
    assert!(
        ((actual - expected) / scale).abs() <= tolerance || (actual - expected).abs() <= tolerance * 1e-3,
        "{actual} is not {expected} (relative tolerance {tolerance})"
    );
}

// ---------------------------------------------------------------- the definition

const WIN_BACK: &str = r#"{
  "name": "Win-back",
  "kind": { "type": "triggered", "segment": "at_risk" },
  "audience": "stage = \"at_risk\" and sms_consent",
  "channels": ["sms", "email"],
  "default_language": "he",
  "templates": {
    "he": { "subject": "התגעגענו, {{ customer.first_name }}", "body": "<p>שלום {{ customer.first_name }}</p>", "sms": "שלום {{ customer.first_name }}, חזרו אלינו" },
    "fa": { "subject": "دلمان تنگ شد", "body": "<p>سلام {{ customer.first_name }}</p>", "sms": "سلام {{ customer.first_name }}" },
    "en": { "subject": "We miss you", "body": "<p>Hello {{ customer.first_name }}</p>", "sms": "Hello {{ customer.first_name }}{% if nbo %}: {{ nbo.name }}{% endif %}" }
  },
  "offer": "next_best_offer",
  "send_window": { "from_hour": 9, "to_hour": 20 },
  "rate_per_minute": 120,
  "frequency_cap": { "messages": 3, "days": 7 },
  "control_bp": 1000,
  "variants": [
    { "key": "a", "share_bp": 2000 },
    { "key": "b", "share_bp": 2000, "templates": { "en": { "sms": "Come back, {{ customer.first_name }}" } } }
  ],
  "attribution_days": 30
}"#;

fn with(change: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(WIN_BACK).unwrap();
    change(&mut v);
    v.to_string()
}

fn key_of(json: &str) -> String {
    let e = Campaign::parse(json).unwrap_err();
    assert_eq!(e.code, "campaign.definition.invalid", "{e}");
    e.params["key"].as_str().unwrap().to_string()
}

#[test]
fn a_full_definition_reads() {
    let c = Campaign::parse(WIN_BACK).unwrap();
    assert_eq!(c.name(), "Win-back");
    assert_eq!(
        c.kind(),
        &Kind::Triggered {
            segment: "at_risk".into()
        }
    );
    assert_eq!(c.channels(), &[Channel::Sms, Channel::Email]);
    assert_eq!(c.offer(), Some(&Offer::NextBestOffer));
    assert_eq!(
        c.send_window(),
        SendWindow {
            from_hour: 9,
            to_hour: 20
        }
    );
    assert_eq!(c.frequency_cap(), Some(FrequencyCap { messages: 3, days: 7 }));
    assert_eq!(
        (c.control_bp(), c.attribution_days(), c.rate_per_minute()),
        (1000, 30, Some(120))
    );
    assert_eq!(c.sms_max_segments(), 4, "the default");
    assert_eq!(c.variant_shares(), vec![2000, 2000]);
}

#[test]
fn defaults_and_other_kinds_read() {
    let minimal = r#"{"name":"Hanukkah sale","kind":{"type":"scheduled","at":"2025-12-14T10:00"},
        "audience":"all","channels":["log"],"default_language":"en","templates":{"en":{"body":"Sale!"}},
        "offer":{"benefit":"coffee10"}}"#;
    let c = Campaign::parse(minimal).unwrap();
    assert_eq!(
        c.kind(),
        &Kind::Scheduled {
            at: date(2025, 12, 14).at(10, 0, 0, 0)
        }
    );
    assert_eq!(c.send_window(), SendWindow::ALWAYS);
    assert_eq!(
        (c.rate_per_minute(), c.attribution_days(), c.control_bp()),
        (None, 14, 0)
    );
    assert_eq!(c.offer(), Some(&Offer::Benefit("coffee10".into())));
    assert_eq!(c.variants_test_hours(), DEFAULT_TEST_HOURS);
    let tested = Campaign::parse(&with(|v| v["variants_test_hours"] = 6.into())).unwrap();
    assert_eq!(tested.variants_test_hours(), 6);

    let birthday = minimal.replace(
        r#"{"type":"scheduled","at":"2025-12-14T10:00"}"#,
        r#"{"type":"recurring","date":"birthday","days_before":3,"local_time":"08:30"}"#,
    );
    let c = Campaign::parse(&birthday).unwrap();
    assert_eq!(
        c.kind(),
        &Kind::Recurring {
            date: CustomerDate::Birthday,
            days_before: 3,
            at: jiff::civil::time(8, 30, 0, 0)
        }
    );
}

#[test]
fn errors_name_the_key() {
    let cases: Vec<(String, &str)> = vec![
        (with(|v| v["control_bp"] = 6000.into()), "control_bp"),
        (
            with(|v| v["variants"][1]["share_bp"] = 0.into()),
            "variants[1].share_bp",
        ),
        (
            with(|v| v["variants"][1]["share_bp"] = (-5).into()),
            "variants[1].share_bp",
        ),
        (with(|v| v["variants"][1]["share_bp"] = 9000.into()), "variants"),
        (with(|v| v["variants"][1]["key"] = "a".into()), "variants[1].key"),
        (with(|v| v["variants_test_hours"] = 0.into()), "variants_test_hours"),
        (with(|v| v["variants_test_hours"] = 721.into()), "variants_test_hours"),
        (
            with(|v| {
                v.as_object_mut().unwrap().remove("variants");
                v["variants_test_hours"] = 12.into();
            }),
            "variants_test_hours",
        ),
        (with(|v| v["variants"][1]["key"] = "B!".into()), "variants[1].key"),
        (
            with(|v| v["variants"][1]["templates"]["ru"] = serde_json::json!({"sms": "x"})),
            "variants[1].templates.ru",
        ),
        (
            with(|v| {
                v["variants"].as_array_mut().unwrap().pop();
            }),
            "variants",
        ),
        (
            with(|v| {
                let five = serde_json::json!({"key": "x", "share_bp": 100});
                for i in 0..3 {
                    let mut w = five.clone();
                    w["key"] = format!("x{i}").into();
                    v["variants"].as_array_mut().unwrap().push(w);
                }
            }),
            "variants",
        ),
        (
            with(|v| {
                v["templates"]["fa"].as_object_mut().unwrap().remove("sms");
            }),
            "templates.fa.sms",
        ),
        (
            with(|v| {
                v["templates"]["en"].as_object_mut().unwrap().remove("subject");
            }),
            "templates.en.subject",
        ),
        (
            with(|v| v["templates"]["he"]["sms"] = "{{ customer.first_name ".into()),
            "templates.he.sms",
        ),
        (
            with(|v| v["templates"]["he"]["subject"] = "a\nb".into()),
            "templates.he.subject",
        ),
        (
            with(|v| v["templates"]["he"]["subject"] = "   ".into()),
            "templates.he.subject",
        ),
        (
            with(|v| v["templates"]["he"]["body"] = "x".repeat(100_001).into()),
            "templates.he.body",
        ),
        (
            with(|v| {
                let he = v["templates"]["he"].clone();
                v["templates"]["HE"] = he;
            }),
            "templates.HE",
        ),
        (
            with(|v| {
                let he = v["templates"]["he"].clone();
                v["templates"]["hebrew!"] = he;
            }),
            "templates.hebrew!",
        ),
        (with(|v| v["default_language"] = "ar".into()), "default_language"),
        (with(|v| v["templates"] = serde_json::json!({})), "templates"),
        (
            with(|v| v["channels"] = serde_json::json!(["sms", "sms"])),
            "channels[1]",
        ),
        (with(|v| v["channels"] = serde_json::json!([])), "channels"),
        (with(|v| v["channels"] = serde_json::json!(["fax"])), "channels[0]"),
        (
            with(|v| v["kind"] = serde_json::json!({"type": "triggered"})),
            "kind.segment",
        ),
        (with(|v| v["kind"]["at"] = "2025-01-01T10:00".into()), "kind.at"),
        (with(|v| v["kind"] = serde_json::json!({"type": "weekly"})), "kind.type"),
        (
            with(|v| v["kind"] = serde_json::json!({"type": "scheduled", "at": "tomorrow"})),
            "kind.at",
        ),
        (
            with(|v| v["kind"] = serde_json::json!({"type": "recurring", "date": "birthday", "days_before": 31})),
            "kind.days_before",
        ),
        (
            with(|v| v["kind"] = serde_json::json!({"type": "recurring", "date": "birthday", "local_time": "25:00"})),
            "kind.local_time",
        ),
        (
            with(|v| v["kind"] = serde_json::json!({"type": "recurring"})),
            "kind.date",
        ),
        (with(|v| v["kind"]["date"] = "nameday".into()), "kind.date"),
        (with(|v| v["send_window"]["to_hour"] = 9.into()), "send_window.to_hour"),
        (
            with(|v| v["send_window"]["from_hour"] = 24.into()),
            "send_window.from_hour",
        ),
        (
            with(|v| v["send_window"]["to_hour"] = 300.into()),
            "send_window.to_hour",
        ),
        (with(|v| v["rate_per_minute"] = 0.into()), "rate_per_minute"),
        (with(|v| v["frequency_cap"]["days"] = 400.into()), "frequency_cap.days"),
        (
            with(|v| v["frequency_cap"]["messages"] = 0.into()),
            "frequency_cap.messages",
        ),
        (with(|v| v["attribution_days"] = 0.into()), "attribution_days"),
        (with(|v| v["sms_max_segments"] = 11.into()), "sms_max_segments"),
        (
            with(|v| v["offer"] = serde_json::json!({"benefit": "two words"})),
            "offer.benefit",
        ),
        (with(|v| v["offer"] = "free_lunch".into()), "offer"),
        (with(|v| v["name"] = "".into()), "name"),
        (with(|v| v["name"] = "n".repeat(201).into()), "name"),
        (with(|v| v["audience"] = " ".into()), "audience"),
        (with(|v| v["colour"] = "red".into()), "colour"),
    ];
    for (json, key) in cases {
        let found = key_of(&json);
        assert_eq!(found, key, "{json}");
    }
    assert!(Campaign::parse("[").is_err());
    assert_eq!(key_of(&format!("{}{{}}", " ".repeat(definition::MAX_DEFINITION))), "");
}

#[test]
fn the_message_falls_back_by_language_and_variant() {
    let c = Campaign::parse(WIN_BACK).unwrap();
    assert_eq!(c.language_for(Some("fa")), "fa");
    assert_eq!(c.language_for(Some("EN-gb")), "en");
    assert_eq!(c.language_for(Some("ru")), "he");
    assert_eq!(c.language_for(None), "he");
    let (language, m) = c.message(Some("en"), Some(1));
    assert_eq!(language, "en");
    assert_eq!(m.sms.as_deref(), Some("Come back, {{ customer.first_name }}"));
    assert_eq!(
        m.subject.as_deref(),
        Some("We miss you"),
        "what the variant leaves out is the campaign's"
    );
    let (_, m) = c.message(Some("en"), Some(0));
    assert!(m.sms.unwrap().starts_with("Hello"));
    let (_, m) = c.message(Some("he"), Some(1));
    assert!(m.sms.unwrap().starts_with("שלום"));
}

#[test]
fn the_definition_round_trips_through_json() {
    let c = Campaign::parse(WIN_BACK).unwrap();
    let again = Campaign::parse(&serde_json::to_string(c.definition()).unwrap()).unwrap();
    assert_eq!(c, again);
}

#[test]
fn every_template_is_checked_against_the_data() {
    let c = Campaign::parse(WIN_BACK).unwrap();
    let provided: BTreeSet<String> = ["customer.first_name", "customer.name", "nbo"]
        .into_iter()
        .map(String::from)
        .collect();
    c.check_variables(&provided).unwrap();
    let without_nbo: BTreeSet<String> = ["customer.first_name"].into_iter().map(String::from).collect();
    let e = c.check_variables(&without_nbo).unwrap_err();
    assert_eq!(e.code, "campaign.template.variable");
    assert_eq!(e.params["key"], "templates.en.sms");
    assert_eq!(e.params["variable"], "nbo");
}

// ---------------------------------------------------------------- templates

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_template_names_its_variables() {
    let source = "{% set x = customer.name %}{{ x }} {{ nbo.name | upper }} {% for i in range(3) %}{{ loop.index }}{% endfor %}{{ business.today }}";
    let vars = template::variables("t", source).unwrap();
    assert_eq!(vars, set(&["business.today", "customer.name", "nbo.name"]));
}

#[test]
fn a_missing_variable_is_named() {
    let provided = set(&["customer", "customer.first_name", "customer.name", "nbo", "score.stage"]);
    assert_eq!(
        template::missing(
            "t",
            "{{ customer.first_nmae }} {{ nbo.sku }} {{ score.clv }} {{ offer }}",
            &provided
        )
        .unwrap(),
        vec!["customer.first_nmae", "offer", "score.clv"],
        "nbo is provided whole (nothing deeper listed), so nbo.sku passes"
    );
    let e = template::check("templates.he.sms", "שלום {{ customer.frist_name }}", &provided).unwrap_err();
    assert_eq!(e.code, "campaign.template.variable");
    assert_eq!(e.params["variable"], "customer.frist_name");
    assert_eq!(e.params["known"], "customer, nbo, score");
    template::check("t", "{% if nbo %}{{ nbo.name }}{% endif %}{{ customer }}", &provided).unwrap();
}

#[test]
fn the_provided_paths_come_from_the_data() {
    let data = serde_json::json!({
        "customer": { "first_name": "Dana", "city": null },
        "nbo": null,
        "tags": ["a"],
    });
    assert_eq!(
        template::provided_paths(&data),
        set(&["customer", "customer.city", "customer.first_name", "nbo", "tags"])
    );
    let provided = template::provided_paths(&data);
    template::check("t", "{{ customer.first_name }}{{ nbo.name }}{{ tags }}", &provided).unwrap();
    assert!(template::check("t", "{{ customer.age }}", &provided).is_err());
}

#[test]
fn a_syntax_error_is_coded() {
    let e = template::variables("templates.en.body", "{% if %}").unwrap_err();
    assert_eq!(e.code, "campaign.template.syntax");
    assert_eq!(e.params["key"], "templates.en.body");
    assert!(template::syntax_error("{{ a }}").is_none());
    assert!(template::syntax_error("{{ a").unwrap().starts_with("line 1"));
}

// ---------------------------------------------------------------- channels

fn reach() -> Reach {
    Reach {
        email_consent: Some(ConsentState::Granted),
        sms_consent: Some(ConsentState::Granted),
        has_email: true,
        has_phone: true,
        preferred: None,
        unsubscribed: false,
    }
}

#[test]
fn the_preferred_channel_wins_when_it_can() {
    let all = [Channel::Email, Channel::Sms];
    assert_eq!(choose_channel(&reach(), &all), Choice::Chosen(Channel::Email));
    let r = Reach {
        preferred: Some(Channel::Sms),
        ..reach()
    };
    assert_eq!(choose_channel(&r, &all), Choice::Chosen(Channel::Sms));
    assert_eq!(
        choose_channel(&r, &[Channel::Email]),
        Choice::Chosen(Channel::Email),
        "a preferred channel the campaign does not allow is passed over"
    );
    let r = Reach {
        preferred: Some(Channel::Sms),
        sms_consent: Some(ConsentState::Withdrawn),
        ..reach()
    };
    assert_eq!(choose_channel(&r, &all), Choice::Chosen(Channel::Email));
}

#[test]
fn suppression_says_why() {
    let all = [Channel::Email, Channel::Sms];
    let unsubscribed = Reach {
        unsubscribed: true,
        ..reach()
    };
    assert_eq!(
        choose_channel(&unsubscribed, &all),
        Choice::Suppressed(Suppression::Unsubscribed)
    );
    assert_eq!(
        choose_channel(&unsubscribed, &[Channel::Log]),
        Choice::Suppressed(Suppression::Unsubscribed)
    );
    let never_asked = Reach {
        email_consent: None,
        sms_consent: Some(ConsentState::Withdrawn),
        ..reach()
    };
    assert_eq!(
        choose_channel(&never_asked, &all),
        Choice::Suppressed(Suppression::NoConsent)
    );
    let no_phone = Reach {
        email_consent: None,
        has_phone: false,
        ..reach()
    };
    assert_eq!(
        choose_channel(&no_phone, &all),
        Choice::Suppressed(Suppression::NoAddress)
    );
    assert_eq!(
        choose_channel(&no_phone, &[Channel::Email]),
        Choice::Suppressed(Suppression::NoConsent)
    );
    assert_eq!(
        choose_channel(&Reach::default(), &[Channel::Log]),
        Choice::Chosen(Channel::Log)
    );
    assert_eq!(
        choose_channel(&reach(), &[]),
        Choice::Suppressed(Suppression::NoConsent)
    );
    for reason in Suppression::ALL {
        assert_eq!(Suppression::parse(reason.as_str()), Some(*reason));
        assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
    }
    for channel in Channel::ALL {
        assert_eq!(Channel::parse(channel.as_str()), Some(*channel));
    }
}

#[test]
fn reach_reads_a_customer_record() {
    let mut c = Customer::bare(id(1), None, ts("2024-01-01T00:00:00Z"));
    c.email = Some(Email::parse("dana@example.com").unwrap());
    c.consents = vec![Consent {
        channel: ConsentChannel::Sms,
        state: ConsentState::Granted,
        at: ts("2024-01-01T00:00:00Z"),
        source: "import".into(),
    }];
    let r = Reach::of(&c, Some(Channel::Sms), false);
    assert_eq!((r.has_email, r.has_phone), (true, false));
    assert!(r.consents_to(Channel::Sms) && !r.consents_to(Channel::Email));
    assert_eq!(
        choose_channel(&r, &[Channel::Sms, Channel::Email]),
        Choice::Suppressed(Suppression::NoAddress)
    );
    c.phone = Some(Phone::parse("+972501234567", kesher_core::Country::parse("IL").unwrap()).unwrap());
    let r = Reach::of(&c, Some(Channel::Sms), false);
    assert_eq!(
        choose_channel(&r, &[Channel::Email, Channel::Sms]),
        Choice::Chosen(Channel::Sms)
    );
}

// ---------------------------------------------------------------- timing

#[test]
fn the_frequency_cap_counts_a_half_open_period() {
    let cap = FrequencyCap { messages: 2, days: 7 };
    let now = ts("2025-06-10T12:00:00Z");
    let day = jiff::SignedDuration::from_hours(24);
    let received = [now - day, now - day * 3];
    assert!(!cap.allows(&received, now));
    assert_eq!(cap.next_allowed(&received, now), now - day * 3 + day * 7);
    assert!(cap.allows(&received, cap.next_allowed(&received, now)));
    let old = [now - day * 7, now - day];
    assert!(cap.allows(&old, now), "exactly D days ago has left the period");
    assert_eq!(cap.next_allowed(&old, now), now);
    let future = [now + day, now - day];
    assert!(cap.allows(&future, now), "a message after now is not counted");
    let never = FrequencyCap { messages: 0, days: 7 };
    assert!(!never.allows(&[], now));
    assert_eq!(never.next_allowed(&[], now), Timestamp::MAX);
    let many = [now - day, now - day * 2, now - day * 3, now - day * 4];
    assert_eq!(cap.count(&many, now), 4);
    assert_eq!(
        cap.next_allowed(&many, now),
        now - day * 2 + day * 7,
        "three must leave for one more to be allowed"
    );
}

#[test]
fn the_send_window_waits_for_the_next_opening() {
    let tehran = TimeZone::get("Asia/Tehran").unwrap();
    let w = SendWindow {
        from_hour: 9,
        to_hour: 20,
    };
    // 21:30 in Tehran (+03:30) → 09:00 the next day.
    assert_eq!(
        w.next_open(ts("2025-06-01T18:00:00Z"), &tehran),
        ts("2025-06-02T05:30:00Z")
    );
    // 06:00 local → 09:00 the same day.
    assert_eq!(
        w.next_open(ts("2025-06-01T02:30:00Z"), &tehran),
        ts("2025-06-01T05:30:00Z")
    );
    let inside = ts("2025-06-01T10:00:00Z");
    assert_eq!(w.next_open(inside, &tehran), inside);
    assert_eq!(
        w.send_at(ts("2025-06-01T18:00:00Z"), &tehran, Some(ts("2025-06-01T20:29:59Z"))),
        Err(Suppression::OutsideWindow)
    );
    assert_eq!(
        w.send_at(ts("2025-06-01T18:00:00Z"), &tehran, Some(ts("2025-06-02T06:00:00Z"))),
        Ok(ts("2025-06-02T05:30:00Z"))
    );
    // A window across midnight: 20:00 to 08:00.
    let night = SendWindow {
        from_hour: 20,
        to_hour: 8,
    };
    let utc = TimeZone::UTC;
    assert_eq!(
        night.next_open(ts("2025-06-01T12:00:00Z"), &utc),
        ts("2025-06-01T20:00:00Z")
    );
    assert_eq!(
        night.next_open(ts("2025-06-01T23:00:00Z"), &utc),
        ts("2025-06-01T23:00:00Z")
    );
    assert_eq!(
        night.next_open(ts("2025-06-02T07:59:59Z"), &utc),
        ts("2025-06-02T07:59:59Z")
    );
    assert_eq!(
        night.next_open(ts("2025-06-02T08:00:00Z"), &utc),
        ts("2025-06-02T20:00:00Z")
    );
    assert_eq!(SendWindow::ALWAYS.next_open(inside, &utc), inside);
}

#[test]
fn the_send_window_is_dst_correct() {
    let jerusalem = TimeZone::get("Asia/Jerusalem").unwrap();
    // 2025-03-28 02:00 does not exist in Jerusalem (02:00 IST → 03:00 IDT): the window opens
    // at the jump, 03:00 IDT = 00:00 UTC.
    let w = SendWindow {
        from_hour: 2,
        to_hour: 6,
    };
    assert_eq!(
        w.next_open(ts("2025-03-27T23:30:00Z"), &jerusalem),
        ts("2025-03-28T00:00:00Z")
    );
    // 2025-10-26 01:00 happens twice (IDT +03, then IST +02): the first one.
    let w = SendWindow {
        from_hour: 1,
        to_hour: 3,
    };
    assert_eq!(
        w.next_open(ts("2025-10-25T21:00:00Z"), &jerusalem),
        ts("2025-10-25T22:00:00Z")
    );
    // 09:00 local is 06:00 UTC in summer and 07:00 UTC in winter.
    let w = SendWindow {
        from_hour: 9,
        to_hour: 17,
    };
    assert_eq!(
        w.next_open(ts("2025-07-01T03:00:00Z"), &jerusalem),
        ts("2025-07-01T06:00:00Z")
    );
    assert_eq!(
        w.next_open(ts("2025-12-01T03:00:00Z"), &jerusalem),
        ts("2025-12-01T07:00:00Z")
    );
    assert_eq!(
        scheduled_instant(date(2025, 3, 28).at(2, 30, 0, 0), &jerusalem),
        Some(ts("2025-03-28T00:30:00Z")),
        "a skipped local time is moved forward by the gap"
    );
    assert_eq!(
        scheduled_instant(date(2025, 12, 24).at(10, 0, 0, 0), &jerusalem),
        Some(ts("2025-12-24T08:00:00Z"))
    );
}

#[test]
fn recurring_dates_fall_on_their_day() {
    let leap = date(2000, 2, 29);
    assert!(
        recurring_due(leap, date(2025, 2, 28), 0),
        "28 February in a common year"
    );
    assert!(!recurring_due(leap, date(2025, 3, 1), 0));
    assert!(recurring_due(leap, date(2024, 2, 29), 0));
    assert!(!recurring_due(leap, date(2024, 2, 28), 0));
    assert!(recurring_due(leap, date(2025, 2, 25), 3));
    assert!(
        recurring_due(date(1990, 1, 2), date(2024, 12, 30), 3),
        "days before across a year"
    );
    let joined = date(2025, 5, 10);
    assert!(!recurring_due(joined, joined, 0), "joining is not an anniversary");
    assert!(recurring_due(joined, date(2026, 5, 10), 0));
    assert_eq!(anniversary_in(leap, 2023), Some(date(2023, 2, 28)));
}

#[test]
fn a_recurring_greeting_names_the_year_of_the_anniversary_it_greets() {
    // Days before across a year: greeted on 30 December for the next year's 2 January.
    let new_year = date(1990, 1, 2);
    assert_eq!(recurring_occurrence(new_year, date(2024, 12, 30), 3), Some(2025));
    assert_eq!(recurring_occurrence(new_year, date(2024, 12, 31), 3), None);
    assert_eq!(greeting_day(new_year, 2025, 3), Some(date(2024, 12, 30)));
    // Across a month: a 2 March birthday greeted 5 days ahead, in a leap and a common year.
    let march = date(1985, 3, 2);
    assert_eq!(greeting_day(march, 2024, 5), Some(date(2024, 2, 26)));
    assert_eq!(greeting_day(march, 2025, 5), Some(date(2025, 2, 25)));
    assert_eq!(recurring_occurrence(march, date(2024, 2, 26), 5), Some(2024));
    // 29 February: on 28 February in a common year, on the day in a leap year, never twice.
    let leap = date(1996, 2, 29);
    assert_eq!(greeting_day(leap, 2025, 0), Some(date(2025, 2, 28)));
    assert_eq!(greeting_day(leap, 2028, 0), Some(date(2028, 2, 29)));
    assert_eq!(recurring_occurrence(leap, date(2028, 2, 28), 0), None);
    assert_eq!(greeting_day(leap, 2025, 30), Some(date(2025, 1, 29)));
    // Each greeting day of a year names that year, once.
    for year in 2020..2030i16 {
        for (d, before) in [
            (new_year, 3u16),
            (march, 5),
            (leap, 0),
            (leap, 30),
            (date(2001, 12, 31), 30),
        ] {
            let day = greeting_day(d, year, before).unwrap();
            assert_eq!(recurring_occurrence(d, day, before), Some(year), "{d} {year} {before}");
        }
    }
    // Never in the year of the date itself (joining is not an anniversary).
    assert_eq!(greeting_day(date(2025, 6, 1), 2025, 0), None);
    assert_eq!(recurring_occurrence(date(2025, 6, 1), date(2025, 5, 31), 1), None);
}

#[test]
fn a_greeting_day_is_read_in_the_business_time_zone() {
    let zone = TimeZone::get("Asia/Jerusalem").unwrap();
    // 10:00 in Jerusalem in winter (UTC+2) and in summer (UTC+3); the deadline is the local
    // midnight that ends the day.
    let (due, end) = greeting_instants(date(2025, 1, 15), jiff::civil::time(10, 0, 0, 0), &zone).unwrap();
    assert_eq!(due, ts("2025-01-15T08:00:00Z"));
    assert_eq!(end, ts("2025-01-15T22:00:00Z"));
    let (due, _) = greeting_instants(date(2025, 7, 15), jiff::civil::time(10, 0, 0, 0), &zone).unwrap();
    assert_eq!(due, ts("2025-07-15T07:00:00Z"));
    // 23:30 UTC on 14 January is already 15 January in Jerusalem.
    assert_eq!(local_day(ts("2025-01-14T23:30:00Z"), &zone), date(2025, 1, 15));
    assert_eq!(local_day(ts("2025-01-14T21:30:00Z"), &zone), date(2025, 1, 14));
    let (due, _) = greeting_instants(date(2025, 3, 28), jiff::civil::time(2, 30, 0, 0), &zone).unwrap();
    assert_eq!(due, ts("2025-03-28T00:30:00Z"), "a skipped local time goes at the jump");
}

#[test]
fn a_recurring_kind_reads_on_and_anniversary_and_bounds_days_before() {
    let minimal = r#"{"name":"Birthday","kind":{"type":"scheduled","at":"2025-12-14T10:00"},
        "audience":"all","channels":["log"],"default_language":"en","templates":{"en":{"body":"Happy birthday!"}}}"#;
    let c = Campaign::parse(&minimal.replace(
        r#"{"type":"scheduled","at":"2025-12-14T10:00"}"#,
        r#"{"type":"recurring","on":"anniversary","days_before":30}"#,
    ))
    .unwrap();
    assert_eq!(
        c.kind(),
        &Kind::Recurring {
            date: CustomerDate::MembershipAnniversary,
            days_before: 30,
            at: jiff::civil::time(10, 0, 0, 0)
        }
    );
    assert_eq!(
        key_of(&minimal.replace(
            r#"{"type":"scheduled","at":"2025-12-14T10:00"}"#,
            r#"{"type":"recurring","on":"birthday","days_before":31}"#,
        )),
        "kind.days_before"
    );
}

#[test]
fn each_occurrence_draws_its_own_control_group() {
    let seed = 42;
    let customers: Vec<CustomerId> = (1..=2_000u128).map(id).collect();
    let year = |y: i64| -> BTreeSet<CustomerId> {
        customers
            .iter()
            .copied()
            .filter(|c| in_control(crate::draw::occurrence_seed(seed, y), *c, 1_000))
            .collect()
    };
    let (a, b) = (year(2025), year(2026));
    assert_eq!(a, year(2025), "reproducible");
    assert_ne!(a, b, "drawn afresh each year");
    assert!((150..250).contains(&a.len()), "{}", a.len());
}

#[test]
fn the_pace_spreads_a_rate_evenly() {
    let start = ts("2025-01-01T00:00:00Z");
    assert_eq!(pace(start, 0, 120), start);
    assert_eq!(pace(start, 1, 120), ts("2025-01-01T00:00:00.5Z"));
    assert_eq!(pace(start, 120, 120), ts("2025-01-01T00:01:00Z"));
    assert_eq!(pace(start, 7, 3), ts("2025-01-01T00:02:20Z"));
}

// ---------------------------------------------------------------- SMS

#[test]
fn the_gsm_alphabet_is_complete() {
    // 128 positions of the default alphabet, the escape code left out.
    assert_eq!("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà".chars().count(), 127);
    for c in "€[]{}\\^~|\u{0C}".chars() {
        assert_eq!(sms::gsm7_septets(c), Some(2), "{c:?}");
    }
    assert_eq!(sms::encoding("Ça va? 100€ [ok]"), Encoding::Gsm7);
    assert_eq!(sms::encoding("ça va"), Encoding::Ucs2, "ç is not in the alphabet, Ç is");
    assert_eq!(sms::encoding("δ"), Encoding::Ucs2, "only capital Greek letters are");
    assert_eq!(sms::encoding("`"), Encoding::Ucs2);
}

fn length(text: &str) -> (Encoding, usize, usize) {
    let l = measure(text);
    (l.encoding, l.units, l.segments)
}

#[test]
fn gsm7_segments() {
    assert_eq!(length("Hello"), (Encoding::Gsm7, 5, 1));
    assert_eq!(length(""), (Encoding::Gsm7, 0, 1));
    assert_eq!(length(&"a".repeat(160)), (Encoding::Gsm7, 160, 1));
    assert_eq!(length(&"a".repeat(161)), (Encoding::Gsm7, 161, 2));
    assert_eq!(length(&"a".repeat(306)), (Encoding::Gsm7, 306, 2));
    assert_eq!(length(&"a".repeat(307)), (Encoding::Gsm7, 307, 3));
    assert_eq!(length(&"€".repeat(80)), (Encoding::Gsm7, 160, 1));
    assert_eq!(length(&format!("{}€", "a".repeat(159))), (Encoding::Gsm7, 161, 2));
    // An escaped character is not split: 152 + [€ does not fit] → 3 segments for 306 septets.
    let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
    assert_eq!(length(&text), (Encoding::Gsm7, 306, 3));
}

#[test]
fn ucs2_segments_for_hebrew_persian_and_emoji() {
    assert_eq!(length("שלום"), (Encoding::Ucs2, 4, 1));
    assert_eq!(length("سلام دوست من"), (Encoding::Ucs2, 12, 1));
    assert_eq!(
        length("Hi שלום"),
        (Encoding::Ucs2, 7, 1),
        "one Hebrew letter makes it all UCS-2"
    );
    assert_eq!(length(&"ש".repeat(70)), (Encoding::Ucs2, 70, 1));
    assert_eq!(length(&"ש".repeat(71)), (Encoding::Ucs2, 71, 2));
    assert_eq!(length(&"ف".repeat(134)), (Encoding::Ucs2, 134, 2));
    assert_eq!(length(&"ف".repeat(135)), (Encoding::Ucs2, 135, 3));
    assert_eq!(length("😀"), (Encoding::Ucs2, 2, 1), "a surrogate pair");
    assert_eq!(length(&"😀".repeat(35)), (Encoding::Ucs2, 70, 1));
    assert_eq!(length(&"😀".repeat(36)), (Encoding::Ucs2, 72, 2));
    // 33 pairs fill 66 of a segment's 67 units: 67 emoji take 3 segments, not 134 / 67 = 2.
    assert_eq!(length(&"😀".repeat(67)), (Encoding::Ucs2, 134, 3));
    assert_eq!(
        length("€ שלום"),
        (Encoding::Ucs2, 6, 1),
        "€ is one UTF-16 unit in UCS-2"
    );
}

#[test]
fn the_segment_cap_is_checked() {
    assert_eq!(sms::check(&"ש".repeat(134), 2).unwrap().segments, 2);
    let e = sms::check(&"ש".repeat(135), 2).unwrap_err();
    assert_eq!(e.code, "campaign.sms.too_long");
    assert_eq!(e.params["segments"], 3);
    assert_eq!(e.params["encoding"], "ucs2");
}

// ---------------------------------------------------------------- draws

fn ids(n: u128, from: u128) -> Vec<CustomerId> {
    (from..from + n).map(id).collect()
}

#[test]
fn the_control_group_is_exact_per_stage() {
    let mut members: Vec<(CustomerId, &str)> = Vec::new();
    members.extend(ids(10, 0).into_iter().map(|id| (id, "active")));
    members.extend(ids(25, 100).into_iter().map(|id| (id, "at_risk")));
    members.extend(ids(7, 200).into_iter().map(|id| (id, "new")));
    let control = control_group(42, &members, 1_000);
    let per = |stage: &str| {
        members
            .iter()
            .filter(|(id, s)| *s == stage && control.contains(id))
            .count()
    };
    assert_eq!(
        (per("active"), per("at_risk"), per("new")),
        (1, 3, 1),
        "10 %: 1, 2.5 → 3, 0.7 → 1"
    );
    let mut shuffled = members.clone();
    shuffled.reverse();
    shuffled.swap(3, 30);
    assert_eq!(
        control_group(42, &shuffled, 1_000),
        control,
        "the input's order does not matter"
    );
    let mut doubled = members.clone();
    doubled.extend(members.iter().cloned());
    assert_eq!(
        control_group(42, &doubled, 1_000),
        control,
        "a customer listed twice counts once"
    );
    assert_ne!(
        control_group(43, &members, 1_000),
        control,
        "another seed, another draw"
    );
    assert!(control_group(42, &members, 0).is_empty());
    assert_eq!(control_group(42, &members, 5_000).len(), 5 + 13 + 4);
    // Adding a stage leaves the other stages' draws as they were.
    let mut more = members.clone();
    more.extend(ids(30, 300).into_iter().map(|id| (id, "lost")));
    let bigger = control_group(42, &more, 1_000);
    assert!(control.is_subset(&bigger));
}

#[test]
fn shares_are_counted_exactly() {
    assert_eq!(share_of(25, 1_000), 3);
    assert_eq!(share_of(15, 1_000), 2, "1.5 rounds up");
    assert_eq!(share_of(14, 1_000), 1);
    assert_eq!(counts(10, &[2_500, 2_500]), vec![3, 2]);
    assert_eq!(counts(100, &[3_333, 3_333, 3_334]), vec![33, 33, 34]);
    assert_eq!(counts(7, &[5_000, 5_000]), vec![4, 3]);
    assert_eq!(counts(0, &[5_000, 5_000]), vec![0, 0]);
    assert_eq!(counts(1_000, &[1_000, 1_000]), vec![100, 100]);
}

#[test]
fn arms_are_drawn_by_share() {
    let people = ids(1_000, 0);
    let arms = assign_arms(7, &people, &[2_000, 2_000]);
    let count = |arm: Arm| arms.values().filter(|a| **a == arm).count();
    assert_eq!(
        (count(Arm::Variant(0)), count(Arm::Variant(1)), count(Arm::Rest)),
        (200, 200, 600)
    );
    let mut reversed = people.clone();
    reversed.reverse();
    assert_eq!(assign_arms(7, &reversed, &[2_000, 2_000]), arms);
    let all = assign_arms(7, &people, &[5_000, 5_000]);
    assert!(all.values().all(|a| *a != Arm::Rest));
    assert!(assign_arms(7, &people, &[]).values().all(|a| *a == Arm::Rest));
    assert_eq!(pick_winner(&[(10, 100), (30, 200), (12, 100)]), Some(1));
    assert_eq!(
        pick_winner(&[(10, 100), (20, 200)]),
        Some(0),
        "a tie goes to the earlier"
    );
    assert_eq!(pick_winner(&[(0, 0), (0, 5)]), Some(1));
    assert_eq!(pick_winner(&[(0, 0)]), None);
}

proptest! {
    #[test]
    fn control_groups_are_exact_and_order_free(
        stages in proptest::collection::vec(0u8..4, 0..300),
        share in 0u32..=5_000,
        seed in any::<u64>(),
        rotate in 0usize..300,
    ) {
        let names = ["new", "active", "at_risk", "lost"];
        let members: Vec<(CustomerId, &str)> = stages
            .iter()
            .enumerate()
            .map(|(i, s)| (id(i as u128 * 7_919), names[*s as usize]))
            .collect();
        let control = control_group(seed, &members, share);
        for name in names {
            let n = members.iter().filter(|(_, s)| *s == name).count();
            let drawn = members.iter().filter(|(id, s)| *s == name && control.contains(id)).count();
            prop_assert_eq!(drawn, share_of(n, share));
            prop_assert_eq!(drawn as f64, (share as f64 / 10_000.0 * n as f64 + 1e-9).round());
        }
        let mut rotated = members.clone();
        if !rotated.is_empty() {
            let k = rotate % rotated.len();
            rotated.rotate_left(k);
        }
        prop_assert_eq!(control_group(seed, &rotated, share), control);
    }

    #[test]
    fn arm_counts_add_up(n in 0usize..5_000, shares in proptest::collection::vec(1u32..=2_500, 0..=4)) {
        let c = counts(n, &shares);
        let total: u32 = shares.iter().sum();
        prop_assert_eq!(c.iter().sum::<usize>(), share_of(n, total));
        for (count, share) in c.iter().zip(&shares) {
            let exact = n as f64 * *share as f64 / 10_000.0;
            prop_assert!((*count as f64 - exact).abs() < 1.0 + 1e-9);
        }
    }

    #[test]
    fn segments_hold_the_text(text in "[a-zA-Z0-9 €\\[\\]שלוםسلام😀]{0,400}") {
        let l = measure(&text);
        let per = l.encoding.per_segment();
        prop_assert!(l.segments >= 1);
        if l.units <= l.encoding.single() {
            prop_assert_eq!(l.segments, 1);
        } else {
            prop_assert!(l.segments >= l.units.div_ceil(per));
            prop_assert!(l.segments <= l.units.div_ceil(per - 1));
        }
        let expected_units: usize = match l.encoding {
            Encoding::Ucs2 => text.encode_utf16().count(),
            Encoding::Gsm7 => text.chars().map(|c| sms::gsm7_septets(c).unwrap_or(0)).sum(),
        };
        prop_assert_eq!(l.units, expected_units);
    }

    #[test]
    fn the_cap_allows_at_its_next_allowed_instant(
        offsets in proptest::collection::vec(0i64..(30 * 86_400), 0..12),
        messages in 1u32..5,
        days in 1u32..10,
    ) {
        let now = ts("2025-06-10T12:00:00Z");
        let received: Vec<Timestamp> = offsets.iter().map(|s| now - jiff::SignedDuration::from_secs(*s)).collect();
        let cap = FrequencyCap { messages, days };
        let at = cap.next_allowed(&received, now);
        prop_assert!(at >= now);
        prop_assert!(cap.allows(&received, at));
        if at > now {
            let just_before = at - jiff::SignedDuration::from_nanos(1);
            prop_assert!(!cap.allows(&received, just_before));
        }
    }

    #[test]
    fn the_window_opens_at_the_first_instant_inside(
        seconds in 1_700_000_000i64..1_800_000_000,
        from in 0u8..24,
        to in 1u8..=24,
        zone in 0usize..4,
    ) {
        prop_assume!(from != to);
        let zones = ["Asia/Jerusalem", "Asia/Tehran", "Europe/London", "America/New_York"];
        let tz = TimeZone::get(zones[zone]).unwrap();
        let w = SendWindow { from_hour: from, to_hour: to };
        let now = Timestamp::from_second(seconds).unwrap();
        let at = w.next_open(now, &tz);
        prop_assert!(at >= now);
        prop_assert!(at.duration_since(now) <= jiff::SignedDuration::from_hours(49));
        // Inside, unless the opening hour is skipped by a change of clocks (then at the jump).
        let local_hour = at.to_zoned(tz.clone()).hour();
        prop_assert!(w.contains(at, &tz) || local_hour == (from as i8 + 1) % 24);
        if at > now {
            prop_assert!(!w.contains(at - jiff::SignedDuration::from_secs(1), &tz) || !w.contains(now, &tz));
        }
    }
}

// ---------------------------------------------------------------- statistics
// Reference values from scipy 1.17.1 and statsmodels 0.15.0 (Python 3.11), printed with
// repr(); the formula's published examples where there are.

#[test]
fn ln_gamma_matches_scipy() {
    // scipy.special.gammaln
    close(ln_gamma(0.5), 0.5723649429247001, 1e-14);
    close(ln_gamma(10.0), 12.801827480081469, 1e-14);
    close(ln_gamma(0.1), 2.252712651734206, 1e-14);
    close(ln_gamma(1234.5), 7550.550901077894, 1e-14);
    assert!(ln_gamma(0.0).is_nan() && ln_gamma(-1.0).is_nan());
}

#[test]
fn the_incomplete_beta_matches_scipy() {
    // scipy.special.betainc(a, b, x)
    for (a, b, x, expected) in [
        (0.5, 0.5, 0.3, 0.36901011956554536),
        (2.0, 3.0, 0.4, 0.5247999999999999),
        (10.0, 0.5, 0.9, 0.15164090963470994),
        (50_000.0, 0.5, 0.99995, 0.025345854168846868),
        (0.1, 10.0, 0.01, 0.8244896709066988),
        (5.0, 5.0, 0.5, 0.5),
        (100.0, 200.0, 0.3, 0.10884306564490986),
    ] {
        close(incomplete_beta(a, b, x), expected, 1e-11);
    }
    assert_eq!(incomplete_beta(2.0, 3.0, 0.0), 0.0);
    assert_eq!(incomplete_beta(2.0, 3.0, 1.0), 1.0);
    assert!(incomplete_beta(2.0, 3.0, 1.5).is_nan());
}

#[test]
fn the_normal_distribution_matches_scipy() {
    // scipy.special.erfc, scipy.stats.norm.cdf / norm.ppf
    close(erfc(0.5), 0.4795001221869535, 1e-14);
    close(erfc(3.0), 2.2090496998585445e-05, 1e-13);
    close(erfc(-1.0), 1.8427007929497148, 1e-14);
    close(erfc(10.0), 2.0884875837625446e-45, 1e-12);
    close(normal_cdf(1.0), 0.8413447460685429, 1e-14);
    close(normal_cdf(-8.0), 6.22096057427174e-16, 1e-12);
    assert_eq!(normal_cdf(0.0), 0.5);
    for (p, z) in [
        (0.975, 1.959963984540054),
        (0.8, 0.8416212335729143),
        (0.001, -3.090232306167813),
        (1e-10, -6.361340902404056),
        (0.999, 3.090232306167813),
    ] {
        close(normal_quantile(p), z, 1e-13);
    }
    assert_eq!(normal_quantile(0.5), 0.0);
}

#[test]
fn students_t_matches_scipy() {
    // scipy.stats.t.cdf(t, df) and 2 * t.sf(|t|, df)
    for (t, df, cdf, two_sided) in [
        (2.0, 5.0, 0.9490302605850708, 0.10193947882985835),
        (-1.5, 3.3, 0.11125159835964593, 0.22250319671929186),
        (0.5, 1.0, 0.6475836176504333, 0.7048327646991335),
        (3.0, 1e6, 0.9986500687292891, 0.0026998625414218),
        (10.0, 2.5, 0.9977792521163463, 0.0044414957673074235),
        (2.0, 100_000.0, 0.9772485182712467, 0.04550296345750651),
    ] {
        close(student_t_cdf(t, df), cdf, 1e-12);
        close(student_t_two_sided(t, df), two_sided, 1e-10);
    }
    // scipy.stats.t.ppf(p, df)
    for (p, df, q) in [
        (0.975, 10.0, 2.228138851986274),
        (0.975, 1.0, 12.706204736174694),
        (0.975, 2.5, 3.5746548420036817),
        (0.975, 1000.0, 1.9623390808264083),
        (0.995, 30.0, 2.7499956535672254),
        (0.975, 57.3, 2.002238268231336),
    ] {
        close(student_t_quantile(p, df), q, 1e-12);
        close(student_t_quantile(1.0 - p, df), -q, 1e-12);
    }
}

fn prop(successes: u64, trials: u64) -> Proportion {
    Proportion { successes, trials }
}

#[test]
fn response_lift_matches_newcombe_and_statsmodels() {
    // Newcombe (1998), Statistics in Medicine 17:873–890, table II, method 10: 56/70 − 48/80
    // → 0.0524 to 0.3339, and 9/10 − 3/10 → 0.1705 to 0.8090. The full digits are
    // statsmodels' confint_proportions_2indep(method="newcomb"); the relative interval its
    // compare="ratio", method="log" (less one); z and p its proportions_ztest.
    let r = response_lift(prop(56, 70), prop(48, 80)).unwrap();
    close(r.difference, 0.8 - 0.6, 1e-15);
    close(r.difference_ci.low, 0.05243147240236498, 1e-10);
    close(r.difference_ci.high, 0.33387265403690614, 1e-10);
    close(r.relative_ci.unwrap().low, 0.07662642276319276, 1e-10);
    close(r.relative_ci.unwrap().high, 0.6512485112663873, 1e-10);
    close(r.relative.unwrap(), 0.8 / 0.6 - 1.0, 1e-14);
    close(r.z, 2.6501719512585336, 1e-12);
    close(r.p_value, 0.00804508136819656, 1e-10);

    let r = response_lift(prop(9, 10), prop(3, 10)).unwrap();
    close(r.difference_ci.low, 0.1705227239345029, 1e-10);
    close(r.difference_ci.high, 0.809017973535488, 1e-10);
    close(r.p_value, 0.006169899320544151, 1e-10);

    // A campaign-sized one: 5.75 % of 4 000 recipients against 4.5 % of 4 000 in control.
    let r = response_lift(prop(230, 4000), prop(180, 4000)).unwrap();
    close(r.difference_ci.low, 0.0028327640058212183, 1e-9);
    close(r.difference_ci.high, 0.02222026922700515, 1e-10);
    close(r.relative_ci.unwrap().low, 0.05660688483277565, 1e-10);
    close(r.relative_ci.unwrap().high, 0.5452445680789964, 1e-10);
    close(r.z, 2.535141364849924, 1e-12);
    close(r.p_value, 0.011240195626913328, 1e-10);

    // No responder in control: no relative lift, the difference still has its interval.
    let r = response_lift(prop(5, 56), prop(0, 29)).unwrap();
    assert_eq!((r.relative, r.relative_ci), (None, None));
    close(r.difference_ci.low, -0.038137147903536936, 1e-9);
    close(r.difference_ci.high, 0.19256001385511165, 1e-10);
    close(r.p_value, 0.09718656817057973, 1e-10);

    let wilson = prop(56, 70).wilson(normal_quantile(0.975));
    // statsmodels proportion_confint(56, 70, method="wilson")
    close(wilson.low, 0.6918335550374695, 1e-12);
    close(wilson.high, 0.8769526075163705, 1e-12);

    let nobody = response_lift(prop(0, 100), prop(0, 100)).unwrap();
    assert_eq!((nobody.z, nobody.p_value), (0.0, 1.0));
    assert_eq!(
        response_lift(prop(1, 0), prop(0, 10)).unwrap_err().code,
        "campaign.stats.empty"
    );
    assert_eq!(
        response_lift(prop(11, 10), prop(0, 10)).unwrap_err().code,
        "campaign.stats.invalid"
    );
}

// Revenue per customer of two groups, drawn once with numpy (Generator(PCG64(7)).gamma,
// rounded to cents) and fixed here.
const RECIPIENTS: [f64; 40] = [
    63.43, 118.07, 16.15, 0.02, 130.26, 16.41, 12.29, 39.69, 62.71, 5.67, 0.66, 41.33, 259.4, 41.21, 7.69, 8.25, 0.01,
    5.34, 202.13, 167.26, 101.77, 45.78, 191.53, 57.12, 5.09, 23.87, 55.33, 66.72, 5.13, 11.09, 2.44, 9.26, 16.17,
    73.42, 165.42, 235.61, 4.83, 282.47, 6.92, 67.67,
];
const CONTROL: [f64; 55] = [
    17.65, 147.87, 35.21, 79.53, 2.73, 54.1, 32.09, 15.22, 60.01, 31.51, 80.1, 3.27, 106.58, 48.21, 30.77, 7.57, 16.63,
    15.35, 38.9, 10.25, 23.45, 31.07, 168.08, 40.02, 149.63, 22.11, 262.85, 101.93, 68.79, 342.44, 19.4, 0.63, 192.06,
    2.36, 26.94, 54.43, 48.14, 20.5, 106.56, 2.38, 100.01, 32.03, 0.54, 0.14, 41.56, 12.82, 33.97, 54.16, 5.71, 0.42,
    291.92, 0.63, 13.33, 47.86, 13.04,
];

#[test]
fn welch_matches_scipy() {
    // scipy.stats.ttest_ind(RECIPIENTS, CONTROL, equal_var=False): statistic, pvalue, df and
    // confidence_interval(0.95); the means and ddof=1 variances from numpy.
    let (a, b) = (Sample::of(&RECIPIENTS), Sample::of(&CONTROL));
    close(a.mean, 65.6405, 1e-13);
    close(b.mean, 57.553818181818194, 1e-13);
    close(a.variance, 6210.401881794872, 1e-12);
    close(b.variance, 5467.90446107744, 1e-12);
    let r = revenue_lift(&a, &b).unwrap();
    close(r.t, 0.5067291943330297, 1e-11);
    close(r.df, 80.96133382784527, 1e-11);
    close(r.p_value, 0.6137221599438933, 1e-10);
    close(r.difference_ci.low, -23.666129913052384, 1e-10);
    close(r.difference_ci.high, 39.839493549416005, 1e-10);
    assert!(!r.difference_ci.contains(40.0) && r.difference_ci.contains(0.0));

    let flat = Sample {
        n: 10,
        mean: 5.0,
        variance: 0.0,
    };
    let same = revenue_lift(&flat, &flat).unwrap();
    assert_eq!((same.t, same.p_value), (0.0, 1.0));
    let higher = revenue_lift(&Sample { mean: 6.0, ..flat }, &flat).unwrap();
    assert_eq!(higher.p_value, 0.0);
    assert_eq!(
        revenue_lift(&Sample::of(&[1.0]), &flat).unwrap_err().code,
        "campaign.stats.empty"
    );
    assert_eq!(
        revenue_lift(&Sample { mean: f64::NAN, ..flat }, &flat)
            .unwrap_err()
            .code,
        "campaign.stats.invalid"
    );
}

#[test]
fn the_projection_scales_the_measured_lift() {
    let response = response_lift(prop(230, 4000), prop(180, 4000)).unwrap();
    let revenue = revenue_lift(&Sample::of(&RECIPIENTS), &Sample::of(&CONTROL)).unwrap();
    let p = project(100_000, &response, &revenue);
    close(p.incremental_responders, 1_250.0, 1e-12);
    close(p.responders_ci.low, 283.27640058212183, 1e-9);
    close(p.incremental_revenue, 100_000.0 * (65.6405 - 57.553818181818194), 1e-12);
    close(p.revenue_ci.low, -2_366_612.9913052384, 1e-10);
    close(p.revenue_ci.high, 3_983_949.3549416005, 1e-10);
}

#[test]
fn the_sample_size_is_the_pooled_formula() {
    // n = (z₀.₉₇₅ √(2 p̄ q̄) + z₀.₈ √(p₁q₁ + p₂q₂))² / (p₂ − p₁)², computed in Python with
    // scipy.stats.norm.ppf: 5 % → 6 % gives 8157.73 (8 158 per group; Cohen's arcsine h, as
    // statsmodels' NormalIndPower, would give 8 143).
    assert_eq!(sample_size(0.05, 0.2, 0.05, 0.8).unwrap(), 8_158);
    assert_eq!(sample_size(0.10, 0.1, 0.05, 0.8).unwrap(), 14_751);
    assert_eq!(sample_size(0.2, 0.5, 0.05, 0.8).unwrap(), 294);
    assert_eq!(sample_size(0.03, -0.2, 0.05, 0.8).unwrap(), 11_455);
    assert_eq!(sample_size(0.05, 0.2, 0.01, 0.9).unwrap(), 15_465);
    for (baseline, lift, alpha, power, field) in [
        (0.0, 0.2, 0.05, 0.8, "baseline"),
        (1.0, 0.2, 0.05, 0.8, "baseline"),
        (0.05, 0.0, 0.05, 0.8, "lift"),
        (0.5, 1.0, 0.05, 0.8, "lift"),
        (0.05, f64::NAN, 0.05, 0.8, "lift"),
        (0.05, 0.2, 0.0, 0.8, "alpha"),
        (0.05, 0.2, 0.05, 1.0, "power"),
    ] {
        let e = sample_size(baseline, lift, alpha, power).unwrap_err();
        assert_eq!((e.code, e.field), ("campaign.plan.parameter", field));
    }
}

#[test]
fn every_suppression_reason_has_a_distinct_name() {
    let names: BTreeMap<&str, Suppression> = Suppression::ALL.iter().map(|r| (r.as_str(), *r)).collect();
    assert_eq!(names.len(), Suppression::ALL.len());
}

#[test]
fn a_customer_by_customer_draw_depends_on_the_seed_and_the_customer_only() {
    let ids: Vec<CustomerId> = (1..=20_000u128)
        .map(|i| CustomerId::from_bytes((i * 7919).to_be_bytes()))
        .collect();
    let control: Vec<&CustomerId> = ids.iter().filter(|c| in_control(42, **c, 1_000)).collect();
    // About 10 %: 2 000 ± 5 standard deviations (42).
    assert!((1_790..=2_210).contains(&control.len()), "{}", control.len());
    // The same answer every time, whoever else is drawn; another seed draws others.
    assert!(control.iter().all(|c| in_control(42, **c, 1_000)));
    let other = ids.iter().filter(|c| in_control(43, **c, 1_000)).count();
    let both = ids
        .iter()
        .filter(|c| in_control(42, **c, 1_000) && in_control(43, **c, 1_000))
        .count();
    assert!(both < other / 4, "{both} of {other}");
    assert!(!ids.iter().any(|c| in_control(42, *c, 0)));
    assert!(ids.iter().all(|c| in_control(42, *c, 10_000)));
    let mut arms = BTreeMap::<Arm, usize>::new();
    for c in &ids {
        *arms.entry(arm_of(42, *c, &[2_000, 3_000])).or_default() += 1;
    }
    assert!((3_790..=4_210).contains(&arms[&Arm::Variant(0)]), "{arms:?}");
    assert!((5_750..=6_250).contains(&arms[&Arm::Variant(1)]), "{arms:?}");
    assert_eq!(arms.values().sum::<usize>(), 20_000);
    assert_eq!(arm_of(42, ids[0], &[]), Arm::Rest);
}

#[test]
fn links_are_found_in_order_and_read_back_from_the_message() {
    use crate::links::{find_links, link_target, rewrite_links};
    let body = r#"<p>See <a href="https://shop.example/sale?a=1&amp;b=2">the sale</a>, or visit
http://shop.example/branches. Bye! <a href='HTTPS://x.example/y'>y</a> mailto:x@y https://</p>"#;
    let found: Vec<&str> = find_links(body).into_iter().map(|r| &body[r]).collect();
    assert_eq!(
        found,
        [
            "https://shop.example/sale?a=1&amp;b=2",
            "http://shop.example/branches",
            "HTTPS://x.example/y"
        ]
    );
    assert_eq!(
        link_target(body, 0).as_deref(),
        Some("https://shop.example/sale?a=1&b=2")
    );
    assert_eq!(link_target(body, 1).as_deref(), Some("http://shop.example/branches"));
    assert_eq!(link_target(body, 3), None);
    let rewritten = rewrite_links(body, |i, _| (i != 1).then(|| format!("https://kesher.example/c/{i}")));
    assert!(
        rewritten.contains(r#"href="https://kesher.example/c/0""#),
        "{rewritten}"
    );
    assert!(rewritten.contains("http://shop.example/branches. Bye!"), "{rewritten}");
    assert!(rewritten.contains("'https://kesher.example/c/2'"), "{rewritten}");
    // The rewritten text's links are the tracked ones, in the same order.
    assert_eq!(find_links(&rewritten).len(), 3);
    assert_eq!(rewrite_links("no links", |_, _| Some("x".into())), "no links");
    // Persian and Hebrew text around a link keep their bytes.
    let rtl = "שלום https://shop.example/שלום?x=1 سلام";
    assert_eq!(link_target(rtl, 0).as_deref(), Some("https://shop.example/שלום?x=1"));
}
