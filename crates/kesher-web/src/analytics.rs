//! The analytics page's view: the stored report of the latest refresh turned into charts (SVG)
//! and the tables beside them, in the reader's language — the model's fit and the
//! calibration-vs-holdout check, the RFM grid, value tiers and basket rules.

use crate::Messages;
use crate::chart::{self, Bar, Series};
use crate::dashboard::ChartView;
use crate::l10n::{self, Lang};
use fluent_bundle::{FluentArgs, FluentValue};
use kesher_analytics::report::{Item, Report};
use serde::Serialize;

/// Everything the analytics template reads besides the report itself.
#[derive(Serialize)]
pub struct AnalyticsView {
    /// (label, value) of the last refresh.
    pub refresh: Vec<(String, String)>,
    /// The purchase model's parameters, then the spend model's: (name, value).
    pub params: Vec<(String, String)>,
    pub spend_params: Vec<(String, String)>,
    /// Every fit tried: model, outcome, log-likelihood, iterations, seconds.
    pub attempts: Vec<Vec<String>>,
    /// What the holdout check is, in a sentence; `None` without one.
    pub holdout_about: Option<String>,
    /// The holdout's calibration parameters: (name, value).
    pub holdout_params: Vec<(String, String)>,
    /// Models compared on the calibration window: model, LL, AIC, BIC, MAE.
    pub models: Vec<Vec<String>>,
    pub charts: Vec<ChartView>,
    /// Basket rules: antecedents, consequents, support, confidence, lift.
    pub rules: Vec<Vec<String>>,
    pub rules_about: Option<String>,
}

