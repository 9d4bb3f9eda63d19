//! Failed logins slow down the next attempts: after a few failures for one name, or from one
//! address, within a quarter of an hour, each further attempt must wait, twice as long each
//! time, up to five minutes. In memory, per process: it slows guessing, it is not an audit log.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use coffee_domain::Millis;

/// Failures allowed before attempts must wait.
const FREE_FAILURES: u32 = 5;
const WINDOW_MS: i64 = 15 * 60 * 1000;
const LONGEST_WAIT: Duration = Duration::from_secs(300);
/// Keys remembered at most: past it the oldest are forgotten, so a flood of names cannot fill
/// the memory.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: i64,
    last: i64,
}

#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl Throttle {
    /// How long an attempt for any of `keys` (a name, an address) must still wait, if at all.
    pub fn wait(&self, keys: &[&str], now: Millis) -> Option<Duration> {
        let failures = self.failures.lock().ok()?;
        keys.iter()
            .filter_map(|k| failures.get(*k))
            .filter(|f| now.0 - f.first < WINDOW_MS && f.count >= FREE_FAILURES)
            .map(|f| {
                let wait = LONGEST_WAIT.min(Duration::from_secs(1 << (f.count - FREE_FAILURES).min(9)));
                let ready = f.last + wait.as_millis() as i64;
                Duration::from_millis((ready - now.0).max(0) as u64)
            })
            .filter(|d| !d.is_zero())
            .max()
    }

    pub fn failed(&self, keys: &[&str], now: Millis) {
        let Ok(mut failures) = self.failures.lock() else { return };
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, f| now.0 - f.first < WINDOW_MS);
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        for key in keys {
            let f = failures.entry((*key).to_owned()).or_insert(Failures { count: 0, first: now.0, last: now.0 });
            if now.0 - f.first >= WINDOW_MS {
                *f = Failures { count: 0, first: now.0, last: now.0 };
            }
            f.count += 1;
            f.last = now.0;
        }
    }

    pub fn succeeded(&self, name: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_failures_are_free_then_each_attempt_waits_longer() {
        let t = Throttle::default();
        for i in 0..FREE_FAILURES {
            assert_eq!(t.wait(&["sam"], Millis(i64::from(i))), None);
            t.failed(&["sam", "10.0.0.1"], Millis(i64::from(i)));
        }
        let now = Millis(10);
        assert!(t.wait(&["sam"], now).is_some_and(|w| w > Duration::ZERO && w <= Duration::from_secs(1)));
        assert!(t.wait(&["10.0.0.1"], now).is_some(), "the address is throttled too");
        assert_eq!(t.wait(&["ivy"], now), None, "another name from another address is not");
        t.failed(&["sam"], Millis(2000));
        let w = t.wait(&["sam"], Millis(2000)).expect("waits");
        assert_eq!(w, Duration::from_secs(2), "twice as long");
        assert_eq!(t.wait(&["sam"], Millis(2000 + WINDOW_MS)), None, "a quarter of an hour later it is forgotten");
        t.succeeded("sam");
        assert_eq!(t.wait(&["sam"], Millis(2001)), None);
    }
}
