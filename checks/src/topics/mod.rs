//! One module per topic; each lists its checks in teaching order.

pub mod namespaces;
