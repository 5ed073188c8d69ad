//! Login throttling, in memory, decided before any password is looked at.
//!
//! Every attempt is *reserved* under one lock before its password is hashed: it counts as a
//! failure at once (a success later forgets it), so however many attempts arrive together, no
//! more are verified than the policy allows. Three counters are kept:
//!
//! - **per user name and client address**: after [`ThrottlePolicy::delay_after`] consecutive
//!   failures each further attempt waits a doubling delay; after [`ThrottlePolicy::lock_after`]
//!   the pair is refused for [`ThrottlePolicy::lockout`]. Only that address is locked out of that
//!   user name, so an attacker elsewhere cannot lock the user out.
//! - **per client address**, over all names (guessing many names from one place): the same
//!   delays and lock, except for the addresses where the user logged in lately.
//! - **per user name**, over all addresses: never locked, but slowed: after
//!   [`ThrottlePolicy::delay_after`] failures only one attempt at a time may run, each
//!   starting a doubling delay (capped at [`ThrottlePolicy::max_delay`]) during which further
//!   attempts are refused with the time left. Addresses where the user logged in within
//!   [`ThrottlePolicy::remember_address`] are exempt, so a user keeps logging in from their own
//!   address while strangers guess at their name.
//!
//! A success forgets the counters of its user name, its address and their pair, and remembers
//! the address for the user. Pure bookkeeping: the caller passes the time, so tests need no
//! clock.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// When failed logins are slowed down and refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Consecutive failures after which each further attempt is delayed.
    pub delay_after: u32,
    /// Consecutive failures of a user name from one address, or from one address over all
    /// names, after which attempts are refused for [`ThrottlePolicy::lockout`].
    pub lock_after: u32,
    /// The delay of the first delayed attempt; it doubles with each further failure.
    pub first_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// How long attempts are refused once [`ThrottlePolicy::lock_after`] failures are reached.
    /// A failure after a lockout has ended locks again at once, until a success.
    pub lockout: Duration,
    /// A counter without a failure for this long starts afresh.
    pub forget_after: Duration,
    /// How long an address where a user logged in stays exempt from that user name's
    /// slowing and from the address's own lock.
    pub remember_address: Duration,
}

impl Default for ThrottlePolicy {
    /// 5 failures, then delays of 1, 2, 4, 8 and 16 s (at most 30 s); after 10 from one
    /// address, that address is refused for 15 minutes; forgotten after a day without
    /// failures; an address where the user logged in is remembered for 30 days.
    fn default() -> Self {
        Self {
            delay_after: 5,
            lock_after: 10,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            lockout: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(24 * 3600),
            remember_address: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// One login attempt: the user name as given and the client's address, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    user: String,
    address: Option<String>,
}

impl Attempt {
    /// The attempt for user name `name` (at most 64 characters are kept, whether or not such
    /// a user exists) from `remote`. IPv6 addresses count per /64 network, since one client
    /// usually holds a whole /64; IPv4-mapped IPv6 addresses count as IPv4.
    pub fn new(name: &str, remote: Option<&str>) -> Self {
        Self {
            user: name.chars().take(64).collect(),
            address: remote.map(normalise_address),
        }
    }
}

fn normalise_address(remote: &str) -> String {
    match remote.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                v4.to_string()
            } else {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(network))
            }
        }
        Ok(ip) => ip.to_string(),
        Err(_) => remote.chars().take(64).collect(),
    }
}

/// What is counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A user name from one address (the empty text when the address is unknown).
    Pair(String, String),
    /// A client address, over all names.
    Address(String),
    /// A user name, over all addresses.
    User(String),
}

