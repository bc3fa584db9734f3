//! Failure notices on their way out. Every node takes due notices from the
//! store (a claim moves a notice's due time forward, so no other node sends
//! it meanwhile) and sends each: a webhook signed the Standard Webhooks way
//! through the guarded resolver, or an email through the configured SMTP
//! server. A failed attempt is tried again after a growing wait, up to
//! [`WAITS`]`.len() + 1` attempts; what each attempt came to is on the
//! notice.

mod guard;
mod mail;

use crate::domain::notice::{Channel, Notice, NoticeStatus};

use crate::domain::job::Job;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tokio_util::sync::CancellationToken;

use crate::domain::notice::{Destination, FailedJob};
use crate::domain::outbound::{Allowlist, UrlHost};
use crate::domain::time::Millis;
use crate::metrics::Metrics;
use crate::report::chain;
use crate::security::vault::Vault;
use crate::store::sealed::open_destination;
use crate::store::{JobStore, NoticeStore, ReceiverStore, Store};

pub use mail::SmtpSettings;

/// The waits after each failed attempt: 5 s, 1 min, 5 min, 30 min, 2 h,
/// 5 h, 10 h (eight attempts over about 18 hours).
pub const WAITS: [u64; 7] = [5, 60, 300, 1_800, 7_200, 18_000, 36_000];
/// How long one attempt may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed notice is kept from other nodes.
const LEASE: Duration = Duration::from_secs(60);
/// How often the store is asked when no notice was due.
const POLL: Duration = Duration::from_secs(2);

/// What the sender needs besides the store.
#[derive(Clone)]
pub struct NoticeSettings {
    /// Where notices may go (`--notice-allow`).
    pub allow: Arc<Allowlist>,
    /// The base of the job links notices carry (public URL and context).
    pub jobs_url: String,
    pub smtp: Option<SmtpSettings>,
}

/// Why an attempt did not deliver.
enum Undelivered {
    /// Trying again may work (a refused connection, a 503).
    Transient(String),
    /// It never will (the destination is gone or not allowed).
    Permanent(String),
}

pub struct Notifier {
    store: Arc<dyn NoticeStore>,
    receivers: Arc<dyn ReceiverStore>,
    jobs: Arc<dyn JobStore>,
    vault: Vault,
    settings: NoticeSettings,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
}

impl Notifier {
    pub fn new(
        store: &Arc<dyn Store>,
        vault: Vault,
        settings: NoticeSettings,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(guard::GuardedResolver {
                allow: settings.allow.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .user_agent(concat!("hookbook/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store: store.clone(),
            receivers: store.clone(),
            jobs: store.clone(),
            vault,
            settings,
            client,
            metrics,
        })
    }

    /// Sends due notices until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let now = Millis::now();
            let claimed = self.store.claim_notice(now, now.plus(LEASE)).await;
            let idle = match claimed {
                Ok(Some(notice)) => {
                    self.deliver(notice).await;
                    false
                }
                Ok(None) => true,
                Err(e) => {
                    tracing::warn!(error = %chain(&e), "taking a due notice failed");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(POLL) => {}
                }
            } else if shutdown.is_cancelled() {
                return;
            }
        }
    }

    /// One attempt at a notice, and its outcome stored.
    async fn deliver(&self, n: Notice) {
        let sent = match self.parts(&n).await {
            Ok((job, destination)) => match n.channel {
                Channel::Webhook => self.post(&job, &destination).await,
                Channel::Email => self.mail(&job, &destination).await,
            },
            Err(e) => Err(e),
        };
        let now = Millis::now();
        let made = usize::try_from(n.attempts).unwrap_or(usize::MAX);
        let (status, due, outcome) = match sent {
            Ok(what) => (NoticeStatus::Delivered, now, what),
            Err(Undelivered::Transient(why)) if made <= WAITS.len() => {
                let due = now.plus(Duration::from_secs(WAITS[made.max(1) - 1]));
                let text = format!("{why}; the next attempt is due at {}", due.utc());
                (NoticeStatus::Pending, due, text)
            }
            Err(Undelivered::Transient(why) | Undelivered::Permanent(why)) => {
                (NoticeStatus::Failed, now, why)
            }
        };
        self.metrics
            .notice_attempted(n.channel.as_str(), status.as_str());
        if let Err(e) = self.store.record_notice(&n, status, due, &outcome).await {
            tracing::warn!(job = %n.job_id, error = %chain(&e), "recording a notice's attempt failed");
        }
    }

