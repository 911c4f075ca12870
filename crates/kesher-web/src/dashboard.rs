//! The dashboard page's view: the stored snapshot of the latest analysis turned into charts
//! (SVG) and the tables beside them, in the reader's language.

use crate::Messages;
use crate::chart::{self, Bar};
use crate::l10n::{self, Lang};
use kesher_analytics::dashboard::Snapshot;
use serde::Serialize;

/// One chart with its title and the table of its numbers.
#[derive(Serialize)]
pub struct ChartView {
    pub id: &'static str,
    pub title: String,
    pub svg: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Everything the dashboard template reads besides the snapshot itself.
#[derive(Serialize)]
pub struct DashboardView {
    pub charts: Vec<ChartView>,
    /// Share of value held by the best 20 % of customers.
    pub top20: Option<String>,
}

fn stage_name(m: &Messages, lang: Lang, stage: &str) -> String {
    m.get(lang, &format!("stage-{}", crate::slug(stage)), None)
}

/// The charts of `s` in `lang`.
pub fn view(m: &Messages, lang: Lang, s: &Snapshot) -> DashboardView {
    let rtl = lang.dir() == "rtl";
    let cur = s.currency.as_deref().unwrap_or("ILS");
    let money = |v: i128| {
        l10n::money(
            lang,
            i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }),
            cur,
        )
    };
    let mut charts = Vec::new();

    // The ladder: customers per rung.
    let ladder: Vec<Bar> = s
        .stages
        .iter()
        .map(|st| Bar {
            label: stage_name(m, lang, &st.stage),
            value: st.customers as f64,
            shown: l10n::integer(lang, st.customers as i64),
        })
        .collect();
    charts.push(ChartView {
        id: "ladder",
        title: m.get(lang, "dash-ladder", None),
        svg: chart::bars(&m.get(lang, "dash-ladder", None), &ladder, rtl),
        head: vec![
            m.get(lang, "col-stage", None),
            m.get(lang, "col-customers", None),
            m.get(lang, "col-revenue", None),
            m.get(lang, "col-margin", None),
        ],
        rows: s
            .stages
            .iter()
            .map(|st| {
                vec![
                    stage_name(m, lang, &st.stage),
                    l10n::integer(lang, st.customers as i64),
                    money(st.revenue_minor),
                    st.margin_minor.map(money).unwrap_or_else(|| "—".into()),
                ]
            })
            .collect(),
    });

    // Revenue by stage.
    let revenue: Vec<Bar> = s
        .stages
        .iter()
        .filter(|st| st.customers > 0 && st.stage != "prospect")
        .map(|st| Bar {
            label: stage_name(m, lang, &st.stage),
            value: st.revenue_minor as f64,
            shown: money(st.revenue_minor),
        })
        .collect();
    charts.push(ChartView {
        id: "revenue",
        title: m.get(lang, "dash-revenue", None),
        svg: chart::bars(&m.get(lang, "dash-revenue", None), &revenue, rtl),
        head: Vec::new(),
        rows: Vec::new(),
    });

    // Flows between rungs since last month.
    if !s.flows.is_empty() {
        charts.push(ChartView {
            id: "flows",
            title: m.get(lang, "dash-flows", None),
            svg: chart::bars(
                &m.get(lang, "dash-flows", None),
                &s.flows
                    .iter()
                    .map(|f| Bar {
                        label: format!(
                            "{} → {}",
                            if f.from == "new" {
                                m.get(lang, "stage-new", None)
                            } else {
                                stage_name(m, lang, &f.from)
                            },
                            stage_name(m, lang, &f.to)
                        ),
                        value: f.customers as f64,
                        shown: l10n::integer(lang, f.customers as i64),
                    })
                    .collect::<Vec<_>>(),
                rtl,
            ),
            head: Vec::new(),
            rows: Vec::new(),
        });
    }

    // The Pareto curve.
    if !s.pareto.is_empty() {
        let hover = |x: f64, y: f64| {
            m.get(
                lang,
                "dash-pareto-point",
                Some(&fluent_bundle::FluentArgs::from_iter([
                    ("customers", fluent_bundle::FluentValue::from(l10n::percent(lang, x, 0))),
                    ("value", fluent_bundle::FluentValue::from(l10n::percent(lang, y, 0))),
                ])),
            )
        };
        charts.push(ChartView {
            id: "pareto",
            title: m.get(lang, "dash-pareto", None),
            svg: chart::curve(&m.get(lang, "dash-pareto", None), &s.pareto, &hover, rtl),
            head: vec![
                m.get(lang, "col-customers-share", None),
                m.get(lang, "col-value-share", None),
            ],
            rows: s
                .pareto
                .iter()
                .step_by(2)
                .map(|(x, y)| vec![l10n::percent(lang, *x, 0), l10n::percent(lang, *y, 1)])
                .collect(),
        });
    }

    // The CLV distribution.
    if !s.clv_bins.is_empty() {
        let bars: Vec<Bar> = s
            .clv_bins
            .iter()
            .map(|b| Bar {
                label: l10n::money(lang, b.from_minor.round() as i64, cur),
                value: b.customers as f64,
                shown: l10n::integer(lang, b.customers as i64),
            })
            .collect();
        charts.push(ChartView {
            id: "clv",
            title: m.get(lang, "dash-clv", None),
            svg: chart::columns(&m.get(lang, "dash-clv", None), &bars),
            head: vec![m.get(lang, "col-clv-from", None), m.get(lang, "col-customers", None)],
            rows: s
                .clv_bins
                .iter()
                .map(|b| {
                    vec![
                        format!(
                            "{} – {}",
                            l10n::money(lang, b.from_minor.round() as i64, cur),
                            l10n::money(lang, b.to_minor.round() as i64, cur)
                        ),
                        l10n::integer(lang, b.customers as i64),
                    ]
                })
                .collect(),
        });
    }

    // Cohort retention.
    if !s.cohorts.is_empty() {
        let width = s.cohorts.iter().map(|c| c.retention.len()).max().unwrap_or(0);
        let rows: Vec<(String, Vec<Option<f64>>)> = s
            .cohorts
            .iter()
            .map(|c| {
                let mut cells: Vec<Option<f64>> = c.retention.iter().map(|v| Some(*v)).collect();
                cells.resize(width, None);
                (l10n::month(lang, &c.month), cells)
            })
            .collect();
        let cols: Vec<String> = (0..width).map(|j| l10n::integer(lang, j as i64)).collect();
        let hover = |i: usize, j: usize, v: f64| {
            let c = &s.cohorts[i];
            m.get(
                lang,
                "dash-cohort-cell",
                Some(&fluent_bundle::FluentArgs::from_iter([
                    ("cohort", fluent_bundle::FluentValue::from(l10n::month(lang, &c.month))),
                    ("months", fluent_bundle::FluentValue::from(j as f64)),
                    ("share", fluent_bundle::FluentValue::from(l10n::percent(lang, v, 0))),
                ])),
            )
        };
        charts.push(ChartView {
            id: "cohorts",
            title: m.get(lang, "dash-cohorts", None),
            svg: chart::heatmap(&m.get(lang, "dash-cohorts", None), &rows, &cols, &hover, rtl),
            head: vec![
                m.get(lang, "col-cohort", None),
                m.get(lang, "col-customers", None),
                m.get(lang, "col-month-1", None),
                m.get(lang, "col-month-3", None),
            ],
            rows: s
                .cohorts
                .iter()
                .map(|c| {
                    let at = |k: usize| {
                        c.retention
                            .get(k)
                            .map(|v| l10n::percent(lang, *v, 0))
                            .unwrap_or_else(|| "—".into())
                    };
                    vec![
                        l10n::month(lang, &c.month),
                        l10n::integer(lang, c.customers as i64),
                        at(1),
                        at(3),
                    ]
                })
                .collect(),
        });
    }

    // Value tiers.
    if !s.tiers.is_empty() {
        charts.push(ChartView {
            id: "tiers",
            title: m.get(lang, "dash-tiers", None),
            svg: chart::bars(
                &m.get(lang, "dash-tiers", None),
                &s.tiers
                    .iter()
                    .map(|t| Bar {
                        label: m.get(lang, &format!("tier-{}", t.tier), None),
                        value: t.share_of_value,
                        shown: l10n::percent(lang, t.share_of_value, 1),
                    })
                    .collect::<Vec<_>>(),
                rtl,
            ),
            head: vec![
                m.get(lang, "col-tier", None),
                m.get(lang, "col-customers", None),
                m.get(lang, "col-value-share", None),
            ],
            rows: s
                .tiers
                .iter()
                .map(|t| {
                    vec![
                        m.get(lang, &format!("tier-{}", t.tier), None),
                        l10n::integer(lang, t.customers as i64),
                        l10n::percent(lang, t.share_of_value, 1),
                    ]
                })
                .collect(),
        });
    }
    let top20 = kesher_analytics::dashboard::share_held_by(&s.pareto, 0.2).map(|v| l10n::percent(lang, v, 0));
    DashboardView { charts, top20 }
}
