//! One module per topic; each lists its checks in teaching order.

pub mod cgroups;
pub mod namespaces;
pub mod overlay;
pub mod security;
