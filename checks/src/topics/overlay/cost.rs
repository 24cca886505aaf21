//! `overlay.cost.*`: what copy-up and start cost: a first write grows with the file's
//! size, a start does not grow with the image's.

use std::time::Duration;

use labkit::probe::WriteFile;

use super::support::{disk_bytes, pattern, probe_in, refs, Layers};
use crate::ctx::{js, Ctx};
use crate::outcome::{control_fail, ensure, fail_host, CheckResult};

/// Pass: the first write to a 64 MiB lower file (its open copies the file up) takes
/// longer than the first write to a 1 MiB one, as the probe times the open and the
/// write (best of three fresh containers each). Control: a second write to the
/// 64 MiB file in the same upper layer, already copied up, takes less than a quarter
/// of the first (the time was the copy, not the file's size). Only ratios are
/// asserted, never a time.
// Long: three rounds, the control and the verdicts, in that order.
pub(super) fn copy_up_cost(ctx: &Ctx) -> CheckResult {
    let small = pattern(1 << 20);
    let large = pattern(64 << 20);
    let layers = Layers::new(ctx, &[&[("/data/small", &small), ("/data/large", &large)]])?;
    let mut best = [u64::MAX; 2];
    let mut last = None;
    let mut large_opts = None;
    for round in 0..3 {
        for (i, file) in ["/data/small", "/data/large"].iter().enumerate() {
            let (opts, _) = layers.options(ctx, &format!("t{round}{i}"))?;
            let (run, w): (_, WriteFile) = probe_in(ctx, &opts, &["write-file", file, "--content", "x", "--append"])?;
            ensure(
                w.attempt.ok && w.usec.is_some(),
                crate::t!(
                    "the first write to {file} to succeed, timed",
                    "{file}에 대한 첫 쓰기가 성공하고 시간이 잼"
                ),
                js(&w),
                &run,
            )?;
            best[i] = best[i].min(w.usec.unwrap_or(u64::MAX));
            if i == 1 {
                large_opts = Some(opts);
            }
            last = Some(run);
        }
    }
    let run = last.expect("ran");
    const WITHOUT: &str = "a second write, after the copy-up";
    let (crun, again): (_, WriteFile) = crate::outcome::as_control(
        WITHOUT,
        probe_in(
            ctx,
            &large_opts.expect("ran"),
            &["write-file", "/data/large", "--content", "y", "--append"],
        ),
    )?;
    let again_usec = again.usec.unwrap_or(u64::MAX);
    ctx.note(format!(
        "first write: 1 MiB file {} us, 64 MiB file {} us; second write to the 64 MiB file {again_usec} us",
        best[0], best[1]
    ));
    ensure(
        best[1] > best[0],
        crate::t!(
            "copying up 64 MiB to cost more than 1 MiB",
            "64 MiB copy-up이 1 MiB보다 오래 걸림"
        ),
        crate::t!("{} us vs {} us", "{} us 대 {} us", best[1], best[0]),
        &run,
    )?;
    if !again.attempt.ok || again_usec.saturating_mul(4) >= best[1] {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "a write to the copied-up 64 MiB file under a quarter of the first ({} us)",
                "copy-up된 64 MiB 파일에 다시 쓰기가 첫 쓰기({} us)의 4분의 1 미만",
                best[1]
            ),
            crate::t!("{again_usec} us; {}", "{again_usec} us; {}", js(&again)),
            &crun,
        ));
    }
    layers.verify_unchanged(&run)?;
    if disk_bytes(layers.top()) < 65 << 20 {
        return Err(fail_host(
            crate::t!("the 65 MiB of layer data on disk", "디스크에 레이어 데이터 65 MiB"),
            "less",
            "stat(2) of the layer directory",
        ));
    }
    Ok(())
}

/// Pass: a container whose top layer holds 256 MiB starts (the whole `run` of
/// `probe exit 0`, best of three) within three times the CPU time of the start of
/// one whose layer holds 1 MiB, counting the runtime and the processes it waited for:
/// the overlay mount costs the same whatever the layers hold (the lecture's fast
/// start). Fail: more. A runtime that copies the image at start pays a copy of the
/// 256 MiB each time (the fault `layers-copied` and the copy-runtime fixture fail it,
/// at 5 to 8 times here).
/// Tolerance: best of three, a factor of three and a millisecond. CPU time, not wall
/// time, decides: it is the kernel's count, which a busy host inflates neither for
/// the small start nor for the big one, where the wall time of a few-millisecond
/// start is mostly the host's noise (a loaded checker once measured 0.0 ms, and a
/// slow small start can hide a copy). The wall times are in the note, and what
/// copying the layer costs the checker, for scale. A runtime whose copy is done by a
/// process it does not wait for (a daemon) escapes this count.
// Long: the two layer sets, three rounds, the copy for scale and the verdict.
pub(super) fn start_independent_of_size(ctx: &Ctx) -> CheckResult {
    const BIG: usize = 256 << 20;
    const FACTOR: u32 = 3;
    let small = Layers::named(ctx, "small", &[&[("/data/small", &pattern(1 << 20))]])?;
    let big_data = pattern(BIG);
    let big = Layers::named(ctx, "big", &[&[("/data/big", &big_data)]])?;
    drop(big_data);
    let mut best = [Duration::MAX; 2];
    let mut best_cpu = [Duration::MAX; 2];
    let mut last = None;
    for round in 0..3 {
        for (i, layers) in [&small, &big].into_iter().enumerate() {
            let (opts, _) = layers.options(ctx, &format!("s{round}{i}"))?;
            let run = ctx.run(&refs(&opts), &["/bin/probe", "exit", "0"])?;
            ensure(
                run.code() == Some(0),
                crate::t!("the container to start and exit 0", "컨테이너가 시작해서 종료 상태 0"),
                run.ending(),
                &run,
            )?;
            best[i] = best[i].min(run.duration);
            best_cpu[i] = best_cpu[i].min(run.cpu);
            last = Some(run);
        }
    }
    let run = last.expect("ran");
    let t0 = std::time::Instant::now();
    let copy_to = ctx.dir("copied")?.join("big");
    let copied = std::fs::copy(big.top().join("data/big"), &copy_to);
    let copy = t0.elapsed();
    let _ = std::fs::remove_file(&copy_to);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    ctx.note(format!(
        "start on 1 MiB {:.1} ms ({:.1} ms of CPU), on 256 MiB {:.1} ms ({:.1} ms of CPU); copying the 256 MiB layer took the checker {:.1} ms{}",
        ms(best[0]),
        ms(best_cpu[0]),
        ms(best[1]),
        ms(best_cpu[1]),
        ms(copy),
        if copied.is_ok() { "" } else { " (failed)" }
    ));
    // A millisecond of CPU time either way is no cost of the layers' size.
    ensure(
        best_cpu[1] <= best_cpu[0] * FACTOR + Duration::from_millis(1),
        crate::t!(
            "the start on a 256 MiB layer within {FACTOR} times the CPU time of the start on a 1 MiB one ({:.1} ms of CPU, {:.1} ms in all)",
            "256 MiB 레이어 위의 시작이 1 MiB 레이어 위의 시작(CPU {:.1} ms, 전체 {:.1} ms)의 CPU 시간의 {FACTOR}배 이내",
            ms(best_cpu[0]),
            ms(best[0])
        ),
        crate::t!(
            "{:.1} ms of CPU, {:.1} ms in all",
            "CPU {:.1} ms, 전체 {:.1} ms",
            ms(best_cpu[1]),
            ms(best[1])
        ),
        &run,
    )
}
