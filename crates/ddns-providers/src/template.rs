//! A tiny text template language for webhook requests and the agent's notifications.
//!
//! ```text
//! https://hooks.example.com/ddns?host={name}&ip={ipv4}
//! {{"host": "{name|json}", "addresses": "{ip|json}"}}
//! ```
//! - `{var}` inserts a variable; `{var|filter}` passes it through a filter first
//!   (`{var|json|url}` chains them left to right);
//! - `{{` and `}}` are literal braces — a JSON body needs them for its own braces;
//! - variables: [`STANDARD_VARIABLES`] plus whatever names the caller allows; a variable
//!   without a value renders as the empty string (`{ipv6}` when IPv6 is left alone);
//! - filters: `url` percent-encodes everything but RFC 3986 unreserved characters, `json`
//!   escapes for the inside of a JSON string (no quotes added), `raw` inserts as is.
//!
//! Templates are checked when they are parsed, so a typo in a placeholder or filter is a
//! configuration error at start-up, never a broken request at 3 a.m.
//!
//! Escaping depends on where the text goes ([`Context`]): in a URL every placeholder without
//! a filter is percent-encoded (`raw` opts out); in headers and bodies nothing is escaped
//! automatically. A JSON body must therefore quote and escape its values itself —
//! `"{message|json}"` — because the engine cannot know which part of the body is a string.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::provider::{Update, join_addresses};

/// Variables every template may use.
///
/// - `ip`: all addresses, comma-separated, IPv4 first; `ipv4` / `ipv6`: one family's;
/// - `name`: the record's name; `ttl`: the TTL in seconds, when one is set;
/// - `provider`: the provider's name; `event`: what happened (`update`, or the agent's
///   notification event); `message`: a one-line summary; `time`: RFC 3339 UTC.
pub const STANDARD_VARIABLES: [&str; 9] = [
    "ip", "ipv4", "ipv6", "name", "ttl", "provider", "event", "message", "time",
];

/// A parsed, validated template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Value { name: String, filters: Vec<Filter> },
}

/// A transformation applied to a value before it is inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Insert as is.
    Raw,
    /// Percent-encode all but `A-Z a-z 0-9 - . _ ~` (RFC 3986 §2.3).
    Url,
    /// Escape for the inside of a JSON string (RFC 8259 §7), without the quotes.
    Json,
}

impl Filter {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "raw" => Some(Self::Raw),
            "url" => Some(Self::Url),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    fn apply(self, value: &str) -> String {
        match self {
            Self::Raw => value.to_owned(),
            Self::Url => percent_encode(value),
            Self::Json => json_escape(value),
        }
    }
}

/// Where a rendered template goes, which decides the escaping of unfiltered placeholders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Header values, bodies, notification text: nothing is escaped unless a filter says so.
    Text,
    /// A URL: unfiltered placeholders are percent-encoded.
    Url,
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// Braces around something that is not a placeholder, such as JSON's own braces.
    #[error(
        "{{{text}}} at character {position} is not a placeholder; write '{{{{' and '}}}}' for literal braces, as a JSON body needs"
    )]
    NotAPlaceholder {
        /// What stands between the braces.
        text: String,
        /// 1-based character position of the `{`.
        position: usize,
    },
    /// A placeholder names a variable that does not exist.
    #[error(
        "unknown placeholder {{{name}}} at character {position}; known placeholders are {known}"
    )]
    UnknownVariable {
        /// The name as written.
        name: String,
        /// 1-based character position of the `{`.
        position: usize,
        /// The allowed names, comma-separated.
        known: String,
    },
    /// A placeholder asks for a filter that does not exist.
    #[error("unknown filter {filter:?} at character {position}; filters are raw, url and json")]
    UnknownFilter {
        /// The filter as written.
        filter: String,
        /// 1-based character position of the `{`.
        position: usize,
    },
    /// A `{` without its `}`.
    #[error("the '{{' at character {position} is not closed; write '{{{{' for a literal brace")]
    Unclosed {
        /// 1-based character position of the `{`.
        position: usize,
    },
    /// A `}` outside a placeholder.
    #[error("the '}}' at character {position} closes nothing; write '}}}}' for a literal brace")]
    StrayClose {
        /// 1-based character position of the `}`.
        position: usize,
    },
}

