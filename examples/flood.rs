//! A background flood for `bench/runs.sh`: the same POST at a fixed rate,
//! open loop, over a few kept-alive connections with HTTP/1.1 pipelining,
//! from one thread with the request's bytes built once. It measures no
//! latency (examples/load.rs does); it exists so that a flood of
//! deliveries takes as little as possible of the CPU it shares with the
//! runs being measured. It stops with a message and a non-zero status as
//! soon as an answer is not 2xx or it falls a second behind its schedule,
//! so a flood that did not happen cannot pass for one.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// `http://host:port/path` (plain HTTP only).
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
    /// Connections the requests are spread over.
    #[arg(long, default_value_t = 8)]
    connections: usize,
}

/// One kept-alive connection and the bytes of answers not yet parsed.
struct Conn {
    stream: TcpStream,
    unread: Vec<u8>,
    waiting: u64,
    /// Whether reads wait: changed only when asked otherwise (a system
    /// call each time would cost the CPU this tool exists to spare).
    blocking: bool,
}

fn main() {
    let args = Args::parse();
    let rest = args
        .url
        .strip_prefix("http://")
        .unwrap_or_else(|| fail("the URL must start with http://"));
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n",
        args.body.len()
    );
    for h in &args.headers {
        request.push_str(h.trim());
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(&args.body);
    let request = request.into_bytes();

    let mut conns: Vec<Conn> = (0..args.connections.max(1))
        .map(|_| {
            let stream = TcpStream::connect(host).unwrap_or_else(|e| fail(&format!("{host}: {e}")));
            stream.set_nodelay(true).ok();
            Conn {
                stream,
                unread: Vec::new(),
                waiting: 0,
                blocking: true,
            }
        })
        .collect();
    let total = u64::from(args.rate) * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let start = Instant::now();
    let mut ok = 0u64;
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        match due.checked_duration_since(Instant::now()) {
            Some(wait) => std::thread::sleep(wait),
            None if due.elapsed() > Duration::from_secs(1) => {
                fail(&format!("a second behind its schedule after {i} requests"))
            }
            None => {}
        }
        let n = conns.len();
        let conn = &mut conns[(i as usize) % n];
        conn.stream
            .write_all(&request)
            .unwrap_or_else(|e| fail(&format!("sending: {e}")));
        conn.waiting += 1;
        for c in &mut conns {
            read_answers(c, false, &mut ok);
        }
    }
    for c in &mut conns {
        while c.waiting > 0 {
            read_answers(c, true, &mut ok);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let achieved = total as f64 / elapsed;
    println!(
        "flood: {ok} answered 2xx, {achieved:.0} req/s offered {}",
        args.rate
    );
}

/// Reads what `c` has (waiting for it when `block`) and counts each
/// complete answer.
fn read_answers(c: &mut Conn, block: bool, ok: &mut u64) {
    if c.blocking != block {
        c.stream.set_nonblocking(!block).ok();
        c.blocking = block;
    }
    let mut buf = [0u8; 16384];
    match c.stream.read(&mut buf) {
        Ok(0) => fail("the server closed a connection"),
        Ok(n) => c.unread.extend_from_slice(&buf[..n]),
        Err(e) if e.kind() == ErrorKind::WouldBlock => return,
        Err(e) => fail(&format!("reading: {e}")),
    }
    while let Some((status, len)) = answer(&c.unread) {
        c.unread.drain(..len);
        c.waiting -= 1;
        if !(200..300).contains(&status) {
            fail(&format!("the server answered {status}"));
        }
        *ok += 1;
    }
}

/// The status and whole length of the first complete answer in `b`.
fn answer(b: &[u8]) -> Option<(u16, usize)> {
    let end = b.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head =
        std::str::from_utf8(&b[..end]).unwrap_or_else(|_| fail("an answer's head is not UTF-8"));
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fail("an answer without a status"));
    let mut length = 0;
    for line in head.lines() {
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v
                .trim()
                .parse()
                .unwrap_or_else(|_| fail("a bad content-length"));
        } else if lower.starts_with("transfer-encoding:") {
            fail("a chunked answer (not read by this tool)");
        }
    }
    (b.len() >= end + length).then_some((status, end + length))
}

fn fail(why: &str) -> ! {
    eprintln!("flood: {why}");
    std::process::exit(2);
}
