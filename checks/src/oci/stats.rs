//! `stats NAME` from an OCI runtime's `events --stats` (runc's `types.Stats`), with
//! the contract's cgroup files for what the runtime leaves out: runc omits zero
//! figures and has no OOM-kill count.

use serde_json::{json, Value};

/// The contract's keys, in its order (`name` and `cgroup_version` come first).
pub const KEYS: [&str; 12] = [
    "memory_current_bytes",
    "memory_peak_bytes",
    "cpu_usage_usec",
    "cpu_nr_periods",
    "cpu_nr_throttled",
    "cpu_throttled_usec",
    "pids_current",
    "oom_kills",
    "memory_max_bytes",
    "pids_max",
    "io_read_bytes",
    "io_write_bytes",
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
        "memory_max_bytes" => ("/memory/usage/limit", 1),
        "pids_max" => ("/pids/limit", 1),
        _ => return None,
    })
}

/// The byte counts in `events --stats` data: runc's `blkio.ioServiceBytesRecursive`
/// entries (`{"op": "Read", "value": N}`, per device; v2's io.stat converted).
fn event_io(events: &Value, op: &str) -> Option<u64> {
    let entries = events.pointer("/blkio/ioServiceBytesRecursive")?.as_array()?;
    let ops: Vec<u64> = entries
        .iter()
        .filter(|e| {
            e.get("op")
                .and_then(Value::as_str)
                .is_some_and(|o| o.eq_ignore_ascii_case(op))
        })
        .filter_map(|e| e.get("value").and_then(Value::as_u64))
        .collect();
    (!ops.is_empty()).then(|| ops.iter().sum())
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
        ("memory_max_bytes", false) => ("memory", "memory.limit_in_bytes", Some(LIMIT), 1),
        ("memory_max_bytes", true) => ("memory", "memory.max", Some(LIMIT), 1),
        ("pids_max", _) => ("pids", "pids.max", Some(LIMIT), 1),
        ("io_read_bytes", false) => ("blkio", "blkio.throttle.io_service_bytes_recursive", Some(READ), 1),
        ("io_read_bytes", true) => ("io", "io.stat", Some(READ), 1),
        ("io_write_bytes", false) => ("blkio", "blkio.throttle.io_service_bytes_recursive", Some(WRITE), 1),
        ("io_write_bytes", true) => ("io", "io.stat", Some(WRITE), 1),
        _ => return None,
    })
}

/// `field` of a limit file: `max` or v1's "no limit" is no figure.
pub const LIMIT: &str = "@limit";
/// `field` of an I/O statistics file: the bytes read, or written, over its devices.
pub const READ: &str = "@read";
pub const WRITE: &str = "@write";

/// A number from a flat file (`field` None), a `key value` line of a keyed file, a
/// limit ([`LIMIT`]) or an I/O byte count ([`READ`], [`WRITE`]).
pub fn parse_file_value(text: &str, field: Option<&str>) -> Option<u64> {
    match field {
        None => text.trim().parse().ok(),
        Some(LIMIT) => text
            .trim()
            .parse()
            .ok()
            .filter(|v| *v < labkit::cgroups::common::UNLIMITED_FROM),
        Some(READ) => Some(labkit::cgroups::common::io_bytes(text).0),
        Some(WRITE) => Some(labkit::cgroups::common::io_bytes(text).1),
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
        // runc leaves out zero figures, and gives "no limit" as 0 (pids) or as the
        // largest number (memory): none of those is a figure of its own.
        let from_runtime = event_source(key)
            .and_then(|(ptr, div)| {
                events
                    .pointer(ptr)
                    .and_then(Value::as_u64)
                    .filter(|v| *v > 0 && *v < labkit::cgroups::common::UNLIMITED_FROM)
                    .map(|v| v / div)
            })
            .or_else(|| match key {
                "io_read_bytes" => event_io(events, "read"),
                "io_write_bytes" => event_io(events, "write"),
                _ => None,
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
                "memory_max_bytes": 1u64 << 40, "pids_max": null, "io_read_bytes": null, "io_write_bytes": null,
            })
        );
        // Contract 1.3's figures: limits (none is null), I/O bytes summed over devices.
        let data = json!({
            "memory": { "usage": { "limit": 67_108_864u64 } },
            "pids": { "limit": 0 },
            "blkio": { "ioServiceBytesRecursive": [
                { "major": 7, "minor": 0, "op": "Read", "value": 4096 },
                { "major": 7, "minor": 0, "op": "Write", "value": 512 },
                { "major": 7, "minor": 0, "op": "Total", "value": 4608 },
                { "major": 8, "minor": 0, "op": "Read", "value": 4 },
            ] },
        });
        let s = contract_stats("y", true, &data, &|k| (k == "pids_max").then_some(16));
        assert_eq!(
            (
                &s["memory_max_bytes"],
                &s["pids_max"],
                &s["io_read_bytes"],
                &s["io_write_bytes"]
            ),
            (&json!(67_108_864u64), &json!(16), &json!(4100), &json!(512))
        );
        // Nothing anywhere: null, and every key is there.
        let s = contract_stats("x", true, &json!({}), &|_| None);
        assert_eq!(s.as_object().unwrap().len(), 14);
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
        assert_eq!(parse_file_value("max\n", Some(LIMIT)), None);
        assert_eq!(parse_file_value("9223372036854771712\n", Some(LIMIT)), None);
        assert_eq!(parse_file_value("32\n", Some(LIMIT)), Some(32));
        assert_eq!(parse_file_value("8:0 rbytes=7 wbytes=9 rios=1\n", Some(WRITE)), Some(9));
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
