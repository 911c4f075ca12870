//! The server's delivery loop: a thread that delivers the due outbox messages of launched
//! campaigns continuously (`App::deliver_campaign_messages`, the senders of
//! `App::campaign_senders`, the same as `kesher campaigns deliver`), sleeps a moment when nothing
//! is due, and stops with the server. Once a minute it also chooses the A/B tests' winners that
//! are due (`App::pick_campaign_winners`), so that the recipients who waited get the winner. One step ([`delivery_step`]) returns what it did, so that
//! the loop is a few lines around it; a failure (the database busy, the SMTP settings wrong, a
//! sender that panicked) is reported to the caller's callback and tried again after a pause,
//! never ending the loop.

use super::{DeliveryReport, Senders, WinnersReport};
use crate::App;
use kesher_store::Actor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How many messages one step claims at most.
pub const DELIVERY_ROUND: usize = 200;

/// What one step of the loop did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStep {
    /// Some messages were due; what became of them.
    Delivered(DeliveryReport),
    /// Nothing was due.
    Idle,
    /// The step failed (the senders could not be made, the store refused, a sender panicked):
    /// the loop pauses and tries again.
    Failed(String),
    /// A/B tests' winners chosen or sent to those who waited (`App::pick_campaign_winners`, run
    /// once every [`WINNERS_EVERY`]).
    Winners(WinnersReport),
}

/// How often the loop looks for A/B tests whose measuring is over.
pub const WINNERS_EVERY: Duration = Duration::from_secs(60);

/// Choose the A/B tests' winners that are due and release what waited for them: a
/// [`DeliveryStep::Winners`] when something was, `Idle` when nothing was.
pub fn winners_step(app: &App) -> DeliveryStep {
    let actor = Actor::new("system:delivery", app.now());
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| app.pick_campaign_winners(&actor))) {
        Ok(Ok(r)) if r.chosen.is_empty() && r.released == 0 => DeliveryStep::Idle,
        Ok(Ok(r)) => DeliveryStep::Winners(r),
        Ok(Err(e)) => DeliveryStep::Failed(format!("choosing A/B winners: {e}")),
        Err(_) => DeliveryStep::Failed("choosing A/B winners panicked".into()),
    }
}

/// One step: the senders made if they are not yet (kept for the next steps), then one round of
/// at most [`DELIVERY_ROUND`] due messages. A panic inside a sender is caught and reported as a
/// failure.
pub fn delivery_step(app: &App, senders: &mut Option<Senders>) -> DeliveryStep {
    if senders.is_none() {
        match app.campaign_senders() {
            Ok(made) => *senders = Some(made),
            Err(e) => return DeliveryStep::Failed(format!("making the campaign senders: {e}")),
        }
    }
    let Some(ready) = senders.as_ref() else {
        return DeliveryStep::Failed("no senders".into());
    };
    let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        app.deliver_campaign_messages(ready, DELIVERY_ROUND)
    }));
    match round {
        Ok(Ok(report)) if report.claimed == 0 => DeliveryStep::Idle,
        Ok(Ok(report)) => DeliveryStep::Delivered(report),
        Ok(Err(e)) => DeliveryStep::Failed(format!("delivering campaign messages: {e}")),
        Err(_) => DeliveryStep::Failed("delivering campaign messages panicked".into()),
    }
}

/// The loop's thread, until [`DeliveryLoop::stop`].
pub struct DeliveryLoop {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// Sleep `total` in short slices, returning early once `stop` is set.
fn pause(stop: &AtomicBool, total: Duration) {
    let slice = Duration::from_millis(50);
    let mut left = total;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let now = left.min(slice);
        std::thread::sleep(now);
        left = left.saturating_sub(now);
    }
}

impl DeliveryLoop {
    /// Start the loop on its own thread: a step, then at once another while messages were due,
    /// `idle` of sleep when none was, ten times `idle` (at least a second) after a failure.
    /// `on_step` hears of every step but the idle ones (the server logs them).
    pub fn start(
        app: App,
        idle: Duration,
        on_step: Box<dyn Fn(&DeliveryStep) + Send>,
    ) -> std::io::Result<DeliveryLoop> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let handle = std::thread::Builder::new()
            .name("kesher-delivery".into())
            .spawn(move || {
                let mut senders = None;
                let after_failure = (idle * 10).max(Duration::from_secs(1));
                let mut winners_at = std::time::Instant::now();
                while !stopped.load(Ordering::Relaxed) {
                    let step = if std::time::Instant::now() >= winners_at {
                        winners_at = std::time::Instant::now() + WINNERS_EVERY;
                        match winners_step(&app) {
                            DeliveryStep::Idle => delivery_step(&app, &mut senders),
                            other => other,
                        }
                    } else {
                        delivery_step(&app, &mut senders)
                    };
                    match &step {
                        DeliveryStep::Idle => pause(&stopped, idle),
                        DeliveryStep::Delivered(_) | DeliveryStep::Winners(_) => on_step(&step),
                        DeliveryStep::Failed(_) => {
                            on_step(&step);
                            // Made again after a failure: the settings may have been fixed.
                            senders = None;
                            pause(&stopped, after_failure);
                        }
                    }
                }
            })?;
        Ok(DeliveryLoop {
            stop,
            handle: Some(handle),
        })
    }

    /// Stop after the step running now, and wait for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for DeliveryLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
