//! Sealed secrets in config text (`"enc:key:…"`, `"enc:dpapi:…"` from `ddns secret protect`),
//! opened before the text is parsed, for the server's and the agent's files alike, so a sealed
//! value is usable wherever a string goes. A value that does not open is an error at its line.

use std::path::PathBuf;

use crate::ConfigError;

/// `text` with every sealed value opened; the key file is `$DDNS_SECRET_KEY_FILE` as `env`
/// tells, else `secret.key` in the default data directory.
pub fn open_sealed(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    if !text.contains("enc:") {
        return Ok(text.to_owned());
    }
    let key_file = env(ddns_secrets::KEY_FILE_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(
            || ddns_platform::default_data_dir().join(ddns_secrets::KEY_FILE_NAME),
            PathBuf::from,
        );
    ddns_secrets::open_in_text(text, &key_file)
        .map_err(|(range, e)| ConfigError::at(text, Some(range), "enc:", e.to_string()))
}
