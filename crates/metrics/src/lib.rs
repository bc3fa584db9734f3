//! Prometheus metrics: deliveries by outcome and reason, and how long
//! acceptance takes. Rendered in the text exposition format at `/metrics`.
//! And the node's `health`, which `/healthz` reads.

pub mod health;

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use hookbook_core::domain::delivery::DeliveryOutcome;
use hookbook_core::domain::job::JobStatus;
use hookbook_core::domain::retry::Failure;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    outcome: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TurnedLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RetryLabels {
    failure: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NoticeLabels {
    channel: &'static str,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuntimeLabels {
    runtime: String,
    version: String,
}

pub struct Metrics {
    registry: Registry,
    /// Per runtime version in use on this node: warm kernels, and whether
    /// its fork server is up.
    runtime_warm: Family<RuntimeLabels, Gauge>,
    runtime_fork: Family<RuntimeLabels, Gauge>,
    deliveries: Family<DeliveryLabels, Counter>,
    acceptance: Histogram,
    runs: Family<RunLabels, Counter>,
    retries: Family<RetryLabels, Counter>,
    notices: Family<NoticeLabels, Counter>,
    run_start: Histogram,
    commit_batch: Histogram,
    commit_time: Histogram,
    queue_depth: Gauge,
    warm_kernels: Gauge,
    fork_server: Gauge,
    nodes: Gauge,
    sandboxed: Gauge,
    connections_open: Gauge,
    connections_turned: Family<TurnedLabels, Counter>,
    storage_up: Gauge,
}

/// Group commit: events per transaction (1 to 512) and the time of the
/// transaction with its sync, so an operator sees how close the disk is to
/// its limit.
fn commit_histograms(registry: &mut Registry) -> (Histogram, Histogram) {
    let batch = histogram(
        registry,
        "hookbook_intake_batch_events",
        "Events stored per group-commit transaction",
        Histogram::new(exponential_buckets(1.0, 2.0, 10)),
    );
    let time = histogram(
        registry,
        "hookbook_intake_commit_seconds",
        "Time of one group-commit transaction, its sync included",
        Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
    );
    (batch, time)
}

/// Per runtime version in use on a node: its warm kernels, and whether
/// its fork server is up.
fn runtime_gauges(
    registry: &mut Registry,
) -> (Family<RuntimeLabels, Gauge>, Family<RuntimeLabels, Gauge>) {
    let runtime_warm = Family::<RuntimeLabels, Gauge>::default();
    registry.register(
        "hookbook_runtime_warm_kernels",
        "Kernels started ahead of runs, per runtime version in use on this node",
        runtime_warm.clone(),
    );
    let runtime_fork = Family::<RuntimeLabels, Gauge>::default();
    registry.register(
        "hookbook_runtime_fork_server_up",
        "1 while a runtime version's kernels are forked from its fork server, 0 while they start cold",
        runtime_fork.clone(),
    );
    (runtime_warm, runtime_fork)
}

/// A family of counters registered under `name`.
fn counters<L>(registry: &mut Registry, name: &str, help: &str) -> Family<L, Counter>
where
    L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static,
{
    let family = Family::<L, Counter>::default();
    registry.register(name, help, family.clone());
    family
}

/// A gauge registered under `name`.
fn gauge(registry: &mut Registry, name: &str, help: &str) -> Gauge {
    let gauge = Gauge::default();
    registry.register(name, help, gauge.clone());
    gauge
}

/// A histogram registered under `name`.
fn histogram(registry: &mut Registry, name: &str, help: &str, buckets: Histogram) -> Histogram {
    registry.register(name, help, buckets.clone());
    buckets
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Finished runs by final state, and failed attempts put back by what
/// failed.
fn run_counters(
    registry: &mut Registry,
) -> (Family<RunLabels, Counter>, Family<RetryLabels, Counter>) {
    let runs = Family::<RunLabels, Counter>::default();
    registry.register(
        "hookbook_runs",
        "Finished notebook runs by final state",
        runs.clone(),
    );
    let retries = Family::<RetryLabels, Counter>::default();
    registry.register(
        "hookbook_retries",
        "Failed attempts put back in the queue for another, by what failed",
        retries.clone(),
    );
    (runs, retries)
}

/// Connections open, and those turned away by reason.
fn connection_metrics(registry: &mut Registry) -> (Gauge, Family<TurnedLabels, Counter>) {
    let open = gauge(
        registry,
        "hookbook_connections_open",
        "HTTP connections open on this node",
    );
    let turned = counters(
        registry,
        "hookbook_connections_turned_away",
        "Connections closed as they were accepted: their client held its share (client full) or every connection had a request in progress (server full)",
    );
    (open, turned)
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let deliveries = counters(
            &mut registry,
            "hookbook_deliveries",
            "Webhook deliveries by outcome (accepted, duplicate, rejected) and refusal reason",
        );
        // From 0.25 ms to about 4 s.
        let acceptance = histogram(
            &mut registry,
            "hookbook_acceptance_seconds",
            "Time from a delivery's arrival to its durable acceptance",
            Histogram::new(exponential_buckets(0.000_25, 2.0, 15)),
        );
        let (commit_batch, commit_time) = commit_histograms(&mut registry);
        let (runs, retries) = run_counters(&mut registry);
        let notices = counters(
            &mut registry,
            "hookbook_notices",
            "Attempts at failure notices by channel and the status they left the notice in",
        );
        let run_start = histogram(
            &mut registry,
            "hookbook_run_start_seconds",
            "Time from a job's acceptance to the start of its run on a kernel",
            Histogram::new(exponential_buckets(0.001, 2.0, 16)),
        );
        let queue_depth = gauge(
            &mut registry,
            "hookbook_queue_depth",
            "Jobs waiting to run, as this node last counted them (once a minute)",
        );
        let warm_kernels = gauge(
            &mut registry,
            "hookbook_warm_kernels",
            "Kernels started and ready for a run on this node",
        );
        let fork_server = gauge(
            &mut registry,
            "hookbook_fork_server_up",
            "1 while kernels are forked from a fork server, 0 while they start cold",
        );
        let (runtime_warm, runtime_fork) = runtime_gauges(&mut registry);
        let nodes = gauge(
            &mut registry,
            "hookbook_nodes_taking_events",
            "Live nodes taking events, among which the per-receiver rate limit is shared",
        );
        let sandboxed = gauge(&mut registry, "hookbook_runs_sandboxed", "1 when this node runs notebooks each in a sandbox of its own, 0 when it runs them without (or runs nothing)");
        let (connections_open, connections_turned) = connection_metrics(&mut registry);
        let storage_up = gauge(
            &mut registry,
            "hookbook_storage_up",
            "1 while intake's last commit went through, 0 while the database cannot be reached or written (deliveries are answered 503)",
        );
        Self {
            registry,
            connections_open,
            connections_turned,
            storage_up,
            runtime_warm,
            runtime_fork,
            deliveries,
            acceptance,
            runs,
            retries,
            notices,
            run_start,
            commit_batch,
            commit_time,
            queue_depth,
            warm_kernels,
            fork_server,
            nodes,
            sandboxed,
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

    /// One group commit of `events` events took `elapsed`.
    pub fn batch_committed(&self, events: usize, elapsed: Duration) {
        self.commit_batch.observe(events as f64);
        self.commit_time.observe(elapsed.as_secs_f64());
    }

    pub fn run_started(&self, waited_ms: i64) {
        self.run_start.observe(waited_ms.max(0) as f64 / 1000.0);
    }

    pub fn run_finished(&self, status: JobStatus) {
        let status = status.as_str();
        self.runs.get_or_create(&RunLabels { status }).inc();
    }

    pub fn run_retried(&self, failure: Failure) {
        let failure = failure.as_str();
        self.retries.get_or_create(&RetryLabels { failure }).inc();
    }

    pub fn notice_attempted(&self, channel: &'static str, status: &'static str) {
        self.notices
            .get_or_create(&NoticeLabels { channel, status })
            .inc();
    }

    /// The gauge intake's storage health keeps.
    pub fn storage_up(&self) -> Gauge {
        self.storage_up.clone()
    }

    /// The gauge of open connections, kept by the register of connections.
    pub fn connections_open(&self) -> Gauge {
        self.connections_open.clone()
    }

    pub fn connection_turned_away(&self, reason: &'static str) {
        self.connections_turned
            .get_or_create(&TurnedLabels { reason })
            .inc();
    }

    pub fn set_queue_depth(&self, waiting: u64) {
        self.queue_depth
            .set(i64::try_from(waiting).unwrap_or(i64::MAX));
    }

    pub fn set_nodes_taking_events(&self, nodes: u32) {
        self.nodes.set(i64::from(nodes));
    }

    /// The gauge the warm pool keeps up to date.
    /// `hookbook_fork_server_up`, which the default fork server keeps.
    pub fn fork_server(&self) -> Gauge {
        self.fork_server.clone()
    }

    /// The warm kernels gauge of a runtime version.
    pub fn runtime_warm_kernels(&self, runtime: &str, version: u32) -> Gauge {
        self.runtime_warm
            .get_or_create(&runtime_labels(runtime, version))
            .clone()
    }

    /// Whether a runtime version's fork server is up.
    pub fn runtime_fork_server(&self, runtime: &str, version: u32) -> Gauge {
        self.runtime_fork
            .get_or_create(&runtime_labels(runtime, version))
            .clone()
    }

    /// A runtime version's pool is gone: its series go too.
    pub fn runtime_retired(&self, runtime: &str, version: u32) {
        let labels = runtime_labels(runtime, version);
        self.runtime_warm.remove(&labels);
        self.runtime_fork.remove(&labels);
    }

    /// Runs are made each in a sandbox of its own.
    pub fn runs_sandboxed(&self) {
        self.sandboxed.set(1);
    }

    pub fn warm_kernels(&self) -> Gauge {
        self.warm_kernels.clone()
    }

    /// How many kernels are warm on this node now.
    pub fn warm_kernels_now(&self) -> i64 {
        self.warm_kernels.get()
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

fn runtime_labels(runtime: &str, version: u32) -> RuntimeLabels {
    RuntimeLabels {
        runtime: runtime.to_string(),
        version: version.to_string(),
    }
}
