//! Operations: the rules that combine the store, the vault and the domain
//! types. Each is called by `api` with parsed input and the calling user;
//! nothing here knows about HTTP.

pub mod auth;
pub mod deliveries;
pub mod items;
pub mod jobs;
pub mod receivers;
pub mod site;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use crate::domain::access::{may_manage, Decision};
use crate::domain::ids::NodeId;
use crate::domain::user::{User, Username};
use crate::error::{Error, Result};
use crate::intake::cache::ReceiverCache;
use crate::intake::committer::Committer;
use crate::intake::limits::RateLimiter;
use crate::intake::IntakeSettings;
use crate::metrics::Metrics;
use crate::runner::worker::Runs;
use crate::security::vault::Vault;
use crate::store::Store;

/// Settings the operations need, fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of `url` and `jobUrl`, without a trailing slash.
    pub public_url: String,
    /// The context path, `notebooks` by default.
    pub context: String,
    /// How long a replaced receiver secret keeps verifying.
    pub secret_grace: Duration,
}

/// What every operation works with.
pub struct App {
    pub store: Arc<dyn Store>,
    pub vault: Vault,
    pub settings: Settings,
    pub intake: Intake,
    pub metrics: Metrics,
    pub runs: Runs,
    pub run_settings: RunSettings,
    /// Concurrency and per-name, per-address budgets of password checks.
    pub sign_in: crate::security::throttle::SignInThrottle,
}

/// How runs are bounded, fixed at start.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The time limit of a run that does not set its own.
    pub default_timeout: Duration,
    /// How long finished jobs are kept.
    pub retention: Duration,
    /// Runs of one receiver at once on the database; 0 is no limit.
    pub per_receiver: u32,
    /// How long running notebooks may go on after SIGTERM.
    pub stop_grace: Duration,
    /// This process, as the job queue knows it.
    pub node: NodeId,
    /// How long a claim holds without renewal; renewed every third of it.
    pub lease: Duration,
    /// Bytes a run may write to its working directory; 0 is no limit.
    pub max_disk_bytes: u64,
}

/// The state of event intake on this node.
pub struct Intake {
    pub settings: IntakeSettings,
    pub committer: Committer,
    /// Verified deliveries per receiver per second.
    pub limiter: RateLimiter,
    /// Refused deliveries that get a delivery-log line, per receiver per
    /// second: their own budget, so forgeries neither use up the rate of
    /// real deliveries nor flood the log.
    pub logged_refusals: RateLimiter,
    pub receivers: ReceiverCache,
}

impl App {
    /// Builds the application and starts its group committer, so it must be
    /// called inside the async runtime.
    pub fn new(
        store: Arc<dyn Store>,
        vault: Vault,
        settings: Settings,
        intake: IntakeSettings,
        run_settings: RunSettings,
    ) -> Self {
        let runs = Runs::default();
        let committer = Committer::start(store.clone(), intake.max_queue_depth, runs.wake.clone());
        let limiter = RateLimiter::new(intake.receiver_rate_limit);
        Self {
            store,
            vault,
            settings,
            intake: Intake {
                settings: intake,
                committer,
                limiter,
                logged_refusals: RateLimiter::new(crate::intake::LOGGED_REFUSALS_PER_SECOND),
                receivers: ReceiverCache::default(),
            },
            metrics: Metrics::new(),
            runs,
            run_settings,
            sign_in: Default::default(),
        }
    }
}

/// Refuses callers who may not manage notebooks or receivers at all.
pub fn require_author(caller: &User) -> Result<()> {
    if caller.may_author() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Refuses callers who may not manage what `owner` owns.
pub fn require_manager(caller: &User, owner: &Username) -> Result<()> {
    match may_manage(caller, owner) {
        Decision::Allowed => Ok(()),
        Decision::NotAnAuthor | Decision::NotTheOwner => Err(Error::Forbidden),
    }
}
