//! The checker's state file (labkit::state): what this process makes on the host
//! is written down before it is made, so `harness cleanup` can remove it after a
//! SIGKILL. A state directory that cannot be written costs only that: a warning.

use std::sync::OnceLock;

use labkit::state::{Item, Journal};

pub fn journal() -> &'static Journal {
    static J: OnceLock<Journal> = OnceLock::new();
    J.get_or_init(|| Journal::new(labkit::state::state_dir()))
}

pub fn add(item: &Item) {
    if let Err(e) = journal().add(item) {
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            eprintln!("warning: {e} (`harness cleanup` will not know of it)");
        }
    }
}

pub fn done(item: &Item) {
    journal().done(item);
}
