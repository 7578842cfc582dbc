use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use feishu_vc_exporter::ingest::ingest_file;
use feishu_vc_exporter::metrics::{Metrics, MetricsOptions};
use feishu_vc_exporter::sheet::ParseOptions;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read export files downloaded by hand and print their metrics.
    Ingest {
        #[arg(long, default_value = "prometheus")]
        format: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Ingest { files, .. } => {
            let metrics = Metrics::new(MetricsOptions::default());
            let mut failed = false;
            for path in &files {
                if let Err(e) = ingest_file(path, &metrics, &ParseOptions::default()) {
                    eprintln!("{e}");
                    failed = true;
                }
            }
            print!("{}", metrics.encode_text());
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
