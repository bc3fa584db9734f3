//! A node's runs on threads of their own: the worker, the default pool's
//! filler and the runtime builder run on a second tokio runtime, so that a
//! kernel's messages or a run's bookkeeping never wait behind, or hold up,
//! the threads that answer deliveries. The two sides meet only in the
//! store and in `Runs`' channels.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::runner::build::{self, Builder};
use crate::runner::pools::Pools;
use crate::runner::worker::Worker;
use crate::runner::Runner;
use crate::store::Store;

/// The runs' threads and the tasks started on them.
pub struct RunsSide {
    threads: Runtime,
    pools: Arc<Pools>,
    worker: JoinHandle<()>,
    filler: JoinHandle<()>,
}

impl RunsSide {
    /// Starts the worker (`size` runs at once), the default pool's filler
    /// and, when given, the builder (which keeps the runtimes' states in
    /// `store`), until `shutdown`.
    pub fn start(
        runner: Arc<Runner>,
        store: Arc<dyn Store>,
        pools: Arc<Pools>,
        size: usize,
        builder: Option<Builder>,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Self> {
        let threads = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hookbook-runs")
            .enable_all()
            .build()
            .context("cannot start the runs' threads")?;
        if let Some(builder) = builder {
            threads.spawn(build::keep_built(
                store,
                builder,
                pools.clone(),
                runner.runs.builds.clone(),
                shutdown.clone(),
            ));
        }
        let filler = threads.spawn(pools.default_pool().clone().fill(shutdown.clone()));
        let worker = Worker::new(runner, pools.clone(), size);
        let worker = threads.spawn(worker.run(shutdown.clone()));
        Ok(Self {
            threads,
            pools,
            worker,
            filler,
        })
    }

    /// Once `shutdown` was cancelled: waits for the runs in progress to
    /// end, closes the pools (their kernels and fork servers go) and stops
    /// the threads.
    pub async fn stop(self) {
        let _ = self.worker.await;
        let _ = self.filler.await;
        self.pools.close().await;
        self.threads.shutdown_background();
    }
}
