//! What a run asks of the administration, which implements this trait:
//! whom the run acts as, whether its receiver may run now, and a token of
//! its own that ends with it.

use hookbook_core::domain::job::Job;
use std::time::Duration;

use async_trait::async_trait;

use hookbook_core::domain::ids::ReceiverId;
use hookbook_core::domain::user::Username;
use hookbook_core::security::token::Token;

/// The answer to "may this run go on?": `Err` says why not, in words the
/// job's messages show.
pub type Permission<T> = std::result::Result<T, String>;

/// Why the administration could not answer (its storage failed, say): the
/// implementor's own error, kept whole for the log.
pub type RightsError = Box<dyn std::error::Error + Send + Sync>;

/// What the administration answers.
pub type Result<T> = std::result::Result<T, RightsError>;

#[async_trait]
pub trait RunRights: Send + Sync {
    /// Whom a run of `job` acts as: the notebook item's owner.
    async fn run_user(&self, job: &Job) -> Result<Permission<Username>>;

    /// The api token the receiver lends its runs (`None`: the run gets a
    /// token of its own); a receiver that no longer exists lends none.
    async fn receiver_token(&self, receiver: &ReceiverId) -> Result<Permission<Option<String>>>;

    /// A token of `username` lasting at most `lifetime`.
    async fn issue_run_token(&self, username: &Username, lifetime: Duration) -> Result<Token>;

    /// Ends a run's token when its run ends.
    async fn end_run_token(&self, token: &Token) -> Result<()>;
}