fn args<const N: usize>(pairs: [(&'static str, String); N]) -> FluentArgs<'static> {
    FluentArgs::from_iter(pairs.map(|(k, v)| (k, FluentValue::from(v))))
}

/// A statistic: four significant decimals in the reader's digits.
fn stat(lang: Lang, v: f64) -> String {
    if v.is_finite() {
        l10n::float(lang, v, 4)
    } else {
        "—".into()
    }
}

/// A product as the page names it: its name with the SKU, or the SKU alone when unknown.
fn item(i: &Item) -> String {
    match &i.name {
        Some(n) if !n.is_empty() => format!("{n} ({})", i.sku),
        _ => i.sku.clone(),
    }
}

/// The view of `r` in `lang`, its instants in `zone` (the business's).
pub fn view(m: &Messages, lang: Lang, zone: &jiff::tz::TimeZone, r: &Report) -> AnalyticsView {
    let rtl = lang.dir() == "rtl";
    let cur = r.currency.as_deref().unwrap_or("ILS");
    let t = |key: &str| m.get(lang, key, None);
    let ta = |key: &str, a: FluentArgs| m.get(lang, key, Some(&a));
    let periods_of = |n: f64| {
        let key = if r.unit == "day" { "an-days" } else { "an-weeks" };
        m.get(
            lang,
            key,
            Some(&FluentArgs::from_iter([
                ("n", FluentValue::from(n)),
                ("shown", FluentValue::from(l10n::float(lang, n, 0))),
            ])),
        )
    };
    let model_name = |name: &str| m.get(lang, &format!("model-{}", crate::slug(name)), None);

    let when = |at: &str| {
        at.parse::<jiff::Timestamp>()
            .map(|at| l10n::date_time(lang, at, zone))
            .unwrap_or_else(|_| at.to_string())
    };
    let refresh = vec![
        (t("an-ran-at"), when(&r.ran_at)),
        (t("an-as-of"), when(&r.as_of)),
        (t("an-model"), model_name(&r.model)),
        (t("an-scored"), l10n::integer(lang, r.buyers as i64)),
        (t("an-customers"), l10n::integer(lang, r.customers as i64)),
        (t("an-transactions"), l10n::integer(lang, r.transactions as i64)),
        (
            t("an-duration"),
            ta("an-seconds", args([("n", l10n::float(lang, r.seconds, 1))])),
        ),
    ];
    let pairs =
        |p: &[(String, f64)]| -> Vec<(String, String)> { p.iter().map(|(k, v)| (k.clone(), stat(lang, *v))).collect() };
    let attempts = r
        .attempts
        .iter()
        .map(|a| {
            vec![
                model_name(&a.model),
                t(&format!("outcome-{}", crate::slug(&a.outcome))),
                a.log_likelihood.map_or_else(|| "—".into(), |v| l10n::float(lang, v, 2)),
                l10n::integer(lang, a.iterations as i64),
                l10n::float(lang, a.seconds, 2),
            ]
        })
        .collect();

    let mut charts = Vec::new();
    let (mut holdout_about, mut holdout_params, mut models) = (None, Vec::new(), Vec::new());
    if let Some(h) = &r.holdout {
        let date = h
            .calibration_end
            .parse::<jiff::Timestamp>()
            .map(|at| l10n::date(lang, at, zone))
            .unwrap_or_else(|_| h.calibration_end.clone());
        holdout_about = Some(ta(
            "an-holdout-about",
            args([
                ("date", date),
                ("customers", l10n::integer(lang, h.customers as i64)),
                ("periods", periods_of(f64::from(h.periods))),
                ("model", model_name(&h.model)),
            ]),
        ));
        holdout_params = pairs(&h.params);
        models = h
            .models
            .iter()
            .map(|f| {
                vec![
                    model_name(&f.model),
                    l10n::float(lang, f.log_likelihood, 2),
                    l10n::float(lang, f.aic, 2),
                    l10n::float(lang, f.bic, 2),
                    stat(lang, f.holdout_mae),
                ]
            })
            .collect();
        let hover_of = |x: String, a: f64, e: f64| {
            ta(
                "an-point",
                args([
                    ("at", x),
                    ("actual", l10n::float(lang, a, 2)),
                    ("expected", l10n::float(lang, e, 2)),
                ]),
            )
        };
        if !h.cumulative.is_empty() {
            let series = [
                Series {
                    name: t("series-actual"),
                    class: "actual",
                    points: h.cumulative.iter().map(|p| (p.period, p.actual)).collect(),
                },
                Series {
                    name: t("series-expected"),
                    class: "expected",
                    points: h.cumulative.iter().map(|p| (p.period, p.expected)).collect(),
                },
            ];
            let hover = |_: usize, i: usize| {
                let p = &h.cumulative[i];
                hover_of(periods_of(p.period), p.actual, p.expected)
            };
            let axis = t(if r.unit == "day" {
                "an-axis-days"
            } else {
                "an-axis-weeks"
            });
            charts.push(ChartView {
                id: "cumulative",
                title: t("an-cumulative"),
                svg: chart::lines(&t("an-cumulative"), &series, &axis, &hover, rtl),
                head: vec![axis.clone(), t("series-actual"), t("series-expected")],
                rows: h
                    .cumulative
                    .iter()
                    .map(|p| {
                        vec![
                            l10n::float(lang, p.period, 0),
                            l10n::float(lang, p.actual, 1),
                            l10n::float(lang, p.expected, 1),
                        ]
                    })
                    .collect(),
            });
        }
        if !h.table.is_empty() {
            let series = [
                Series {
                    name: t("series-actual"),
                    class: "actual",
                    points: h.table.iter().map(|c| (f64::from(c.frequency), c.actual)).collect(),
                },
                Series {
                    name: t("series-expected"),
                    class: "expected",
                    points: h.table.iter().map(|c| (f64::from(c.frequency), c.expected)).collect(),
                },
            ];
            let hover = |_: usize, i: usize| {
                let c = &h.table[i];
                hover_of(l10n::integer(lang, i64::from(c.frequency)), c.actual, c.expected)
            };
            charts.push(ChartView {
                id: "by-frequency",
                title: t("an-by-frequency"),
                svg: chart::lines(&t("an-by-frequency"), &series, &t("col-frequency"), &hover, rtl),
                head: vec![
                    t("col-frequency"),
                    t("col-customers"),
                    t("col-holdout-actual"),
                    t("col-holdout-expected"),
                ],
                rows: h
                    .table
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        // The last row holds this many or more.
                        let f = l10n::integer(lang, i64::from(c.frequency));
                        vec![
                            if i + 1 == h.table.len() { format!("{f}+") } else { f },
                            l10n::integer(lang, c.customers as i64),
                            l10n::float(lang, c.actual, 3),
                            l10n::float(lang, c.expected, 3),
                        ]
                    })
                    .collect(),
            });
        }
    }

    // The RFM grid: recency 5 (most recent) at the top, frequency 1 to 5 across.
    if r.rfm.iter().any(|c| c.customers > 0) {
        let max = r.rfm.iter().map(|c| c.customers).max().unwrap_or(1).max(1) as f64;
        let cols: Vec<String> = (1..=5)
            .map(|f| ta("col-frequency-score", args([("f", l10n::integer(lang, f))])))
            .collect();
        let rows: Vec<(String, Vec<Option<f64>>)> = (1..=5u8)
            .rev()
            .map(|rs| {
                let cells = (1..=5u8)
                    .map(|fs| {
                        r.rfm
                            .iter()
                            .find(|c| c.r == rs && c.f == fs)
                            .map(|c| c.customers as f64 / max)
                    })
                    .collect();
                (
                    ta("col-recency-score", args([("r", l10n::integer(lang, i64::from(rs)))])),
                    cells,
                )
            })
            .collect();
        let cell_at = |rs: u8, fs: u8| r.rfm.iter().find(|c| c.r == rs && c.f == fs);
        let hover = |i: usize, j: usize, _: f64| {
            let (rs, fs) = (5 - i as u8, j as u8 + 1);
            let (n, mean) = cell_at(rs, fs).map_or((0, 0), |c| (c.customers, c.mean_revenue_minor));
            ta(
                "an-rfm-cell",
                args([
                    ("r", l10n::integer(lang, i64::from(rs))),
                    ("f", l10n::integer(lang, i64::from(fs))),
                    ("customers", l10n::integer(lang, n as i64)),
                    ("value", l10n::money(lang, mean, cur)),
                ]),
            )
        };
        charts.push(ChartView {
            id: "rfm",
            title: t("an-rfm-title"),
            svg: chart::heatmap(&t("an-rfm-title"), &rows, &cols, &hover, rtl),
            head: vec![
                t("col-recency"),
                t("col-frequency-header"),
                t("col-customers"),
                t("col-mean-revenue"),
            ],
            rows: r
                .rfm
                .iter()
                .filter(|c| c.customers > 0)
                .map(|c| {
                    vec![
                        l10n::integer(lang, i64::from(c.r)),
                        l10n::integer(lang, i64::from(c.f)),
                        l10n::integer(lang, c.customers as i64),
                        l10n::money(lang, c.mean_revenue_minor, cur),
                    ]
                })
                .collect(),
        });
    }

    // Value tiers.
    if !r.tiers.is_empty() {
        let tier = |name: &str| t(&format!("tier-{name}"));
        charts.push(ChartView {
            id: "tiers",
            title: t("dash-tiers"),
            svg: chart::bars(
                &t("dash-tiers"),
                &r.tiers
                    .iter()
                    .map(|x| Bar {
                        label: tier(&x.tier),
                        value: x.share_of_value,
                        shown: l10n::percent(lang, x.share_of_value, 1),
                    })
                    .collect::<Vec<_>>(),
                rtl,
            ),
            head: vec![t("col-tier"), t("col-customers"), t("col-value-share")],
            rows: r
                .tiers
                .iter()
                .map(|x| {
                    vec![
                        tier(&x.tier),
                        l10n::integer(lang, x.customers as i64),
                        l10n::percent(lang, x.share_of_value, 1),
                    ]
                })
                .collect(),
        });
    }

    let (rules, rules_about) = match &r.baskets {
        Some(b) => (
            b.rules
                .iter()
                .map(|x| {
                    let join = |items: &[Item]| items.iter().map(item).collect::<Vec<_>>().join(" + ");
                    vec![
                        join(&x.antecedents),
                        join(&x.consequents),
                        l10n::percent(lang, x.support, 1),
                        l10n::percent(lang, x.confidence, 0),
                        l10n::float(lang, x.lift, 2),
                    ]
                })
                .collect(),
            Some(ta(
                "an-rules-about",
                args([
                    ("shown", l10n::integer(lang, b.rules.len() as i64)),
                    ("count", l10n::integer(lang, b.rules_total as i64)),
                    ("baskets", l10n::integer(lang, b.baskets as i64)),
                    ("support", l10n::percent(lang, b.min_support, 0)),
                    ("confidence", l10n::percent(lang, b.min_confidence, 0)),
                ]),
            )),
        ),
        None => (Vec::new(), None),
    };

    AnalyticsView {
        refresh,
        params: pairs(&r.params),
        spend_params: r.spend_params.as_deref().map(pairs).unwrap_or_default(),
        attempts,
        holdout_about,
        holdout_params,
        models,
        charts,
        rules,
        rules_about,
    }
}
