//! The job queue's cost with a backlog, for `bench/queue.sh`: fills a
//! store with waiting jobs the way intake does (batches of events, each
//! with its job), then times, one at a time, what the worker and the API do
//! to the queue: claim, finish, renew, the waiting count and the first page
//! of the job list. Prints p50, p99 and max of each.

use std::time::{Duration, Instant};

use clap::Parser;
use hookbook::domain::event::SignedPart;
use hookbook::domain::ids::{EventId, ItemId, JobId, NodeId, ReceiverId};
use hookbook::domain::job::{JobEnd, JobStatus, Lease};
use hookbook::domain::time::Millis;
use hookbook::domain::user::Username;
use hookbook::store::{DatabaseUrl, JobFilter, NewEvent, Store};

#[derive(Parser)]
struct Args {
    /// `sqlite:///path/to/file.db` or `postgres://...`.
    #[arg(long)]
    database: String,
    /// Jobs waiting in the queue while it is measured.
    #[arg(long, default_value_t = 100_000)]
    waiting: u32,
    /// How many times each operation is timed.
    #[arg(long, default_value_t = 200)]
    rounds: u32,
    /// A label printed with the results.
    #[arg(long, default_value = "queue")]
    label: String,
    /// While measuring, store batches of this many events back to back,
    /// as intake does under a flood (0: a quiet queue).
    #[arg(long, default_value_t = 0)]
    flood: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = DatabaseUrl::parse(&args.database).map_err(anyhow::Error::msg)?;
    let store = hookbook::store::open(&url).await?;
    let filled = Instant::now();
    fill(store.as_ref(), args.waiting).await?;
    println!(
        "{}: {} jobs waiting (filled in {:.1} s)",
        args.label,
        store.queue_depth().await?,
        filled.elapsed().as_secs_f64()
    );
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(args.flood > 0));
    let flood = {
        let (store, flooding, batch) = (store.clone(), flooding.clone(), args.flood);
        tokio::spawn(async move {
            let mut stored = 0u64;
            while flooding.load(std::sync::atomic::Ordering::Relaxed) {
                fill(store.as_ref(), batch).await?;
                stored += u64::from(batch);
            }
            anyhow::Ok(stored)
        })
    };
    let measured = Instant::now();
    let node = NodeId::generate();
    let lease = || Lease {
        node,
        until: Millis(Millis::now().0 + 60_000),
    };
    let mut claims = Vec::new();
    let mut finishes = Vec::new();
    for _ in 0..args.rounds {
        let started = Instant::now();
        let job = store.claim_job(Millis::now(), &lease(), 0).await?;
        claims.push(started.elapsed());
        let job = job.ok_or_else(|| anyhow::anyhow!("the queue ran dry"))?;
        let started = Instant::now();
        let done = [String::from("done")];
        store
            .finish_job(
                &node,
                &job.id,
                &JobEnd {
                    status: JobStatus::Completed,
                    end: Millis::now(),
                    messages: &done,
                    notebook: None,
                    first_cell: None,
                    item: None,
                },
            )
            .await?;
        finishes.push(started.elapsed());
    }
    let renewals = timed(args.rounds, || async {
        store.renew_leases(&lease()).await.map(drop)
    })
    .await?;
    let depths = timed(args.rounds, || async {
        store.queue_depth().await.map(drop)
    })
    .await?;
    let pages = timed(args.rounds.min(50), || async {
        let filter = JobFilter {
            status: Some(JobStatus::Submitted),
            limit: 100,
            ..Default::default()
        };
        store.jobs(&filter).await.map(drop)
    })
    .await?;
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    let flooded = flood.await??;
    if flooded > 0 {
        println!(
            "{}: {flooded} events stored meanwhile ({:.0} a second)",
            args.label,
            flooded as f64 / measured.elapsed().as_secs_f64()
        );
    }
    for (name, times) in [
        ("claim", claims),
        ("finish", finishes),
        ("renew leases", renewals),
        ("waiting count", depths),
        ("first page of waiting jobs", pages),
    ] {
        report(&args.label, name, times);
    }
    Ok(())
}

/// Stores `n` events with their jobs, in batches of at most 1,000 as the
/// committer makes.
async fn fill(store: &dyn Store, n: u32) -> anyhow::Result<()> {
    let receiver = ReceiverId::generate();
    let item = ItemId::generate();
    let user = Username::parse("bench").map_err(anyhow::Error::msg)?;
    let mut left = n;
    while left > 0 {
        let batch = left.min(1000);
        let events = (0..batch)
            .map(|_| NewEvent {
                event_id: EventId::generate(),
                job_id: JobId::generate(),
                receiver_id: receiver,
                delivery_id: None,
                received: Millis::now(),
                headers: "{}".into(),
                body: br#"{"n": 1}"#.to_vec(),
                signed: SignedPart::Body,
                item_id: item.clone(),
                username: user.clone(),
                parameters: "{}".into(),
            })
            .collect();
        store.accept_events(events, u64::MAX).await?;
        left -= batch;
    }
    Ok(())
}

async fn timed<F, Fut>(rounds: u32, mut f: F) -> anyhow::Result<Vec<Duration>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = hookbook::store::StoreResult<()>>,
{
    let mut times = Vec::with_capacity(rounds as usize);
    for _ in 0..rounds {
        let started = Instant::now();
        f().await?;
        times.push(started.elapsed());
    }
    Ok(times)
}

fn report(label: &str, name: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| {
        let i = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
        times[i].as_secs_f64() * 1000.0
    };
    println!(
        "{label}: {name:<28} p50 {:8.3} ms  p99 {:8.3} ms  max {:8.3} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
