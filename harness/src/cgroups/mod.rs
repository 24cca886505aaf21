//! cgroup v1 and v2 drivers behind one trait.

pub mod limits;
pub use limits::*;
