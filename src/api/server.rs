//! The HTTP server around the router: accepts connections up to a cap, serves HTTP/1.1 and
//! HTTP/2 with hyper, closes connections that are slow to send a request head or that sit idle,
//! and shuts down gracefully within a deadline.
//!
//! Why an accept loop of our own: `axum::serve` has no header timeout, no idle timeout and no
//! connection cap, and about 20,000 idle sockets exhausted the process's file handles until
//! `/health` stopped answering. Here:
//!
//! - at most [`ServerLimits::max_connections`] connections are served at once; one more is
//!   answered `503` with an `application/problem+json` body and `Retry-After: 1` and closed
//!   (at most [`MAX_REFUSALS`] such answers are written at once; beyond that the connection is
//!   closed unanswered, which costs nothing);
//! - a connection that has begun a request head (sent a byte while no request was under way)
//!   and not finished it within [`ServerLimits::header_timeout`] is closed (slowloris), and a
//!   request body that stalls as long fails (the handler reading it answers 400);
//! - a connection with no request under way for [`ServerLimits::idle_timeout`] is closed
//!   (HTTP/1.1 keep-alive, HTTP/2 with no open stream);
//! - at shutdown the listener closes, idle connections close, event streams
//!   (`text/event-stream`) end, requests under way get [`ServerLimits::shutdown_timeout`] to
//!   finish, and whatever is still open then is dropped.
//!
//! A request counts as under way from the moment its head is parsed until its response body
//! has been sent or dropped.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, header};
use bytes::Bytes;
use futures_util::StreamExt as _;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;
use tower_http::timeout::TimeoutBody;

use crate::config::ServerLimits;

/// Refusals (503 answers to connections over the cap) written at once at most.
pub const MAX_REFUSALS: usize = 64;

/// How long a refusal may take to be written and the client's request read away.
const REFUSAL_TIME: Duration = Duration::from_secs(2);

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then drains the
/// connections for at most the shutdown timeout and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopping) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let mut connections = JoinSet::new();
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file handles, most likely: let connections close before
                        // trying again instead of spinning.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
                    connections.spawn(serve_connection(
                        stream,
                        remote,
                        router.clone(),
                        limits,
                        stopping.clone(),
                        permit,
                    ));
                } else if let Ok(slot) = Arc::clone(&refusals).try_acquire_owned() {
                    tracing::debug!(%remote, "connection cap reached: refusing");
                    connections.spawn(async move {
                        refuse(stream, limits.max_connections).await;
                        drop(slot);
                    });
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    tracing::info!(
        open = connections.len(),
        deadline_s = limits.shutdown_timeout.as_secs(),
        "shutting down: finishing the requests under way"
    );
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = connections.len(),
            "shutdown deadline reached: closing the connections still open"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// The problem document sent to a connection over the cap.
pub fn refusal_body(max_connections: usize) -> String {
    serde_json::json!({
        "type": "urn:citygrid:problem:too-many-connections",
        "title": "Service unavailable",
        "status": 503,
        "detail": format!("the server holds its maximum of {max_connections} open connections (CITYGRID_MAX_CONNECTIONS); try again in a moment"),
    })
    .to_string()
}

/// Answers a connection over the cap with a 503 problem and closes it.
async fn refuse(mut stream: TcpStream, max_connections: usize) {
    let body = refusal_body(max_connections);
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Closing with unread input would reset the connection, and the client could lose the
        // answer: read what it sent (bounded by the time limit) first.
        let mut sink = [0_u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// Completes when `stopping` turns true (or its sender is gone).
async fn stopped(mut stopping: watch::Receiver<bool>) {
    while !*stopping.borrow_and_update() {
        if stopping.changed().await.is_err() {
            return;
        }
    }
}

/// Serves one connection until it ends, is found slow or idle, or the server stops.
async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    limits: ServerLimits,
    stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        let stopping = stopping.clone();
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // The peer address reaches the handlers for login throttling and the audit trail.
            request.extensions_mut().insert(ConnectInfo(remote));
            // A body that stalls as long as a head may is cut off: the handler reading it
            // gets an error (400) instead of waiting for ever.
            let request = request.map(|body| TimeoutBody::new(limits.header_timeout, body));
            let in_flight = activity.begin();
            let router = router.clone();
            let stopping = stopping.clone();
            async move {
                let response = router.oneshot(request).await?;
                Ok::<_, Infallible>(track(response, in_flight, stopping))
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The head timeout is ours (it starts at the first byte of a head, not when the
    // connection becomes idle, so that idle and slow are told apart).
    builder.http1().header_read_timeout(None);
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let stop = std::pin::pin!(stopped(stopping));
    let mut stop = stop;
    let mut closing = false;
    let tick = (limits.header_timeout.min(limits.idle_timeout) / 4)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%remote, %error, "connection ended with an error");
                }
                return;
            }
            () = &mut stop, if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = ticker.tick() => match activity.verdict(&limits, Instant::now()) {
                Verdict::Active => {}
                Verdict::SlowHead => {
                    tracing::debug!(%remote, "request head not complete in time: closing");
                    return;
                }
                Verdict::Idle => {
                    if !closing {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            },
        }
    }
}

/// What a connection's activity calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Nothing to do.
    Active,
    /// A request head was begun too long ago and is not complete: close.
    SlowHead,
    /// No request under way for too long: close once nothing is under way.
    Idle,
}

