//! The dashboards' pages: a chart per figure over the chosen window, with
//! links to the other windows.

use super::Urls;
use crate::domain::dashboard::{Series, Window};
use crate::ui::charts::{chart, Axis, Kind};
use crate::ui::{Block, Page};

/// One chart to draw: its title, shape and series.
pub struct Figure<'a> {
    pub title: String,
    pub kind: Kind,
    pub series: &'a [Series],
}

/// A dashboard page at `base` (`?window=` picks the window).
pub fn dashboard_page(
    urls: &Urls,
    title: String,
    base: &str,
    window: Window,
    axis: Axis,
    figures: &[Figure<'_>],
) -> Page {
    let mut page = Page::new(format!("{title} · the last {}", window.as_str())).without_value();
    for other in Window::ALL.into_iter().filter(|w| *w != window) {
        page = page.link(
            format!("The last {}", other.as_str()),
            format!("{base}?window={}", other.as_str()),
        );
    }
    for f in figures {
        page = page.block(Block::Chart {
            chart: chart(&f.title, f.kind, axis, f.series),
        });
    }
    page.link("Webhook receivers", urls.receivers())
}
