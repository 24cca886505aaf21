//! `labcheck --watch NAME`: a running container's cgroup figures, refreshed, as
//! `docker stats` and `systemd-cgtop` show them, read only through the contract's
//! `stats NAME` (so it watches any runtime's container the same way). Rates (CPU %,
//! I/O per second, throttled periods) are the change between two readings over the
//! time between them.

use std::time::Duration;

use labkit::cgroups::Stats;

use crate::explain::draw::size;

/// One line of the view: a reading, and the rates since the one before.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    /// CPU time over wall time, in percent of one CPU (None on the first reading).
    pub cpu_percent: Option<f64>,
    pub memory: Option<u64>,
    pub memory_max: Option<u64>,
    pub pids: Option<u64>,
    pub pids_max: Option<u64>,
    /// Bytes per second read and written (None on the first reading, or unreported).
    pub read_rate: Option<f64>,
    pub write_rate: Option<f64>,
    /// Periods throttled and periods run, since the reading before.
    pub throttled: Option<(u64, u64)>,
    pub oom_kills: Option<u64>,
}

fn delta(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    Some(b?.saturating_sub(a?))
}

/// The row for reading `cur`, `elapsed` after the reading `prev`.
pub fn row(prev: Option<&Stats>, cur: &Stats, elapsed: Duration) -> Row {
    let secs = elapsed.as_secs_f64();
    let rate = |f: fn(&Stats) -> Option<u64>| -> Option<f64> {
        let d = delta(f(prev?), f(cur))?;
        (secs > 0.0).then(|| d as f64 / secs)
    };
    Row {
        name: cur.name.clone(),
        cpu_percent: rate(|s| s.cpu_usage_usec).map(|usec_per_sec| usec_per_sec / 10_000.0),
        memory: cur.memory_current_bytes,
        memory_max: cur.memory_max_bytes,
        pids: cur.pids_current,
        pids_max: cur.pids_max,
        read_rate: rate(|s| s.io_read_bytes),
        write_rate: rate(|s| s.io_write_bytes),
        throttled: prev.and_then(|p| {
            Some((
                delta(p.cpu_nr_throttled, cur.cpu_nr_throttled)?,
                delta(p.cpu_nr_periods, cur.cpu_nr_periods)?,
            ))
        }),
        oom_kills: cur.oom_kills,
    }
}

pub const HEADER: &str =
    "NAME                 CPU %   MEM USAGE / LIMIT       MEM %   PIDS        READ/s      WRITE/s     THROTTLED   OOM";

fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

/// The row as one line under [`HEADER`]; `-` where the runtime reported nothing.
pub fn line(r: &Row) -> String {
    let mem = match (r.memory, r.memory_max) {
        (Some(m), Some(l)) => format!("{} / {}", size(m), size(l)),
        (Some(m), None) => format!("{} / no limit", size(m)),
        _ => "-".into(),
    };
    let mem_pct = match (r.memory, r.memory_max) {
        (Some(m), Some(l)) if l > 0 => format!("{:.1}%", m as f64 * 100.0 / l as f64),
        _ => "-".into(),
    };
    let pids = match (r.pids, r.pids_max) {
        (Some(p), Some(m)) => format!("{p} / {m}"),
        (Some(p), None) => format!("{p}"),
        _ => "-".into(),
    };
    let per_sec = |v: Option<f64>| opt(v.map(|b| format!("{}/s", size(b.round() as u64))));
    let throttled = opt(r.throttled.map(|(t, p)| format!("{t} of {p}")));
    format!(
        "{:<20} {:>6}  {:<22} {:>6}  {:<10} {:>10} {:>12}  {:<11} {}",
        r.name,
        opt(r.cpu_percent.map(|c| format!("{c:.1}%"))),
        mem,
        mem_pct,
        pids,
        per_sec(r.read_rate),
        per_sec(r.write_rate),
        throttled,
        opt(r.oom_kills.map(|o| o.to_string()))
    )
}

/// The refreshing view on a terminal: the table, and bars for memory and CPU.
pub fn screen(r: &Row, interval: Duration) -> String {
    let bar = |frac: f64| {
        let full = (frac.clamp(0.0, 1.0) * 30.0).round() as usize;
        format!("[{}{}]", "█".repeat(full), "░".repeat(30 - full))
    };
    let mut s = format!(
        "\x1b[H\x1b[2Jlabcheck --watch {} (every {:.1} s, through `stats`; Ctrl-C ends)\n\n{HEADER}\n{}\n\n",
        r.name,
        interval.as_secs_f64(),
        line(r)
    );
    if let Some(c) = r.cpu_percent {
        s.push_str(&format!("cpu     {} {c:.1}% of one CPU\n", bar(c / 100.0)));
    }
    if let (Some(m), Some(l)) = (r.memory, r.memory_max) {
        s.push_str(&format!(
            "memory  {} {} of {}\n",
            bar(m as f64 / l as f64),
            size(m),
            size(l)
        ));
    }
    if let (Some(p), Some(m)) = (r.pids, r.pids_max) {
        s.push_str(&format!("pids    {} {p} of {m}\n", bar(p as f64 / m as f64)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(usage: u64, read: u64, throttled: u64, periods: u64) -> Stats {
        Stats {
            name: "demo".into(),
            cgroup_version: 2,
            memory_current_bytes: Some(16 << 20),
            memory_max_bytes: Some(64 << 20),
            cpu_usage_usec: Some(usage),
            cpu_nr_periods: Some(periods),
            cpu_nr_throttled: Some(throttled),
            pids_current: Some(2),
            pids_max: Some(32),
            io_read_bytes: Some(read),
            io_write_bytes: None,
            oom_kills: Some(0),
            ..Default::default()
        }
    }

    #[test]
    fn rates_are_changes_over_the_time_between_readings() {
        let a = stats(1_000_000, 0, 1, 10);
        // Half a second of CPU in one second of wall time: 50% of one CPU.
        let b = stats(1_500_000, 4 << 20, 6, 20);
        let r = row(Some(&a), &b, Duration::from_secs(1));
        assert_eq!(r.cpu_percent, Some(50.0));
        assert_eq!(r.read_rate, Some((4 << 20) as f64));
        assert_eq!(r.write_rate, None, "not reported: no rate, not zero");
        assert_eq!(r.throttled, Some((5, 10)));
        // The first reading has no rates.
        let first = row(None, &a, Duration::ZERO);
        assert_eq!(
            (first.cpu_percent, first.read_rate, first.throttled),
            (None, None, None)
        );
        let l = line(&r);
        for part in [
            "demo",
            "50.0%",
            "16 MiB / 64 MiB",
            "25.0%",
            "2 / 32",
            "4 MiB/s",
            "5 of 10",
        ] {
            assert!(l.contains(part), "{part} in {l}");
        }
        assert_eq!(HEADER.split_whitespace().next(), Some("NAME"));
        let s = screen(&r, Duration::from_secs(1));
        assert!(s.contains("memory  [████████") && s.contains("16 MiB of 64 MiB"), "{s}");
    }

    #[test]
    fn a_runtime_without_the_new_keys_shows_dashes() {
        let old = Stats {
            name: "old".into(),
            memory_current_bytes: Some(1 << 20),
            ..Default::default()
        };
        let l = line(&row(Some(&old), &old, Duration::from_secs(1)));
        assert!(l.contains("1 MiB / no limit"), "{l}");
        assert!(l.contains(" - "), "{l}");
    }
}
