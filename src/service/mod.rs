//! Operations: the rules that combine the store, the vault and the domain
//! types. Each is called by `api` with parsed input and the calling user;
//! nothing here knows about HTTP.

pub mod auth;
pub mod dashboard;
pub mod deliveries;
pub mod items;
pub mod jobs;
pub mod notices;
mod oauth;
pub mod portal;
pub mod receivers;
pub mod retries;
mod runs;
pub mod runtimes;
pub mod site;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use crate::domain::access::{may_manage, Decision};
use crate::domain::outbound::Allowlist;
use crate::domain::user::{User, Username};
use crate::error::{Error, Result};
use crate::intake::cache::ReceiverCache;
use crate::metrics::Metrics;
use crate::runner::runs::Runs;
use crate::security::throttle::SignInThrottle;
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
    /// Where notices may be sent (`--notice-allow`).
    pub notice_allow: Arc<Allowlist>,
    /// Whether an SMTP server is configured for email notices.
    pub email_notices: bool,
    /// Jobs waiting before new ones are refused (intake's limit, which
    /// `executeNotebook` and replays share).
    pub max_queue_depth: u64,
    /// The site's portal when it is not hookbook itself (`--portal-url`).
    pub portal: Option<Arc<portal::Portal>>,
}

/// The administration: users, tokens, items, receivers and jobs, as the
/// API and the pages ask for them. It reaches intake only through the
/// receiver cache (to invalidate what it changes) and the runner only
/// through the runs of this node (to wake the worker, to stop a run).
pub struct App {
    pub store: Arc<dyn Store>,
    pub vault: Vault,
    pub settings: Settings,
    pub metrics: Arc<Metrics>,
    /// Concurrency and per-name, per-address budgets of password checks.
    pub sign_in: SignInThrottle,
    receivers: Arc<ReceiverCache>,
    runs: Arc<Runs>,
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        vault: Vault,
        settings: Settings,
        metrics: Arc<Metrics>,
        receivers: Arc<ReceiverCache>,
        runs: Arc<Runs>,
    ) -> Self {
        Self {
            store,
            vault,
            settings,
            metrics,
            sign_in: SignInThrottle::default(),
            receivers,
            runs,
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
