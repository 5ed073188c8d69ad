//! The pool that runs heavy analyses (search by geometry, clipped summaries) off the async
//! workers: a bounded number at once, a bounded queue, a time budget each, and cancellation
//! when the client goes away.
//!
//! Work runs on tokio's blocking threads, at most `workers` at a time (a semaphore); up to
//! `queue` more wait for a turn, and beyond that a request is refused at once
//! ([`AnalysisError::Busy`]), so the async workers stay free for `/health` and cheap reads. A
//! blocking task cannot be aborted, so the work is cooperative: it receives a [`Budget`] and asks
//! it between steps (per candidate feature, per part) whether to go on. The budget ends at its
//! deadline, and at once when the request's future is dropped (the client closed the
//! connection): a drop guard raises the flag the work watches. The permit travels with the work,
//! so a turn is given back only when the CPU is really free.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// The limits of the pool (`CITYGRID_ANALYSIS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Analyses running at once.
    pub workers: usize,
    /// Analyses waiting for a turn, beyond which requests are refused.
    pub queue: usize,
    /// The time budget of one analysis, from its arrival (waiting included).
    pub timeout: Duration,
}

/// Analyses waiting per worker by default. Most analyses are cheap (a search in a small box
/// answers in well under a millisecond), so many clients at once must wait their turn rather
/// than be refused; the time budget, not the queue, bounds how long the expensive ones hold it.
pub const QUEUE_PER_WORKER: usize = 64;

impl Default for PoolSettings {
    /// As many workers as cores, a queue of [`QUEUE_PER_WORKER`] per worker, 5 s each.
    fn default() -> Self {
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            workers,
            queue: QUEUE_PER_WORKER * workers,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Why an analysis did not give its answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// Every worker is busy and the queue is full, or no turn came within the budget.
    #[error("all {workers} analysis workers are busy and {queue} analyses are waiting")]
    Busy {
        /// The pool's workers.
        workers: usize,
        /// The pool's queue.
        queue: usize,
        /// A fair time to try again.
        retry_after: Duration,
    },
    /// The work ran out of its time budget and stopped.
    #[error("the analysis did not finish within its budget of {} ms", .0.as_millis())]
    TimedOut(Duration),
    /// The work panicked (a defect); the detail is for the log.
    #[error("the analysis failed: {0}")]
    Failed(String),
}

/// Why the work stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    /// Its deadline passed.
    #[error("the time budget is spent")]
    Deadline,
    /// The request was dropped (the client went away).
    #[error("the request was cancelled")]
    Cancelled,
}

/// What a piece of work may spend: checked by the work itself, between steps.
#[derive(Debug, Clone)]
pub struct Budget {
    deadline: Instant,
    cancelled: Arc<AtomicBool>,
}

impl Budget {
    /// A budget of `timeout` from now, never cancelled (tests, command-line tools).
    pub fn new(timeout: Duration) -> Self {
        Self {
            deadline: Instant::now() + timeout,
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A budget without limit.
    pub fn unlimited() -> Self {
        Self::new(Duration::from_secs(365 * 24 * 3600))
    }

    /// Whether the work should go on.
    ///
    /// ```
    /// use citygrid::service::analysis::{Budget, Interrupted};
    /// assert_eq!(Budget::new(std::time::Duration::ZERO).check(), Err(Interrupted::Deadline));
    /// assert_eq!(Budget::unlimited().check(), Ok(()));
    /// ```
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.cancelled.load(Ordering::Relaxed) {
            Err(Interrupted::Cancelled)
        } else if Instant::now() >= self.deadline {
            Err(Interrupted::Deadline)
        } else {
            Ok(())
        }
    }

    /// Whether the work should stop (for checks that take a `Fn() -> bool`).
    pub fn spent(&self) -> bool {
        self.check().is_err()
    }
}

/// Raises the flag when the request's future is dropped before the work ended.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// One analysis counted as in flight (waiting or running) until dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The analysis pool; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct AnalysisPool {
    settings: PoolSettings,
    permits: Arc<Semaphore>,
    in_flight: Arc<AtomicUsize>,
}

impl Default for AnalysisPool {
    fn default() -> Self {
        Self::new(PoolSettings::default())
    }
}

