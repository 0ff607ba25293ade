//! Configuration errors that point at the file, line and key, so the user can fix them at once.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A configuration file (or flag) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, when the error is in one.
    pub path: Option<PathBuf>,
    /// 1-based line in that file.
    pub line: Option<usize>,
    /// The key (dotted path) at fault, when known.
    pub key: Option<String>,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl ConfigError {
    /// An error not tied to a place in a file (a flag, a missing file).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            path: None,
            line: None,
            key: None,
            message: message.into(),
        }
    }

    /// An error at `span` (byte range) of `source`, about `key`.
    pub fn at(
        source: &str,
        span: Option<Range<usize>>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: None,
            line: span.map(|s| line_of(source, s.start)),
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// Attaches the file path.
    #[must_use]
    pub fn in_file(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    /// Turns a TOML parse or shape error into one with line and key.
    pub fn from_toml(source: &str, error: &toml::de::Error) -> Self {
        let message = error.message().trim().to_owned();
        let key = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let message = if let Some(k) = &key {
            let expected = message
                .split_once(", expected ")
                .map(|(_, e)| format!(" (expected {e})"))
                .unwrap_or_default();
            format!("unknown key `{k}`{expected}")
        } else {
            message
        };
        Self {
            path: None,
            line: error.span().map(|s| line_of(source, s.start)),
            key,
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}", path.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            f.write_str(": ")?;
        } else if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(key) = &self.key
            && !self.message.contains(&format!("`{key}`"))
        {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

fn line_of(source: &str, offset: usize) -> usize {
    source.get(..offset.min(source.len())).map_or(1, |before| {
        before.bytes().filter(|&b| b == b'\n').count() + 1
    })
}
