//! The warm pools of this node: the default environment's, and one per
//! runtime version that runs have asked for, each with its own fork server
//! preloading that runtime's preload list and its kernels inside that
//! runtime's limits. A runtime's pool goes (its idle kernels and its fork
//! server with it) once its version is no longer current and no run holds
//! one of its kernels; until then its environment stays on disk too.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::forkserver::ForkServer;
use super::kernel::{Kernel, KernelError};
use super::pool::Pool;
use super::sandbox::Walls;
use hookbook_core::domain::runtime::{Limits, RuntimeId};
use hookbook_metrics::health::ForkHealth;
use hookbook_metrics::Metrics;

/// A runtime version as a run needs it: its interpreter, what its fork
/// server preloads and its limits.
#[derive(Debug, Clone)]
pub struct RuntimeEnv {
    pub id: RuntimeId,
    pub version: u32,
    pub name: String,
    pub python: PathBuf,
    pub preload: Vec<String>,
    pub limits: Limits,
}

impl RuntimeEnv {
    /// A pool serves one runtime version with one preload list and one set
    /// of limits (an update may change those without a new version).
    fn key(&self) -> Key {
        Key {
            id: self.id.clone(),
            version: self.version,
            shape: format!("{:?} {:?}", self.preload, self.limits),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    id: RuntimeId,
    version: u32,
    shape: String,
}

/// A runtime's pool that no run used for this long stops (its warm
/// kernels and fork server hold memory); the next run starts it again.
const IDLE_POOL: Duration = Duration::from_secs(30 * 60);

struct Entry {
    pool: Arc<Pool>,
    /// When a run last took a kernel of it.
    used: Instant,
    /// Runs holding a kernel of this pool now, and whether its version was
    /// replaced while they did.
    held: Arc<Held>,
    stop: CancellationToken,
    filler: JoinHandle<()>,
    name: String,
}

/// The runs holding a runtime pool's kernels.
#[derive(Default)]
struct Held {
    runs: AtomicUsize,
    /// Its version was replaced (or its runtime removed) while runs held
    /// it: the last to let go wakes the builder, which retires it.
    replaced: AtomicBool,
    wake: Arc<Notify>,
}

/// A run's hold on its runtime's pool: while it lasts, the pool's fork
/// server (its kernel's parent) and the environment stay.
pub struct Hold(Option<Arc<Held>>);

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(held) = &self.0 {
            let last = held.runs.fetch_sub(1, Ordering::SeqCst) == 1;
            if last && held.replaced.load(Ordering::SeqCst) {
                held.wake.notify_one();
            }
        }
    }
}

/// How the pools of runtimes are made, from the node's settings.
pub struct PoolSettings {
    /// The kernels directory, shared by every pool.
    pub base: PathBuf,
    pub walls: Walls,
    /// Whether kernels are forked (else they start cold).
    pub fork: bool,
    /// Kernels each runtime version keeps warm once a run asked for it.
    pub warm: usize,
}

pub struct Pools {
    default: Arc<Pool>,
    settings: PoolSettings,
    /// Wakes the runtime builder, which retires replaced pools.
    builder: Arc<Notify>,
    metrics: Arc<Metrics>,
    runtimes: Mutex<HashMap<Key, Entry>>,
    /// Stops the runtime pools' fillers at the node's stop.
    shutdown: CancellationToken,
}

impl Pools {
    /// `default` is the default environment's pool, filled by its own task;
    /// `builder` wakes the runtime builder.
    pub fn new(
        default: Arc<Pool>,
        settings: PoolSettings,
        metrics: Arc<Metrics>,
        builder: Arc<Notify>,
    ) -> Self {
        Self {
            default,
            settings,
            builder,
            metrics,
            runtimes: Mutex::new(HashMap::new()),
            shutdown: CancellationToken::new(),
        }
    }

    /// The memory limit of a run in `env` (none: the default environment).
    pub fn memory_limit(&self, env: Option<&RuntimeEnv>) -> Option<u64> {
        env.and_then(|e| e.limits.max_memory)
            .or(self.settings.walls.limits.max_memory)
    }

    pub fn default_pool(&self) -> &Arc<Pool> {
        &self.default
    }

