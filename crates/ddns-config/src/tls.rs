//! The HTTPS part of the server file: `[http] tls`, `redirect_listen` and `plain_listen`, and
//! `[acme]`, validated into [`TlsConfig`] and [`AcmeConfig`].
//!
//! A server either reads its certificate from files (`tls = { cert_file, key_file }`, or the
//! `--tls-cert`/`--tls-key` flags) or obtains one itself through ACME (`[acme]`), not both:
//! two sources for one listener would leave it unclear which certificate is served.

use std::net::SocketAddr;
use std::path::PathBuf;

use ddns_core::DomainName;
use serde::Deserialize;
use toml::Spanned;

use crate::error::ConfigError;

/// `[http] tls = { cert_file = "…", key_file = "…" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsSpec {
    cert_file: Spanned<PathBuf>,
    key_file: Spanned<PathBuf>,
}

/// `[acme]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcmeSpec {
    directory: Spanned<String>,
    email: Option<Spanned<String>>,
    names: Spanned<Vec<Spanned<String>>>,
    directory_ca_file: Option<PathBuf>,
}

/// Where the HTTPS certificate and key come from: PEM files, re-read when they change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// The certificate chain, leaf first (PEM).
    pub cert_file: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// Certificates obtained and renewed automatically (RFC 8555, DNS-01 from our own zones).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeConfig {
    /// The ACME server's directory URL (`https://…`).
    pub directory: String,
    /// Contact address given to the ACME server for the account.
    pub email: Option<String>,
    /// Names on the certificate; each is in a zone served here.
    pub names: Vec<DomainName>,
    /// A CA trusted for the connection to the directory instead of the system roots (a
    /// private ACME server such as step-ca or pebble).
    pub directory_ca_file: Option<PathBuf>,
}

/// `[http] tls` as files.
pub(crate) fn tls_files(spec: &TlsSpec) -> TlsConfig {
    TlsConfig {
        cert_file: spec.cert_file.get_ref().clone(),
        key_file: spec.key_file.get_ref().clone(),
    }
}

