//! OCI runtimes (runc, crun, youki, ...) under test through an adapter.
//!
//! `LAB_RUNTIME=oci:runc` (or `oci:crun`, `oci:/path/to/youki`) runs the checks
//! against the adapter binary `oci-runtime`, built next to the checker, with
//! `LAB_OCI_RUNTIME` naming the OCI runtime. The adapter implements the runtime
//! contract: each `run` becomes an OCI bundle ([`config`]) run with the OCI
//! runtime's `run`; `pause`, `resume` and `stats` map to its `pause`, `resume` and
//! `events --stats`. What the OCI runtime cannot provide ([`support`]) is skipped by
//! the runner, with the reason, instead of failing.

pub mod config;
pub mod stats;
pub mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use crate::runtime::{bin_dir, Runtime, RUNTIME_ENV};

/// The variable naming the OCI runtime the adapter drives (a name on PATH or a path).
pub const OCI_RUNTIME_ENV: &str = "LAB_OCI_RUNTIME";
/// The adapter binary, built with the checks.
pub const ADAPTER: &str = "oci-runtime";

/// `oci:RUNTIME` as the runtime under test: the adapter with `LAB_OCI_RUNTIME=RUNTIME`.
/// The OCI runtime itself may be missing: then every check is skipped, saying so.
pub fn runtime(name: &str, oci: &str) -> Result<Runtime, String> {
    if oci.is_empty() {
        return Err(format!(
            "{RUNTIME_ENV}={name}: name the OCI runtime after `oci:` (oci:runc, oci:crun, oci:/path/to/youki)"
        ));
    }
    let path = bin_dir().join(ADAPTER);
    if !path.is_file() {
        return Err(format!(
            "{RUNTIME_ENV}={name}: the OCI adapter is not built at {}: run `cargo build --bins`",
            path.display()
        ));
    }
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let mut rt = Runtime::at(name, path);
    rt.env.push((OCI_RUNTIME_ENV.to_string(), oci.to_string()));
    Ok(rt)
}

/// The contract options `rt` cannot provide, with the reason; empty for anything
/// but an `oci:` runtime. Asked of the adapter (`oci-runtime unsupported`) once per
/// adapter and OCI runtime, then remembered.
pub fn unsupported(rt: &Runtime) -> Vec<(String, String)> {
    let Some(oci) = rt
        .env
        .iter()
        .find(|(k, _)| k == OCI_RUNTIME_ENV)
        .map(|(_, v)| v.clone())
    else {
        return Vec::new();
    };
    type Answers = HashMap<(PathBuf, String), Vec<(String, String)>>;
    static CACHE: OnceLock<Mutex<Answers>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    // Held while asking: concurrent checks wait for the one answer.
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    map.entry((rt.path.clone(), oci.clone()))
        .or_insert_with(|| ask_adapter(rt, &oci))
        .clone()
}

fn ask_adapter(rt: &Runtime, oci: &str) -> Vec<(String, String)> {
    let out = std::process::Command::new(&rt.path)
        .arg("unsupported")
        .env(OCI_RUNTIME_ENV, oci)
        .stdin(std::process::Stdio::null())
        .output();
    let parsed = out
        .as_ref()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| parse_unsupported(&String::from_utf8_lossy(&o.stdout)));
    match parsed {
        Some(v) => v,
        None => {
            // No answer: nothing is skipped, and what fails shows why.
            let why = match &out {
                Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                Err(e) => e.to_string(),
            };
            eprintln!(
                "warning: `{} unsupported` gave no answer ({why}); no check is skipped for it",
                rt.path.display()
            );
            Vec::new()
        }
    }
}

/// The adapter's `unsupported` output: one JSON array of `{"option", "reason"}`.
pub fn parse_unsupported(text: &str) -> Option<Vec<(String, String)>> {
    let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    v.as_array()?
        .iter()
        .map(|e| {
            Some((
                e.get("option")?.as_str()?.to_string(),
                e.get("reason")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

pub fn render_unsupported(list: &[(String, String)]) -> String {
    let v: Vec<serde_json::Value> = list
        .iter()
        .map(|(o, r)| serde_json::json!({ "option": o, "reason": r }))
        .collect();
    serde_json::Value::from(v).to_string()
}

/// Whether a check's `uses` entry (`--ns pid,mnt`, `--cgroup`, `stats`) needs
/// `option` (`--ns time`, `--deny-device`, or `*` for everything). A value list
/// matches when it shares a value with the option's.
pub fn uses_option(used: &str, option: &str) -> bool {
    if option == "*" {
        return true;
    }
    let split = |s: &str| -> (String, Option<String>) {
        match s.trim().split_once(char::is_whitespace) {
            Some((f, v)) => (f.to_string(), Some(v.trim().to_string())),
            None => (s.trim().to_string(), None),
        }
    };
    let (uf, uv) = split(used);
    let (of, ov) = split(option);
    if uf != of {
        return false;
    }
    match (uv, ov) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(u), Some(o)) => {
            let us: Vec<&str> = u.split(',').map(str::trim).collect();
            o.split(',').map(str::trim).any(|x| us.contains(&x))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_match_uses() {
        assert!(uses_option("--ns time", "--ns time"));
        assert!(uses_option("--ns pid,time", "--ns time"));
        assert!(!uses_option("--ns pid,mnt", "--ns time"));
        assert!(uses_option("--ns user,mnt", "--ns"));
        assert!(uses_option("--deny-device", "--deny-device"));
        assert!(!uses_option("--cgroup", "--deny-device"));
        assert!(!uses_option("--cpus", "--cpuset"));
        assert!(uses_option("stats", "stats"));
        assert!(uses_option("--cgroup", "*"));
    }

    #[test]
    fn unsupported_lists_round_trip() {
        let l = vec![
            ("--ns time".to_string(), "no time namespace".to_string()),
            ("*".into(), "all \"quoted\"".into()),
        ];
        assert_eq!(parse_unsupported(&render_unsupported(&l)), Some(l));
        assert_eq!(parse_unsupported("[]\n"), Some(vec![]));
        assert_eq!(parse_unsupported("nonsense"), None);
    }

    #[test]
    fn other_runtimes_have_nothing_unsupported() {
        let rt = Runtime::at("sh", "/bin/sh");
        assert!(unsupported(&rt).is_empty());
    }
}
