//! Login throttling, in memory: consecutive failed logins per user name and per client address
//! first slow further attempts down, then refuse them for a while. A success resets the
//! counters of its user name and address.
//!
//! Pure bookkeeping: the caller passes the time, so tests need no clock.

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
    /// Consecutive failures after which attempts are refused for [`ThrottlePolicy::lockout`].
    pub lock_after: u32,
    /// The delay of the first delayed attempt; it doubles with each further failure.
    pub first_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// How long attempts are refused once [`ThrottlePolicy::lock_after`] failures are reached.
    /// A failure after a lockout has ended locks again at once, until a success.
    pub lockout: Duration,
    /// A user name or address without a failure for this long starts afresh.
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    /// 5 failures, then delays of 1, 2, 4, 8 and 16 s; after 10, refused for 15 minutes;
    /// forgotten after a day without failures.
    fn default() -> Self {
        Self {
            delay_after: 5,
            lock_after: 10,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            lockout: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// What is counted: a user name as typed, or a client address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A user name as given at login (whether or not such a user exists).
    User(String),
    /// A client address; IPv6 addresses count per /64 network, since one client usually holds
    /// a whole /64.
    Address(String),
}

impl Key {
    /// The key of a user name (at most 64 characters are kept).
    pub fn user(name: &str) -> Self {
        Self::User(name.chars().take(64).collect())
    }

    /// The key of a client address.
    pub fn address(remote: &str) -> Self {
        match remote.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                Self::Address(format!("{}/64", Ipv6Addr::from(network)))
            }
            Ok(IpAddr::V6(v6)) => Self::Address(
                v6.to_ipv4_mapped()
                    .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
            ),
            Ok(ip) => Self::Address(ip.to_string()),
            Err(_) => Self::Address(remote.chars().take(64).collect()),
        }
    }
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead after waiting `delay` (zero when there were few failures).
    Go {
        /// How long to wait first.
        delay: Duration,
    },
    /// Refused; try again after `retry_after`.
    Refuse {
        /// How long until attempts are accepted again.
        retry_after: Duration,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    last_failure: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

/// Keys tracked before stale entries are swept out.
const SWEEP_ABOVE: usize = 10_000;

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// The failure counters.
#[derive(Debug, Default)]
pub struct Throttle {
    policy: ThrottlePolicy,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl Throttle {
    /// Counters following `policy`.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            entries: Mutex::default(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// Whether an attempt under `keys` may go ahead at `now`: refused while any key is locked
    /// (for the longest remaining lock), otherwise delayed by the longest delay of the keys.
    pub fn check(&self, keys: &[Key], now: DateTime<Utc>) -> Verdict {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut delay = Duration::ZERO;
        let mut retry_after: Option<Duration> = None;
        for entry in keys.iter().filter_map(|k| entries.get(k)) {
            if self.forgotten(entry, now) {
                continue;
            }
            if let Some(until) = entry.locked_until.filter(|&u| u > now) {
                let left = (until - now).to_std().unwrap_or_default();
                retry_after = Some(retry_after.map_or(left, |r| r.max(left)));
            }
            delay = delay.max(self.delay_for(entry.failures));
        }
        match retry_after {
            Some(retry_after) => Verdict::Refuse { retry_after },
            None => Verdict::Go { delay },
        }
    }

    /// Counts a failed attempt under `keys` at `now`; returns whether it locked a key.
    pub fn failed(&self, keys: &[Key], now: DateTime<Utc>) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() > SWEEP_ABOVE {
            entries.retain(|_, e| !self.forgotten(e, now));
        }
        let mut locked = false;
        for key in keys {
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                last_failure: now,
                locked_until: None,
            });
            if self.forgotten(entry, now) {
                entry.failures = 0;
                entry.locked_until = None;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            if entry.failures >= self.policy.lock_after {
                entry.locked_until = Some(now + delta(self.policy.lockout));
                locked = true;
            }
        }
        locked
    }

    /// A successful attempt: forgets the failures of `keys`.
    pub fn succeeded(&self, keys: &[Key]) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            entries.remove(key);
        }
    }

    fn forgotten(&self, entry: &Entry, now: DateTime<Utc>) -> bool {
        entry.locked_until.is_none_or(|u| u <= now)
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

    fn fail(throttle: &Throttle, keys: &[Key], times: u32, now: DateTime<Utc>) {
        for _ in 0..times {
            throttle.failed(keys, now);
        }
    }

    #[test]
    fn five_failures_go_unhindered_then_each_attempt_waits_longer() {
        let throttle = Throttle::default();
        let keys = [Key::user("wang")];
        let now = t0();
        let mut delays = Vec::new();
        for _ in 0..10 {
            let Verdict::Go { delay } = throttle.check(&keys, now) else {
                panic!("refused before ten failures");
            };
            delays.push(delay.as_secs());
            throttle.failed(&keys, now);
        }
        assert_eq!(delays, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16]);
    }

    #[test]
    fn delays_are_capped() {
        let throttle = Throttle::new(ThrottlePolicy {
            lock_after: 100,
            ..ThrottlePolicy::default()
        });
        let keys = [Key::user("wang")];
        fail(&throttle, &keys, 60, t0());
        assert_eq!(throttle.check(&keys, t0()), Verdict::Go { delay: secs(30) });
    }

    #[test]
    fn ten_failures_lock_for_fifteen_minutes() {
        let throttle = Throttle::default();
        let keys = [Key::user("wang")];
        fail(&throttle, &keys, 8, t0());
        assert!(
            !throttle.failed(&keys, t0()),
            "the ninth failure does not lock"
        );
        assert!(throttle.failed(&keys, t0()), "the tenth does");
        assert_eq!(
            throttle.check(&keys, t0() + TimeDelta::seconds(60)),
            Verdict::Refuse {
                retry_after: secs(14 * 60)
            }
        );
        assert!(matches!(
            throttle.check(&keys, t0() + TimeDelta::minutes(15)),
            Verdict::Go { .. }
        ));
    }

    #[test]
    fn a_failure_after_a_lockout_locks_again_until_a_success() {
        let throttle = Throttle::default();
        let keys = [Key::user("wang")];
        fail(&throttle, &keys, 10, t0());
        let later = t0() + TimeDelta::minutes(16);
        assert!(throttle.failed(&keys, later));
        assert!(matches!(
            throttle.check(&keys, later),
            Verdict::Refuse { .. }
        ));
        throttle.succeeded(&keys);
        assert_eq!(
            throttle.check(&keys, later),
            Verdict::Go {
                delay: Duration::ZERO
            }
        );
    }

    #[test]
    fn a_success_resets_the_count() {
        let throttle = Throttle::default();
        let keys = [Key::user("wang"), Key::address("10.0.0.1")];
        fail(&throttle, &keys, 7, t0());
        throttle.succeeded(&keys);
        fail(&throttle, &keys, 5, t0());
        assert_eq!(
            throttle.check(&keys, t0()),
            Verdict::Go { delay: secs(1) },
            "counting starts again from zero"
        );
    }

    #[test]
    fn user_names_and_addresses_are_counted_apart() {
        let throttle = Throttle::default();
        // One address tries ten user names: the address is locked, the names are not.
        for i in 0..10 {
            throttle.failed(
                &[Key::user(&format!("u{i}")), Key::address("10.0.0.1")],
                t0(),
            );
        }
        assert!(matches!(
            throttle.check(&[Key::user("u0"), Key::address("10.0.0.1")], t0()),
            Verdict::Refuse { .. }
        ));
        assert_eq!(
            throttle.check(&[Key::user("u0"), Key::address("10.0.0.2")], t0()),
            Verdict::Go {
                delay: Duration::ZERO
            }
        );
    }

    #[test]
    fn a_locked_user_name_is_refused_from_any_address() {
        let throttle = Throttle::default();
        for i in 0..10 {
            throttle.failed(
                &[Key::user("wang"), Key::address(&format!("10.0.0.{i}"))],
                t0(),
            );
        }
        assert!(matches!(
            throttle.check(&[Key::user("wang"), Key::address("10.9.9.9")], t0()),
            Verdict::Refuse { .. }
        ));
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_day() {
        let throttle = Throttle::default();
        let keys = [Key::user("wang")];
        fail(&throttle, &keys, 8, t0());
        let next_day = t0() + TimeDelta::hours(24);
        assert_eq!(
            throttle.check(&keys, next_day),
            Verdict::Go {
                delay: Duration::ZERO
            }
        );
        throttle.failed(&keys, next_day);
        assert_eq!(
            throttle.check(&keys, next_day),
            Verdict::Go {
                delay: Duration::ZERO
            },
            "one failure after the quiet day counts as the first"
        );
    }

    #[test]
    fn ipv6_addresses_count_per_64_network_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            Key::address("2001:db8:1:2:aaaa::1"),
            Key::address("2001:db8:1:2:bbbb::2")
        );
        assert_ne!(
            Key::address("2001:db8:1:2::1"),
            Key::address("2001:db8:1:3::1")
        );
        assert_eq!(Key::address("::ffff:10.0.0.1"), Key::address("10.0.0.1"));
    }
}
