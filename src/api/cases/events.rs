//! `GET /cases/events`: the server-sent event stream of case changes, scoped to what the
//! signed-in user may read and alive only as long as their session.
//!
//! The session is checked again before every event and on a periodic tick
//! ([`AuthSettings::session_check`](crate::service::auth::AuthSettings::session_check)), by the
//! same lookup every request makes. Polling rather than listening for revocations, because a
//! session also ends by expiry (no event) and by `citygrid user disable` or `set-password`
//! run on the command line against the database (another process); the lookup sees them all.
//! When the session has ended the stream sends `event: session_ended` and closes.
//!
//! Handler: [`case_events`], its query [`EventsParams`].

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Interval, MissedTickBehavior};

use super::super::extract::Query;
use super::super::openapi::{BadRequest, Unauthorized};
use super::super::{ApiError, AppState};
use super::params::EventsParams;
use crate::model::case::{ReadScope, WITHHELD, sees_reporter};
use crate::model::user::User;
use crate::service::cases::CaseEvent;

/// One subscriber's stream: its session, its user as last seen, and its clocks.
struct Subscription {
    state: AppState,
    token: String,
    user: User,
    events: Receiver<CaseEvent>,
    tick: Interval,
    ended: bool,
}

impl Subscription {
    /// Looks the session up again; `false` when it has ended (logout, password change,
    /// disabled user, expiry) or cannot be checked.
    async fn session_alive(&mut self) -> bool {
        match self.state.auth.authenticate(&self.token).await {
            Ok(user) => {
                // Cells, unit or role may have changed: the scope follows.
                self.user = user;
                true
            }
            Err(error) => {
                tracing::debug!(%error, user = %self.user.username, "case event stream ends");
                false
            }
        }
    }

    /// The event as this user may receive it: `None` when the case is out of their scope.
    fn event_for(&self, event: &CaseEvent) -> Option<Event> {
        if !ReadScope::of(&self.user).admits(
            event.cell.as_deref(),
            event.assigned_unit.as_deref(),
            &event.reporter,
        ) {
            return None;
        }
        let mut event = event.clone();
        if event.actor == event.reporter && !sees_reporter(&self.user, &event.reporter) {
            WITHHELD.clone_into(&mut event.actor);
        }
        Some(
            Event::default()
                .event("case")
                .id(format!("{}-{}", event.id, event.version))
                .json_data(&event)
                .unwrap_or_else(|_| Event::default().comment("unserialisable event")),
        )
    }

    /// The next thing to send, or `None` to close.
    async fn next(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        loop {
            tokio::select! {
                received = self.events.recv() => match received {
                    Ok(event) => {
                        if !self.session_alive().await {
                            return Some(self.end());
                        }
                        if let Some(event) = self.event_for(&event) {
                            return Some(event);
                        }
                    }
                    // A lagging client skips what it missed; it reloads on the `lagged` event.
                    Err(RecvError::Lagged(_)) => {
                        return Some(Event::default().event("lagged").data("reload"));
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = self.tick.tick() => {
                    if !self.session_alive().await {
                        return Some(self.end());
                    }
                }
            }
        }
    }

    fn end(&mut self) -> Event {
        self.ended = true;
        Event::default()
            .event("session_ended")
            .data("the session has ended (logout, password change, disabled user or expiry); log in again")
    }
}

/// Server-sent events of changes to the cases the caller may read, until the session ends
///
/// A stream of changes to the cases the user may read (`event: case`), until their session
/// ends (`event: session_ended`, then the stream closes). Browsers' `EventSource` cannot send
/// headers, so the token may also come as `?access_token=` (RFC 6750 §2.3) on this route only.
#[utoipa::path(get, path = "/cases/events", operation_id = "getCaseEvents", tag = "Cases",
    params(EventsParams), security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "`event: case` with the case's id, version, action, actor (`withheld` for the reporter unless the caller may see them), state, unit, cell, position and deadline, for the cases in the caller's read scope; `event: session_ended` and the end of the stream once the session ends (logout, password change, disabled user, expiry; checked before each event and every few seconds), or the server shuts down",
            content_type = "text/event-stream", body = String),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized)))]
pub async fn case_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<EventsParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or(params.access_token);
    let token = token.ok_or_else(|| {
        ApiError::Unauthorized(
            "a bearer token is needed (Authorization header or access_token)".into(),
        )
    })?;
    let user = state.auth.authenticate(&token).await?;
    let period = state.auth.settings().session_check;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let subscription = Subscription {
        events: state.cases.subscribe(),
        state,
        token,
        user,
        tick,
        ended: false,
    };
    let stream = stream::unfold(subscription, |mut subscription| async move {
        let event = subscription.next().await?;
        Some((Ok(event), subscription))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
