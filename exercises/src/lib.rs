//! Lab exercises and starter kits. Filled in by the exercises issue.
