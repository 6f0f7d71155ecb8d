//! A loopback HTTP server that answers every request after a fixed delay, for
//! `bench/http.sh`: `cargo run --release --example delay_server -- 200` prints its port.

use std::sync::Arc;
use std::time::Duration;

use relcon::demo::server::{full, Handler, Response, Server};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let delay_ms: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let handler: Handler = Arc::new(move |_| {
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
