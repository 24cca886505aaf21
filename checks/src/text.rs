//! Texts in the course's two languages: every "expected", "got" and reason a check
//! writes has an English and a Korean form (`t!`). Depends on nothing else here.

use std::fmt;

/// The language of a report: every text a check writes has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ko,
}

impl Lang {
    /// Korean when `LANG` (or `LC_ALL`, `LC_MESSAGES`) starts with `ko`.
    pub fn from_env() -> Lang {
        for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(v) = std::env::var(var) {
                if !v.is_empty() {
                    return if v.starts_with("ko") { Lang::Ko } else { Lang::En };
                }
            }
        }
        Lang::En
    }
}

/// A text in the course's two languages. Figures, ids, paths and commands are the
/// same in both; a text made from data alone (`From<String>`) is the same in both.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Text {
    pub en: String,
    pub ko: String,
}

impl Text {
    pub fn is_empty(&self) -> bool {
        self.en.is_empty()
    }

    /// Whether the English text contains `pat` (for tests and filters).
    pub fn contains(&self, pat: &str) -> bool {
        self.en.contains(pat)
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Ko => &self.ko,
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text { ko: s.clone(), en: s }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::from(s.to_string())
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::from(s.clone())
    }
}

/// An OS error as the kernel names it (the same in both languages).
impl From<std::io::Error> for Text {
    fn from(e: std::io::Error) -> Text {
        Text::from(e.to_string())
    }
}

/// English, or Korean inside [`in_korean`].
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if KOREAN.with(|k| k.get()) { &self.ko } else { &self.en })
    }
}

/// `t!("english {x}", "한국어 {x}")`: a [`Text`], each language formatted with the
/// same captured values.
#[macro_export]
macro_rules! t {
    ($en:literal, $ko:literal $(, $arg:expr)* $(,)?) => {
        $crate::text::Text { en: format!($en $(, $arg)*), ko: $crate::text::in_korean(|| format!($ko $(, $arg)*)) }
    };
}

thread_local! {
    static KOREAN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every [`Text`] it formats shown in Korean, so that a text made of
/// texts (a failure quoting a run's ending) is Korean all through.
pub fn in_korean<R>(f: impl FnOnce() -> R) -> R {
    let before = KOREAN.with(|k| k.replace(true));
    let r = f();
    KOREAN.with(|k| k.set(before));
    r
}
