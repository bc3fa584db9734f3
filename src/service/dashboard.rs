//! Dashboards: what the site's (administrators) and a receiver's (its
//! owner and administrators) show over a window, computed from the
//! database's counts so that every node shows the same.

use crate::domain::dashboard::Buckets;

use std::collections::BTreeMap;

use super::receivers::Receivers;
use crate::domain::dashboard::{Series, Window};
use crate::domain::ids::ReceiverId;
use crate::domain::receiver::Receiver;
use crate::domain::time::Millis;
use crate::domain::user::User;
use crate::error::{Error, Result};
use crate::store::{Count, RunTimes};
use crate::store::{DashboardStore, Store};
use std::sync::Arc;

/// The most runs whose times one dashboard reads.
const MAX_RUNS: u32 = 100_000;

/// Everything one dashboard draws.
#[derive(Debug, Clone)]
pub struct Figures {
    pub window: Window,
    pub buckets: Buckets,
    /// Deliveries by outcome (accepted, duplicate, each refusal reason).
    pub deliveries: Vec<Series>,
    /// Runs by final state.
    pub runs: Vec<Series>,
    /// p50, p95 and the longest run, in seconds.
    pub durations: Vec<Series>,
    /// p50 and p95 of the time from the webhook to the first cell, in seconds.
    pub first_cell: Vec<Series>,
    /// Jobs waiting and warm kernels (the site's dashboard only).
    pub queue: Vec<Series>,
    /// More runs ended in the window than were read for their times.
    pub times_capped: bool,
}

/// A series per kind, with the kinds in `first` leading in that order and
/// any others after them by name.
fn stacked(counts: &[Count], buckets: usize, first: &[&str]) -> Vec<Series> {
    let mut by_kind: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
    for kind in first {
        by_kind.insert(kind, vec![Some(0.0); buckets]);
    }
    for c in counts {
        let values = by_kind
            .entry(c.kind.as_str())
            .or_insert_with(|| vec![Some(0.0); buckets]);
        if let Some(slot) = usize::try_from(c.bucket)
            .ok()
            .and_then(|b| values.get_mut(b))
        {
            *slot = Some(slot.unwrap_or(0.0) + c.count as f64);
        }
    }
    let mut series: Vec<Series> = first
        .iter()
        .filter_map(|k| by_kind.remove(k).map(|values| (k, values)))
        .map(|(k, values)| Series {
            name: k.to_string(),
            values,
        })
        .collect();
    series.extend(by_kind.into_iter().map(|(k, values)| Series {
        name: k.to_string(),
        values,
    }));
    series
}

/// The `p`-th percentile (nearest rank) of sorted values.
fn percentile(sorted: &[i64], p: f64) -> i64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Percentile lines over buckets, in seconds, of what `pick` reads.
fn spread(
    times: &[RunTimes],
    buckets: usize,
    pick: fn(&RunTimes) -> Option<i64>,
    lines: &[(&str, f64)],
) -> Vec<Series> {
    let mut per: Vec<Vec<i64>> = vec![Vec::new(); buckets];
    for t in times {
        if let (Some(v), Some(list)) = (
            pick(t),
            usize::try_from(t.bucket).ok().and_then(|b| per.get_mut(b)),
        ) {
            list.push(v.max(0));
        }
    }
    for list in &mut per {
        list.sort_unstable();
    }
    lines
        .iter()
        .map(|(name, p)| Series {
            name: name.to_string(),
            values: per
                .iter()
                .map(|l| (!l.is_empty()).then(|| percentile(l, *p) as f64 / 1000.0))
                .collect(),
        })
        .collect()
}

/// The dashboards' figures: the site's and each receiver's.
pub struct Dashboards {
    figures: Arc<dyn DashboardStore>,
    receivers: Arc<Receivers>,
}

impl Dashboards {
    pub fn new(store: &Arc<dyn Store>, receivers: Arc<Receivers>) -> Self {
        Self {
            figures: store.clone(),
            receivers,
        }
    }
}

impl Dashboards {
    /// The whole site's dashboard; administrators only.
    pub async fn site_dashboard(&self, caller: &User, window: Window) -> Result<Figures> {
        if !caller.is_admin() {
            return Err(Error::Forbidden);
        }
        let mut figures = self.figures(window, None).await?;
        let n = figures.buckets.count as usize;
        let samples = self.figures.samples(figures.buckets).await?;
        let mut depth = vec![None; n];
        let mut warm = vec![None; n];
        for s in samples {
            if let Ok(b) = usize::try_from(s.bucket) {
                if b < n {
                    depth[b] = Some(s.queue_depth as f64);
                    warm[b] = Some(s.warm_kernels as f64);
                }
            }
        }
        figures.queue = vec![
            Series {
                name: "jobs waiting".into(),
                values: depth,
            },
            Series {
                name: "warm kernels".into(),
                values: warm,
            },
        ];
        Ok(figures)
    }

    /// A receiver's dashboard; its owner and administrators.
    pub async fn receiver_dashboard(
        &self,
        caller: &User,
        id: &ReceiverId,
        window: Window,
    ) -> Result<(Receiver, Figures)> {
        let receiver = self.receivers.receiver(caller, id).await?;
        let figures = self.figures(window, Some(id)).await?;
        Ok((receiver, figures))
    }

    async fn figures(&self, window: Window, receiver: Option<&ReceiverId>) -> Result<Figures> {
        let (size_ms, count) = window.bucket();
        let buckets = Buckets {
            from: window.start(Millis::now()),
            size_ms,
            count,
        };
        let n = count as usize;
        let deliveries = self.figures.delivery_counts(buckets, receiver).await?;
        let runs = self.figures.run_counts(buckets, receiver).await?;
        let times = self.figures.run_times(buckets, receiver, MAX_RUNS).await?;
        let duration = |t: &RunTimes| Some(t.duration_ms);
        let first_cell = |t: &RunTimes| t.to_first_cell_ms;
        Ok(Figures {
            window,
            buckets,
            deliveries: stacked(&deliveries, n, &["accepted", "duplicate"]),
            runs: stacked(&runs, n, &["COMPLETED", "FAILED", "CANCELLED"]),
            durations: spread(
                &times,
                n,
                duration,
                &[("p50", 50.0), ("p95", 95.0), ("max", 100.0)],
            ),
            first_cell: spread(&times, n, first_cell, &[("p50", 50.0), ("p95", 95.0)]),
            queue: Vec::new(),
            times_capped: times.len() >= MAX_RUNS as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_order_and_buckets_their_counts() {
        let c = |bucket, kind: &str, count| Count {
            bucket,
            kind: kind.into(),
            count,
        };
        let s = stacked(
            &[
                c(0, "signature", 2),
                c(1, "accepted", 3),
                c(9, "accepted", 1),
            ],
            2,
            &["accepted", "duplicate"],
        );
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["accepted", "duplicate", "signature"]);
        assert_eq!(s[0].values, [Some(0.0), Some(3.0)], "bucket 9 is outside");
        assert_eq!(s[2].values, [Some(2.0), Some(0.0)]);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let sorted: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50.0), 50);
        assert_eq!(percentile(&sorted, 95.0), 95);
        assert_eq!(percentile(&sorted, 100.0), 100);
        assert_eq!(percentile(&[7], 95.0), 7);
    }
}
