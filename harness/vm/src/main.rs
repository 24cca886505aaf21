//! `harness-vm` (also reached as `harness vm`): the checks in a qemu VM.

use clap::Parser;

/// Run the checks (or COMMAND, a workspace binary) in a qemu VM with cgroup v2 or v1.
#[derive(Debug, Parser)]
#[command(name = "harness vm", version)]
struct Cli {
    #[command(flatten)]
    args: harness_vm::VmArgs,
}

fn main() {
    let cli = Cli::parse();
    std::process::exit(harness_vm::main(&cli.args))
}
