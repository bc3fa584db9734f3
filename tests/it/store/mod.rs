//! The `Store` contract, on both databases in one run: a fresh SQLite file
//! and a fresh PostgreSQL database per test. What the queue promises (one
//! claim per job, leases, takeover once, late results refused), what intake
//! promises (duplicates, the queue limit) and what nodes tell each other,
//! a file each; the helpers they share are here.

use hookbook::domain::ids::{ItemId, JobId, NodeId};
use hookbook::domain::job::{JobEnd, JobInputs, JobStatus, Lease};
use hookbook::domain::time::Millis;
use hookbook::domain::user::Username;
use hookbook::store::NewJob;

mod after;
mod intake;
mod nodes;
mod queue;

fn new_job(submitted: i64) -> NewJob {
    NewJob {
        id: JobId::generate(),
        item_id: ItemId::generate(),
        username: Username::parse("alice").unwrap(),
        parameters: "{}".into(),
        timeout_minutes: None,
        inputs: JobInputs::default(),
        submitted: Millis(submitted),
    }
}

/// A job's end now, with `status` and nothing else.
fn ended(status: JobStatus) -> JobEnd<'static> {
    JobEnd {
        status,
        end: Millis::now(),
        messages: &[],
        notebook: None,
        first_cell: None,
        item: None,
    }
}

fn lease(node: NodeId, from_now_ms: i64) -> Lease {
    Lease {
        node,
        until: Millis(Millis::now().0 + from_now_ms),
    }
}
