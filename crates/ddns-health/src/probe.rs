//! One check of one target: a TCP connection to the checked port, and with `smb` an SMB2
//! NEGOTIATE on it, all within the timeout.
//!
//! A refused connection (the port closed: the peer answers with a reset) fails at once; a
//! filtered port or a dead host fails when the timeout ends. Either counts towards `fall`
//! on the round it happens, so with the defaults (1 s interval, fall 2, 500 ms timeout) a
//! target leaves the answer at most 2.5 s after its port stops answering.

use std::net::SocketAddr;

use ddns_config::HealthCheck;
use tokio::net::TcpStream;

use ddns_smb::SmbError;

/// Why a check failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// No connection and no refusal within the timeout.
    #[error("no answer within {0} ms")]
    Timeout(u128),
    /// The connection was refused or failed.
    #[error("connect: {0}")]
    Connect(std::io::Error),
    /// Connected, but the SMB2 NEGOTIATE failed.
    #[error(transparent)]
    Smb(#[from] SmbError),
}

/// Checks `addr` as `check` says.
pub async fn probe(addr: SocketAddr, check: &HealthCheck) -> Result<(), ProbeError> {
    let attempt = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(ProbeError::Connect)?;
        if check.smb {
            ddns_smb::Client::negotiate(&mut stream).await?;
        }
        Ok(())
    };
    tokio::time::timeout(check.timeout, attempt)
        .await
        .unwrap_or(Err(ProbeError::Timeout(check.timeout.as_millis())))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[tokio::test]
    async fn open_closed_and_silent_ports() {
        let check = HealthCheck {
            timeout: Duration::from_millis(300),
            ..HealthCheck::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        probe(open, &check).await.unwrap();

        drop(listener);
        let started = Instant::now();
        let err = probe(open, &check).await.unwrap_err();
        assert!(matches!(err, ProbeError::Connect(_)), "{err}");
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "a reset fails at once"
        );

        // Accepts the connection but never answers the NEGOTIATE: fails at the timeout.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mute = listener.local_addr().unwrap();
        let smb = HealthCheck { smb: true, ..check };
        let started = Instant::now();
        let err = probe(mute, &smb).await.unwrap_err();
        assert!(matches!(err, ProbeError::Timeout(300)), "{err}");
        assert!(started.elapsed() >= Duration::from_millis(300));
        drop(listener);
    }
}
