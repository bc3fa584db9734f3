//! Charts drawn on the server: the geometry of stacked bars and lines in
//! an SVG view box, which the page template turns into SVG elements (no
//! script, no font, no request of its own). Each series has a fill
//! pattern (bars) or a dash (lines) as well as a colour, and the legend
//! names it with its total, so that nothing depends on colour alone.

use serde::Serialize;

use crate::domain::dashboard::Series;
use crate::domain::time::Millis;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 28.0;
/// How many fills and dashes there are; the last is kept for failures.
pub const STYLES: usize = 8;
const FAILURE_STYLE: usize = STYLES - 1;

/// Which series count failures, drawn in the failure colour (the one
/// failed jobs and refused deliveries have everywhere).
pub type Failed = fn(&str) -> bool;

/// The style of the `i`-th series: the failure fill or dash for failures,
/// the others in turn.
fn style_of(i: usize, name: &str, failed: Failed) -> usize {
    if failed(name) {
        FAILURE_STYLE
    } else {
        i % FAILURE_STYLE
    }
}

/// No series counts failures.
pub fn no_failures(_: &str) -> bool {
    false
}

/// Whether a chart stacks counts as bars or draws values as lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Bars,
    Lines,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// The series' style (fill pattern).
    pub style: usize,
    /// Where the bar leads (the jobs it counts), and what it says there.
    pub href: Option<String>,
    pub label: String,
}

/// Where a bar of `series` over `[from, to)` leads, if anywhere.
pub type BarLink<'a> = &'a dyn Fn(&str, Millis, Millis) -> Option<String>;

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// An SVG path (`M x y L x y ...`), with a gap where a value is missing.
    pub d: String,
    pub style: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub at: f64,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Legend {
    pub name: String,
    pub style: usize,
    /// The series' total (counts) or its largest value (lines).
    pub figure: String,
}

/// A chart, ready to draw: everything in view-box units.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub title: String,
    pub shape: Kind,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub top: f64,
    pub plot_w: f64,
    pub plot_h: f64,
    pub rects: Vec<Rect>,
    pub lines: Vec<Line>,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub legend: Vec<Legend>,
    /// What the chart shows, in words (its accessible name).
    pub summary: String,
    /// Whether its bars are links (then it is a group, not an image).
    pub linked: bool,
}

/// The bucket times a chart's x axis names.
#[derive(Debug, Clone, Copy)]
pub struct Axis {
    pub from: Millis,
    pub size_ms: i64,
    pub count: usize,
}

/// A round number at least `max` (1, 2 or 5 times a power of ten).
fn nice(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * power)
}

