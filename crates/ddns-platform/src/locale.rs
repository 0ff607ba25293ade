//! Which language console messages are in (English or Simplified Chinese), decided from the
//! POSIX locale variables everywhere, and on Windows from the user's default locale when none
//! is set.
//!
//! POSIX.1-2017 §8.2: LC_ALL overrides LC_MESSAGES, which overrides LANG; an empty value
//! counts as unset.

/// A language of console messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    /// English (the default).
    English,
    /// Simplified Chinese.
    Chinese,
}

/// The language for the locale variables `lc_all`, `lc_messages` and `lang` (as read from the
/// environment), falling back to the system's locale name (`zh-CN`, `en-US`) when none is
/// set. A locale starting with `zh` is Chinese; any other is English.
pub fn language_from(
    lc_all: Option<&str>,
    lc_messages: Option<&str>,
    lang: Option<&str>,
    system: Option<&str>,
) -> Language {
    let chosen = [lc_all, lc_messages, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .or(system);
    match chosen {
        Some(l) if l.to_ascii_lowercase().starts_with("zh") => Language::Chinese,
        _ => Language::English,
    }
}

/// The language of this process's user.
pub fn user_language() -> Language {
    let var = |name| std::env::var(name).ok();
    language_from(
        var("LC_ALL").as_deref(),
        var("LC_MESSAGES").as_deref(),
        var("LANG").as_deref(),
        system_locale().as_deref(),
    )
}

#[cfg(not(windows))]
fn system_locale() -> Option<String> {
    None
}

/// The user's default locale name (`zh-CN`) from GetUserDefaultLocaleName.
#[cfg(windows)]
#[allow(unsafe_code)]
fn system_locale() -> Option<String> {
    use windows_sys::Win32::Globalization::GetUserDefaultLocaleName;
    // LOCALE_NAME_MAX_LENGTH is 85 UTF-16 units, the terminating zero included.
    let mut buf = [0u16; 85];
    // SAFETY: the pointer and length describe `buf`, which outlives the call; the function
    // writes at most that many units and returns how many (0 on failure).
    let len = unsafe { GetUserDefaultLocaleName(buf.as_mut_ptr(), buf.len() as i32) };
    let len = usize::try_from(len).ok()?.checked_sub(1)?;
    String::from_utf16(buf.get(..len)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_precedence_then_the_system() {
        use Language::{Chinese, English};
        assert_eq!(language_from(None, None, None, None), English);
        assert_eq!(
            language_from(None, None, Some("zh_CN.UTF-8"), None),
            Chinese
        );
        assert_eq!(
            language_from(Some("C"), None, Some("zh_CN.UTF-8"), None),
            English
        );
        assert_eq!(
            language_from(Some(""), Some("zh_TW"), Some("en_US"), None),
            Chinese
        );
        assert_eq!(
            language_from(None, Some("en_GB"), Some("zh_CN"), None),
            English
        );
        assert_eq!(language_from(None, None, None, Some("zh-CN")), Chinese);
        assert_eq!(
            language_from(None, None, Some("en_US.UTF-8"), Some("zh-CN")),
            English
        );
        assert_eq!(language_from(None, None, None, Some("ZH-Hans")), Chinese);
    }
}
