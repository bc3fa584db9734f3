//! The SQL of attempts, one text for both databases: what a claim records
//! of the job's retry policy, and which orphaned jobs a lost node's
//! recovery fails rather than runs again.

/// The policy a job follows, inside a statement on `jobs`: the receiver's
/// own, else the site's.
macro_rules! policy_of_job {
    ($column:literal) => {
        concat!(
            "(SELECT p.",
            $column,
            " FROM retry_policies p WHERE p.scope IN (coalesce(jobs.receiver_id, ''), 'site') \
             ORDER BY p.scope = 'site' LIMIT 1)"
        )
    };
}

/// What a claim sets `max_attempts` to: the most attempts the job's
/// policy gives it now (one, should no policy be left at all).
pub const MAX_ATTEMPTS_NOW: &str = concat!("coalesce(", policy_of_job!("max_attempts"), ", 1)");

/// True for an orphaned job (its node was lost) that is not run again:
/// its policy does not retry lost nodes, or it had its last attempt.
pub const LOST_FOR_GOOD: &str = concat!(
    "(NOT coalesce(",
    policy_of_job!("on_lost_node"),
    ", TRUE) OR attempts >= coalesce(max_attempts, 2))"
);

/// Puts a job whose attempt failed back in the queue: `$1` when it is due,
/// `$2` its messages, `$3` the failed attempt's notebook (if any), `$4`
/// the job, `$5` the node that must still hold it.
pub const RETRY: &str = "UPDATE jobs SET status = 'SUBMITTED', retry_at = $1, messages = $2, \
     notebook = coalesce($3, notebook), start_time = NULL, node = NULL, lease_until = NULL \
     WHERE id = $4 AND status = 'EXECUTING' AND node = $5";