/// Variable values for rendering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Variables(BTreeMap<String, String>);

impl Variables {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a value, replacing an earlier one.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.0.insert(name.into(), value.into());
        self
    }

    /// The value of a variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The standard variables for an update: `ip`, `ipv4`, `ipv6` (families left alone are
    /// not set), `name`, `ttl` (when set), `provider`, `event`, `time` (now), and `message`
    /// summarising the update (`home.example.com → 192.0.2.1, 2001:db8::1`).
    pub fn for_update(update: &Update, provider: &str, event: &str) -> Self {
        let mut vars = Self::new();
        let all = update.addresses();
        vars.set("ip", join_addresses(&all))
            .set("name", update.hostname.as_str())
            .set("provider", provider)
            .set("event", event)
            .set("time", now_rfc3339());
        if let Some(v4) = &update.ipv4 {
            vars.set("ipv4", join_addresses(v4));
        }
        if let Some(v6) = &update.ipv6 {
            vars.set("ipv6", join_addresses(v6));
        }
        if let Some(ttl) = update.ttl {
            vars.set("ttl", ttl.to_string());
        }
        let list: Vec<String> = all.iter().map(ToString::to_string).collect();
        vars.set(
            "message",
            format!("{} → {}", update.hostname, list.join(", ")),
        );
        vars
    }
}