fn figure(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// Six or so times along the x axis.
fn x_ticks(axis: Axis, step_w: f64) -> Vec<Tick> {
    let every = (axis.count / 6).max(1);
    let week = axis.size_ms >= 3_600_000;
    (0..axis.count)
        .step_by(every)
        .map(|b| {
            let t = axis.from.0 + axis.size_ms * b as i64;
            let format = if week { "%a %H:%M" } else { "%H:%M" };
            let label = chrono::DateTime::from_timestamp_millis(t)
                .map(|d| d.format(format).to_string())
                .unwrap_or_default();
            Tick {
                at: LEFT + step_w * b as f64,
                label,
            }
        })
        .collect()
}

fn y_ticks(top: f64, plot_h: f64) -> Vec<Tick> {
    [0.0, 0.5, 1.0]
        .into_iter()
        .map(|f| Tick {
            at: TOP + plot_h * (1.0 - f),
            label: figure(top * f),
        })
        .collect()
}

/// Stacked bars of counts, one stack per bucket.
fn bars(
    series: &[Series],
    axis: Axis,
    link: Option<BarLink<'_>>,
    failed: Failed,
    step_w: f64,
    top: f64,
    plot_h: f64,
) -> Vec<Rect> {
    let n = axis.count.max(1);
    let mut rects = Vec::new();
    let bar_w = (step_w * 0.8).max(0.5);
    for b in 0..n {
        let mut base = 0.0;
        for (i, s) in series.iter().enumerate() {
            let v = s.values.get(b).copied().flatten().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let h = plot_h * v / top;
            let y = TOP + plot_h * (1.0 - (base + v) / top);
            let from = Millis(axis.from.0 + axis.size_ms * b as i64);
            let to = Millis(from.0 + axis.size_ms);
            rects.push(Rect {
                x: LEFT + step_w * b as f64 + (step_w - bar_w) / 2.0,
                y,
                w: bar_w,
                h,
                style: style_of(i, &s.name, failed),
                href: link.and_then(|link| link(&s.name, from, to)),
                label: format!("{}: {} from {}", s.name, figure(v), from.utc()),
            });
            base += v;
        }
    }
    rects
}

/// One path per series through the middle of each bucket.
fn lines(series: &[Series], failed: Failed, step_w: f64, top: f64, plot_h: f64) -> Vec<Line> {
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut d = String::new();
            let mut pen_down = false;
            for (b, v) in s.values.iter().enumerate() {
                match v {
                    Some(v) => {
                        let x = LEFT + step_w * (b as f64 + 0.5);
                        let y = TOP + plot_h * (1.0 - v / top);
                        d.push_str(&format!(
                            "{}{x:.1} {y:.1} ",
                            if pen_down { "L" } else { "M" }
                        ));
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            Line {
                d: d.trim_end().to_string(),
                style: style_of(i, &s.name, failed),
            }
        })
        .collect()
}

/// The geometry of one chart of `series` over `axis`.
pub fn chart(
    title: &str,
    kind: Kind,
    axis: Axis,
    series: &[Series],
    link: Option<BarLink<'_>>,
    failed: Failed,
) -> Chart {
    let n = axis.count.max(1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let step_w = plot_w / n as f64;
    let max = match kind {
        Kind::Bars => (0..n)
            .map(|b| {
                series
                    .iter()
                    .map(|s| s.values.get(b).copied().flatten().unwrap_or(0.0))
                    .sum::<f64>()
            })
            .fold(0.0, f64::max),
        Kind::Lines => series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .fold(0.0, |a: f64, v| a.max(*v)),
    };
    let top = nice(max);
    let legend: Vec<Legend> = series
        .iter()
        .enumerate()
        .map(|(i, s)| Legend {
            name: s.name.clone(),
            style: style_of(i, &s.name, failed),
            figure: match kind {
                Kind::Bars => format!("{} in all", figure(s.total())),
                Kind::Lines => {
                    let peak = s
                        .values
                        .iter()
                        .flatten()
                        .fold(None, |a: Option<f64>, v| Some(a.map_or(*v, |a| a.max(*v))));
                    peak.map_or("no data".into(), |p| format!("at most {}", figure(p)))
                }
            },
        })
        .collect();
    let summary = format!(
        "{title}: {}",
        legend
            .iter()
            .map(|l| format!("{} {}", l.name, l.figure))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let rects = match kind {
        Kind::Bars => bars(series, axis, link, failed, step_w, top, plot_h),
        Kind::Lines => Vec::new(),
    };
    Chart {
        linked: rects.iter().any(|r| r.href.is_some()),
        title: title.to_string(),
        shape: kind,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        top: TOP,
        plot_w,
        plot_h,
        rects,
        lines: match kind {
            Kind::Lines => lines(series, failed, step_w, top, plot_h),
            Kind::Bars => Vec::new(),
        },
        y_ticks: y_ticks(top, plot_h),
        x_ticks: x_ticks(axis, step_w),
        legend,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, values: &[Option<f64>]) -> Series {
        Series {
            name: name.into(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn stacks_rise_from_the_axis_and_fit_the_plot() {
        let axis = Axis {
            from: Millis(0),
            size_ms: 60_000,
            count: 2,
        };
        let c = chart(
            "d",
            Kind::Bars,
            axis,
            &[
                series("a", &[Some(3.0), Some(0.0)]),
                series("b", &[Some(2.0), None]),
            ],
            Some(&|name: &str, from: Millis, to: Millis| {
                (name == "b").then(|| format!("/jobs?from={}&to={}", from.0, to.0))
            }),
            |name| name == "b",
        );
        assert_eq!(c.rects[1].style, FAILURE_STYLE, "b counts failures");
        assert_eq!(c.legend[1].style, FAILURE_STYLE);
        assert_eq!(c.rects.len(), 2, "no rectangle for nothing");
        assert_eq!(c.rects[0].href, None, "a leads nowhere");
        assert_eq!(c.rects[1].href.as_deref(), Some("/jobs?from=0&to=60000"));
        assert!(
            c.rects[1].label.starts_with("b: 2 from"),
            "{}",
            c.rects[1].label
        );
        let bottom = TOP + c.plot_h;
        assert!((c.rects[0].y + c.rects[0].h - bottom).abs() < 1e-9);
        assert!(
            (c.rects[1].y + c.rects[1].h - c.rects[0].y).abs() < 1e-9,
            "stacked"
        );
        assert!(c.rects[1].y >= TOP);
        assert_eq!(c.legend[0].figure, "3 in all");
        assert!(c.summary.contains("b 2 in all"), "{}", c.summary);
    }

    #[test]
    fn a_missing_value_breaks_the_line() {
        let axis = Axis {
            from: Millis(0),
            size_ms: 60_000,
            count: 3,
        };
        let c = chart(
            "t",
            Kind::Lines,
            axis,
            &[series("p50", &[Some(1.0), None, Some(2.0)])],
            None,
            no_failures,
        );
        assert_eq!(c.lines[0].d.matches('M').count(), 2, "{}", c.lines[0].d);
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(0.13), 0.2);
    }
}
