//! Operations: the rules that combine the store, the vault and the domain
//! types. Each is called by `api` with parsed input and the calling user;
//! nothing here knows about HTTP.

pub mod auth;
pub mod dashboard;
pub mod deliveries;
pub mod item_search;
pub mod items;
pub mod jobs;
pub mod notices;
mod oauth;
pub mod portal;
pub mod receivers;
pub mod retries;
pub mod runs;
pub mod runtimes;
pub mod site;
pub mod system;
pub mod uploads;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use crate::domain::access::{may_manage, Decision};
use crate::domain::outbound::Allowlist;
use crate::domain::user::{User, Username};
use crate::error::{Error, Result};
use crate::intake::cache::ReceiverCache;
use crate::runner::runs::Runs;
use crate::security::vault::Vault;
use crate::store::Store;
use auth::SignIn;
use dashboard::Dashboards;
use items::Items;
use jobs::Jobs;
use notices::Notices;
use receivers::Receivers;
use retries::Retries;
use runs::Rights;
use runtimes::Runtimes;
use system::System;

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

/// The administration's services, one per resource, each holding only
/// the part of the store it uses. It reaches intake only through the
/// receiver cache (to invalidate what it changes) and the runner only
/// through the runs of this node (to wake the worker or the builder, to
/// stop a run).
#[derive(Clone)]
pub struct Services {
    pub sign_in: Arc<SignIn>,
    pub items: Arc<Items>,
    pub receivers: Arc<Receivers>,
    pub jobs: Arc<Jobs>,
    pub runtimes: Arc<Runtimes>,
    pub notices: Arc<Notices>,
    pub retries: Arc<Retries>,
    pub dashboards: Arc<Dashboards>,
    pub system: Arc<System>,
    /// What the runner asks of the administration.
    pub rights: Arc<Rights>,
    pub settings: Arc<Settings>,
}

impl Services {
    pub fn new(
        store: &Arc<dyn Store>,
        vault: Vault,
        settings: Settings,
        cache: Arc<ReceiverCache>,
        runs: Arc<Runs>,
        builder: Option<crate::runner::build::Builder>,
    ) -> Self {
        let sign_in = Arc::new(SignIn::new(
            store,
            vault.clone(),
            settings.public_url.clone(),
        ));
        let receivers = Arc::new(Receivers::new(
            store,
            vault.clone(),
            cache.clone(),
            sign_in.clone(),
            &settings,
        ));
        let rights = Rights::new(
            store,
            vault.clone(),
            cache,
            sign_in.clone(),
            receivers.clone(),
            &settings,
        );
        Self {
            items: Arc::new(Items::new(store)),
            jobs: Arc::new(Jobs::new(store, receivers.clone(), runs.clone(), &settings)),
            runtimes: Arc::new(Runtimes::new(store, runs, builder)),
            notices: Arc::new(Notices::new(store, vault, &settings)),
            retries: Arc::new(Retries::new(store, receivers.clone())),
            dashboards: Arc::new(Dashboards::new(store, receivers.clone())),
            system: Arc::new(System::new(store)),
            rights: Arc::new(rights),
            sign_in,
            receivers,
            settings: Arc::new(settings),
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
