//! The backfill's journal: the new records of every applied file, one JSON line each, in gzip
//! members. A checkpoint ends the current member and syncs the file, so truncating it to a
//! checkpoint's length leaves whole members: an interrupted backfill keeps exactly what its
//! state file says it counted.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};

use super::{NewRecords, RecordSink};
use crate::sheet::Record;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    File(NewRecords),
    /// Every record still to come counts at this time or later.
    Watermark(i64),
}

pub struct Journal {
    path: PathBuf,
    writer: Mutex<Writer>,
}

struct Writer {
    /// `None` only while a member is being finished.
    encoder: Option<GzEncoder<BufWriter<File>>>,
    /// The first write error; it fails the next checkpoint, so nothing after it is trusted.
    error: Option<io::Error>,
}

impl Journal {
    /// Opens the journal at `path` keeping its first `keep` bytes (0: a new journal).
    pub fn open(path: &Path, keep: u64) -> io::Result<Self> {
        let mut options = OpenOptions::new();
        options
            .create(true)
            .truncate(keep == 0)
            .read(true)
            .write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        if file.metadata()?.len() < keep {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("shorter than the {keep} bytes its state file counted"),
            ));
        }
        file.set_len(keep)?;
        file.seek(SeekFrom::End(0))?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(Writer {
                encoder: Some(new_encoder(file)),
                error: None,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn watermark(&self, time: i64) {
        self.append(&Entry::Watermark(time));
    }

    /// Makes everything appended so far durable; answers the journal's length.
    pub fn checkpoint(&self) -> io::Result<u64> {
        let mut writer = self.lock();
        if let Some(error) = writer.error.take() {
            return Err(error);
        }
        let Some(encoder) = writer.encoder.take() else {
            return Err(io::Error::other(
                "the journal was left unusable by an earlier error",
            ));
        };
        let mut file = encoder.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        let length = file.stream_position()?;
        writer.encoder = Some(new_encoder(file));
        Ok(length)
    }

    /// The entries of the journal at `path`, in the order they were appended.
    pub fn read(path: &Path) -> io::Result<impl Iterator<Item = io::Result<Entry>>> {
        let lines = BufReader::new(MultiGzDecoder::new(BufReader::new(File::open(path)?))).lines();
        Ok(lines.map(|line| {
            let line = line?;
            serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        }))
    }

    fn append(&self, entry: &Entry) {
        let mut writer = self.lock();
        if writer.error.is_some() {
            return;
        }
        let result = match writer.encoder.as_mut() {
            Some(encoder) => serde_json::to_writer(&mut *encoder, entry)
                .map_err(io::Error::other)
                .and_then(|()| encoder.write_all(b"\n")),
            None => Err(io::Error::other("the journal is not open")),
        };
        if let Err(error) = result {
            writer.error = Some(error);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn new_encoder(file: File) -> GzEncoder<BufWriter<File>> {
    GzEncoder::new(BufWriter::new(file), Compression::fast())
}

impl RecordSink for Journal {
    fn apply(&self, mut file: NewRecords) {
        // The metrics never use user ids; the journal does not keep them.
        for record in &mut file.records {
            if let Record::Participant(session) = record {
                session.user_id = None;
            }
        }
        self.append(&Entry::File(file));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::QualityContext;
    use crate::sheet::Kind;

    fn file(n: usize) -> NewRecords {
        NewRecords {
            kind: Kind::MeetingList,
            context: QualityContext::default(),
            records: (0..n)
                .map(|i| {
                    Record::Meeting(crate::sheet::Meeting {
                        meeting_no: format!("{i:09}"),
                        start: i as i64,
                        end: None,
                        duration_seconds: None,
                        participants: None,
                        audio: None,
                        video: None,
                        screen_share: None,
                        recording: None,
                        telephone: None,
                    })
                })
                .collect(),
            rejected: Vec::new(),
        }
    }

    #[test]
    fn reopening_at_a_checkpoint_keeps_exactly_what_it_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.gz");
        let journal = Journal::open(&path, 0).unwrap();
        journal.apply(file(1));
        journal.watermark(100);
        let length = journal.checkpoint().unwrap();
        // Appended after the checkpoint, then the process "dies".
        journal.apply(file(2));
        journal.checkpoint().unwrap();
        drop(journal);

        let journal = Journal::open(&path, length).unwrap();
        journal.apply(file(3));
        journal.checkpoint().unwrap();
        let entries: Vec<Entry> = Journal::read(&path)
            .unwrap()
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(
            entries,
            [
                Entry::File(file(1)),
                Entry::Watermark(100),
                Entry::File(file(3))
            ]
        );
        // A journal shorter than its state says is an error, not a silent loss.
        assert!(Journal::open(&path, 1 << 40).is_err());
    }
}
