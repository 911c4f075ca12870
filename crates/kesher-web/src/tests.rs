use super::*;
use kesher_analytics::dashboard::{Cohort, Snapshot, StageFigures};

#[test]
fn every_language_has_every_english_message_and_no_other() {
    let en = Messages::ids(Lang::En);
    assert!(en.len() > 100, "{} messages", en.len());
    for lang in [Lang::He, Lang::Fa] {
        let other = Messages::ids(lang);
        let missing: Vec<&String> = en.iter().filter(|k| !other.contains(k)).collect();
        let extra: Vec<&String> = other.iter().filter(|k| !en.contains(k)).collect();
        assert!(missing.is_empty(), "{} lacks {missing:?}", lang.code());
        assert!(extra.is_empty(), "{} has unknown {extra:?}", lang.code());
    }
}

#[test]
fn every_message_formats_without_errors_in_every_language() {
    let m = Messages::load().unwrap();
    for lang in Lang::ALL {
        for id in Messages::ids(Lang::En) {
            let mut args = FluentArgs::new();
            for k in [
                "name",
                "role",
                "status",
                "customers",
                "transactions",
                "buyers",
                "value",
                "cohort",
                "months",
                "share",
                "count",
                "points",
                "items",
                "amount",
                "lines",
                "n",
                "retry_after",
                "character",
                "country",
                "expected",
                "found",
                "shown",
                "low",
                "high",
                "sales",
                "sales_total",
                "contacts",
                "contacts_total",
                "currency",
                "remaining",
                "tier",
                "required",
                "actual",
                "days",
                "from",
                "to",
                "date",
                "balance",
                "asked",
                "benefit",
                "state",
                "segment",
                "at",
                "language",
                "population",
                "reason",
                "audience",
                "queued",
                "waiting",
                "control",
                "suppressed",
                "key",
                "wanted",
                "variable",
                "known",
                "years",
                "username",
                "min",
                "max",
                "branch",
                "cutoff",
                "scope",
                "step",
                "model",
                "periods",
                "support",
                "confidence",
                "baskets",
                "r",
                "f",
            ] {
                args.set(k, FluentValue::from(3));
            }
            let text = m.get(lang, &id, Some(&args));
            assert!(!text.contains("{$"), "{} {id}: {text}", lang.code());
            assert!(!text.is_empty(), "{} {id}", lang.code());
        }
    }
}

#[test]
fn plural_rules_follow_the_language() {
    let m = Messages::load().unwrap();
    let count = |lang, n: i64| {
        let mut a = FluentArgs::new();
        a.set("count", FluentValue::from(n));
        m.get(lang, "results", Some(&a))
    };
    assert_eq!(count(Lang::En, 1), "One customer found");
    assert!(count(Lang::En, 12).contains("12"), "{}", count(Lang::En, 12));
    assert_eq!(count(Lang::He, 1), "נמצא לקוח אחד");
    // Persian digits, from ICU4X, inside the Fluent message.
    assert!(count(Lang::Fa, 12).contains("۱۲"), "{}", count(Lang::Fa, 12));
}

#[test]
fn the_language_is_the_users_setting_then_accept_language_then_english() {
    assert_eq!(Lang::negotiate(Some("fa"), Some("he-IL,he;q=0.9")), Lang::Fa);
    assert_eq!(Lang::negotiate(None, Some("he-IL,he;q=0.9,en;q=0.8")), Lang::He);
    assert_eq!(Lang::negotiate(None, Some("de-DE,fa;q=0.5,en;q=0.7")), Lang::En);
    assert_eq!(Lang::negotiate(None, Some("de, fa;q=0.9")), Lang::Fa);
    assert_eq!(Lang::negotiate(Some("xx"), Some("iw")), Lang::He);
    assert_eq!(Lang::negotiate(None, Some("fa;q=0")), Lang::En);
    assert_eq!(Lang::negotiate(None, None), Lang::En);
}

