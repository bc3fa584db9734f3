//! The warm pool: kernels started ahead of time, each used for exactly one
//! run. A checkout takes a ready kernel (or starts one when none is ready)
//! and wakes the filler, which starts a replacement: at once when the pool
//! is empty, else once the run that took the kernel is over (or has run a
//! while), so a run's first cells do not share the CPU with a spare's start.
//! Idle kernels that died or grew old are replaced.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{oneshot, Notify};
use tokio_util::sync::CancellationToken;

use super::forkserver::ForkServer;
use super::kernel::{Kernel, KernelError};
use super::sandbox::Walls;

/// Idle kernels older than this are replaced by fresh ones.
const MAX_IDLE_AGE: Duration = Duration::from_secs(15 * 60);
/// How long after a checkout a replacement kernel is started cold.
const REFILL_DELAY: Duration = Duration::from_millis(150);
/// How long a forked spare waits, while another kernel is ready, for the
/// run that took a kernel to end before it is started all the same.
const SPARE_DEFER: Duration = Duration::from_millis(250);
/// How often idle kernels are checked.
const HEALTH_EVERY: Duration = Duration::from_secs(30);

pub struct Pool {
    python: PathBuf,
    /// Where kernels are forked from, unless they all start cold.
    fork: Option<ForkServer>,
    base: PathBuf,
    walls: Walls,
    size: usize,
    ready: Mutex<Vec<Kernel>>,
    /// Resolves when the run of the kernel last taken is over.
    last_taken: Mutex<Option<oneshot::Receiver<()>>>,
    wake: Notify,
    gauge: Gauge,
}

impl Pool {
    /// A pool keeping `size` kernels ready; kernels live in `base`, inside
    /// `walls`.
    /// `gauge` is kept at the number of ready kernels.
    pub fn new(
        python: PathBuf,
        fork: Option<ForkServer>,
        base: PathBuf,
        walls: Walls,
        size: usize,
        gauge: Gauge,
    ) -> Arc<Self> {
        Arc::new(Self {
            python,
            fork,
            base,
            walls,
            size,
            ready: Mutex::new(Vec::new()),
            last_taken: Mutex::new(None),
            wake: Notify::new(),
            gauge,
        })
    }

    /// Kills the idle kernels and stops the fork server (the kernels it
    /// forked die with it: only once no run holds one).
    pub async fn retire(&self) {
        let unused = std::mem::take(&mut *self.ready());
        self.gauge.set(0);
        for mut kernel in unused {
            kernel.kill().await;
        }
        if let Some(fork) = &self.fork {
            fork.stop().await;
        }
    }

