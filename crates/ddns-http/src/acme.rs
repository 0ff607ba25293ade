//! ACME (RFC 8555) for the server's own certificate, answered with DNS-01 from its own zones.
//!
//! With `[acme]` configured, [`run`] keeps a certificate for `names` in the data directory
//! (`acme/cert.pem`, `acme/key.pem`, the account in `acme/account.json`; secrets 0600) and the
//! HTTPS listeners serve it through the same [`Certificates`] store that watches configured
//! files, so a renewal is picked up by the next connection. One round:
//!
//! 1. the account is read from the data directory, or created (RFC 8555 §7.3);
//! 2. an order for every name (§7.4); for each pending authorization the
//!    `_acme-challenge.NAME TXT` record (RFC 8555 §8.4) is written through the ordinary write
//!    path ([`Zones::update_own_rrsets`], so it is journaled, in history as `acme`, and sent
//!    to secondaries like any change), and the challenge is answered once the published DNS
//!    snapshot holds it;
//! 3. the order is finalized with a new key's CSR, the chain downloaded and stored;
//! 4. the TXT records are removed, whether or not the order succeeded.
//!
//! A certificate is renewed when less than a third of its lifetime is left (Let's Encrypt's
//! advice), or at once when `names` changed; a failed round is retried with exponential backoff
//! from 30 s to 6 h.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ddns_config::tls::AcmeConfig;
use ddns_core::{Actor, DomainName, Rtype};
use ddns_zones::{RrsetIntent, UpdateError, Zones};
use instant_acme::{
    Account, AccountBuilder, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier,
    NewAccount, NewOrder, Order, OrderStatus, RetryPolicy,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::tls::Certificates;

/// TTL of the challenge records: resolvers should not keep an old token long.
const CHALLENGE_TTL: u32 = 60;
/// How long a written challenge may take to reach the published snapshot.
const PUBLISH_WAIT: Duration = Duration::from_secs(10);
/// First and longest wait after a failed round.
const RETRY_FIRST: Duration = Duration::from_secs(30);
const RETRY_MAX: Duration = Duration::from_secs(6 * 3600);
/// The certificate is looked at again at least this often (a clock jump, a file replaced).
const CHECK_MAX: Duration = Duration::from_secs(12 * 3600);
/// How long the ACME server may take to validate the challenges and to issue.
const ORDER_TIMEOUT: Duration = Duration::from_secs(90);

/// Where the ACME state lives in the data directory.
#[derive(Clone, Debug)]
pub struct AcmeFiles {
    /// `DATA_DIR/acme`.
    pub dir: PathBuf,
    /// The account: its id and private key (0600).
    pub account: PathBuf,
    /// The certificate's private key (0600).
    pub key: PathBuf,
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The names the certificate was ordered for, one a line.
    pub names: PathBuf,
}

impl AcmeFiles {
    /// The files under `data_dir`.
    pub fn in_dir(data_dir: &Path) -> Self {
        let dir = data_dir.join("acme");
        Self {
            account: dir.join("account.json"),
            key: dir.join("key.pem"),
            cert: dir.join("cert.pem"),
            names: dir.join("names"),
            dir,
        }
    }
}

/// Why a round did not produce a certificate.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The ACME server refused something, or could not be reached.
    #[error("ACME: {0}")]
    Protocol(#[from] instant_acme::Error),
    /// A challenge record could not be written.
    #[error("cannot publish the DNS-01 challenge: {0}")]
    Publish(#[from] UpdateError),
    /// A file in the data directory could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The order went somewhere it should not.
    #[error("{0}")]
    Order(String),
}

/// The account as stored: the directory it belongs to beside its credentials, so a changed
/// `directory` makes a new account.
#[derive(Serialize, Deserialize)]
struct StoredAccount {
    directory: String,
    credentials: AccountCredentials,
}

/// Keeps the certificate for `config.names` obtained and fresh until `stop` fires.
pub async fn run(
    config: AcmeConfig,
    files: AcmeFiles,
    zones: Arc<Zones>,
    certificates: Arc<Certificates>,
    stop: CancellationToken,
) {
    // instant-acme's client builds its rustls configuration from the process default.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut backoff = RETRY_FIRST;
    loop {
        let wait = match renewal_wait(&files, &config.names, SystemTime::now()) {
            Some(wait) if !wait.is_zero() => {
                backoff = RETRY_FIRST;
                wait.min(CHECK_MAX)
            }
            _ => {
                let round = tokio::select! {
                    () = stop.cancelled() => return,
                    round = obtain(&config, &files, &zones) => round,
                };
                match round {
                    Ok(()) => {
                        certificates.refresh();
                        let names: Vec<&str> =
                            config.names.iter().map(DomainName::as_str).collect();
                        tracing::info!(names = %names.join(","), "ACME certificate obtained");
                        backoff = RETRY_FIRST;
                        renewal_wait(&files, &config.names, SystemTime::now())
                            .filter(|w| !w.is_zero())
                            .unwrap_or(RETRY_FIRST)
                            .min(CHECK_MAX)
                    }
                    Err(e) => {
                        tracing::error!(error = %e, retry_in_secs = backoff.as_secs(), "ACME certificate not obtained");
                        let wait = backoff;
                        backoff = (backoff * 2).min(RETRY_MAX);
                        wait
                    }
                }
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// How long until the stored certificate should be renewed (zero: now), or `None` when there
/// is none for these names.
fn renewal_wait(files: &AcmeFiles, names: &[DomainName], now: SystemTime) -> Option<Duration> {
    let stored = std::fs::read_to_string(&files.names).ok()?;
    if stored.lines().ne(names.iter().map(DomainName::as_str)) {
        return None;
    }
    let pem = std::fs::read(&files.cert).ok()?;
    let leaf = CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
    let (not_before, not_after) = crate::validity::validity(&leaf)?;
    Some(
        renew_after(not_before, not_after)
            .duration_since(now)
            .unwrap_or_default(),
    )
}

/// When two thirds of the lifetime have passed.
fn renew_after(not_before: SystemTime, not_after: SystemTime) -> SystemTime {
    let lifetime = not_after.duration_since(not_before).unwrap_or_default();
    not_after - lifetime / 3
}

/// One round: order, answer, finalize, store; the challenge records removed in every case.
async fn obtain(config: &AcmeConfig, files: &AcmeFiles, zones: &Zones) -> Result<(), AcmeError> {
    let account = account(config, files).await?;
    let identifiers: Vec<Identifier> = config
        .names
        .iter()
        .map(|n| Identifier::Dns(n.as_str().to_owned()))
        .collect();
    let mut order = match account.new_order(&NewOrder::new(&identifiers)).await {
        Ok(order) => order,
        Err(e) => {
            if let instant_acme::Error::Api(problem) = &e
                && problem
                    .r#type
                    .as_deref()
                    .is_some_and(|t| t.ends_with(":accountDoesNotExist"))
            {
                // The server forgot the account (a test CA restarted): make a new one next round.
                let _ = std::fs::remove_file(&files.account);
            }
            return Err(e.into());
        }
    };
    let mut published = Vec::new();
    let mut result = answer_challenges(&mut order, zones, &mut published).await;
    if result.is_ok() {
        result = finish(&mut order, files, &config.names).await;
    }
    for owner in &published {
        if let Err(e) = set_challenge(zones, owner, None).await {
            tracing::warn!(name = %owner, error = %e, "ACME challenge record not removed");
        }
    }
    result
}

/// The stored account for this directory, or a new one (stored at once).
async fn account(config: &AcmeConfig, files: &AcmeFiles) -> Result<Account, AcmeError> {
    if let Ok(text) = std::fs::read(&files.account)
        && let Ok(stored) = serde_json::from_slice::<StoredAccount>(&text)
        && stored.directory == config.directory
    {
        return Ok(builder(config)?
            .from_credentials(stored.credentials)
            .await?);
    }
    let contact = config.email.as_ref().map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, credentials) = builder(config)?
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            config.directory.clone(),
            None,
        )
        .await?;
    let stored = StoredAccount {
        directory: config.directory.clone(),
        credentials,
    };
    let json = serde_json::to_vec(&stored).map_err(|e| AcmeError::Order(e.to_string()))?;
    write_file(files, &files.account, &json)?;
    Ok(account)
}

fn builder(config: &AcmeConfig) -> Result<AccountBuilder, AcmeError> {
    Ok(match &config.directory_ca_file {
        Some(ca) => Account::builder_with_root(ca)?,
        None => Account::builder()?,
    })
}

/// Publishes the DNS-01 record of every pending authorization and answers its challenge;
/// `published` collects the owners written, for removal.
async fn answer_challenges(
    order: &mut Order,
    zones: &Zones,
    published: &mut Vec<DomainName>,
) -> Result<(), AcmeError> {
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization?;
        match authorization.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => {
                return Err(AcmeError::Order(format!(
                    "an authorization is {other:?}, not pending"
                )));
            }
        }
        let mut challenge = authorization
            .challenge(ChallengeType::Dns01)
            .ok_or_else(|| AcmeError::Order("the ACME server offers no dns-01 challenge".into()))?;
        let name = challenge.identifier().to_string();
        // RFC 8555 §8.4: the record is at "_acme-challenge." + the identifier's name.
        let owner = DomainName::parse(&format!("_acme-challenge.{name}"))
            .map_err(|e| AcmeError::Order(format!("{name}: {e}")))?;
        let value = challenge.key_authorization().dns_value();
        published.push(owner.clone());
        set_challenge(zones, &owner, Some(&value)).await?;
        challenge.set_ready().await?;
    }
    Ok(())
}

/// Waits for the order, finalizes it with a new key and stores key, chain and names.
async fn finish(
    order: &mut Order,
    files: &AcmeFiles,
    names: &[DomainName],
) -> Result<(), AcmeError> {
    let retries = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .timeout(ORDER_TIMEOUT);
    let status = order.poll_ready(&retries).await?;
    if status != OrderStatus::Ready {
        return Err(AcmeError::Order(format!(
            "the order is {status:?}, not ready (a challenge failed?)"
        )));
    }
    let key_pem = order.finalize().await?;
    let chain_pem = order.poll_certificate(&retries).await?;
    write_file(files, &files.key, key_pem.as_bytes())?;
    write_file(files, &files.cert, chain_pem.as_bytes())?;
    let list: Vec<&str> = names.iter().map(DomainName::as_str).collect();
    write_file(files, &files.names, list.join("\n").as_bytes())?;
    Ok(())
}

/// Writes or removes `owner TXT value` and waits until the published snapshot shows it.
async fn set_challenge(
    zones: &Zones,
    owner: &DomainName,
    value: Option<&str>,
) -> Result<(), AcmeError> {
    let intent = RrsetIntent {
        name: owner.clone(),
        rtype: Rtype::TXT,
        values: value.map(|v| vec![v.to_owned()]),
        ttl: Some(CHALLENGE_TTL),
        view: None,
    };
    zones.update_own_rrsets(Actor::Acme, &[intent]).await?;
    let served = || {
        let zone = zones.zone_of(owner)?;
        let snapshot = zones.snapshot();
        let node_has_txt = snapshot
            .get(&zone.name)?
            .node(&owner.to_wire())?
            .rrset(Rtype::TXT)
            .is_some();
        node_has_txt.then_some(())
    };
    let deadline = tokio::time::Instant::now() + PUBLISH_WAIT;
    while served().is_some() != value.is_some() {
        if tokio::time::Instant::now() >= deadline {
            return Err(AcmeError::Order(format!(
                "{owner} TXT not published within {} s",
                PUBLISH_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Writes `path` in the ACME directory atomically (a temporary file renamed over it), owner
/// read/write only: the account and certificate keys are secrets.
fn write_file(files: &AcmeFiles, path: &Path, bytes: &[u8]) -> Result<(), AcmeError> {
    use std::io::Write as _;
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AcmeError::File { path, source }
    };
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
    dir.create(&files.dir).map_err(err(&files.dir))?;
    let temp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp).map_err(err(&temp))?;
    file.write_all(bytes).map_err(err(&temp))?;
    file.sync_all().map_err(err(&temp))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_with_a_third_of_the_lifetime_left() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let end = start + Duration::from_secs(90 * 86_400);
        assert_eq!(
            renew_after(start, end),
            start + Duration::from_secs(60 * 86_400)
        );
    }

    #[test]
    fn no_certificate_or_other_names_means_order_now() {
        let dir = tempfile::tempdir().unwrap();
        let files = AcmeFiles::in_dir(dir.path());
        let names = vec![DomainName::parse("a.example").unwrap()];
        assert_eq!(renewal_wait(&files, &names, SystemTime::now()), None);
        let mut params = rcgen::CertificateParams::new(vec!["a.example".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2026, 1, 1);
        params.not_after = rcgen::date_time_ymd(2026, 4, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        write_file(&files, &files.cert, cert.pem().as_bytes()).unwrap();
        write_file(&files, &files.names, b"a.example").unwrap();
        let jan = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_312_000);
        let wait = renewal_wait(&files, &names, jan).unwrap();
        assert!(
            wait > Duration::from_secs(55 * 86_400) && wait < Duration::from_secs(60 * 86_400),
            "{wait:?}"
        );
        let other = vec![DomainName::parse("b.example").unwrap()];
        assert_eq!(renewal_wait(&files, &other, jan), None);
        let late = SystemTime::UNIX_EPOCH + Duration::from_secs(1_775_000_000);
        assert_eq!(renewal_wait(&files, &names, late), Some(Duration::ZERO));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&files.cert).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
