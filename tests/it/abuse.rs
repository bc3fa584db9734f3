//! Unauthenticated clients cannot use up what others need: a flood of
//! forgeries leaves a real sender's deliveries accepted and the delivery
//! log bounded, a large body is read only from a known caller, and
//! password checks are throttled per name and per address.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::events::{esri, esri_app, post, with_receiver, BODY};
use crate::common::wait::eventually;
use crate::common::{code_of, spawn_app, spawn_app_in, SECRET};
use hookbook::domain::ids::ReceiverId;
use serde_json::Value;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forgery_flood_at_full_speed_leaves_the_real_senders_deliveries_accepted() {
    let (app, _, id, url) = with_receiver(
        spawn_app_in(
            tempfile::tempdir().unwrap(),
            &["--receiver-rate-limit", "5"],
        )
        .await,
        SECRET,
        "x-esrihook-signature",
    )
    .await;
    // Counted from before the first forgery: the flood's first refusals
    // may fall in the second before the real sender's first delivery.
    let started = now_secs();
    let stop = Arc::new(AtomicBool::new(false));
    let forged = Arc::new(AtomicUsize::new(0));
    let mut flood = Vec::new();
    for _ in 0..4 {
        let (client, url, stop, forged) = (
            app.client.clone(),
            url.clone(),
            stop.clone(),
            forged.clone(),
        );
        flood.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(&url)
                    .header(
                        "x-esrihook-signature",
                        "sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                    )
                    .body(BODY)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 401, "a forgery is refused as such");
                forged.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // The real sender stays under its limit of 5 a second: one delivery,
    // then 300 ms, so never more than 4 in any second however slow.
    for n in 0..12 {
        let body = format!(r#"{{"n": {n}}}"#);
        let (status, _, answer) = post(
            &app,
            &url,
            &[("x-esrihook-signature", &esri(body.as_bytes()))],
            body,
        )
        .await;
        assert_eq!(status, 200, "real delivery {n} during the flood: {answer}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        f.await.unwrap();
    }
    let seconds = now_secs() - started + 1;
    let forged = forged.load(Ordering::Relaxed);
    assert!(forged > 12, "the flood sent only {forged} forgeries");
    assert_eq!(crate::common::events::jobs_of(&app, &id).await, 12);
    // Refusals have their own budget of logged lines (10 a second).
    let dir = app.stop().await;
    let store = crate::common::db::store(dir.path()).await;
    let lines = store
        .deliveries(&ReceiverId::parse(&id).unwrap(), 100_000)
        .await
        .unwrap();
    let refused = lines
        .iter()
        .filter(|l| l.delivery.reason == "bad signature")
        .count() as u64;
    assert!(
        refused <= 10 * seconds && (refused as usize) < forged,
        "{refused} refusals logged of {forged} in {seconds} s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receivers_delivery_log_stays_bounded_as_lines_arrive() {
    let (app, _, id, url) = crate::common::events::esri_app().await;
    // One delivery sent 1,300 times: one job (an accepted delivery's line
    // is its job) and 1,299 duplicates, each a line of the log.
    let mut senders = Vec::new();
    for c in 0..8 {
        let (client, url) = (app.client.clone(), url.clone());
        senders.push(tokio::spawn(async move {
            for i in (c..1_300).step_by(8) {
                let body = format!(r#"{{"i": {i}}}"#);
                let r = client
                    .post(&url)
                    .header("x-esrihook-signature", esri(body.as_bytes()))
                    .header("x-github-delivery", "the-same-delivery")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    // Trimmed back to 1,000 lines after every 100 new ones, in the
    // committer, after the answers of its batch: wait for it.
    let store = crate::common::db::store(app.dir.path()).await;
    let receiver = ReceiverId::parse(&id).unwrap();
    let lines = eventually(
        "the log is trimmed to at most 1,101 lines",
        Duration::from_secs(60),
        || async {
            let lines = store.deliveries(&receiver, 100_000).await.unwrap().len();
            if lines <= 1_101 {
                Ok(lines)
            } else {
                Err(format!("the log still holds {lines} lines"))
            }
        },
    )
    .await;
    assert!(lines >= 1_001, "{lines} lines: the newest 1,000 are kept");
}

/// A body that sends `head`, then never ends.
fn endless(head: Vec<u8>) -> reqwest::Body {
    use futures_util::StreamExt as _;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) })
        .chain(futures_util::stream::pending());
    reqwest::Body::wrap_stream(stream)
}

#[tokio::test]
async fn a_large_body_is_read_only_once_its_caller_is_known() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let url = app.url("/notebooks/sharing/rest/content/users/alice/addItem");
    // 200 KiB of a form that never ends, without a token: refused at once,
    // without waiting for the rest.
    let mut head = b"f=json&title=t&text=".to_vec();
    head.extend(std::iter::repeat_n(b'x', 200 * 1024));
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        app.client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(endless(head.clone()))
            .send(),
    )
    .await
    .expect("answered before the body ended")
    .unwrap();
    assert_eq!(answer.status(), 401);
    let text = answer.text().await.unwrap();
    assert!(text.contains("Token Required"), "{text}");
    // The same with a token that is not valid: 401 too.
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        app.client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", "Bearer not-a-token")
            .body(endless(head))
            .send(),
    )
    .await
    .expect("answered before the body ended")
    .unwrap();
    assert_eq!(answer.status(), 401);
    // A large notebook from a known caller: in a header, or in a field
    // before the file of a multipart body.
    let cells: Vec<Value> = (0..2000)
        .map(|i| serde_json::json!({"cell_type": "markdown", "id": format!("m{i}"), "metadata": {}, "source": "x".repeat(100)}))
        .collect();
    let notebook =
        serde_json::json!({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
            .to_string();
    assert!(notebook.len() > 200 * 1024);
    let file =
        || reqwest::multipart::Part::bytes(notebook.clone().into_bytes()).file_name("big.ipynb");
    let by_header = reqwest::multipart::Form::new()
        .text("f", "json")
        .text("title", "big")
        .part("file", file());
    let r = app
        .client
        .post(&url)
        .header("authorization", format!("Bearer {}", cast.alice))
        .multipart(by_header)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let field_first = reqwest::multipart::Form::new()
        .text("f", "json")
        .text("token", cast.alice.clone())
        .text("title", "big")
        .part("file", file());
    let r = app
        .client
        .post(&url)
        .multipart(field_first)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let field_last = reqwest::multipart::Form::new()
        .text("f", "json")
        .text("title", "big")
        .part("file", file())
        .text("token", cast.alice.clone());
    let r = app
        .client
        .post(&url)
        .multipart(field_last)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn password_checks_are_throttled_per_name_and_per_address() {
    let app = spawn_app().await;
    app.add_user("alice", "user", &[]).await;
    let sign_in = |user: String, password: &'static str| {
        let client = app.client.clone();
        let url = app.url("/notebooks/sharing/rest/generateToken");
        async move {
            client
                .post(url)
                .form(&[
                    ("username", user.as_str()),
                    ("password", password),
                    ("f", "json"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // Five wrong passwords for alice, then even the right one waits.
    for _ in 0..5 {
        assert_eq!(code_of(sign_in("alice".into(), "wrong").await).await, 400);
    }
    let r = sign_in("alice".into(), crate::common::PASSWORD).await;
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(code_of(r).await, 429);
    assert!((1..=60).contains(&wait), "{wait}");
    // Other names from the same address still have failures left, until
    // the address has used its 30.
    let mut statuses = Vec::new();
    for n in 0..30 {
        statuses.push(code_of(sign_in(format!("nobody{n}"), "wrong").await).await);
    }
    assert_eq!(statuses[0], 400, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 400 || *s == 429));
}

/// `generateToken` for `user` from the loopback address `from`.
async fn sign_in_from(
    app: &crate::common::TestApp,
    from: [u8; 4],
    user: &str,
    password: &str,
) -> u16 {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .unwrap()
        .post(app.url("/notebooks/sharing/rest/generateToken"))
        .form(&[("username", user), ("password", password), ("f", "json")])
        .send()
        .await
        .map(code_of)
        .unwrap()
        .await
}

#[tokio::test]
async fn no_one_can_lock_a_user_out_by_failing_on_purpose() {
    let app = spawn_app().await;
    app.add_user("alice", "user", &[]).await;
    let alice = [127, 0, 0, 1];
    assert_eq!(
        sign_in_from(&app, alice, "alice", crate::common::PASSWORD).await,
        200
    );
    // From one address: that address is held back, alice is not.
    let attacker = [127, 0, 0, 2];
    for _ in 0..5 {
        assert_eq!(sign_in_from(&app, attacker, "alice", "wrong").await, 400);
    }
    assert_eq!(
        sign_in_from(&app, attacker, "alice", crate::common::PASSWORD).await,
        429
    );
    assert_eq!(
        sign_in_from(&app, alice, "alice", crate::common::PASSWORD).await,
        200
    );
    // From many: strangers are held back, alice's own address is not.
    let mut failures = 5;
    for n in 0..200u8 {
        let stranger = [127, 0, 1, n];
        if sign_in_from(&app, stranger, "alice", "wrong").await == 429 {
            break;
        }
        failures += 1;
    }
    assert_eq!(
        failures, 100,
        "a hundred failures a minute from all addresses"
    );
    assert_eq!(
        sign_in_from(&app, alice, "alice", crate::common::PASSWORD).await,
        200
    );
}

/// Opens `count` connections to `addr` from the given source addresses,
/// each sending the start of a request that never ends, and holds them
/// all until its stdin closes; prints how many it opened.
const HOLD_CONNECTIONS: &str = r#"
import socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sources = sys.argv[4].split(",")
head = b"POST /notebooks/admin/notebooks/jobs HTTP/1.1\r\nHost: a\r\nX-Slow: "
held = []
for i in range(count):
    s = socket.socket()
    s.bind((sources[i % len(sources)], 0))
    s.settimeout(10)
    try:
        s.connect((host, port))
        s.send(head)
    except OSError:
        pass  # turned away as it came: still a connection the client opened
    held.append(s)
print(len(held), flush=True)
sys.stdin.read()
"#;

/// Starts a process holding `count` connections from `sources` and waits
/// until they are all open; it is killed with the test, however it ends.
fn hold(
    addr: std::net::SocketAddr,
    count: usize,
    sources: &[String],
) -> crate::common::process::Process {
    use std::io::BufRead as _;
    let mut child = crate::common::process::Process::spawn(
        std::process::Command::new(crate::common::python())
            .args(["-c", HOLD_CONNECTIONS])
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .arg(count.to_string())
            .arg(sources.join(","))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped()),
    );
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), count.to_string(), "the holder opened them all");
    child
}

/// Signed deliveries and `/healthz` from 127.0.0.1, each on a connection
/// of its own, while others hold connections: every one answers; the
/// slowest answers of each are printed.
async fn answered_meanwhile(app: &crate::common::TestApp, url: &str, rounds: usize) {
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let (mut slowest_delivery, mut slowest_health) = (Duration::ZERO, Duration::ZERO);
    for n in 0..rounds {
        let body = format!(r#"{{"n": {n}}}"#);
        let started = std::time::Instant::now();
        let r = fresh
            .post(url)
            .header("x-esrihook-signature", esri(body.as_bytes()))
            .body(body)
            .send()
            .await
            .expect("a delivery is answered while connections are held");
        assert_eq!(r.status(), 200, "delivery {n}: {}", r.text().await.unwrap());
        slowest_delivery = slowest_delivery.max(started.elapsed());
        let started = std::time::Instant::now();
        let r = fresh
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("/healthz answers while connections are held");
        assert_eq!(r.status(), 200);
        slowest_health = slowest_health.max(started.elapsed());
    }
    println!(
        "while held: {rounds} signed deliveries, slowest {slowest_delivery:?}; /healthz slowest {slowest_health:?}"
    );
}

/// A counter of `/metrics`, summed over its labels that contain `filter`.
async fn metric(app: &crate::common::TestApp, name: &str, filter: &str) -> f64 {
    app.metrics()
        .await
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_idle_connections_from_one_address_keep_no_sender_out() {
    let (app, _, _, url) = esri_app().await;
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    // Two processes of 10,000 each: one process may hold 20,000 files.
    let attacker = ["127.0.0.2".to_string()];
    let _a = hold(addr, 10_000, &attacker);
    let _b = hold(addr, 10_000, &attacker);
    answered_meanwhile(&app, &url, 20).await;
    let open = metric(&app, "hookbook_connections_open", "").await;
    assert!(
        open <= 256.0 + 4.0,
        "one address holds at most its share: {open} open"
    );
    let turned = metric(&app, "hookbook_connections_turned_away", "client full").await;
    assert!(turned >= 19_000.0, "the rest were turned away: {turned}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_closes_idle_connections_to_let_senders_and_healthz_in() {
    let (app, _, _, url) = with_receiver(
        spawn_app_in(tempfile::tempdir().unwrap(), &["--max-connections", "2000"]).await,
        SECRET,
        "x-esrihook-signature",
    )
    .await;
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    // 80 addresses, each under its share of 256, 20,000 in all.
    let sources: Vec<String> = (10..90).map(|n| format!("127.0.0.{n}")).collect();
    let _a = hold(addr, 10_000, &sources);
    let _b = hold(addr, 10_000, &sources);
    answered_meanwhile(&app, &url, 20).await;
    let open = metric(&app, "hookbook_connections_open", "").await;
    assert!(
        open <= 2000.0,
        "the server holds at most its cap: {open} open"
    );
}

/// Reads from `stream` until the server closes it; how long that took
/// and what the server answered.
async fn closed_by_server(
    mut stream: impl tokio::io::AsyncRead + Unpin,
    started: std::time::Instant,
) -> (Duration, String) {
    use tokio::io::AsyncReadExt as _;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(120), stream.read(&mut buf)).await {
            Err(_) => panic!("the server kept a slow client for two minutes"),
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    started.elapsed(),
                    String::from_utf8_lossy(&answer).into_owned(),
                )
            }
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends `head` and then one byte of `drip` every `every`, until the
/// server closes the connection; how long that took and what it answered.
async fn drip(addr: &str, head: String, every: Duration) -> (Duration, String) {
    use tokio::io::AsyncWriteExt as _;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let started = std::time::Instant::now();
    let _dripping = crate::common::Aborting(tokio::spawn(async move {
        if write.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(every).await;
            if write.write_all(b"a").await.is_err() {
                return;
            }
        }
    }));
    closed_by_server(read, started).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_or_a_body_sent_a_byte_at_a_time_are_cut_off() {
    let (app, _, _, url) = esri_app().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let path = url.splitn(4, '/').nth(3).unwrap().to_string();
    let every = Duration::from_secs(2);
    // Headers that never end, and a body of 1,000 bytes sent as slowly.
    let headers = format!("POST /{path} HTTP/1.1\r\nHost: a\r\nX-A: ");
    let body = format!(
        "POST /{path} HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\nx-esrihook-signature: sha256=x\r\n\r\n"
    );
    let ((headers_took, _), (body_took, answer)) =
        tokio::join!(drip(&addr, headers, every), drip(&addr, body, every));
    println!("slow headers closed after {headers_took:?}, a slow body after {body_took:?}");
    // Each would take a minute a byte per two seconds at the least pace
    // of 8 KiB a second: being closed at all is the test; the bound on
    // the wait is only so that a failure ends.
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "a body too slow is answered 400 and closed: {answer}"
    );
    assert!(answer.contains("could not be read"), "{answer}");
}
