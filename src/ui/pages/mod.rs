//! Pages of the resources, built from domain values and the site's URLs;
//! `api` asks for one only when `f=html` is asked for.

pub mod dashboard;
pub mod items;
pub mod jobs;
pub mod notices;
pub mod receivers;
pub mod retries;
pub mod runtimes;

/// Where this server is: what links and URLs on pages are made from.
#[derive(Debug, Clone)]
pub struct Urls {
    /// The context path, without slashes (`notebooks`).
    pub context: String,
    /// The public base URL, without a trailing slash.
    pub public_url: String,
}

impl Urls {
    /// `/<context>/admin/notebooks`.
    pub fn notebooks(&self) -> String {
        format!("/{}/admin/notebooks", self.context)
    }

    /// `/<context>/admin/notebooks/webhookReceivers`.
    pub fn receivers(&self) -> String {
        format!("{}/webhookReceivers", self.notebooks())
    }

    /// Where senders post to a receiver.
    pub fn receiver_url(&self, id: &crate::domain::ids::ReceiverId) -> String {
        format!(
            "{}/{}/rest/events/webhooks/{id}",
            self.public_url, self.context
        )
    }
}
