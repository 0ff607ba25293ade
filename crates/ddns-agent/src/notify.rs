//! Notifications on change, failure and recovery: the webhook provider's request templates with
//! the event's variables (`{event}`, `{message}`, `{name}`, `{ip}`…). A notification that fails
//! is logged and never delays or blocks publishing.

use ddns_providers::{Outcome, Update, Variables};

use crate::config::{Notifier, NotifyEvent};

/// Sends `event` about `update` to every hook that wants it, as tasks of `tasks` (awaited
/// before a one-shot run exits, reaped as they finish otherwise).
pub(crate) fn send(
    tasks: &mut tokio::task::JoinSet<()>,
    notifiers: &[Notifier],
    event: NotifyEvent,
    update: &Update,
    provider: &str,
    message: &str,
) {
    let name = match event {
        NotifyEvent::Change => "change",
        NotifyEvent::Failure => "failure",
        NotifyEvent::Recovery => "recovery",
    };
    for notifier in notifiers.iter().filter(|n| n.events.contains(&event)) {
        let mut vars = Variables::for_update(update, provider, name);
        vars.set("message", message);
        let hook = std::sync::Arc::clone(&notifier.hook);
        let record = update.hostname.clone();
        tasks.spawn(async move {
            match hook.send(&vars).await {
                Outcome::Published { .. } => tracing::debug!(record = %record, event = name, "notification sent"),
                other => tracing::warn!(record = %record, event = name, outcome = %other, "notification failed"),
            }
        });
    }
}
