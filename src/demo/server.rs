//! A small HTTP/1.1 server over plain TCP or TLS, for the sandbox and for tests: every
//! request goes to one handler; it stops when dropped.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A response body.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A request as the handler gets it.
pub type Request = hyper::Request<Incoming>;

/// A response.
pub type Response = hyper::Response<Body>;

/// Answers requests.
pub type Handler =
    Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Send + Sync>;

/// A body from bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// A running server; dropping it stops accepting.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Server {
    /// Serves `handler` on 127.0.0.1 (a free port), over TLS when `tls` is given.
    pub async fn start(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: Handler,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(_) => continue,
                    },
                    () = stopped.cancelled() => return,
                };
                let handler = handler.clone();
                let acceptor = acceptor.clone();
                let stopped = stopped.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let handler = handler.clone();
                        async move { Ok::<_, Infallible>(handler(request).await) }
                    });
                    let builder = hyper::server::conn::http1::Builder::new();
                    // A failed handshake or a dropped connection ends that connection only.
                    tokio::select! {
                        _ = async {
                            match acceptor {
                                Some(acceptor) => {
                                    if let Ok(tls) = acceptor.accept(stream).await {
                                        let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                                    }
                                }
                                None => { let _ = builder.serve_connection(TokioIo::new(stream), service).await; }
                            }
                        } => {}
                        () = stopped.cancelled() => {}
                    }
                });
            }
        });
        Ok(Self { addr, stop })
    }
}
