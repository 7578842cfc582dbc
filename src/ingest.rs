//! `feishu-vc-exporter ingest`: export files downloaded by hand, read into the metrics.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::metrics::openmetrics::Replay;
use crate::metrics::{Metrics, QualityContext};
use crate::sheet::{self, ParseOptions, SheetError, Summary};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Sheet { path: PathBuf, source: SheetError },
}

/// Reads one file into `metrics`; a file that fails counts nothing.
pub fn ingest_file(
    path: &Path,
    metrics: &Metrics,
    options: &ParseOptions,
) -> Result<Summary, IngestError> {
    let file = File::open(path).map_err(|source| IngestError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut batch = metrics.batch(QualityContext::default());
    let summary =
        sheet::read_export(BufReader::new(file), options, &mut batch).map_err(|source| {
            IngestError::Sheet {
                path: path.to_owned(),
                source,
            }
        })?;
    batch.commit();
    Ok(summary)
}

/// Reads one file's records into `replay` (for `--format openmetrics`); a file that fails
/// adds nothing.
pub fn replay_file(
    path: &Path,
    replay: &mut Replay,
    options: &ParseOptions,
) -> Result<Summary, IngestError> {
    let bytes = std::fs::read(path).map_err(|source| IngestError::Open {
        path: path.to_owned(),
        source,
    })?;
    let export = sheet::read_all(&bytes, options).map_err(|source| IngestError::Sheet {
        path: path.to_owned(),
        source,
    })?;
    let summary = Summary {
        kind: export.kind,
        records: export.records.len() as u64,
        rejected: export.rejected.len() as u64,
    };
    replay.file(
        export.kind,
        QualityContext::default(),
        export.records,
        export.rejected,
    );
    Ok(summary)
}
