//! Prometheus metrics: deliveries by outcome and reason, and how long
//! acceptance takes. Rendered in the text exposition format at `/metrics`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::DeliveryOutcome;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    outcome: &'static str,
    reason: &'static str,
}

pub struct Metrics {
    registry: Registry,
    deliveries: Family<DeliveryLabels, Counter>,
    acceptance: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "hookbook_deliveries",
            "Webhook deliveries by outcome (accepted, duplicate, rejected) and refusal reason",
            deliveries.clone(),
        );
        // From 0.25 ms to about 4 s.
        let acceptance = Histogram::new(exponential_buckets(0.000_25, 2.0, 15));
        registry.register(
            "hookbook_acceptance_seconds",
            "Time from a delivery's arrival to its durable acceptance",
            acceptance.clone(),
        );
        Self {
            registry,
            deliveries,
            acceptance,
        }
    }

    pub fn delivery(&self, outcome: DeliveryOutcome, reason: &'static str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                outcome: outcome.as_str(),
                reason,
            })
            .inc();
    }

    pub fn accepted_in(&self, elapsed: Duration) {
        self.acceptance.observe(elapsed.as_secs_f64());
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("encoding metrics failed: {e}");
        }
        out
    }
}