#[test]
fn money_dates_and_numbers_are_written_for_the_locale() {
    use l10n::*;
    assert_eq!(money(Lang::En, 123456, "ILS"), "₪1,234.56");
    assert_eq!(money(Lang::En, -5, "USD"), "-$0.05");
    assert_eq!(money(Lang::He, 123456, "ILS"), "1,234.56\u{a0}₪");
    assert_eq!(money(Lang::Fa, 1_500_000, "IRR"), "۱٬۵۰۰٬۰۰۰\u{a0}ریال");
    let tz = jiff::tz::TimeZone::get("Asia/Tehran").unwrap();
    let at: jiff::Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
    // 7 December 2026 is 16 Azar 1405 in the Solar Hijri calendar.
    assert_eq!(date(Lang::Fa, at, &tz), "۱۶ آذر ۱۴۰۵");
    assert_eq!(date(Lang::En, at, &tz), "Dec 7, 2026");
    assert!(date(Lang::He, at, &tz).contains("2026"));
    // Late evening UTC is already the next day in Tehran.
    let late: jiff::Timestamp = "2026-12-07T21:00:00Z".parse().unwrap();
    assert_eq!(date(Lang::En, late, &tz), "Dec 8, 2026");
    assert_eq!(percent(Lang::En, 0.256, 1), "25.6%");
    assert_eq!(integer(Lang::Fa, 2026), "۲٬۰۲۶");
    assert_eq!(month(Lang::Fa, "2026-03"), "۱۴۰۴/۱۲");
}

fn snapshot() -> Snapshot {
    Snapshot {
        as_of: "2026-03-15T00:00:00Z".into(),
        month: "2026-03".into(),
        previous_month: Some("2026-02".into()),
        previous_recorded: true,
        currency: Some("ILS".into()),
        customers: 1234,
        buyers: 1000,
        model: "bgnbd".into(),
        stages: vec![
            StageFigures {
                stage: "core".into(),
                customers: 400,
                revenue_minor: 5_000_000,
                margin_minor: Some(1_000_000),
            },
            StageFigures {
                stage: "at_risk".into(),
                customers: 600,
                revenue_minor: 700_000,
                margin_minor: None,
            },
        ],
        flows: vec![],
        pareto: vec![(0.1, 0.5), (0.2, 0.7), (1.0, 1.0)],
        clv_bins: vec![],
        tiers: vec![],
        cohorts: vec![Cohort {
            month: "2026-01".into(),
            customers: 10,
            retention: vec![1.0, 0.4, 0.2],
        }],
    }
}