    fn ready(&self) -> std::sync::MutexGuard<'_, Vec<Kernel>> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn available(&self) -> usize {
        self.ready().len()
    }

    fn take(&self) -> Option<Kernel> {
        let mut ready = self.ready();
        let kernel = ready.pop();
        self.gauge.set(ready.len() as i64);
        kernel
    }

    fn put(&self, kernel: Kernel) {
        let mut ready = self.ready();
        ready.push(kernel);
        self.gauge.set(ready.len() as i64);
    }

    /// Gives a kernel taken for a run the server's priority back; under
    /// SCHED_IDLE (`walls.idle`) no kernel was lowered.
    fn hurry(&self, kernel: &Kernel) {
        if !self.walls.idle {
            kernel.hurry();
        }
    }

    /// A kernel for one run: a warm one when there is one.
    pub async fn checkout(&self) -> Result<Kernel, KernelError> {
        while let Some(mut kernel) = self.take() {
            if kernel.is_alive() && kernel.started.elapsed() < MAX_IDLE_AGE {
                self.hurry(&kernel);
                let gone = kernel.when_gone();
                *self.last_taken.lock().unwrap_or_else(|p| p.into_inner()) = Some(gone);
                self.wake.notify_one();
                return Ok(kernel);
            }
            kernel.kill().await;
        }
        self.wake.notify_one();
        let kernel = self.start_kernel().await?;
        self.hurry(&kernel);
        Ok(kernel)
    }

    /// A new kernel: forked when there is a fork server and it answers,
    /// else started cold.
    async fn start_kernel(&self) -> Result<Kernel, KernelError> {
        if let Some(fork) = &self.fork {
            // Twice: a kernel forked just before its fork server died dies
            // with it, and the next fork starts the fork server again.
            for attempt in 1..=2 {
                // Spare while another is ready: then no run waits for it.
                // Under SCHED_IDLE a nice value changes nothing.
                let spare = !self.walls.idle && self.available() > 0;
                match Kernel::start_forked(fork, &self.base, &self.walls, spare).await {
                    Ok(kernel) => return Ok(kernel),
                    Err(e) => tracing::warn!(
                        error = %hookbook_core::report::chain(&e),
                        "forking a kernel failed (attempt {attempt} of 2)"
                    ),
                }
            }
            tracing::warn!("forking failed twice; this kernel starts cold");
        }
        Kernel::start_limited(&self.python, &self.base, &self.walls).await
    }

    /// Keeps the pool full until `shutdown`, then kills the idle kernels.
    pub async fn fill(self: Arc<Self>, shutdown: CancellationToken) {
        let mut failures = 0u32;
        loop {
            while self.available() < self.size && !shutdown.is_cancelled() {
                if self.clone().refill().await {
                    failures = 0;
                } else {
                    failures += 1;
                    let backoff = Duration::from_secs(u64::from(failures.min(6)) * 5);
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
            }
            tokio::select! {
                _ = self.wake.notified() => self.before_refill(&shutdown).await,
                _ = tokio::time::sleep(HEALTH_EVERY) => self.recycle().await,
                _ = shutdown.cancelled() => {
                    while let Some(mut kernel) = self.take() {
                        kernel.kill().await;
                    }
                    return;
                }
            }
        }
    }

    /// Gives the run that just took a kernel the CPU for its first cells.
    /// Starting Python cold takes a core for about 0.4 s: the replacement
    /// starts a moment later. A fork costs a tenth of that, yet kernels
    /// share the CPU equally (all yield to the server alike): while another
    /// kernel is ready, the spare waits for that run to end, for at most
    /// `SPARE_DEFER`, and no longer than until the next checkout.
    async fn before_refill(&self, shutdown: &CancellationToken) {
        let taken = self
            .last_taken
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match (&self.fork, taken) {
            (None, _) => tokio::select! {
                _ = tokio::time::sleep(REFILL_DELAY) => {}
                _ = shutdown.cancelled() => {}
            },
            (Some(_), Some(gone)) if self.available() > 0 => tokio::select! {
                _ = gone => {}
                _ = tokio::time::sleep(SPARE_DEFER) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.cancelled() => {}
            },
            _ => {}
        }
    }

    /// Starts every missing kernel at once (each one's start is mostly its
    /// own process's work, which the other core can do meanwhile), and
    /// puts each in the pool as soon as it is ready. False when one failed.
    async fn refill(self: Arc<Self>) -> bool {
        let mut starting = tokio::task::JoinSet::new();
        for _ in self.available()..self.size {
            let pool = self.clone();
            starting.spawn(async move { pool.start_kernel().await });
        }
        let mut all = true;
        // Awaited to the end, never dropped: a start abandoned half-way
        // would leave its process behind.
        while let Some(started) = starting.join_next().await {
            match started {
                Ok(Ok(kernel)) => self.put(kernel),
                Ok(Err(e)) => {
                    all = false;
                    tracing::warn!(error = %hookbook_core::report::chain(&e), "starting a warm kernel failed");
                }
                Err(e) => {
                    all = false;
                    tracing::warn!("starting a warm kernel stopped: {e}");
                }
            }
        }
        all
    }

    /// Kills idle kernels that died or grew old; `fill` replaces them.
    async fn recycle(&self) {
        let retired: Vec<Kernel> = {
            let mut ready = self.ready();
            let mut keep = Vec::new();
            let mut retired = Vec::new();
            for mut k in std::mem::take(&mut *ready) {
                if k.is_alive() && k.started.elapsed() < MAX_IDLE_AGE {
                    keep.push(k);
                } else {
                    retired.push(k);
                }
            }
            *ready = keep;
            self.gauge.set(ready.len() as i64);
            retired
        };
        for mut kernel in retired {
            kernel.kill().await;
        }
    }
}
