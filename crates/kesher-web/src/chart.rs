//! Charts as SVG, drawn on the server: readable without JavaScript, each mark with a `<title>`
//! that the browser shows on hover, sized by `viewBox` so they shrink to a phone's width. The
//! pages put a table with the same numbers beside every chart. Horizontal charts mirror in a
//! right-to-left page (bars grow from the right), as the reader expects.

use std::fmt::Write;

/// Text safe inside SVG/HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// One bar: its label, its value (for the length), and the value as the reader should see it.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

/// Horizontal bars, one per row, the longest filling the width; `rtl` grows them from the right.
pub fn bars(title: &str, bars: &[Bar], rtl: bool) -> String {
    let (w, label_w, row_h) = (440.0, 130.0, 26.0);
    let h = row_h * bars.len().max(1) as f64 + 8.0;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let mut s = svg_open(title, w, h);
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let len = if max > 0.0 {
            (b.value.max(0.0) / max) * (w - label_w - 100.0)
        } else {
            0.0
        };
        let (label_x, anchor, bar_x, value_x, value_anchor) = if rtl {
            (w - 4.0, "end", w - label_w - len, w - label_w - len - 6.0, "end")
        } else {
            (4.0, "start", label_w, label_w + len + 6.0, "start")
        };
        let _ = write!(
            s,
            r#"<g class="bar"><title>{label}: {shown}</title><text x="{label_x:.1}" y="{ty:.1}" text-anchor="{anchor}">{label}</text><rect x="{bar_x:.1}" y="{y:.1}" width="{len:.1}" height="{bh:.1}" rx="2"/><text class="value" x="{value_x:.1}" y="{ty:.1}" text-anchor="{value_anchor}">{shown}</text></g>"#,
            label = esc(&b.label),
            shown = esc(&b.shown),
            ty = y + row_h * 0.65,
            bh = row_h - 8.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// A bar with an interval drawn over it as a whisker (a 95 % interval).
pub struct IntervalBar {
    pub label: String,
    pub value: f64,
    pub shown: String,
    /// (low, high) in the value's unit, and how the reader should see it.
    pub interval: Option<(f64, f64, String)>,
}

/// Horizontal bars from a common zero with an optional whisker each (e.g. the recipients'
/// response rate beside the control group's, the recipients' bar carrying the interval that the
/// lift's confidence interval gives it); the scale takes the whiskers in, negative values are
/// drawn as zero. `rtl` grows them from the right.
pub fn interval_bars(title: &str, bars: &[IntervalBar], rtl: bool) -> String {
    let (w, label_w, row_h) = (440.0, 130.0, 30.0);
    let h = row_h * bars.len().max(1) as f64 + 8.0;
    let max = bars
        .iter()
        .flat_map(|b| [Some(b.value), b.interval.as_ref().map(|i| i.1)])
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let plot = w - label_w - 100.0;
    let len = |v: f64| {
        if max > 0.0 && v.is_finite() {
            (v.max(0.0) / max).min(1.0) * plot
        } else {
            0.0
        }
    };
    // x of a point `l` along the plot from its zero.
    let at = |l: f64| if rtl { w - label_w - l } else { label_w + l };
    let mut s = svg_open(title, w, h);
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let bar_len = len(b.value);
        let end = bar_len.max(b.interval.as_ref().map_or(0.0, |i| len(i.1)));
        let (label_x, anchor, value_anchor) = if rtl {
            (w - 4.0, "end", "end")
        } else {
            (4.0, "start", "start")
        };
        let bar_x = if rtl { at(bar_len) } else { at(0.0) };
        let value_x = if rtl { at(end) - 6.0 } else { at(end) + 6.0 };
        let hover = match &b.interval {
            Some((_, _, shown)) => format!("{}: {} ({})", b.label, b.shown, shown),
            None => format!("{}: {}", b.label, b.shown),
        };
        let _ = write!(
            s,
            r#"<g class="bar"><title>{hover}</title><text x="{label_x:.1}" y="{ty:.1}" text-anchor="{anchor}">{label}</text><rect x="{bar_x:.1}" y="{y:.1}" width="{bar_len:.1}" height="{bh:.1}" rx="2"/>"#,
            hover = esc(&hover),
            label = esc(&b.label),
            ty = y + row_h * 0.62,
            bh = row_h - 10.0,
        );
        if let Some((low, high, _)) = &b.interval {
            let (x1, x2) = (at(len(*low)), at(len(*high)));
            let mid = y + (row_h - 10.0) / 2.0;
            let _ = write!(
                s,
                r#"<line class="whisker" x1="{x1:.1}" y1="{mid:.1}" x2="{x2:.1}" y2="{mid:.1}"/><line class="whisker" x1="{x1:.1}" y1="{t:.1}" x2="{x1:.1}" y2="{b:.1}"/><line class="whisker" x1="{x2:.1}" y1="{t:.1}" x2="{x2:.1}" y2="{b:.1}"/>"#,
                t = mid - 6.0,
                b = mid + 6.0,
            );
        }
        let _ = write!(
            s,
            r#"<text class="value" x="{value_x:.1}" y="{ty:.1}" text-anchor="{value_anchor}">{shown}</text></g>"#,
            shown = esc(&b.shown),
            ty = y + row_h * 0.62,
        );
    }
    s.push_str("</svg>");
    s
}

/// Vertical bars over ordered classes (a distribution): `labels[i]` under bar i.
pub fn columns(title: &str, bars: &[Bar]) -> String {
    let (w, h, base) = (440.0, 220.0, 180.0);
    let n = bars.len().max(1) as f64;
    let slot = (w - 20.0) / n;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let mut s = svg_open(title, w, h);
    let _ = write!(
        s,
        r#"<line class="axis" x1="10" y1="{base}" x2="{x2}" y2="{base}"/>"#,
        x2 = w - 10.0
    );
    for (i, b) in bars.iter().enumerate() {
        let x = 10.0 + slot * i as f64;
        let bh = if max > 0.0 {
            b.value.max(0.0) / max * (base - 20.0)
        } else {
            0.0
        };
        let _ = write!(
            s,
            r#"<g class="bar"><title>{label}: {shown}</title><rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" rx="2"/><text class="tick" x="{cx:.1}" y="{ly:.1}" text-anchor="middle">{label}</text></g>"#,
            label = esc(&b.label),
            shown = esc(&b.shown),
            y = base - bh,
            bw = (slot - 4.0).max(1.0),
            cx = x + slot / 2.0,
            ly = base + 16.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// A curve through `points` (x and y in 0..=1, e.g. the Pareto curve: share of customers →
/// share of value), with the diagonal for reference and a marked point per `marks` x value.
pub fn curve(title: &str, points: &[(f64, f64)], hover: &dyn Fn(f64, f64) -> String, rtl: bool) -> String {
    let (w, h, pad) = (360.0, 260.0, 30.0);
    let px = |x: f64| {
        let x = x.clamp(0.0, 1.0);
        if rtl {
            w - pad - x * (w - 2.0 * pad)
        } else {
            pad + x * (w - 2.0 * pad)
        }
    };
    let py = |y: f64| h - pad - y.clamp(0.0, 1.0) * (h - 2.0 * pad);
    let mut s = svg_open(title, w, h);
    let _ = write!(
        s,
        r#"<line class="axis" x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y0:.1}"/><line class="axis" x1="{x0:.1}" y1="{y0:.1}" x2="{x0:.1}" y2="{y1:.1}"/><line class="ref" x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y1:.1}"/>"#,
        x0 = px(0.0),
        x1 = px(1.0),
        y0 = py(0.0),
        y1 = py(1.0),
    );
    let mut d = format!("M{:.1},{:.1}", px(0.0), py(0.0));
    for (x, y) in points {
        let _ = write!(d, " L{:.1},{:.1}", px(*x), py(*y));
    }
    let _ = write!(s, r#"<path class="line" d="{d}"/>"#);
    for (x, y) in points {
        let _ = write!(
            s,
            r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="3"><title>{t}</title></circle>"#,
            cx = px(*x),
            cy = py(*y),
            t = esc(&hover(*x, *y)),
        );
    }
    s.push_str("</svg>");
    s
}

/// A heatmap: `rows[i].1[j]` is the share (0..=1) in cell (i, j), `None` where nothing is
/// known yet; `row_labels` down the side, `col_labels` along the top.
pub fn heatmap(
    title: &str,
    rows: &[(String, Vec<Option<f64>>)],
    col_labels: &[String],
    hover: &dyn Fn(usize, usize, f64) -> String,
    rtl: bool,
) -> String {
    let (label_w, cell, head) = (80.0, 30.0, 22.0);
    let cols = col_labels.len().max(1) as f64;
    let w = label_w + cell * cols + 4.0;
    let h = head + cell * rows.len().max(1) as f64 + 4.0;
    let cx = |j: usize| {
        if rtl {
            w - label_w - cell * (j as f64 + 1.0)
        } else {
            label_w + cell * j as f64
        }
    };
    let mut s = svg_open(title, w, h);
    for (j, l) in col_labels.iter().enumerate() {
        let _ = write!(
            s,
            r#"<text class="tick" x="{x:.1}" y="15" text-anchor="middle">{l}</text>"#,
            x = cx(j) + cell / 2.0,
            l = esc(l),
        );
    }
    for (i, (label, cells)) in rows.iter().enumerate() {
        let y = head + cell * i as f64;
        let (lx, anchor) = if rtl { (w - 4.0, "end") } else { (4.0, "start") };
        let _ = write!(
            s,
            r#"<text class="tick" x="{lx:.1}" y="{ty:.1}" text-anchor="{anchor}">{l}</text>"#,
            ty = y + cell * 0.65,
            l = esc(label),
        );
        for (j, v) in cells.iter().enumerate() {
            let Some(v) = v else { continue };
            // Opacity by share; 0 stays faintly visible so an empty cell reads as "none".
            let _ = write!(
                s,
                r#"<rect class="cell" x="{x:.1}" y="{y:.1}" width="{c:.1}" height="{c:.1}" fill-opacity="{o:.3}"><title>{t}</title></rect>"#,
                x = cx(j) + 1.0,
                c = cell - 2.0,
                o = 0.06 + 0.94 * v.clamp(0.0, 1.0),
                t = esc(&hover(i, j, *v)),
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// One series of a line chart: its name (in the legend), its class (`actual` or `expected`,
/// which the style sheet draws solid or dashed) and its points.
pub struct Series {
    pub name: String,
    pub class: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// Lines through each series' points on shared axes from 0 to the largest x and y, with a legend
/// and the largest values as ticks; `hover(series, point)` titles each point. `rtl` runs the x
/// axis from the right.
pub fn lines(
    title: &str,
    series: &[Series],
    x_label: &str,
    hover: &dyn Fn(usize, usize) -> String,
    rtl: bool,
) -> String {
    let (w, h, pad, top) = (400.0, 260.0, 36.0, 30.0);
    let max_x = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(0.0_f64, f64::max);
    let max_y = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    let sx = if max_x > 0.0 { max_x } else { 1.0 };
    let sy = if max_y > 0.0 { max_y } else { 1.0 };
    let px = |x: f64| {
        let x = (x / sx).clamp(0.0, 1.0);
        if rtl {
            w - pad - x * (w - 2.0 * pad)
        } else {
            pad + x * (w - 2.0 * pad)
        }
    };
    let py = |y: f64| h - pad - (y / sy).clamp(0.0, 1.0) * (h - pad - top);
    let mut s = svg_open(title, w, h);
    let _ = write!(
        s,
        r#"<line class="axis" x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y0:.1}"/><line class="axis" x1="{x0:.1}" y1="{y0:.1}" x2="{x0:.1}" y2="{y1:.1}"/>"#,
        x0 = px(0.0),
        x1 = px(sx),
        y0 = py(0.0),
        y1 = py(sy),
    );
    // The largest values as ticks, the axis's name under it.
    let (end_anchor, start_anchor) = if rtl { ("start", "end") } else { ("end", "start") };
    let _ = write!(
        s,
        r#"<text class="tick" x="{x:.1}" y="{y:.1}" text-anchor="{end_anchor}">{v}</text><text class="tick" x="{x0:.1}" y="{ty:.1}" text-anchor="{start_anchor}">0</text><text class="tick" x="{x1:.1}" y="{ty:.1}" text-anchor="{end_anchor}">{mx}</text><text class="tick" x="{xm:.1}" y="{ty:.1}" text-anchor="middle">{xl}</text>"#,
        x = px(0.0) + if rtl { 4.0 } else { -4.0 },
        y = py(sy) + 4.0,
        v = esc(&trim_number(max_y)),
        x0 = px(0.0),
        x1 = px(sx),
        mx = esc(&trim_number(max_x)),
        xm = (px(0.0) + px(sx)) / 2.0,
        ty = h - pad + 16.0,
        xl = esc(x_label),
    );
    for (k, series) in series.iter().enumerate() {
        let mut d = String::new();
        for (i, (x, y)) in series.points.iter().enumerate() {
            let _ = write!(d, "{}{:.1},{:.1}", if i == 0 { "M" } else { " L" }, px(*x), py(*y));
        }
        let _ = write!(s, r#"<path class="line {c}" d="{d}"/>"#, c = series.class);
        for (i, (x, y)) in series.points.iter().enumerate() {
            let _ = write!(
                s,
                r#"<circle class="{c}" cx="{cx:.1}" cy="{cy:.1}" r="2.5"><title>{t}</title></circle>"#,
                c = series.class,
                cx = px(*x),
                cy = py(*y),
                t = esc(&hover(k, i)),
            );
        }
        // The legend, one entry per series along the top.
        let lx = if rtl {
            w - pad - 140.0 * k as f64
        } else {
            pad + 140.0 * k as f64
        };
        let (l1, l2, tx, anchor) = if rtl {
            (lx, lx - 20.0, lx - 26.0, "end")
        } else {
            (lx, lx + 20.0, lx + 26.0, "start")
        };
        let _ = write!(
            s,
            r#"<line class="legend {c}" x1="{l1:.1}" y1="12" x2="{l2:.1}" y2="12"/><text x="{tx:.1}" y="16" text-anchor="{anchor}">{n}</text>"#,
            c = series.class,
            n = esc(&series.name),
        );
    }
    s.push_str("</svg>");
    s
}

/// A number for a tick: whole when it is, else two decimals.
fn trim_number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn svg_open(title: &str, w: f64, h: f64) -> String {
    format!(
        // Coordinates are physical (the charts mirror themselves for right-to-left pages), so the
        // drawing's own direction is fixed; the text inside still reads in its own direction.
        r#"<svg class="chart" role="img" viewBox="0 0 {w:.0} {h:.0}" direction="ltr" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMin meet"><title>{}</title>"#,
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_longest_and_escape_their_labels() {
        let svg = bars(
            "t",
            &[
                Bar {
                    label: "<a>".into(),
                    value: 10.0,
                    shown: "10".into(),
                },
                Bar {
                    label: "b".into(),
                    value: 5.0,
                    shown: "5".into(),
                },
            ],
            false,
        );
        assert!(svg.contains("&lt;a&gt;"));
        assert!(!svg.contains("<a>"));
        // The longest bar fills the plot width (440 - 130 - 100), the other half of it.
        assert!(svg.contains(r#"width="210.0""#), "{svg}");
        assert!(svg.contains(r#"width="105.0""#), "{svg}");
    }

    #[test]
    fn right_to_left_bars_grow_from_the_right() {
        let b = [Bar {
            label: "x".into(),
            value: 1.0,
            shown: "1".into(),
        }];
        let ltr = bars("t", &b, false);
        let rtl = bars("t", &b, true);
        assert!(ltr.contains(r#"<rect x="130.0""#), "{ltr}");
        // The bar ends where the label column begins, at the right.
        assert!(rtl.contains(r#"<rect x="100.0""#), "{rtl}");
    }

    #[test]
    fn interval_bars_scale_to_the_highest_whisker_and_mirror() {
        let b = [
            IntervalBar {
                label: "recipients".into(),
                value: 0.5,
                shown: "50%".into(),
                interval: Some((0.25, 1.0, "25% … 100%".into())),
            },
            IntervalBar {
                label: "control".into(),
                value: 0.25,
                shown: "25%".into(),
                interval: None,
            },
        ];
        let ltr = interval_bars("t", &b, false);
        // The whisker's high end fills the plot (210 wide): the bars are half and a quarter.
        assert!(ltr.contains(r#"width="105.0""#), "{ltr}");
        assert!(ltr.contains(r#"width="52.5""#), "{ltr}");
        assert!(ltr.contains(r#"x1="182.5""#) && ltr.contains(r#"x2="340.0""#), "{ltr}");
        assert_eq!(ltr.matches("class=\"whisker\"").count(), 3);
        let rtl = interval_bars("t", &b, true);
        // Right to left the bars end where the labels begin, at 310.
        assert!(rtl.contains(r#"<rect x="205.0""#), "{rtl}");
        assert!(rtl.contains(r#"x2="100.0""#), "{rtl}");
    }

    #[test]
    fn lines_share_the_axes_and_mirror() {
        let series = [
            Series {
                name: "actual".into(),
                class: "actual",
                points: vec![(0.0, 0.0), (10.0, 50.0)],
            },
            Series {
                name: "expected".into(),
                class: "expected",
                points: vec![(0.0, 0.0), (10.0, 100.0)],
            },
        ];
        let ltr = lines("t", &series, "weeks", &|k, i| format!("{k}/{i}"), false);
        assert_eq!(ltr.matches("<path").count(), 2);
        assert_eq!(ltr.matches("<circle").count(), 4);
        // The largest y reaches the top (30), half of it half-way down (260 - 36 - 97).
        assert!(ltr.contains("M36.0,224.0 L364.0,127.0"), "{ltr}");
        assert!(ltr.contains("M36.0,224.0 L364.0,30.0"), "{ltr}");
        let rtl = lines("t", &series, "weeks", &|k, i| format!("{k}/{i}"), true);
        assert!(rtl.contains("M364.0,224.0 L36.0,30.0"), "{rtl}");
    }

    #[test]
    fn heatmap_leaves_unknown_cells_empty() {
        let rows = vec![("2026-01".to_string(), vec![Some(1.0), Some(0.5), None])];
        let svg = heatmap(
            "h",
            &rows,
            &["0".into(), "1".into(), "2".into()],
            &|_, _, v| format!("{v}"),
            false,
        );
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains(r#"fill-opacity="1.000""#));
        assert!(svg.contains(r#"fill-opacity="0.530""#));
    }
}