#[test]
fn the_dashboard_renders_its_figures_in_each_language_with_the_right_direction() {
    let web = Web::new().unwrap();
    for lang in Lang::ALL {
        let view = dashboard::view(web.messages(), lang, &snapshot());
        let html = web
            .render(
                "dashboard.html",
                lang,
                minijinja::context! { snapshot => snapshot(), view => view, me => minijinja::context!{name => "dana", role => "admin"},
                    csrf => "x", may => minijinja::context!{analyze => true}, section => "dashboard", time_zone => "Asia/Jerusalem" },
            )
            .unwrap();
        assert!(
            html.contains(&format!(r#"<html lang="{}" dir="{}">"#, lang.code(), lang.dir())),
            "{html}"
        );
        assert!(html.contains(r#"id="chart-ladder""#));
        assert!(html.contains(r#"id="chart-cohorts""#));
        assert!(html.contains("<svg"));
        // The customers figure in the language's digits.
        let n = l10n::integer(lang, 1234);
        assert!(html.contains(&n), "{} lacks {n}", lang.code());
        assert!(!html.contains("{$"));
    }
}

#[test]
fn the_dashboard_has_an_empty_state_before_the_first_analysis() {
    let web = Web::new().unwrap();
    let html = web
        .render(
            "dashboard.html",
            Lang::He,
            minijinja::context! { snapshot => (), counts => minijinja::context!{customers => 20, transactions => 300},
                me => minijinja::context!{name => "dana", role => "admin"}, csrf => "x", may => minijinja::context!{analyze => true} },
        )
        .unwrap();
    assert!(html.contains(r#"id="empty-state""#));
    assert!(html.contains("עדיין אין ניתוח"));
}

#[test]
fn values_are_escaped_in_pages() {
    let web = Web::new().unwrap();
    let html = web
        .render(
            "customers.html",
            Lang::En,
            minijinja::context! { q => "<script>x</script>", results => vec![minijinja::context!{id => "0190aaaa-bbbb", name => "<b>Eve</b>"}], total => 1,
                me => minijinja::context!{name => "dana", role => "clerk"}, csrf => "x", may => minijinja::context!{} },
        )
        .unwrap();
    assert!(!html.contains("<script>x"));
    assert!(html.contains("&lt;b&gt;Eve"));
}

#[test]
fn error_codes_are_shown_translated_with_their_parameters() {
    let web = Web::new().unwrap();
    let err = minijinja::context! { code => "phone.no_digits", params => minijinja::context!{ value => "abc" }, message => "invalid phone number \"abc\": no digits" };
    let he = web
        .render(
            "error.html",
            Lang::He,
            minijinja::context! { status => 422, error => err.clone() },
        )
        .unwrap();
    assert!(he.contains("אינו מספר טלפון"), "{he}");
    assert!(he.contains("abc"));
    // A code without its own message in this language: the server's English text.
    let other =
        minijinja::context! { code => "x.unknown", params => minijinja::context!{}, message => "plain english" };
    let fa = web
        .render(
            "error.html",
            Lang::Fa,
            minijinja::context! { status => 422, error => other },
        )
        .unwrap();
    assert!(fa.contains("plain english"));
}

/// Every error message in the interface names a code of the catalogue.
#[test]
fn translated_errors_name_catalogued_codes() {
    for id in Messages::ids(Lang::En).iter().filter(|k| k.starts_with("err-")) {
        let found = kesher_core::codes::CATALOGUE
            .iter()
            .any(|c| format!("err-{}", c.code.replace(['.', '_'], "-")) == *id);
        assert!(found, "{id} names no code of the catalogue");
    }
}

/// The style sheet lays out both directions: no physical left/right anywhere in it.
#[test]
fn the_style_sheet_has_no_physical_left_or_right() {
    let (_, css) = asset("app.css").unwrap();
    let css = std::str::from_utf8(css).unwrap();
    for (i, line) in css.lines().enumerate() {
        let l = line.to_ascii_lowercase();
        for bad in ["left", "right"] {
            assert!(!l.contains(bad), "app.css line {}: {line}", i + 1);
        }
    }
}

/// A launched campaign's page as the handler gives it (`kesher_http::web::campaigns`).
fn campaign_page() -> minijinja::Value {
    use minijinja::context;
    context! {
        campaign => context! { id => "0190aaaa", name => "אביב <sale>", state => "launched", created_by => "mia",
            created_at => "2026-03-01T08:00:00Z", launched_at => "2026-03-01T09:00:00Z", definition => "{\"name\": \"x\"}" },
        summary => context! { kind => context! { type => "recurring", date => "birthday", days => 3, at => "10:00" },
            audience => "visits >= 0", channels => vec!["email", "log"], languages => vec!["en", "he"], default_language => "en",
            control_share => 0.2, attribution_days => 14, variants => Vec::<minijinja::Value>::new() },
        counts => context! { rows => vec![
            context! { state => "sent", reason => (), count => 1200 },
            context! { state => "suppressed", reason => "no_consent", count => 30 },
            context! { state => "suppressed", reason => "control", count => 300 },
        ], total => 1530 },
        report => context! { currency => "ILS", complete => false, attribution_days => 14,
            recipients => context! { customers => 1200, responders => 240, rate => 0.2, revenue_minor => 5000.0 },
            control_group => context! { customers => 300, responders => 45, rate => 0.15, revenue_minor => 4000.0 },
            response => context! { lift => 0.05, low => 0.005, high => 0.095, relative => 0.333, p_value => 0.0004 },
            revenue => context! { error => context! { code => "campaign.stats.empty", params => context! {}, message => "the group is empty" } },
            projection => (), response_chart => "<svg class=\"chart\"></svg>", revenue_chart => () },
        variants => Vec::<minijinja::Value>::new(), who => "M1",
        preview => context! { customer_id => "x", channel => (), suppressed => "frequency_cap", language => "he",
            subject => "שלום", body => (), sms => "שלום דנה", sms_segments => 1 },
        me => context!{name => "mia", role => "marketing_manager"}, csrf => "x",
        may => context!{ campaigns => true, manage_campaigns => true }, section => "campaigns", time_zone => "Asia/Jerusalem",
    }
}

#[test]
fn the_campaign_page_renders_in_each_language_with_its_figures() {
    let web = Web::new().unwrap();
    for lang in Lang::ALL {
        let html = web.render("campaign.html", lang, campaign_page()).unwrap();
        assert!(
            html.contains(&format!(r#"<html lang="{}" dir="{}">"#, lang.code(), lang.dir())),
            "{html}"
        );
        assert!(!html.contains("{$"), "{html}");
        assert!(html.contains("אביב &lt;sale&gt;"));
        for n in [1200, 240, 300, 1530] {
            let shown = l10n::integer(lang, n);
            assert!(html.contains(&shown), "{} lacks {shown}", lang.code());
        }
        assert!(html.contains(&l10n::percent(lang, 0.2, 1)));
        assert!(html.contains(r#"id="camp-incomplete""#));
        assert!(html.contains(r#"id="pause-form""#) && !html.contains(r#"id="launch-form""#));
        assert!(html.contains(r#"<pre class="message" dir="auto" id="preview-sms">שלום דנה</pre>"#));
        assert!(html.contains(r#"id="preview-suppressed""#));
        // A p-value under 0.001 is written as such.
        assert!(
            html.contains(&format!("&lt; {}", l10n::float(lang, 0.001, 3))),
            "{html}"
        );
    }
    let he = web.render("campaign.html", Lang::He, campaign_page()).unwrap();
    assert!(
        he.contains("יום ההולדת") && he.contains("אחת הקבוצות עדיין ריקה"),
        "{he}"
    );
}

#[test]
fn the_campaign_list_has_an_empty_state_and_the_form_only_for_managers() {
    let web = Web::new().unwrap();
    for manage in [true, false] {
        let html = web
            .render(
                "campaigns.html",
                Lang::Fa,
                minijinja::context! { campaigns => Vec::<minijinja::Value>::new(), definition => "",
                me => minijinja::context!{name => "ari", role => "analyst"}, csrf => "x",
                may => minijinja::context!{ campaigns => true, manage_campaigns => manage }, section => "campaigns" },
            )
            .unwrap();
        assert!(html.contains(r#"id="empty-state""#) && html.contains("هنوز کمپینی وجود ندارد"));
        assert_eq!(html.contains(r#"id="campaign-form""#), manage);
        assert!(html.contains(r#"<a href="/campaigns" aria-current="page">کمپین‌ها</a>"#));
    }
}

#[test]
fn every_action_and_grant_of_the_matrix_is_named_in_every_language() {
    let m = Messages::load().unwrap();
    for lang in Lang::ALL {
        for a in kesher_auth::Action::ALL {
            if matches!(a, kesher_auth::Action::Public | kesher_auth::Action::Session) {
                continue;
            }
            let key = format!("action-{}", a.as_str().replace('.', "-"));
            assert!(m.has(lang, &key), "{} lacks {key}", lang.code());
        }
        for g in ["allow", "own-branch", "anonymised", "deny"] {
            assert!(m.has(lang, &format!("grant-{g}")), "{} lacks grant-{g}", lang.code());
        }
    }
}

fn analytics_report() -> kesher_analytics::report::Report {
    use kesher_analytics::report::*;
    Report {
        as_of: "2026-03-15T00:00:00Z".into(),
        ran_at: "2026-03-15T00:05:00Z".into(),
        seconds: 12.5,
        unit: "week".into(),
        customers: 1234,
        buyers: 1000,
        transactions: 5000,
        currency: Some("ILS".into()),
        model: "bgnbd".into(),
        params: vec![("r".into(), 0.243), ("alpha".into(), 4.41)],
        log_likelihood: Some(-9582.4),
        model_note: None,
        spend_params: Some(vec![("p".into(), 6.2)]),
        attempts: vec![Attempt {
            model: "bgnbd".into(),
            outcome: "converged".into(),
            log_likelihood: Some(-9582.4),
            iterations: 31,
            seconds: 0.2,
        }],
        holdout: Some(Holdout {
            calibration_end: "2025-12-15T00:00:00Z".into(),
            end: "2026-03-15T00:00:00Z".into(),
            periods: 13,
            model: "bgnbd".into(),
            params: vec![("r".into(), 0.25)],
            customers: 900,
            table: vec![HoldoutCell {
                frequency: 0,
                customers: 500,
                actual: 0.2,
                expected: 0.25,
            }],
            cumulative: vec![
                CumulativePoint {
                    period: 0.0,
                    actual: 0.0,
                    expected: 0.0,
                },
                CumulativePoint {
                    period: 10.0,
                    actual: 80.0,
                    expected: 85.0,
                },
            ],
            models: vec![ModelFit {
                model: "bgnbd".into(),
                log_likelihood: -9000.0,
                aic: 18008.0,
                bic: 18030.0,
                holdout_mae: 0.4,
            }],
        }),
        holdout_note: None,
        rfm: rfm_cells([("543", 120_000), ("111", 5_000)]),
        tiers_by: "clv".into(),
        tiers: vec![kesher_analytics::dashboard::TierFigures {
            tier: "top".into(),
            customers: 200,
            share_of_value: 0.61,
        }],
        baskets: Some(BasketFigures {
            baskets: 4000,
            rules_total: 9,
            min_support: 0.01,
            min_confidence: 0.3,
            rules: vec![RuleRow {
                antecedents: vec![Item {
                    sku: "P-1".into(),
                    name: Some("<Hummus>".into()),
                }],
                consequents: vec![Item {
                    sku: "P-2".into(),
                    name: None,
                }],
                support: 0.02,
                confidence: 0.4,
                lift: 1.8,
            }],
        }),
        baskets_note: None,
    }
}

#[test]
fn the_admin_pages_render_in_each_language_with_their_tabs() {
    let web = Web::new().unwrap();
    let base = minijinja::context! {
        me => minijinja::context!{name => "root", role => "admin"}, csrf => "x", section => "admin",
        may => minijinja::context!{ users => true, tokens => true, audit => true, privacy => true, admin => "users" },
    };
    let pages = [
        (
            "admin_users.html",
            "users",
            minijinja::context! {
                users => vec![minijinja::context!{ id => "u1", username => "dana", role => "clerk", role_key => "clerk",
                    branch => "B1", disabled => false, created_at => "2026-03-01T10:00:00Z" }],
                roles => vec![minijinja::context!{ code => "clerk", key => "clerk", branch => true }],
                branches => vec![minijinja::context!{ id => "B1", name => "Tel Aviv" }],
                draft => minijinja::context!{},
            },
        ),
        (
            "admin_roles.html",
            "roles",
            minijinja::context! {
                roles => vec![minijinja::context!{ code => "admin", key => "admin" }],
                rows => vec![minijinja::context!{ action => "users.manage", key => "users-manage", cells => vec!["allow"] }],
            },
        ),
        (
            "admin_tokens.html",
            "tokens",
            minijinja::context! {
                tokens => Vec::<minijinja::Value>::new(), roles => Vec::<minijinja::Value>::new(),
                branches => Vec::<minijinja::Value>::new(), draft => minijinja::context!{},
                created => minijinja::context!{ name => "till-1", secret => "ksr_secret" },
            },
        ),
        (
            "admin_audit.html",
            "audit",
            minijinja::context! {
                entries => vec![minijinja::context!{ seq => 7, at => "2026-03-01T10:00:00Z", actor => "user:dana",
                    action => "user.create", entity => "user", entity_id => "omer", after => "{}" }],
                filter => minijinja::context!{}, next => "before=7",
            },
        ),
        (
            "admin_retention.html",
            "retention",
            minijinja::context! {
                years => 3, field => "3", max => 100,
                run => minijinja::context!{ dry => true, cutoff => "2023-03-01T00:00:00Z", candidates => 2, erased => 0 },
            },
        ),
    ];
    for lang in Lang::ALL {
        for (template, tab, page) in &pages {
            let html = web
                .render(
                    template,
                    lang,
                    minijinja::context! { tab => tab, ..minijinja::context! { ..base.clone(), ..page.clone() } },
                )
                .unwrap();
            assert!(html.contains(&format!(r#"dir="{}""#, lang.dir())), "{template}");
            assert!(html.contains(r#"id="nav-admin""#), "{template}");
            assert!(html.contains(r#"id="admin-tabs""#), "{template}");
            // Every message is found: no key shows through.
            for prefix in [
                "admin-",
                "user-",
                "token-",
                "audit-",
                "retention-",
                "action-",
                "grant-",
                "col-",
            ] {
                assert!(
                    !html.contains(&format!(">{prefix}")),
                    "{template} in {}: {prefix}…",
                    lang.code()
                );
            }
        }
    }
}

#[test]
fn the_analytics_page_renders_its_report_in_each_language_with_the_right_direction() {
    let web = Web::new().unwrap();
    let zone = jiff::tz::TimeZone::get("Asia/Jerusalem").unwrap();
    for lang in Lang::ALL {
        let report = analytics_report();
        let view = analytics::view(web.messages(), lang, &zone, &report);
        let html = web
            .render(
                "analytics.html",
                lang,
                minijinja::context! { report => report, view => view, me => minijinja::context!{name => "ana", role => "analyst"},
                    csrf => "x", may => minijinja::context!{analyze => true, analytics => true}, section => "analytics", time_zone => "Asia/Jerusalem" },
            )
            .unwrap();
        assert!(
            html.contains(&format!(r#"<html lang="{}" dir="{}">"#, lang.code(), lang.dir())),
            "{html}"
        );
        for id in [
            "last-refresh",
            "model-params",
            "models-compared",
            "chart-cumulative",
            "chart-by-frequency",
            "chart-rfm",
            "chart-tiers",
            "rules",
            "refresh-form",
            "nav-analytics",
        ] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "{} lacks {id}", lang.code());
        }
        // A product's name is written escaped, with its SKU; an unknown one by its SKU.
        assert!(html.contains("&lt;Hummus&gt; (P-1)"), "{html}");
        assert!(!html.contains("<Hummus>"));
        assert!(html.contains("P-2"));
        let n = l10n::integer(lang, 1000);
        assert!(html.contains(&n), "{} lacks {n}", lang.code());
        assert!(!html.contains("{$"));
    }
}

#[test]
fn the_analytics_page_has_an_empty_state_and_shows_a_running_refresh() {
    let web = Web::new().unwrap();
    let html = web
        .render(
            "analytics.html",
            Lang::Fa,
            minijinja::context! { report => (), running => minijinja::context!{job => "j", state => "running", step => "fitting the purchase model", step_no => 4, steps => 10},
                me => minijinja::context!{name => "ana", role => "analyst"}, csrf => "x", may => minijinja::context!{analyze => true, analytics => true} },
        )
        .unwrap();
    assert!(html.contains(r#"id="empty-state""#));
    assert!(html.contains(r#"id="refresh-progress""#));
    assert!(html.contains("برازش مدل خرید"), "{html}");
    // Without JavaScript the page reloads itself; no second refresh form meanwhile.
    assert!(html.contains(r#"<noscript><meta http-equiv="refresh""#));
    assert!(!html.contains(r#"id="refresh-form""#));
}