impl Key {
    /// Whether reaching [`ThrottlePolicy::lock_after`] failures locks this counter.
    fn locks(&self) -> bool {
        !matches!(self, Self::User(_))
    }
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Reserved: go ahead after waiting `delay`. The attempt already counts as a failure;
    /// call [`Throttle::succeeded`] if it succeeds.
    Go {
        /// How long to wait first (zero while there were few failures).
        delay: Duration,
        /// Whether this attempt, should it fail, locks its address out (for the audit).
        locks: bool,
    },
    /// Refused without looking at the password; try again after `retry_after`.
    Refuse {
        /// How long until an attempt may be accepted again.
        retry_after: Duration,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    last_failure: DateTime<Utc>,
    /// Until when attempts are refused: the lockout of a pair or address, the running delay
    /// of a user name.
    refused_until: Option<DateTime<Utc>>,
}

/// Counters tracked before stale ones are swept out.
const SWEEP_ABOVE: usize = 10_000;
/// Counters kept at most: beyond, those below the delay threshold are dropped first (they
/// slow nobody), so that guessing many names cannot take memory without bound.
const MAX_TRACKED: usize = 200_000;

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[derive(Debug, Default)]
struct Counters {
    entries: HashMap<Key, Entry>,
    /// (user name, address) → the last successful login from there.
    known: HashMap<(String, String), DateTime<Utc>>,
    /// The size above which the next sweep happens.
    sweep_above: usize,
}

/// The failure counters.
#[derive(Debug, Default)]
pub struct Throttle {
    policy: ThrottlePolicy,
    counters: Mutex<Counters>,
}

impl Throttle {
    /// Counters following `policy`.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            counters: Mutex::default(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// Decides on `attempt` at `now` and, when it may go ahead, counts it as a failure at once
    /// (atomically with the decision): refused while a counter that applies is locked or a
    /// user name's delay runs (for the longest time left), otherwise delayed by the longest
    /// delay of the counters.
    pub fn reserve(&self, attempt: &Attempt, now: DateTime<Utc>) -> Verdict {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        self.sweep(&mut counters, now);
        let keys = self.keys(&counters, attempt, now);
        let mut retry_after: Option<Duration> = None;
        for entry in keys.iter().filter_map(|k| counters.entries.get(k)) {
            if self.forgotten(entry, now) {
                continue;
            }
            if let Some(until) = entry.refused_until.filter(|&u| u > now) {
                let left = (until - now).to_std().unwrap_or_default();
                retry_after = Some(retry_after.map_or(left, |r| r.max(left)));
            }
        }
        if let Some(retry_after) = retry_after {
            return Verdict::Refuse { retry_after };
        }
        let mut delay = Duration::ZERO;
        let mut locks = false;
        for key in &keys {
            let entry = counters.entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                last_failure: now,
                refused_until: None,
            });
            if self.forgotten(entry, now) {
                entry.failures = 0;
                entry.refused_until = None;
            }
            delay = delay.max(self.delay_for(entry.failures));
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            if key.locks() && entry.failures >= self.policy.lock_after {
                entry.refused_until = Some(now + delta(self.policy.lockout));
                locks = true;
            }
        }
        if let Some(entry) = keys
            .iter()
            .find(|k| !k.locks())
            .and_then(|k| counters.entries.get_mut(k))
        {
            // One attempt at a time per user name while its delay runs.
            entry.refused_until = (!delay.is_zero()).then(|| now + delta(delay));
        }
        Verdict::Go { delay, locks }
    }

    /// A successful attempt: forgets the failures of its user name, its address and their
    /// pair, and remembers the address for the user.
    pub fn succeeded(&self, attempt: &Attempt, now: DateTime<Utc>) {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let address = attempt.address.clone().unwrap_or_default();
        counters
            .entries
            .remove(&Key::Pair(attempt.user.clone(), address.clone()));
        counters.entries.remove(&Key::User(attempt.user.clone()));
        if let Some(address) = &attempt.address {
            counters.entries.remove(&Key::Address(address.clone()));
            counters
                .known
                .insert((attempt.user.clone(), address.clone()), now);
        }
    }

    /// The counters that apply to `attempt`: a user's remembered address is neither slowed
    /// by the user name's counter nor locked by the address's.
    fn keys(&self, counters: &Counters, attempt: &Attempt, now: DateTime<Utc>) -> Vec<Key> {
        let address = attempt.address.clone().unwrap_or_default();
        let mut keys = vec![Key::Pair(attempt.user.clone(), address)];
        let known = attempt.address.as_ref().is_some_and(|address| {
            counters
                .known
                .get(&(attempt.user.clone(), address.clone()))
                .is_some_and(|&at| at + delta(self.policy.remember_address) > now)
        });
        if !known {
            keys.extend(attempt.address.clone().map(Key::Address));
            keys.push(Key::User(attempt.user.clone()));
        }
        keys
    }

    /// Drops stale counters and remembered addresses once there are many, and low counters
    /// when there are still too many.
    fn sweep(&self, counters: &mut Counters, now: DateTime<Utc>) {
        let size = counters.entries.len() + counters.known.len();
        if size <= counters.sweep_above.max(SWEEP_ABOVE) {
            return;
        }
        counters.entries.retain(|_, e| !self.forgotten(e, now));
        let remember = delta(self.policy.remember_address);
        counters.known.retain(|_, &mut at| at + remember > now);
        if counters.entries.len() > MAX_TRACKED {
            let threshold = self.policy.delay_after;
            counters.entries.retain(|_, e| e.failures >= threshold);
        }
        // Sweep again only once the survivors have doubled, so that sweeping stays linear.
        counters.sweep_above = 2 * (counters.entries.len() + counters.known.len());
    }

    fn forgotten(&self, entry: &Entry, now: DateTime<Utc>) -> bool {
        entry.refused_until.is_none_or(|u| u <= now)
            && entry.last_failure + delta(self.policy.forget_after) <= now
    }

    /// The delay before an attempt after `failures` consecutive failures.
    fn delay_for(&self, failures: u32) -> Duration {
        let Some(beyond) = failures.checked_sub(self.policy.delay_after) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(beyond).unwrap_or(u32::MAX);
        self.policy
            .first_delay
            .saturating_mul(factor)
            .min(self.policy.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn go(delay: u64) -> Verdict {
        Verdict::Go {
            delay: secs(delay),
            locks: false,
        }
    }

    /// `times` failed attempts that went ahead, each started once the previous one's delay
    /// was over; returns the time of the last.
    fn fail(
        throttle: &Throttle,
        attempt: &Attempt,
        times: u32,
        mut now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let mut wait = Duration::ZERO;
        for _ in 0..times {
            now += delta(wait);
            match throttle.reserve(attempt, now) {
                Verdict::Go { delay, .. } => wait = delay,
                Verdict::Refuse { retry_after } => panic!("refused for {retry_after:?}"),
            }
        }
        now
    }

    fn from(user: &str, address: &str) -> Attempt {
        Attempt::new(user, Some(address))
    }

    #[test]
    fn five_failures_go_unhindered_then_each_attempt_waits_longer() {
        let throttle = Throttle::default();
        let attempt = from("wang", "10.0.0.1");
        let mut now = t0();
        let mut delays = Vec::new();
        for _ in 0..9 {
            let Verdict::Go { delay, locks } = throttle.reserve(&attempt, now) else {
                panic!("refused before ten failures");
            };
            assert!(!locks);
            delays.push(delay.as_secs());
            now += delta(delay);
        }
        assert_eq!(delays, [0, 0, 0, 0, 0, 1, 2, 4, 8]);
        assert_eq!(
            throttle.reserve(&attempt, now),
            Verdict::Go {
                delay: secs(16),
                locks: true
            },
            "the tenth attempt locks"
        );
    }

    #[test]
    fn attempts_arriving_together_are_counted_before_any_is_checked() {
        let throttle = Throttle::default();
        let attempt = Attempt::new("wang", None);
        let admitted = (0..300)
            .filter(|_| matches!(throttle.reserve(&attempt, t0()), Verdict::Go { .. }))
            .count();
        assert_eq!(
            admitted, 6,
            "five unhindered, then one whose delay runs while the rest are refused"
        );
    }

    #[test]
    fn delays_are_capped() {
        let throttle = Throttle::new(ThrottlePolicy {
            lock_after: 100,
            ..ThrottlePolicy::default()
        });
        let attempt = from("wang", "10.0.0.1");
        let now = fail(&throttle, &attempt, 60, t0());
        assert_eq!(
            throttle.reserve(&attempt, now + TimeDelta::seconds(30)),
            go(30)
        );
    }

    #[test]
    fn ten_failures_from_one_address_lock_it_for_fifteen_minutes() {
        let throttle = Throttle::default();
        let attempt = from("wang", "10.0.0.1");
        let now = fail(&throttle, &attempt, 10, t0());
        assert_eq!(
            throttle.reserve(&attempt, now + TimeDelta::seconds(60)),
            Verdict::Refuse {
                retry_after: secs(14 * 60)
            }
        );
        assert!(
            matches!(
                throttle.reserve(&attempt, now + TimeDelta::minutes(15)),
                Verdict::Go { locks: true, .. }
            ),
            "a failure after the lockout locks again at once"
        );
        assert!(matches!(
            throttle.reserve(&attempt, now + TimeDelta::minutes(16)),
            Verdict::Refuse { .. }
        ));
    }

    #[test]
    fn a_success_resets_the_counts() {
        let throttle = Throttle::default();
        let attempt = from("wang", "10.0.0.1");
        let now = fail(&throttle, &attempt, 9, t0());
        throttle.succeeded(&attempt, now);
        let now = fail(&throttle, &attempt, 5, now);
        assert_eq!(
            throttle.reserve(&attempt, now),
            go(1),
            "counting starts again from zero"
        );
    }

    #[test]
    fn an_attacker_locks_only_their_own_address_out_of_a_user_name() {
        let throttle = Throttle::default();
        let now = fail(&throttle, &from("chen", "203.0.113.9"), 10, t0());
        assert!(matches!(
            throttle.reserve(&from("chen", "203.0.113.9"), now),
            Verdict::Refuse { .. }
        ));
        // A stranger's address is slowed by the user name's delay, never locked.
        let Verdict::Refuse { retry_after } = throttle.reserve(&from("chen", "10.0.0.1"), now)
        else {
            panic!("the user name's delay runs");
        };
        assert!(retry_after <= secs(30), "{retry_after:?}");
        assert!(matches!(
            throttle.reserve(&from("chen", "10.0.0.1"), now + delta(retry_after)),
            Verdict::Go { locks: false, .. }
        ));
    }

    #[test]
    fn the_address_a_user_logged_in_from_is_not_slowed_by_strangers_guessing_the_name() {
        let throttle = Throttle::default();
        let home = from("chen", "10.0.0.1");
        throttle.succeeded(&home, t0());
        let mut now = t0();
        for i in 0..40 {
            // Many addresses, each guessing as fast as it is let through.
            let attacker = from("chen", &format!("203.0.113.{i}"));
            match throttle.reserve(&attacker, now) {
                Verdict::Go { delay, .. } => now += delta(delay),
                Verdict::Refuse { retry_after } => now += delta(retry_after),
            }
        }
        assert_eq!(
            throttle.reserve(&home, now),
            go(0),
            "the user's own address goes ahead at once"
        );
    }

    #[test]
    fn one_address_guessing_many_names_is_locked_out_for_every_name_but_a_users_own() {
        let throttle = Throttle::default();
        throttle.succeeded(&from("wang", "10.0.0.1"), t0());
        let mut now = t0();
        for i in 0..10 {
            now = fail(&throttle, &from(&format!("u{i}"), "10.0.0.1"), 1, now);
        }
        assert!(matches!(
            throttle.reserve(&from("u0", "10.0.0.1"), now),
            Verdict::Refuse { .. }
        ));
        assert!(matches!(
            throttle.reserve(&from("li", "10.0.0.1"), now),
            Verdict::Refuse { .. }
        ));
        assert_eq!(throttle.reserve(&from("u0", "10.0.0.2"), now), go(0));
        assert_eq!(
            throttle.reserve(&from("wang", "10.0.0.1"), now),
            go(0),
            "wang logged in from there"
        );
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_day() {
        let throttle = Throttle::default();
        let attempt = from("wang", "10.0.0.1");
        let now = fail(&throttle, &attempt, 8, t0());
        let next_day = now + TimeDelta::hours(24);
        assert_eq!(throttle.reserve(&attempt, next_day), go(0));
        assert_eq!(
            throttle.reserve(&attempt, next_day),
            go(0),
            "one failure after the quiet day counts as the first"
        );
    }

    #[test]
    fn guessing_many_names_keeps_a_bounded_number_of_counters() {
        let throttle = Throttle::default();
        for i in 0..(MAX_TRACKED + SWEEP_ABOVE) {
            throttle.reserve(&Attempt::new(&format!("u{i}"), None), t0());
        }
        let counters = throttle.counters.lock().unwrap();
        assert!(
            counters.entries.len() <= 2 * MAX_TRACKED,
            "{}",
            counters.entries.len()
        );
    }

    #[test]
    fn ipv6_addresses_count_per_64_network_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            Attempt::new("a", Some("2001:db8:1:2:aaaa::1")),
            Attempt::new("a", Some("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            Attempt::new("a", Some("2001:db8:1:2::1")),
            Attempt::new("a", Some("2001:db8:1:3::1"))
        );
        assert_eq!(
            Attempt::new("a", Some("::ffff:10.0.0.1")),
            Attempt::new("a", Some("10.0.0.1"))
        );
    }
}
