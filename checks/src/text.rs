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

/// A yes or no as a person writes it: "true" / "false" in English (as the probe's
/// lines say), "예" / "아니요" in Korean.
pub fn yes_no(b: bool) -> Text {
    Text {
        en: b.to_string(),
        ko: (if b { "예" } else { "아니요" }).into(),
    }
}

/// A value that may be missing, as a person writes it: the value, or "none" / "없음"
/// (never Rust's `Some(…)` / `None`).
pub fn opt<T: fmt::Display>(v: Option<T>) -> Text {
    match v {
        Some(v) => Text::from(v.to_string()),
        None => Text {
            en: "none".into(),
            ko: "없음".into(),
        },
    }
}

/// Values joined with ", ", each as [`opt`] shows it; "none" / "없음" when empty.
pub fn list<T: fmt::Display>(v: impl IntoIterator<Item = T>) -> Text {
    let items: Vec<String> = v.into_iter().map(|x| x.to_string()).collect();
    if items.is_empty() {
        opt(None::<String>)
    } else {
        Text::from(items.join(", "))
    }
}

/// `t!("english {x}", "한국어 {x}")`: a [`Text`], each language formatted with the
/// same captured values.
#[macro_export]
macro_rules! t {
    ($en:literal, $ko:literal $(, $arg:expr)* $(,)?) => {
        $crate::text::Text { en: format!($en $(, $arg)*), ko: $crate::text::particles(&$crate::text::in_korean(|| format!($ko $(, $arg)*))) }
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

/// How a word ends when read aloud in Korean, which picks its particle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// No final consonant: 가, 를, 는, 와, 로.
    Vowel,
    /// A final ㄹ: 이, 을, 은, 과, but 로.
    Rieul,
    /// Another final consonant: 이, 을, 은, 과, 으로.
    Consonant,
}

/// How `word` ends when read aloud: a Hangul syllable by its final consonant, a
/// digit as Sino-Korean (일, 이, 삼: every number ending in 0 is read 십, 백, 천, 만
/// or 영), an acronym by its last letter's name (엘, 엠, 엔, 알), another Latin word
/// by its usual loanword (`cgroup` 그룹, `SIGKILL` 킬, `mount` 마운트). Closing quotes,
/// backticks and brackets are looked through.
fn ending(word: &str) -> Ending {
    let w = word.trim_end_matches(|c: char| !c.is_alphanumeric());
    let Some(last) = w.chars().next_back() else {
        return Ending::Vowel;
    };
    if ('가'..='힣').contains(&last) {
        return match (last as u32 - '가' as u32) % 28 {
            0 => Ending::Vowel,
            8 => Ending::Rieul,
            _ => Ending::Consonant,
        };
    }
    if let Some(d) = last.to_digit(10) {
        return match d {
            1 | 7 | 8 => Ending::Rieul,
            0 | 3 | 6 => Ending::Consonant,
            _ => Ending::Vowel,
        };
    }
    let latin: String = w
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let lower = latin.to_ascii_lowercase();
    // The contract's placeholders read as the words they stand for.
    match lower.as_str() {
        "dir" | "path" => return Ending::Vowel,
        "name" => return Ending::Consonant,
        "file" => return Ending::Rieul,
        _ => {}
    }
    let acronym = latin.len() <= 3 && latin.chars().all(|c| c.is_ascii_uppercase()) || latin.len() == 1;
    if acronym {
        return match lower.chars().next_back() {
            Some('l' | 'r') => Ending::Rieul,
            Some('m' | 'n') => Ending::Consonant,
            _ => Ending::Vowel,
        };
    }
    // Loanword endings: 파일, 타임, 라인, 그룹, 앱, 프록, 스탯, 스택; but 체크, 루프, 마운트.
    if lower.ends_with('l') || lower.ends_with("le") {
        Ending::Rieul
    } else if lower.ends_with("check") || lower.ends_with("loop") {
        Ending::Vowel
    } else if [
        "m", "n", "ng", "me", "ne", "group", "ck", "ip", "op", "up", "ap", "pp", "c", "stat",
    ]
    .iter()
    .any(|s| lower.ends_with(s))
    {
        Ending::Consonant
    } else {
        Ending::Vowel
    }
}

/// `word` followed by the form of `particle` its ending takes: `josa("cgroup", "를")`
/// is "cgroup을", `josa("SIGKILL", "을")` "SIGKILL을", `josa("2", "이")` "2가". The
/// particle may be given in either form (이/가, 을/를, 은/는, 과/와, 으로/로, 이나/나).
pub fn josa(word: &str, particle: &str) -> String {
    let e = ending(word);
    let pick = |with: &'static str, without: &'static str| if e == Ending::Vowel { without } else { with };
    let p = match particle {
        "이" | "가" => pick("이", "가"),
        "을" | "를" => pick("을", "를"),
        "은" | "는" => pick("은", "는"),
        "과" | "와" => pick("과", "와"),
        "이나" | "나" => pick("이나", "나"),
        "으로" | "로" => {
            if e == Ending::Consonant {
                "으로"
            } else {
                "로"
            }
        }
        other => other,
    };
    format!("{word}{p}")
}

/// The Korean text with each particle written both ways after a value (`{x}이(가)`,
/// `을(를)`, `은(는)`, `과(와)`, `(으)로`) resolved by the word before it, as [`josa`]
/// does: a template's value is known only when the text is made.
pub fn particles(s: &str) -> String {
    const BOTH: [(&str, &str); 5] = [
        ("이(가)", "이"),
        ("을(를)", "을"),
        ("은(는)", "은"),
        ("과(와)", "과"),
        ("(으)로", "으로"),
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    'scan: while !rest.is_empty() {
        for (both, one) in BOTH {
            if let Some(tail) = rest.strip_prefix(both) {
                let word = out.split(char::is_whitespace).next_back().unwrap_or("").to_string();
                let picked = josa(&word, one);
                out.push_str(&picked[word.len()..]);
                rest = tail;
                continue 'scan;
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod josa_tests {
    use super::{josa, particles};

    #[test]
    fn templates_resolve_by_the_value_before_them() {
        assert_eq!(particles("PID 3573이(가) 보임"), "PID 3573이 보임");
        assert_eq!(
            particles("PID 12이(가) 보임, `user`은(는) 그대로"),
            "PID 12가 보임, `user`는 그대로"
        );
        assert_eq!(
            particles("SIGTERM(으)로 죽음, SIGKILL(으)로 죽음"),
            "SIGTERM으로 죽음, SIGKILL로 죽음"
        );
        assert_eq!(particles("tmpfs을(를) 마운트"), "tmpfs를 마운트");
        assert_eq!(particles("괄호(는 그대로)"), "괄호(는 그대로)");
    }

    #[test]
    fn particles_follow_the_final_sound() {
        for (word, particle, want) in [
            ("검사", "이", "검사가"),
            ("런타임", "가", "런타임이"),
            ("네임스페이스", "을", "네임스페이스를"),
            ("파일", "으로", "파일로"),
            ("cgroup", "를", "cgroup을"),
            ("`user`", "는", "`user`는"),
            ("SIGKILL", "를", "SIGKILL을"),
            ("PID", "을", "PID를"),
            ("URL", "는", "URL은"),
            ("/sys/fs/cgroup/memory.max", "를", "/sys/fs/cgroup/memory.max를"),
            ("`stats a`", "가", "`stats a`가"),
            ("2", "이", "2가"),
            ("1", "로", "1로"),
            ("10", "으로", "10으로"),
            ("64 MiB", "를", "64 MiB를"),
            ("probe", "이", "probe가"),
            ("mount", "을", "mount를"),
            ("tmpfs", "을", "tmpfs를"),
            ("inode", "를", "inode를"),
            ("overlay", "과", "overlay와"),
            ("cg-memory", "를", "cg-memory를"),
            ("ufs-layers", "를", "ufs-layers를"),
            ("kernel.modules_disabled", "은", "kernel.modules_disabled는"),
            ("`resume`", "는", "`resume`은"),
            ("`stats NAME`", "가", "`stats NAME`이"),
            ("`--rootfs DIR`", "을", "`--rootfs DIR`를"),
            ("`/proc`", "를", "`/proc`을"),
            ("`io.stat`", "는", "`io.stat`은"),
            ("`labcheck`", "과", "`labcheck`와"),
            ("`--layer app`", "는", "`--layer app`은"),
        ] {
            assert_eq!(josa(word, particle), want, "{word} + {particle}");
        }
    }
}
