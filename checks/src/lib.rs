//! Conformance checks for container runtimes. Filled in by the check-framework issue.
