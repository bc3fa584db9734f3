//! An open-loop load generator for `bench/`: sends POSTs at a fixed rate,
//! measures each latency from the moment it was due (so a slow server
//! cannot hide its queueing), and prints the rate achieved and percentiles.
//! It runs on one thread (no wake-ups between threads), with the URL and
//! body prepared once, so that it takes little of the CPU it shares with
//! the server it measures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    url: String,
    /// Requests per second.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// `Name: value`, repeatable.
    #[arg(long = "header")]
    headers: Vec<String>,
    #[arg(long, default_value = "")]
    body: String,
    /// A label printed with the results.
    #[arg(long, default_value = "load")]
    label: String,
    /// The status every answer must have (any 2xx when not given).
    #[arg(long)]
    expect: Option<u16>,
    /// Send this many bytes of `x` instead of `--body`.
    #[arg(long)]
    body_bytes: Option<usize>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    for h in &args.headers {
        let (n, v) = h.split_once(':').expect("headers are Name: value");
        headers.insert(
            reqwest::header::HeaderName::from_bytes(n.trim().as_bytes()).unwrap(),
            v.trim().parse().unwrap(),
        );
    }
    let body = axum::body::Bytes::from(match args.body_bytes {
        Some(n) => "x".repeat(n),
        None => args.body.clone(),
    });
    let url = reqwest::Url::parse(&args.url).expect("a URL");
    let expect = args.expect;
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = u64::from(args.rate) * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let (client, url, headers, body) =
            (client.clone(), url.clone(), headers.clone(), body.clone());
        let (latencies, failures) = (latencies.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let ok = match client.post(url).headers(headers).body(body).send().await {
                Ok(r) => {
                    let status = r.status();
                    let wanted = expect.map_or(status.is_success(), |e| status.as_u16() == e);
                    wanted && r.bytes().await.is_ok()
                }
                Err(_) => false,
            };
            if ok {
                latencies.lock().await.push(due.elapsed());
            } else {
                failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut l = latencies.lock().await.clone();
    l.sort();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{}: {} ok, {} failed, {:.0} req/s offered {} ; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
        args.label,
        l.len(),
        failures.load(std::sync::atomic::Ordering::Relaxed),
        l.len() as f64 / elapsed,
        args.rate,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        l.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );
}
