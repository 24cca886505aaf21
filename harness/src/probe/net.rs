//! `probe listen`, `probe connect`, `probe bind-only`: small TCP helpers to
//! show which network namespace a container is in.

use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use labkit::probe::{Attempt, BindOnly, Connect, Listening, Received};

use crate::out::{
    block_stop_signals, emit, exit_on_signal, io_errno, sleep_secs, wait_stop_signal, PResult, ProbeError,
};

/// How long a served connection may stay silent before it is dropped.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest single poll, so that stop signals are noticed quickly.
const POLL_SLICE_MS: i32 = 100;

/// Wait until the listener has a pending connection. `None` waits forever.
/// Returns false on timeout. A stop signal (blocked by the caller) ends the
/// probe through [`exit_on_signal`].
fn wait_readable(l: &TcpListener, timeout: Option<Duration>) -> PResult<bool> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        if let Some(sig) = wait_stop_signal(Some(Duration::ZERO)) {
            exit_on_signal(sig);
        }
        let ms: i32 = match deadline {
            None => POLL_SLICE_MS,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                (left.as_millis().min(POLL_SLICE_MS as u128)) as i32
            }
        };
        let mut pfd = libc::pollfd {
            fd: l.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r > 0 {
            return Ok(true);
        }
        if r == 0 {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            continue;
        }
        let e = nix::errno::Errno::last();
        if e != nix::errno::Errno::EINTR {
            return Err(ProbeError::errno("poll", e));
        }
    }
}

/// Read one connection to EOF, report it, echo it back.
fn serve(l: &TcpListener) -> PResult {
    let (mut s, peer) = l.accept().map_err(|e| ProbeError::io("accept", &e))?;
    let _ = s.set_read_timeout(Some(IO_TIMEOUT));
    let _ = s.set_write_timeout(Some(IO_TIMEOUT));
    let mut buf = Vec::new();
    let r = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    emit(&Received {
        received: text,
        bytes: buf.len() as u64,
        peer: peer.to_string(),
        read_errno: r.as_ref().err().and_then(io_errno),
    });
    let _ = s.write_all(&buf);
    let _ = s.shutdown(Shutdown::Both);
    Ok(())
}

/// `listen`: bind, announce, then serve one (`once`) or many connections
/// until `hold` seconds have passed (forever without `hold`).
pub fn listen(addr: IpAddr, port: u16, once: bool, hold: Option<f64>) -> PResult {
    block_stop_signals();
    let l = TcpListener::bind(SocketAddr::new(addr, port)).map_err(|e| ProbeError::io("bind", &e))?;
    let local = l.local_addr().map_err(|e| ProbeError::io("getsockname", &e))?;
    emit(&Listening {
        listening: true,
        addr: local.ip().to_string(),
        port: local.port(),
    });
    let timeout = hold.map(Duration::from_secs_f64);
    if once {
        if !wait_readable(&l, timeout)? {
            return Err(ProbeError::errno("accept", nix::errno::Errno::ETIMEDOUT));
        }
        return serve(&l);
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            return Ok(());
        }
        if wait_readable(&l, left)? {
            serve(&l)?;
        }
    }
}

/// `connect`: connect, send `send`, half-close, read the reply to EOF.
/// A failed connect is a result (`"connected": false`), not a probe error.
pub fn connect(addr: IpAddr, port: u16, send: Option<&str>, timeout: f64) -> PResult {
    let sa = SocketAddr::new(addr, port);
    let t = Duration::from_secs_f64(timeout.max(0.001));
    let mut s = match TcpStream::connect_timeout(&sa, t) {
        Ok(s) => s,
        Err(e) => {
            emit(&Connect {
                connected: false,
                addr: addr.to_string(),
                port,
                reply: None,
                attempt: Attempt::from_errno(io_errno(&e).or(Some(libc::EIO))),
            });
            return Ok(());
        }
    };
    let _ = s.set_read_timeout(Some(t.max(IO_TIMEOUT)));
    let _ = s.set_write_timeout(Some(t.max(IO_TIMEOUT)));
    let mut err = None;
    if let Some(text) = send {
        if let Err(e) = s.write_all(text.as_bytes()) {
            err = io_errno(&e).or(Some(libc::EIO));
        }
    }
    let _ = s.shutdown(Shutdown::Write);
    let mut buf = Vec::new();
    if err.is_none() {
        if let Err(e) = s.read_to_end(&mut buf) {
            err = io_errno(&e).or(Some(libc::EIO));
        }
    }
    emit(&Connect {
        connected: true,
        addr: addr.to_string(),
        port,
        reply: Some(String::from_utf8_lossy(&buf).into_owned()),
        attempt: Attempt::from_errno(err),
    });
    Ok(())
}

/// `bind-only`: bind and listen; report success or errno; hold on success.
pub fn bind_only(addr: IpAddr, port: u16, hold: f64) -> PResult {
    if hold > 0.0 {
        block_stop_signals();
    }
    match TcpListener::bind(SocketAddr::new(addr, port)) {
        Ok(l) => {
            let port = l.local_addr().map(|a| a.port()).unwrap_or(port);
            emit(&BindOnly {
                addr: addr.to_string(),
                port,
                attempt: Attempt::from_errno(None),
            });
            sleep_secs(hold);
            drop(l);
        }
        Err(e) => {
            emit(&BindOnly {
                addr: addr.to_string(),
                port,
                attempt: Attempt::from_errno(io_errno(&e).or(Some(libc::EIO))),
            });
        }
    }
    Ok(())
}
