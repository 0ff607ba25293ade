//! Waiting for the operating system to ask us to stop: Ctrl-C everywhere, SIGTERM on Unix
//! (systemd, `kill`, container runtimes), and the Windows service manager's Stop and Shutdown
//! controls, which the service's control handler turns into [`request_stop`]. Every role stops
//! through [`shutdown_signal`], so a service stop takes the same path as Ctrl-C: the agent
//! finishes its running round (and saves its state), the server drains its listeners.

use std::sync::LazyLock;

use tokio::sync::watch;

static STOP: LazyLock<watch::Sender<bool>> = LazyLock::new(|| watch::Sender::new(false));

/// Asks every [`shutdown_signal`] of the process to resolve, now and later.
pub fn request_stop() {
    STOP.send_replace(true);
}

/// Resolves when the process is asked to stop.
pub async fn shutdown_signal() {
    let requested = async {
        let mut rx = STOP.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = term => {}
            () = requested => {}
        }
    }
    #[cfg(not(unix))]
    tokio::select! {
        () = ctrl_c => {}
        () = requested => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_reaches_waiters_before_and_after_it() {
        let early = tokio::spawn(shutdown_signal());
        tokio::task::yield_now().await;
        request_stop();
        tokio::time::timeout(std::time::Duration::from_secs(5), early)
            .await
            .unwrap()
            .unwrap();
        // A waiter that starts after the request still sees it.
        tokio::time::timeout(std::time::Duration::from_secs(5), shutdown_signal())
            .await
            .unwrap();
    }
}
