//! The dashboards' pages: a chart per figure over the chosen window, with
//! links to the other windows.

use super::Urls;
use crate::domain::dashboard::{Series, Window};
use crate::ui::charts::{chart, Axis, BarLink, Failed, Kind};
use crate::ui::{Block, Cell, Page};

/// One chart to draw: its title, shape and series, and where its bars
/// lead.
pub struct Figure<'a> {
    pub title: String,
    pub kind: Kind,
    pub series: &'a [Series],
    pub link: Option<BarLink<'a>>,
    /// Which of its series count failures.
    pub failed: Failed,
}

/// The window's headline figures, from its deliveries by outcome and its
/// runs by final state.
pub struct Headline<'a> {
    pub deliveries: &'a [Series],
    pub runs: &'a [Series],
}

impl Headline<'_> {
    fn block(&self, window: Window) -> Block {
        let count = |series: &[Series], name: &str| -> f64 {
            series
                .iter()
                .filter(|s| s.name == name)
                .map(Series::total)
                .sum()
        };
        let delivered: f64 = self.deliveries.iter().map(Series::total).sum();
        let accepted = count(self.deliveries, "accepted") + count(self.deliveries, "duplicate");
        let completed = count(self.runs, "COMPLETED");
        let failed = count(self.runs, "FAILED");
        let ended: f64 = self.runs.iter().map(Series::total).sum();
        let rate = if completed + failed > 0.0 {
            format!("{:.0} %", 100.0 * completed / (completed + failed))
        } else {
            "no runs ended".into()
        };
        let mut failed_cell = Cell::text(format!("{failed:.0}"));
        if failed > 0.0 {
            failed_cell = failed_cell.class("FAILED");
        }
        Block::Table {
            heading: format!("The last {}", window.as_str()),
            columns: [
                "Deliveries",
                "Refused",
                "Runs ended",
                "Failed",
                "Runs that succeeded",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![vec![
                Cell::text(format!("{delivered:.0}")),
                Cell::text(format!("{:.0}", delivered - accepted)),
                Cell::text(format!("{ended:.0}")),
                failed_cell,
                Cell::text(rate),
            ]],
            empty: String::new(),
        }
    }
}

/// A dashboard page at `base` (`?window=` picks the window): its headline
/// figures, then a chart per figure.
pub fn dashboard_page(
    urls: &Urls,
    title: String,
    base: &str,
    window: Window,
    axis: Axis,
    headline: &Headline<'_>,
    figures: &[Figure<'_>],
) -> Page {
    let mut page = Page::new(format!("{title} · the last {}", window.as_str()))
        .without_value()
        .block(headline.block(window));
    for other in Window::ALL.into_iter().filter(|w| *w != window) {
        page = page.link(
            format!("The last {}", other.as_str()),
            format!("{base}?window={}", other.as_str()),
        );
    }
    for f in figures {
        page = page.block(Block::Chart {
            chart: chart(&f.title, f.kind, axis, f.series, f.link, f.failed),
        });
    }
    page.link("Webhook receivers", urls.receivers())
}
