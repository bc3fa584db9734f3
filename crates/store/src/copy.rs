//! `hookbook copy`: moves a whole installation from one database to another
//! (SQLite to PostgreSQL, say) through the `Store` trait: users, notebook
//! items, receivers with their sealed secrets, retry policies, runtimes
//! (with their locks, so the copy's nodes build the same packages), the
//! system properties, jobs with their events and executed notebooks. Access tokens and the delivery log are not copied
//! (they expire within days); users sign in again.

use anyhow::{bail, Context as _};

use super::{JobFilter, Store, StoreError};

/// How many jobs are read at a time.
const PAGE: u32 = 200;

/// What was copied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub users: u64,
    pub items: u64,
    pub receivers: u64,
    pub jobs: u64,
}

/// Copies everything from `from` into `to`, which must hold no users and
/// no jobs. Sealed secrets are copied as they are: the nodes using `to`
/// need the same encryption key as those that used `from`.
pub async fn copy(from: &dyn Store, to: &dyn Store) -> anyhow::Result<Copied> {
    let busy = !to.all_users().await?.is_empty()
        || to
            .jobs(&JobFilter {
                limit: 1,
                ..JobFilter::default()
            })
            .await?
            .1
            > 0;
    if busy {
        bail!("the destination database already holds users or jobs; copy into an empty one");
    }
    let conflict = |e: StoreError| match e {
        StoreError::Conflict(what) => anyhow::anyhow!("{what} already exists in the destination"),
        other => anyhow::Error::from(other),
    };
    let mut copied = Copied::default();
    // The key check travels with the sealed secrets, so that nodes on the
    // copy with another key refuse to start.
    if let Some(check) = from.site_value(super::KEY_CHECK).await? {
        to.put_site_value_once(super::KEY_CHECK, &check).await?;
    }
    if let Some(properties) = from.site_value(super::SYSTEM_PROPERTIES).await? {
        to.set_site_value(super::SYSTEM_PROPERTIES, &properties)
            .await?;
    }
    let users = from.all_users().await.context("cannot read the users")?;
    for user in &users {
        to.add_user(user).await.map_err(conflict)?;
        copied.users += 1;
    }
    for user in &users {
        for item in from.items_of(&user.user.username).await? {
            let data = from
                .item_data(&item.id)
                .await?
                .with_context(|| format!("item {} vanished while it was copied", item.id))?;
            to.add_item(&item, &data).await.map_err(conflict)?;
            copied.items += 1;
        }
    }
    for receiver in from.receivers(None).await? {
        to.add_receiver(&receiver).await.map_err(conflict)?;
        copied.receivers += 1;
    }
    for scoped in from.retry_policies().await? {
        to.set_retry_policy(scoped.scope, Some(&scoped.policy))
            .await?;
    }
    for runtime in from.runtimes().await? {
        to.add_runtime(&runtime).await.map_err(conflict)?;
    }
    let mut after = None;
    // Jobs come oldest first, so an event comes with the first job that
    // runs it; its replays find it there.
    let mut events = std::collections::HashSet::new();
    loop {
        let page = from.jobs_after(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for job in &page {
            let event = match &job.event_id {
                Some(id) if events.insert(*id) => from.stored_event(id).await?,
                _ => None,
            };
            let notebook = if job.has_notebook {
                from.job_notebook(&job.id).await?
            } else {
                None
            };
            to.restore_job(job, event.as_ref(), notebook.as_deref())
                .await
                .map_err(conflict)?;
            copied.jobs += 1;
        }
    }
    Ok(copied)
}
