//! The runtime contract's command line, plus the reference runtime's extra subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use labkit::contract::{one_line, RunArgs};

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Reference container runtime: namespaces, cgroups and overlay, behind the runtime contract"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of `Run` costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run COMMAND in a new container.
    Run(RunArgs),
    /// Freeze every process of cgroup NAME.
    Pause { name: String },
    /// Thaw cgroup NAME.
    Resume { name: String },
    /// Print one JSON object of cgroup NAME's figures.
    Stats { name: String },
    /// Write a minimal root file system holding the probe and its shared libraries.
    Rootfs(RootfsArgs),
    /// Say what this host supports.
    Doctor {
        /// One JSON array of findings instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Run the checks (or COMMAND, a workspace binary) in a qemu VM with cgroup v2 or v1
    /// (runs `harness-vm`, built beside this binary; `harness vm --help` lists its options).
    #[command(disable_help_flag = true)]
    Vm {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
        args: Vec<std::ffi::OsString>,
    },
    /// Every test-only fault, one JSON line each (built with the `faults` feature only).
    #[cfg(feature = "faults")]
    #[command(hide = true)]
    Faults,
    /// Remove what killed checkers left behind, as their state files list it.
    Cleanup {
        /// The checkers' state directory (default: $LAB_STATE_DIR or /run/lab-check).
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct RootfsArgs {
    /// Directory to fill (created if missing).
    pub dir: PathBuf,
    /// Also install this statically linked busybox as /bin/busybox with its applets.
    #[arg(long, value_name = "PATH")]
    pub busybox: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
