//! A loopback HTTP server that answers every request after a fixed delay, for
//! `bench/http.sh`: `cargo run --release --example delay_server -- 200 [ARRIVALS]` prints
//! its port. With ARRIVALS, the time each request arrived (Unix nanoseconds) is appended
//! to that file, one line each, so the bench can say when the requests left and how
//! spread out they were.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use relcon::demo::server::{full, Handler, Response, Server};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let delay_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let arrivals = match args.next() {
        Some(path) => Some(Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ))),
        None => None,
    };
    let handler: Handler = Arc::new(move |_| {
        if let Some(file) = &arrivals {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            if let Ok(mut file) = file.lock() {
                let _ = writeln!(file, "{}", now.as_nanos());
            }
        }
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            Response::new(full("ok"))
        })
    });
    let server = Server::start(None, handler).await?;
    println!("{}", server.addr.port());
    // Serve until killed.
    std::future::pending::<()>().await;
    Ok(())
}