#[derive(Debug)]
struct ActivityState {
    /// Requests whose response is not yet sent or dropped.
    in_flight: usize,
    /// When the first byte of a request head arrived, while no request was under way.
    head_since: Option<Instant>,
    /// When the last request finished (or the connection opened).
    idle_since: Instant,
}

/// What one connection is doing, updated by its socket reads and its requests.
#[derive(Debug)]
struct Activity(Mutex<ActivityState>);

impl Activity {
    fn new() -> Self {
        Self(Mutex::new(ActivityState {
            in_flight: 0,
            head_since: None,
            idle_since: Instant::now(),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived: with no request under way, they begin a request head.
    fn read(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && state.head_since.is_none() {
            state.head_since = Some(Instant::now());
        }
    }

    /// A request head was parsed: the request is under way until the guard is dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        let mut state = self.lock();
        state.in_flight += 1;
        state.head_since = None;
        InFlight(Arc::clone(self))
    }

    fn verdict(&self, limits: &ServerLimits, now: Instant) -> Verdict {
        let state = self.lock();
        match state.head_since {
            Some(since) if now.duration_since(since) >= limits.header_timeout => Verdict::SlowHead,
            None if state.in_flight == 0
                && now.duration_since(state.idle_since) >= limits.idle_timeout =>
            {
                Verdict::Idle
            }
            Some(_) | None => Verdict::Active,
        }
    }
}

/// A request under way; dropped when its response body is sent or dropped.
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
        }
    }
}

/// Ties `in_flight` to the response body, and ends event streams when the server stops.
fn track(
    response: Response<Body>,
    in_flight: InFlight,
    stopping: watch::Receiver<bool>,
) -> Response<Body> {
    let event_stream = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    response.map(|body| {
        let body = if event_stream {
            // An event stream never ends by itself; it ends at shutdown so the drain can.
            Body::from_stream(body.into_data_stream().take_until(stopped(stopping)))
        } else {
            body
        };
        Body::new(Tracked {
            body,
            _in_flight: in_flight,
        })
    })
}

/// A response body holding its request's [`InFlight`] guard.
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A socket that reports its reads to the connection's [`Activity`].
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Raises the soft limit of open files to the hard limit where the OS allows; the soft limit
/// now in force, if known.
pub fn raise_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => Some(limit),
            Err(error) => {
                tracing::warn!(%error, "could not raise the open file limit");
                rlimit::getrlimit(rlimit::Resource::NOFILE)
                    .ok()
                    .map(|(soft, _)| soft)
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ServerLimits {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ..ServerLimits::default()
        }
    }

    #[test]
    fn a_begun_head_is_slow_after_the_header_timeout_and_a_quiet_connection_idle_after_the_idle_timeout()
     {
        let activity = Arc::new(Activity::new());
        let start = Instant::now();
        assert_eq!(activity.verdict(&limits(), start), Verdict::Active);
        assert_eq!(
            activity.verdict(&limits(), start + Duration::from_secs(61)),
            Verdict::Idle
        );
        activity.read();
        assert_eq!(
            activity.verdict(&limits(), start + Duration::from_secs(5)),
            Verdict::Active,
            "a head begun is not idle"
        );
        assert_eq!(
            activity.verdict(&limits(), start + Duration::from_secs(11)),
            Verdict::SlowHead
        );
        let request = activity.begin();
        assert_eq!(
            activity.verdict(&limits(), start + Duration::from_secs(3600)),
            Verdict::Active,
            "a request under way is neither slow nor idle, however long it takes"
        );
        activity.read();
        assert_eq!(
            activity.verdict(&limits(), start + Duration::from_secs(3600)),
            Verdict::Active,
            "a body read while a request is under way begins no head"
        );
        drop(request);
        let after = Instant::now();
        assert_eq!(activity.verdict(&limits(), after), Verdict::Active);
        assert_eq!(
            activity.verdict(&limits(), after + Duration::from_secs(61)),
            Verdict::Idle
        );
    }

    #[test]
    fn the_refusal_is_a_problem_naming_the_cap_and_its_variable() {
        let body: serde_json::Value = serde_json::from_str(&refusal_body(7)).unwrap();
        assert_eq!(body["status"], 503);
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains('7') && detail.contains("CITYGRID_MAX_CONNECTIONS"));
    }
}
