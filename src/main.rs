//! The binary: parse the flags, run the subcommand, exit with its status.

use std::process::ExitCode;

use feishu_vc_exporter::cli::Cli;

fn main() -> ExitCode {
    feishu_vc_exporter::cmd::main(Cli::parse_args())
}