/// `[acme]` checked: an `https` directory, a plausible e-mail, at least one name, each in
/// `zones`.
pub(crate) fn acme(
    text: &str,
    spec: &AcmeSpec,
    zones: &[DomainName],
) -> Result<AcmeConfig, ConfigError> {
    let directory = spec.directory.get_ref().trim();
    if !directory.starts_with("https://") {
        return Err(ConfigError::at(
            text,
            Some(spec.directory.span()),
            "acme.directory",
            "must be an https:// URL (e.g. https://acme-v02.api.letsencrypt.org/directory)",
        ));
    }
    let email = match &spec.email {
        Some(e) => {
            let address = e.get_ref().trim();
            let plausible = address
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
                && !address.contains(char::is_whitespace);
            if !plausible {
                return Err(ConfigError::at(
                    text,
                    Some(e.span()),
                    "acme.email",
                    format!("{address:?} is not an e-mail address"),
                ));
            }
            Some(address.to_owned())
        }
        None => None,
    };
    if spec.names.get_ref().is_empty() {
        return Err(ConfigError::at(
            text,
            Some(spec.names.span()),
            "acme.names",
            "needs at least one name",
        ));
    }
    let mut names = Vec::new();
    for n in spec.names.get_ref() {
        let at = |m: String| ConfigError::at(text, Some(n.span()), "acme.names", m);
        let name = DomainName::parse(n.get_ref()).map_err(|e| at(e.to_string()))?;
        if name.is_wildcard() {
            return Err(at(format!(
                "{name}: wildcard names are not supported; list each name"
            )));
        }
        check_served(&name, zones).map_err(at)?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(AcmeConfig {
        directory: directory.to_owned(),
        email,
        names,
        directory_ca_file: spec.directory_ca_file.clone(),
    })
}

/// A certificate name must be in a served zone: its DNS-01 challenge is answered from it.
pub fn check_served(name: &DomainName, zones: &[DomainName]) -> Result<(), String> {
    if zones.iter().any(|z| name.is_at_or_below(z)) {
        Ok(())
    } else {
        Err(format!(
            "{name} is not in a zone served here, so its DNS-01 challenge cannot be answered"
        ))
    }
}

/// `redirect_listen` and `plain_listen` only make sense beside HTTPS.
pub(crate) fn check_plain_listeners(
    text: &str,
    https: bool,
    redirect: &Option<Vec<Spanned<String>>>,
    plain: &Option<Vec<Spanned<String>>>,
) -> Result<(), ConfigError> {
    if https {
        return Ok(());
    }
    for (key, list) in [
        ("http.redirect_listen", redirect),
        ("http.plain_listen", plain),
    ] {
        if let Some(first) = list.as_ref().and_then(|l| l.first()) {
            return Err(ConfigError::at(
                text,
                Some(first.span()),
                key,
                "needs HTTPS: set [http] tls or [acme] (without them `listen` is plain HTTP already)",
            ));
        }
    }
    Ok(())
}

/// Addresses of one listener list must not repeat another's.
pub(crate) fn check_distinct(lists: &[(&str, &[SocketAddr])]) -> Result<(), ConfigError> {
    for (i, (key, addrs)) in lists.iter().enumerate() {
        for addr in *addrs {
            for (other_key, other) in &lists[i + 1..] {
                if addr.port() != 0 && other.contains(addr) {
                    return Err(ConfigError::new(format!(
                        "{addr} is in both `{key}` and `{other_key}`"
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::ServerConfig;
    use crate::error::ConfigError;
    use std::path::PathBuf;

    fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::from_toml(text, PathBuf::from("/tmp/d"))
    }

    #[test]
    fn tls_files_and_plain_listeners() {
        let config = parse(
            "version = 1\n[http]\nlisten = [\"0.0.0.0:443\"]\ntls = { cert_file = \"/etc/ddns/cert.pem\", key_file = \"/etc/ddns/key.pem\" }\nredirect_listen = [\"0.0.0.0:80\"]\nplain_listen = [\"192.168.1.1:8080\"]\n",
        )
        .unwrap();
        let tls = config.http.tls.as_ref().unwrap();
        assert_eq!(tls.cert_file, PathBuf::from("/etc/ddns/cert.pem"));
        assert_eq!(tls.key_file, PathBuf::from("/etc/ddns/key.pem"));
        assert_eq!(config.http.redirect_listen, ["0.0.0.0:80".parse().unwrap()]);
        assert_eq!(
            config.http.plain_listen,
            ["192.168.1.1:8080".parse().unwrap()]
        );
        assert!(config.https());
        assert!(!parse("version = 1\n").unwrap().https());
    }

    #[test]
    fn acme_section() {
        let config = parse(
            "version = 1\n[[zone]]\nname = \"dyn.example.com\"\n[acme]\ndirectory = \"https://acme.example/dir\"\nemail = \"ops@example.com\"\nnames = [\"dyn.example.com\", \"API.dyn.example.com\", \"api.dyn.example.com\"]\n",
        )
        .unwrap();
        let acme = config.acme.unwrap();
        assert_eq!(acme.directory, "https://acme.example/dir");
        assert_eq!(acme.email.as_deref(), Some("ops@example.com"));
        let names: Vec<&str> = acme.names.iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["dyn.example.com", "api.dyn.example.com"]);
        assert_eq!(acme.directory_ca_file, None);
    }

    #[test]
    fn errors_name_key_and_line() {
        let zone = "[[zone]]\nname = \"z.example\"\n";
        for (text, line, key) in [
            (
                "[http]\ntls = { cert_file = \"a\", key = \"b\" }\n".to_owned(),
                3,
                Some("key"),
            ),
            ("[http]\ntls = { cert_file = \"a\" }\n".to_owned(), 3, None),
            (
                "[http]\nredirect_listen = [\"0.0.0.0:80\"]\n".to_owned(),
                3,
                Some("http.redirect_listen"),
            ),
            (
                "[http]\n\nplain_listen = [\"0.0.0.0:80\"]\n".to_owned(),
                4,
                Some("http.plain_listen"),
            ),
            (
                "[http]\ntls = { cert_file = \"a\", key_file = \"b\" }\nredirect_listen = [\"nope\"]\n"
                    .to_owned(),
                4,
                Some("http.redirect_listen"),
            ),
            (
                format!("{zone}[acme]\ndirectory = \"http://acme.example/dir\"\nnames = [\"z.example\"]\n"),
                5,
                Some("acme.directory"),
            ),
            (
                format!("{zone}[acme]\ndirectory = \"https://a.example/dir\"\nnames = [\"other.example\"]\n"),
                6,
                Some("acme.names"),
            ),
            (
                format!("{zone}[acme]\ndirectory = \"https://a.example/dir\"\nnames = []\n"),
                6,
                Some("acme.names"),
            ),
            (
                format!("{zone}[acme]\ndirectory = \"https://a.example/dir\"\nemail = \"nobody\"\nnames = [\"z.example\"]\n"),
                6,
                Some("acme.email"),
            ),
            (
                format!("{zone}[acme]\ndirectory = \"https://a.example/dir\"\nnames = [\"*.z.example\"]\n"),
                6,
                Some("acme.names"),
            ),
            (
                format!("{zone}[acme]\ndirectory = \"https://a.example/dir\"\nnames = [\"z.example\"]\nrenew = 1\n"),
                7,
                Some("renew"),
            ),
            (
                format!("[http]\ntls = {{ cert_file = \"a\", key_file = \"b\" }}\n{zone}[acme]\ndirectory = \"https://a.example/dir\"\nnames = [\"z.example\"]\n"),
                3,
                Some("http.tls"),
            ),
        ] {
            let err = parse(&format!("version = 1\n{text}")).unwrap_err();
            assert_eq!(
                (err.line, err.key.as_deref()),
                (Some(line), key),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn flags_give_the_certificate_and_check_acme_names() {
        let mut config = parse("version = 1\n").unwrap();
        config
            .apply_overrides(&crate::ServerOverrides {
                tls: Some(super::TlsConfig {
                    cert_file: "c.pem".into(),
                    key_file: "k.pem".into(),
                }),
                ..crate::ServerOverrides::default()
            })
            .unwrap();
        assert!(config.https());
        let mut acme = parse(
            "version = 1\n[[zone]]\nname = \"z.example\"\n[acme]\ndirectory = \"https://a.example/dir\"\nnames = [\"z.example\"]\n",
        )
        .unwrap();
        let err = acme
            .clone()
            .apply_overrides(&crate::ServerOverrides {
                zones: vec!["other.example".into()],
                ..crate::ServerOverrides::default()
            })
            .unwrap_err();
        assert!(
            err.to_string().contains("z.example is not in a zone"),
            "{err}"
        );
        let err = acme
            .apply_overrides(&crate::ServerOverrides {
                tls: Some(super::TlsConfig {
                    cert_file: "c.pem".into(),
                    key_file: "k.pem".into(),
                }),
                ..crate::ServerOverrides::default()
            })
            .unwrap_err();
        assert!(err.to_string().contains("[acme]"), "{err}");
    }
}