    /// The job a notice is about and its owner's destination now.
    async fn parts(&self, n: &Notice) -> Result<(Job, Destination), Undelivered> {
        let internal = |e: &dyn std::error::Error| {
            Undelivered::Transient(format!("hookbook could not read it: {}", chain(e)))
        };
        let job = self
            .jobs
            .job(&n.job_id)
            .await
            .map_err(|e| internal(&e))?
            .ok_or_else(|| Undelivered::Permanent("the job no longer exists".into()))?;
        let record = self
            .store
            .notice_destination(&n.username)
            .await
            .map_err(|e| internal(&e))?
            .ok_or_else(|| {
                Undelivered::Permanent(format!(
                    "{} has no destination for notices any more",
                    n.username.as_str()
                ))
            })?;
        let destination = open_destination(&self.vault, record).map_err(|e| internal(&e))?;
        Ok((job, destination))
    }

    /// What the notice says about `job`.
    fn describe<'a>(&self, job: &'a Job, receiver_name: Option<&'a str>) -> FailedJob<'a> {
        FailedJob {
            job_id: job.id.to_string(),
            job_url: format!("{}/{}", self.settings.jobs_url, job.id),
            receiver_id: job.receiver_id.map(|r| r.to_string()),
            receiver_name,
            item_id: job.item_id.as_str(),
            username: job.username.as_str(),
            messages: &job.messages,
            end_time: job.end_time,
        }
    }

    /// The receiver's name, when the job has a receiver that still exists.
    async fn receiver_name(&self, job: &Job) -> Option<String> {
        let id = job.receiver_id?;
        match self.receivers.receiver(&id).await {
            Ok(found) => found.map(|r| r.name),
            Err(_) => None,
        }
    }

    /// Posts the notice to the destination's URL, signed with its secret.
    async fn post(&self, job: &Job, d: &Destination) -> Result<String, Undelivered> {
        let url = d
            .url
            .as_ref()
            .ok_or_else(|| Undelivered::Permanent("the destination has no URL any more".into()))?;
        let allow = &self.settings.allow;
        allow
            .check_host(url.host())
            .and_then(|()| guard::check_literal(allow, url.host()))
            .map_err(Undelivered::Permanent)?;
        if let UrlHost::Name(name) = url.host() {
            guard::check_resolved(allow, name)
                .await
                .map_err(|e| match e {
                    guard::Unreachable::Unresolved(why) => Undelivered::Transient(why),
                    guard::Unreachable::NotAllowed(why) => Undelivered::Permanent(why),
                })?;
        }
        let name = self.receiver_name(job).await;
        let now = Millis::now();
        let body = self.describe(job, name.as_deref()).to_json(now).to_string();
        let id = format!("msg_{}", job.id.to_string().replace('-', ""));
        let timestamp = (now.0 / 1000).to_string();
        let mac = crate::intake::signature::sign(
            &d.secret.key(),
            &[
                id.as_bytes(),
                b".",
                timestamp.as_bytes(),
                b".",
                body.as_bytes(),
            ],
        );
        let signature = format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac)
        );
        let sent = self
            .client
            .post(url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| Undelivered::Transient(format!("the request failed: {}", chain(&e))))?;
        let status = sent.status();
        if status.is_success() {
            Ok(format!("delivered (HTTP {})", status.as_u16()))
        } else {
            Err(Undelivered::Transient(format!(
                "answered HTTP {}",
                status.as_u16()
            )))
        }
    }

    /// Mails the notice to the destination's address.
    async fn mail(&self, job: &Job, d: &Destination) -> Result<String, Undelivered> {
        let to = d.email.as_ref().ok_or_else(|| {
            Undelivered::Permanent("the destination has no email address any more".into())
        })?;
        let Some(smtp) = &self.settings.smtp else {
            return Err(Undelivered::Permanent(
                "this server has no SMTP server to send email through (--smtp-url)".into(),
            ));
        };
        let name = self.receiver_name(job).await;
        let (subject, text) = self.describe(job, name.as_deref()).to_text();
        smtp.send(to, &subject, text)
            .await
            .map(|()| format!("sent to {} through {}", to.as_str(), smtp.server()))
            .map_err(|e| match e {
                mail::MailError::Address(_) => Undelivered::Permanent(chain(&e)),
                _ => Undelivered::Transient(chain(&e)),
            })
    }
}