    fn runtimes(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.runtimes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A kernel for one run: from the default pool, or from its runtime's
    /// (started, with its fork server, on the runtime's first run here).
    pub async fn checkout(&self, env: Option<&RuntimeEnv>) -> Result<(Kernel, Hold), KernelError> {
        let Some(env) = env else {
            return Ok((self.default.checkout().await?, Hold(None)));
        };
        let (pool, hold) = {
            let mut runtimes = self.runtimes();
            let entry = runtimes.entry(env.key()).or_insert_with(|| self.start(env));
            entry.held.runs.fetch_add(1, Ordering::SeqCst);
            entry.used = Instant::now();
            (entry.pool.clone(), Hold(Some(entry.held.clone())))
        };
        Ok((pool.checkout().await?, hold))
    }

    /// A pool for `env`, filling in the background.
    fn start(&self, env: &RuntimeEnv) -> Entry {
        let s = &self.settings;
        let fork = s.fork.then(|| {
            ForkServer::new(
                env.python.clone(),
                s.base.clone(),
                env.preload.clone(),
                s.walls.idle,
                ForkHealth::gauge_only(self.metrics.runtime_fork_server(&env.name, env.version)),
            )
        });
        // The site's limits where the runtime sets none.
        let limits = Limits {
            max_cpu: env.limits.max_cpu.or(s.walls.limits.max_cpu),
            max_memory: env.limits.max_memory.or(s.walls.limits.max_memory),
        };
        let walls = Walls {
            limits,
            ..s.walls.clone()
        };
        let pool = Pool::new(
            env.python.clone(),
            fork,
            s.base.clone(),
            walls,
            s.warm,
            self.metrics.runtime_warm_kernels(&env.name, env.version),
        );
        let stop = self.shutdown.child_token();
        let filler = tokio::spawn(pool.clone().fill(stop.clone()));
        tracing::info!(runtime = %env.name, version = env.version, "a pool for the runtime starts");
        Entry {
            pool,
            used: Instant::now(),
            held: Arc::new(Held {
                wake: self.builder.clone(),
                ..Held::default()
            }),
            stop,
            filler,
            name: env.name.clone(),
        }
    }

    /// The runtime versions a run holds a kernel of now: their
    /// environments must stay.
    pub fn held(&self) -> HashSet<(RuntimeId, u32)> {
        self.runtimes()
            .iter()
            .filter(|(_, e)| e.held.runs.load(Ordering::SeqCst) > 0)
            .map(|(k, _)| (k.id.clone(), k.version))
            .collect()
    }

    /// Stops the pools no run holds of runtime versions not in `current`
    /// (a newer version replaced them, or the runtime is gone) or unused
    /// for [`IDLE_POOL`].
    pub async fn retire(&self, current: &[RuntimeEnv]) {
        let keep: HashSet<Key> = current.iter().map(RuntimeEnv::key).collect();
        let gone: Vec<(Key, Entry)> = {
            let mut runtimes = self.runtimes();
            let mut old = Vec::new();
            for (key, e) in runtimes.iter() {
                let idle = e.used.elapsed() > IDLE_POOL;
                let replaced = !keep.contains(key);
                if e.held.runs.load(Ordering::SeqCst) > 0 {
                    // Retired once its last run lets go (which wakes us).
                    e.held.replaced.store(replaced, Ordering::SeqCst);
                } else if idle || replaced {
                    old.push(key.clone());
                }
            }
            old.into_iter()
                .filter_map(|k| runtimes.remove(&k).map(|e| (k, e)))
                .collect()
        };
        for (key, entry) in gone {
            tracing::info!(runtime = %entry.name, version = key.version, "the runtime's pool stops (its version was replaced, or no run used it for 30 minutes)");
            self.stop(key.version, entry).await;
        }
    }

    async fn stop(&self, version: u32, entry: Entry) {
        entry.stop.cancel();
        let _ = entry.filler.await;
        entry.pool.retire().await;
        self.metrics.runtime_retired(&entry.name, version);
    }

    /// At the node's stop, once no run is left: every pool stops, then
    /// what they shared (the cgroups directory, the kernels directory)
    /// goes.
    pub async fn close(&self) {
        self.shutdown.cancel();
        self.default.retire().await;
        let all: Vec<(Key, Entry)> = self.runtimes().drain().collect();
        for (key, entry) in all {
            self.stop(key.version, entry).await;
        }
        if let Some(cgroups) = &self.settings.walls.cgroups {
            cgroups.remove().await;
        }
        // Empty once every kernel is gone (the last shutdowns may still be
        // removing their directories); left when one is not.
        let base = &self.settings.base;
        for _ in 0..100 {
            if tokio::fs::remove_dir(base).await.is_ok() || !base.exists() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::warn!("{} was not empty after the last run", base.display());
    }
}