impl AnalysisPool {
    /// A pool with `settings` (at least one worker).
    pub fn new(settings: PoolSettings) -> Self {
        let settings = PoolSettings {
            workers: settings.workers.max(1),
            ..settings
        };
        Self {
            permits: Arc::new(Semaphore::new(settings.workers)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            settings,
        }
    }

    /// The pool's limits.
    pub fn settings(&self) -> PoolSettings {
        self.settings
    }

    /// Analyses waiting or running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    fn busy(&self) -> AnalysisError {
        AnalysisError::Busy {
            workers: self.settings.workers,
            queue: self.settings.queue,
            retry_after: self.settings.timeout.max(Duration::from_secs(1)),
        }
    }

    /// Runs `work` on a blocking thread when a worker is free, within the time budget; refuses
    /// at once when the pool and its queue are full.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AnalysisError>
    where
        T: Send + 'static,
        F: FnOnce(&Budget) -> Result<T, Interrupted> + Send + 'static,
    {
        let limit = self.settings.workers + self.settings.queue;
        let admitted = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            return Err(self.busy());
        }
        let slot = InFlight(Arc::clone(&self.in_flight));
        let budget = Budget::new(self.settings.timeout);
        let _cancel = CancelOnDrop(Arc::clone(&budget.cancelled));
        let deadline = tokio::time::Instant::from_std(budget.deadline);
        let permit = tokio::time::timeout_at(deadline, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| self.busy())?
            .map_err(|_| AnalysisError::Failed("the analysis pool is closed".into()))?;
        let timeout = self.settings.timeout;
        let task = tokio::task::spawn_blocking(move || {
            // Held until the work really ends, even when the request is gone.
            let _permit = permit;
            let _slot = slot;
            budget.check()?;
            work(&budget)
        });
        match task.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(Interrupted::Deadline | Interrupted::Cancelled)) => {
                Err(AnalysisError::TimedOut(timeout))
            }
            Err(e) => Err(AnalysisError::Failed(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn pool(workers: usize, queue: usize, timeout: Duration) -> AnalysisPool {
        AnalysisPool::new(PoolSettings {
            workers,
            queue,
            timeout,
        })
    }

    /// Work that runs until its budget says stop, reporting when it started and how it ended.
    fn endless(
        started: mpsc::Sender<()>,
        ended: mpsc::Sender<Interrupted>,
    ) -> impl FnOnce(&Budget) -> Result<(), Interrupted> + Send + 'static {
        move |budget| {
            started.send(()).unwrap();
            loop {
                if let Err(why) = budget.check() {
                    ended.send(why).unwrap();
                    return Err(why);
                }
                std::thread::yield_now();
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_that_outlives_its_budget_stops_and_answers_timed_out() {
        let pool = pool(1, 0, Duration::from_millis(50));
        let (started, _start) = mpsc::channel();
        let (ended, end) = mpsc::channel();
        let result = pool.run(endless(started, ended)).await;
        assert_eq!(
            result,
            Err(AnalysisError::TimedOut(Duration::from_millis(50)))
        );
        assert_eq!(end.recv().unwrap(), Interrupted::Deadline);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_request_cancels_the_running_work() {
        let pool = Arc::new(pool(1, 0, Duration::from_secs(3600)));
        let (started, start) = mpsc::channel();
        let (ended, end) = mpsc::channel();
        let running = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.run(endless(started, ended)).await }
        });
        tokio::task::spawn_blocking(move || start.recv().unwrap())
            .await
            .unwrap();
        running.abort();
        let why = tokio::task::spawn_blocking(move || end.recv().unwrap())
            .await
            .unwrap();
        assert_eq!(why, Interrupted::Cancelled);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_pool_and_queue_refuses_at_once_and_frees_its_turns_afterwards() {
        let pool = Arc::new(pool(1, 1, Duration::from_secs(3600)));
        let (started, start) = mpsc::channel();
        let (ended, _end) = mpsc::channel();
        let first = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.run(endless(started, ended)).await }
        });
        let start = tokio::task::spawn_blocking(move || {
            start.recv().unwrap();
            start
        })
        .await
        .unwrap();
        let waiting = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.run(|_| Ok(7)).await }
        });
        while pool.in_flight() < 2 {
            tokio::task::yield_now().await;
        }
        let refused = pool.run(|_| Ok(8)).await;
        assert!(matches!(
            refused,
            Err(AnalysisError::Busy {
                workers: 1,
                queue: 1,
                ..
            })
        ));
        first.abort();
        assert_eq!(waiting.await.unwrap(), Ok(7));
        drop(start);
        while pool.in_flight() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.run(|_| Ok(9)).await, Ok(9));
    }
}