/// The current time as RFC 3339 UTC, to the second.
fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Template {
    /// Parses a template that may use [`STANDARD_VARIABLES`] and the `extra` names.
    pub fn parse(source: &str, extra: &[&str]) -> Result<Self, TemplateError> {
        let known = |name: &str| STANDARD_VARIABLES.contains(&name) || extra.contains(&name);
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().enumerate().peekable();
        while let Some((index, c)) = chars.next() {
            let position = index + 1;
            match c {
                '{' if chars.next_if(|(_, c)| *c == '{').is_some() => text.push('{'),
                '}' if chars.next_if(|(_, c)| *c == '}').is_some() => text.push('}'),
                '}' => return Err(TemplateError::StrayClose { position }),
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, '{')) | None => {
                                return Err(TemplateError::Unclosed { position });
                            }
                            Some((_, c)) => inner.push(c),
                        }
                    }
                    let is_word = |s: &str| {
                        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    };
                    if !inner.split('|').all(is_word) {
                        return Err(TemplateError::NotAPlaceholder {
                            text: inner,
                            position,
                        });
                    }
                    let mut pieces = inner.split('|');
                    let name = pieces.next().unwrap_or_default();
                    if !known(name) {
                        let mut all: Vec<&str> = STANDARD_VARIABLES.to_vec();
                        for e in extra {
                            if !all.contains(e) {
                                all.push(e);
                            }
                        }
                        return Err(TemplateError::UnknownVariable {
                            name: name.to_owned(),
                            position,
                            known: all.join(", "),
                        });
                    }
                    let filters = pieces
                        .map(|f| {
                            Filter::parse(f).ok_or_else(|| TemplateError::UnknownFilter {
                                filter: f.to_owned(),
                                position,
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Value {
                        name: name.to_owned(),
                        filters,
                    });
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template contains no placeholder.
    pub fn is_constant(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// Renders the template; missing variables render as the empty string.
    pub fn render(&self, vars: &Variables, context: Context) -> String {
        let mut out = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Value { name, filters } => {
                    let value = vars.get(name).unwrap_or_default();
                    if filters.is_empty() {
                        match context {
                            Context::Url => out.push_str(&percent_encode(value)),
                            Context::Text => out.push_str(value),
                        }
                    } else {
                        let value = filters
                            .iter()
                            .fold(value.to_owned(), |acc, filter| filter.apply(&acc));
                        out.push_str(&value);
                    }
                }
            }
        }
        out
    }
}

/// Percent-encodes every byte outside the RFC 3986 unreserved set.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Escapes a string for the inside of a JSON string literal.
pub fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::from(value).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Variables {
        let mut v = Variables::new();
        v.set("name", "home.example.com")
            .set("ipv4", "192.0.2.1")
            .set("ipv6", "2001:db8::1")
            .set("ip", "192.0.2.1,2001:db8::1")
            .set("message", "say \"hi\"\n& bye");
        v
    }

    fn render(src: &str, context: Context) -> String {
        Template::parse(src, &[]).unwrap().render(&vars(), context)
    }

    #[test]
    fn placeholders_and_filters() {
        assert_eq!(
            render("{name} is {ipv4}", Context::Text),
            "home.example.com is 192.0.2.1"
        );
        assert_eq!(render("{ipv6|url}", Context::Text), "2001%3Adb8%3A%3A1");
        assert_eq!(
            render("{message|json}", Context::Text),
            "say \\\"hi\\\"\\n& bye"
        );
        assert_eq!(
            render("{message|json|url}", Context::Text),
            "say%20%5C%22hi%5C%22%5Cn%26%20bye"
        );
        assert_eq!(render("[{ttl}]", Context::Text), "[]");
    }

    #[test]
    fn urls_encode_unless_raw() {
        assert_eq!(
            render("https://h/u?ip={ip}&n={name}", Context::Url),
            "https://h/u?ip=192.0.2.1%2C2001%3Adb8%3A%3A1&n=home.example.com"
        );
        assert_eq!(
            render("https://h/u?ip={ip|raw}", Context::Url),
            "https://h/u?ip=192.0.2.1,2001:db8::1"
        );
    }

    #[test]
    fn literal_braces() {
        assert_eq!(
            render(r#"{{"host": "{name|json}", "n": {{}}}}"#, Context::Text),
            r#"{"host": "home.example.com", "n": {}}"#
        );
        assert_eq!(render("{{name}}", Context::Text), "{name}");
        assert!(Template::parse("{{}}", &[]).unwrap().is_constant());
    }

    #[test]
    fn errors_name_the_problem() {
        let err = Template::parse("ip={adress}", &[]).unwrap_err();
        assert!(
            matches!(&err, TemplateError::UnknownVariable { name, position: 4, .. } if name == "adress")
        );
        assert!(err.to_string().contains("{adress}"), "{err}");
        assert!(err.to_string().contains("ipv4"), "{err}");
        let err = Template::parse("{ip|base64}", &[]).unwrap_err();
        assert!(
            matches!(err, TemplateError::UnknownFilter { ref filter, position: 1 } if filter == "base64")
        );
        assert_eq!(
            Template::parse("a { b", &[]).unwrap_err(),
            TemplateError::Unclosed { position: 3 }
        );
        assert_eq!(
            Template::parse("{ip{", &[]).unwrap_err(),
            TemplateError::Unclosed { position: 1 }
        );
        assert_eq!(
            Template::parse("a } b", &[]).unwrap_err(),
            TemplateError::StrayClose { position: 3 }
        );
        for not_one in ["{}", "{ ip }", "{ip|}", r#"{"a": 1}"#] {
            let err = Template::parse(not_one, &[]).unwrap_err();
            assert!(
                matches!(err, TemplateError::NotAPlaceholder { position: 1, .. }),
                "{not_one}: {err}"
            );
            assert!(err.to_string().contains("'{{'"), "{err}");
        }
    }

    #[test]
    fn extra_variables() {
        assert!(Template::parse("{attempt}", &[]).is_err());
        let t = Template::parse("try {attempt}", &["attempt"]).unwrap();
        let mut v = Variables::new();
        v.set("attempt", "3");
        assert_eq!(t.render(&v, Context::Text), "try 3");
        let err = Template::parse("{nope}", &["attempt"]).unwrap_err();
        assert!(err.to_string().ends_with("time, attempt"), "{err}");
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(
            Template::parse("ü}", &[]).unwrap_err(),
            TemplateError::StrayClose { position: 2 }
        );
    }

    proptest::proptest! {
        #[test]
        fn escaping_braces_round_trips(s in "\\PC*") {
            let escaped = s.replace('{', "{{").replace('}', "}}");
            let t = Template::parse(&escaped, &[]).unwrap();
            proptest::prop_assert_eq!(t.render(&Variables::new(), Context::Text), s);
        }

        #[test]
        fn url_filter_output_is_unreserved(s in "\\PC*") {
            let out = percent_encode(&s);
            proptest::prop_assert!(out.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
        }

        #[test]
        fn json_filter_output_parses_back(s in "\\PC*") {
            let quoted = format!("\"{}\"", json_escape(&s));
            let back: String = serde_json::from_str(&quoted).unwrap();
            proptest::prop_assert_eq!(back, s);
        }
    }
}
