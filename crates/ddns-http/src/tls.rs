//! HTTPS: the rustls server configuration (aws-lc-rs, TLS 1.2 and 1.3, ALPN `h2` and
//! `http/1.1`) and the certificate it serves, re-read from its files when they change.
//!
//! Every new connection compares the files' size, modification time and inode with what was
//! last read (two `stat`s, far below the cost of the handshake that follows), so a replaced
//! certificate is served from the next connection on, without a restart or a signal. A new
//! pair that cannot be used (unreadable, not PEM, key not matching the certificate, or half
//! written) is logged as an error and the pair in service stays; it is tried again when the
//! files change again.
//!
//! The same store serves ACME certificates ([`crate::acme`] writes the files in the data
//! directory); until the first one exists, handshakes fail and nothing else does.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use arc_swap::ArcSwapOption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate/key pair cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate, or a broken one.
    #[error("{0}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it")]
    NoCertificate(PathBuf),
    /// The key file holds no usable private key.
    #[error("{path}: no usable PEM private key in it ({reason})")]
    NoKey {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The key is not the certificate's, or of a kind we cannot sign with.
    #[error("{key} does not go with {cert}: {reason}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
}

/// The aws-lc-rs provider every TLS configuration here uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// What a file looked like when it was last read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl FileStamp {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        })
    }
}

/// The certificate served on the HTTPS listeners, from a certificate file and a key file.
pub struct Certificates {
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: ArcSwapOption<CertifiedKey>,
    /// The stamps of the pair last tried, good or not; held while a changed pair is read so
    /// concurrent connections read it once.
    seen: Mutex<Option<(FileStamp, FileStamp)>>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("loaded", &self.current.load().is_some())
            .finish_non_exhaustive()
    }
}

impl Certificates {
    /// Reads the pair now; a pair that cannot be used is an error (the server does not start
    /// on a broken configuration).
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Arc<Self>, TlsError> {
        let store = Self::watch(cert_file, key_file);
        let stamps = store.stamps();
        let key = read_pair(&store.cert_file, &store.key_file, &store.provider)?;
        store.current.store(Some(Arc::new(key)));
        *store.seen.lock().unwrap_or_else(PoisonError::into_inner) = stamps;
        Ok(store)
    }

    /// Watches a pair that may not exist yet (ACME before its first certificate): nothing is
    /// served until it does.
    pub fn watch(cert_file: &Path, key_file: &Path) -> Arc<Self> {
        let store = Arc::new(Self {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            provider: provider(),
            current: ArcSwapOption::empty(),
            seen: Mutex::new(None),
        });
        store.refresh();
        store
    }

    /// The pair in service.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }

    fn stamps(&self) -> Option<(FileStamp, FileStamp)> {
        Some((
            FileStamp::of(&self.cert_file)?,
            FileStamp::of(&self.key_file)?,
        ))
    }

    /// Reads the pair again if either file changed since it was last tried; a pair that cannot
    /// be used is logged and the one in service kept.
    pub fn refresh(&self) {
        let Some(stamps) = self.stamps() else {
            return;
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if *seen == Some(stamps) {
            return;
        }
        *seen = Some(stamps);
        match read_pair(&self.cert_file, &self.key_file, &self.provider) {
            Ok(key) => {
                self.current.store(Some(Arc::new(key)));
                tracing::info!(cert = %self.cert_file.display(), "TLS certificate loaded");
            }
            Err(e) => {
                let keeping = if self.current.load().is_some() {
                    "keeping the certificate in service"
                } else {
                    "no certificate to serve yet"
                };
                tracing::error!(error = %e, "new TLS certificate not used; {keeping}");
            }
        }
    }

    /// The rustls server configuration serving this store's certificate.
    pub fn server_config(self: &Arc<Self>) -> Arc<rustls::ServerConfig> {
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12]);
        // Only fails when the provider offers neither version, which aws-lc-rs always does.
        let Ok(builder) = builder else {
            unreachable!("aws-lc-rs supports TLS 1.2 and 1.3")
        };
        let mut config = builder
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }
}

/// Reads and checks a certificate chain and its key.
pub fn read_pair(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let cert_pem = read(cert_file)?;
    let key_pem = read(key_file)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::NoCertificate(cert_file.to_path_buf()))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert_file.to_path_buf()));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::NoKey {
        path: key_file.to_path_buf(),
        reason: e.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| TlsError::Mismatch {
        cert: cert_file.to_path_buf(),
        key: key_file.to_path_buf(),
        reason: e.to_string(),
    })
}
