//! `stats NAME` from an OCI runtime's `events --stats` (runc's `types.Stats`), with
//! the contract's cgroup files for what the runtime leaves out: runc omits zero
//! figures and has no OOM-kill count.

use serde_json::{json, Value};

/// The contract's keys, in its order (`name` and `cgroup_version` come first).
pub const KEYS: [&str; 8] = [
    "memory_current_bytes",
    "memory_peak_bytes",
    "cpu_usage_usec",
    "cpu_nr_periods",
    "cpu_nr_throttled",
    "cpu_throttled_usec",
    "pids_current",
    "oom_kills",
];

/// Where `key` is in `events --stats` data: a JSON pointer and a divisor.
fn event_source(key: &str) -> Option<(&'static str, u64)> {
    Some(match key {
        "memory_current_bytes" => ("/memory/usage/usage", 1),
        "memory_peak_bytes" => ("/memory/usage/max", 1),
        "cpu_usage_usec" => ("/cpu/usage/total", 1000),
        "cpu_nr_periods" => ("/cpu/throttling/periods", 1),
        "cpu_nr_throttled" => ("/cpu/throttling/throttledPeriods", 1),
        "cpu_throttled_usec" => ("/cpu/throttling/throttledTime", 1000),
        "pids_current" => ("/pids/current", 1),
        _ => return None,
    })
}

/// The contract's source file of `key`: (controller, file, key in a keyed file, divisor).
pub fn file_source(key: &str, v2: bool) -> Option<(&'static str, &'static str, Option<&'static str>, u64)> {
    Some(match (key, v2) {
        ("memory_current_bytes", false) => ("memory", "memory.usage_in_bytes", None, 1),
        ("memory_current_bytes", true) => ("memory", "memory.current", None, 1),
        ("memory_peak_bytes", false) => ("memory", "memory.max_usage_in_bytes", None, 1),
        ("memory_peak_bytes", true) => ("memory", "memory.peak", None, 1),
        ("cpu_usage_usec", false) => ("cpuacct", "cpuacct.usage", None, 1000),
        ("cpu_usage_usec", true) => ("cpu", "cpu.stat", Some("usage_usec"), 1),
        ("cpu_nr_periods", _) => ("cpu", "cpu.stat", Some("nr_periods"), 1),
        ("cpu_nr_throttled", _) => ("cpu", "cpu.stat", Some("nr_throttled"), 1),
        ("cpu_throttled_usec", false) => ("cpu", "cpu.stat", Some("throttled_time"), 1000),
        ("cpu_throttled_usec", true) => ("cpu", "cpu.stat", Some("throttled_usec"), 1),
        ("pids_current", _) => ("pids", "pids.current", None, 1),
        ("oom_kills", false) => ("memory", "memory.oom_control", Some("oom_kill"), 1),
        ("oom_kills", true) => ("memory", "memory.events", Some("oom_kill"), 1),
        _ => return None,
    })
}

/// A number from a flat file (`field` None) or a `key value` line of a keyed file.
pub fn parse_file_value(text: &str, field: Option<&str>) -> Option<u64> {
    match field {
        None => text.trim().parse().ok(),
        Some(k) => text.lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(k))
                .then(|| w.next().and_then(|v| v.parse().ok()))
                .flatten()
        }),
    }
}

/// The contract's object: each figure from `events` (the `data` of one
/// `events --stats` line) when the runtime gave it, else from `file(key)`, else null.
pub fn contract_stats(name: &str, v2: bool, events: &Value, file: &dyn Fn(&str) -> Option<u64>) -> Value {
    let mut out = json!({ "name": name, "cgroup_version": if v2 { 2 } else { 1 } });
    for key in KEYS {
        let from_runtime = event_source(key).and_then(|(ptr, div)| {
            events
                .pointer(ptr)
                .and_then(Value::as_u64)
                .filter(|v| *v > 0)
                .map(|v| v / div)
        });
        out[key] = match from_runtime.or_else(|| file(key)) {
            Some(v) => json!(v),
            None => Value::Null,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_figures_come_first_and_files_fill_the_gaps() {
        // A runc 1.1 `events --stats` data object: throttling is omitted when zero.
        let data = json!({
            "cpu": { "usage": { "total": 5_000_000u64, "kernel": 1, "user": 2 }, "throttling": {} },
            "memory": { "usage": { "usage": 67_108_864u64, "max": 70_000_000u64, "limit": 1u64 << 40 } },
            "pids": { "current": 2 },
        });
        let file = |k: &str| match k {
            "oom_kills" => Some(0),
            "cpu_nr_periods" | "cpu_nr_throttled" | "cpu_throttled_usec" => Some(0),
            "memory_current_bytes" => Some(1),
            _ => None,
        };
        let s = contract_stats("demo", false, &data, &file);
        assert_eq!(
            s,
            json!({
                "name": "demo", "cgroup_version": 1,
                "memory_current_bytes": 67_108_864u64, "memory_peak_bytes": 70_000_000u64,
                "cpu_usage_usec": 5000, "cpu_nr_periods": 0, "cpu_nr_throttled": 0, "cpu_throttled_usec": 0,
                "pids_current": 2, "oom_kills": 0,
            })
        );
        // Nothing anywhere: null, and every key is there.
        let s = contract_stats("x", true, &json!({}), &|_| None);
        assert_eq!(s.as_object().unwrap().len(), 10);
        assert_eq!(s["cgroup_version"], 2);
        assert!(KEYS.iter().all(|k| s[*k].is_null()));
    }

    #[test]
    fn file_values_are_parsed() {
        assert_eq!(parse_file_value("4096\n", None), Some(4096));
        assert_eq!(
            parse_file_value("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", Some("oom_kill")),
            Some(3)
        );
        assert_eq!(parse_file_value("low 0\noom 1\noom_kill 2\n", Some("oom")), Some(1));
        assert_eq!(parse_file_value("nr_periods 10\n", Some("nr_throttled")), None);
        assert_eq!(
            file_source("cpu_usage_usec", false),
            Some(("cpuacct", "cpuacct.usage", None, 1000))
        );
        assert_eq!(
            file_source("oom_kills", true),
            Some(("memory", "memory.events", Some("oom_kill"), 1))
        );
    }
}
