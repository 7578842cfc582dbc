//! Pure parsing: .xlsx bytes in, typed records out. No I/O, no HTTP, no metrics.
//!
//! [`read_export`] streams the first worksheet with calamine's cell reader (the sheet is never
//! materialised), detects the export kind from the header row, and hands each data row to an
//! [`ExportSink`] as a typed [`Record`] or a [`Rejected`] row. Personal columns (names, e-mails,
//! phones, IPs, employee ids) are never read; user ids are kept only where the API needs them.

mod enums;
pub mod header;
mod meeting;
mod participant;
mod quality;
mod reservation;
mod row;
pub mod value;
pub mod writer;

use std::fmt;
use std::io::{Read, Seek};

use calamine::{Reader, Xlsx};
use chrono::FixedOffset;

pub use enums::{CheckInDevice, CheckInStatus, LeaveReason, ReservationStatus};
pub use meeting::Meeting;
pub use participant::ParticipantSession;
pub use quality::{Direction, Media, QualityMinute, StreamSample, NAMES_ZH as QUALITY_HEADERS};
pub use reservation::Reservation;
pub use value::Invalid;

use row::{Row, RowError, Schema};

/// The four export kinds, named as the API names them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Kind {
    MeetingList,
    ParticipantList,
    ParticipantQualityList,
    ResourceReservationList,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::MeetingList,
        Kind::ParticipantList,
        Kind::ParticipantQualityList,
        Kind::ResourceReservationList,
    ];

    /// The API name, also the `kind` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MeetingList => "meeting_list",
            Kind::ParticipantList => "participant_list",
            Kind::ParticipantQualityList => "participant_quality_list",
            Kind::ResourceReservationList => "resource_reservation_list",
        }
    }

    fn schema(self) -> &'static Schema {
        match self {
            Kind::MeetingList => &meeting::SCHEMA,
            Kind::ParticipantList => &participant::SCHEMA,
            Kind::ParticipantQualityList => &quality::SCHEMA,
            Kind::ResourceReservationList => &reservation::SCHEMA,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One data row, typed.
// Quality minutes are the large, hot variant: boxing them would allocate once per row.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Record {
    Meeting(Meeting),
    Participant(ParticipantSession),
    Quality(QualityMinute),
    Reservation(Reservation),
}

/// A data row that could not be read; the rest of the file still counts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejected {
    /// 1-based row number as a spreadsheet shows it.
    pub row: u32,
    /// The header of the offending column as written in the file.
    pub column: String,
    pub reason: Invalid,
    /// A hash of the row's cells: lets the loop count a bad row once although every cycle
    /// downloads it again.
    pub fingerprint: u64,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {} column {:?}: {}",
            self.row,
            self.column,
            self.reason.label()
        )
    }
}

/// What the caller does with the rows of one file.
pub trait ExportSink {
    /// Called once, after the header row, before any row.
    fn begin(&mut self, kind: Kind);
    fn record(&mut self, record: Record);
    fn rejected(&mut self, rejected: Rejected);
}

/// The zone of times without an offset unless told otherwise: +08:00 (China Standard Time).
pub const DEFAULT_UTC_OFFSET_SECONDS: i32 = 8 * 3600;

#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// The zone of times written without an offset, and of Excel date cells.
    pub default_offset: FixedOffset,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            default_offset: FixedOffset::east_opt(DEFAULT_UTC_OFFSET_SECONDS)
                .expect("+08:00 is a valid offset"),
        }
    }
}

/// What one file held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub kind: Kind,
    pub records: u64,
    pub rejected: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("not an .xlsx workbook ({0})")]
    NotXlsx(String),
    #[error("the workbook has no worksheet")]
    NoWorksheet,
    #[error("the first worksheet is empty: no header row")]
    NoHeader,
    #[error("the headers match no Feishu VC export kind (headers: {0})")]
    UnknownKind(String),
    #[error("{kind} export without the required column {column:?}")]
    MissingColumn { kind: Kind, column: &'static str },
    #[error("{kind} export: the header has the column {column:?} twice")]
    DuplicateColumn { kind: Kind, column: String },
    #[error("the worksheet could not be read after row {row} ({detail})")]
    Corrupt { row: u32, detail: String },
}

/// Reads the first worksheet of an export workbook, streaming its rows into `sink`.
///
/// Errors that concern the whole file (not a workbook, unknown headers, a required column
/// missing, a corrupt sheet) end the read; a sink that must not keep half a file should discard
/// what it got when this returns `Err`.
pub fn read_export<R: Read + Seek>(
    reader: R,
    options: &ParseOptions,
    sink: &mut dyn ExportSink,
) -> Result<Summary, SheetError> {
    let mut workbook = Xlsx::new(reader).map_err(|e| SheetError::NotXlsx(e.to_string()))?;
    let sheet = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or(SheetError::NoWorksheet)?;
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(|e| SheetError::NotXlsx(e.to_string()))?;
    let corrupt = |row: u32, e: calamine::XlsxError| SheetError::Corrupt {
        row,
        detail: e.to_string(),
    };

    // The header is the first row that has a cell; data follows it.
    let mut headers: Vec<String> = Vec::new();
    let mut header_row = None;
    let mut pending = None;
    let mut exhausted = true;
    while let Some(cell) = cells.next_cell().map_err(|e| corrupt(0, e))? {
        let (row, col) = cell.get_position();
        match header_row {
            None => header_row = Some(row),
            Some(h) if h != row => {
                pending = Some(cell);
                exhausted = false;
                break;
            }
            Some(_) => {}
        }
        let col = col as usize;
        if col >= 4096 {
            continue; // Beyond any real export; do not let a crafted file grow the header.
        }
        if headers.len() <= col {
            headers.resize(col + 1, String::new());
        }
        headers[col] = row::cell_to_string(cell.get_value());
    }
    let header_row = header_row.ok_or(SheetError::NoHeader)?;
    let (schema, columns) = detect(&headers)?;
    sink.begin(schema.kind);

    let mut summary = Summary {
        kind: schema.kind,
        records: 0,
        rejected: 0,
    };
    let mut row = Row::new(schema.slots, options);
    let mut current = None;
    let mut emit = |row: &mut Row<'_>, number: u32, summary: &mut Summary| {
        if row.is_blank() {
            return;
        }
        match (schema.parse)(row) {
            Ok(record) => {
                summary.records += 1;
                sink.record(record);
            }
            Err(RowError { slot, reason }) => {
                summary.rejected += 1;
                let column = columns.header_of(slot, &headers);
                let fingerprint = row.fingerprint();
                sink.rejected(Rejected {
                    row: number + 1,
                    column,
                    reason,
                    fingerprint,
                });
            }
        }
        row.clear();
    };
    let mut next = pending;
    loop {
        let cell = match next.take() {
            Some(cell) => cell,
            // calamine errors when asked again after the end of the sheet.
            None if exhausted => break,
            None => match cells.next_cell() {
                Ok(Some(cell)) => cell,
                Ok(None) => break,
                Err(e) => return Err(corrupt(current.map_or(header_row + 1, |r| r + 1), e)),
            },
        };
        let (number, col) = cell.get_position();
        if current != Some(number) {
            if let Some(done) = current {
                emit(&mut row, done, &mut summary);
            }
            current = Some(number);
        }
        if let Some(slot) = columns.slot(col as usize) {
            row.set(slot, cell.get_value().clone());
        }
    }
    if let Some(done) = current {
        emit(&mut row, done, &mut summary);
    }
    Ok(summary)
}

/// A whole (small) export file in memory: what the collect loop reads, so that it can decide
/// which records are new before any of them counts.
#[derive(Debug, Clone)]
pub struct Export {
    pub kind: Kind,
    pub records: Vec<Record>,
    pub rejected: Vec<Rejected>,
}

pub fn read_all(bytes: &[u8], options: &ParseOptions) -> Result<Export, SheetError> {
    struct Collect(Option<Export>);
    impl ExportSink for Collect {
        fn begin(&mut self, kind: Kind) {
            self.0 = Some(Export {
                kind,
                records: Vec::new(),
                rejected: Vec::new(),
            });
        }
        fn record(&mut self, record: Record) {
            if let Some(export) = &mut self.0 {
                export.records.push(record);
            }
        }
        fn rejected(&mut self, rejected: Rejected) {
            if let Some(export) = &mut self.0 {
                export.rejected.push(rejected);
            }
        }
    }
    let mut sink = Collect(None);
    let summary = read_export(std::io::Cursor::new(bytes), options, &mut sink)?;
    Ok(sink.0.unwrap_or(Export {
        kind: summary.kind,
        records: Vec::new(),
        rejected: Vec::new(),
    }))
}

/// Which sheet column feeds which slot of the detected kind.
struct ColumnMap {
    /// Indexed by sheet column.
    slots: Vec<Option<usize>>,
}

impl ColumnMap {
    fn slot(&self, col: usize) -> Option<usize> {
        self.slots.get(col).copied().flatten()
    }

    fn header_of(&self, slot: usize, headers: &[String]) -> String {
        self.slots
            .iter()
            .position(|s| *s == Some(slot))
            .and_then(|col| headers.get(col))
            .map(|h| h.trim().to_owned())
            .unwrap_or_default()
    }
}

/// Picks the kind whose signature columns appear and that matches the most headers.
fn detect(headers: &[String]) -> Result<(&'static Schema, ColumnMap), SheetError> {
    let normalised: Vec<String> = headers.iter().map(|h| header::normalise(h)).collect();
    let mut best: Option<(&'static Schema, Vec<Option<usize>>, usize)> = None;
    for kind in Kind::ALL {
        let schema = kind.schema();
        let slots: Vec<Option<usize>> = normalised
            .iter()
            .map(|h| {
                if h.is_empty() {
                    None
                } else {
                    (schema.slot_of)(h)
                }
            })
            .collect();
        if !slots
            .iter()
            .flatten()
            .any(|&slot| (schema.is_signature)(slot))
        {
            continue;
        }
        let score = slots.iter().flatten().count();
        if best.as_ref().is_none_or(|(_, _, s)| score > *s) {
            best = Some((schema, slots, score));
        }
    }
    let Some((schema, slots, _)) = best else {
        let shown: Vec<&str> = headers
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .take(8)
            .collect();
        return Err(SheetError::UnknownKind(if shown.is_empty() {
            "none".to_owned()
        } else {
            shown.join(", ")
        }));
    };
    let chinese = header::is_chinese(headers);
    let mut seen = vec![false; schema.slots];
    for (col, slot) in slots.iter().enumerate() {
        if let Some(slot) = *slot {
            if std::mem::replace(&mut seen[slot], true) {
                return Err(SheetError::DuplicateColumn {
                    kind: schema.kind,
                    column: headers[col].trim().to_owned(),
                });
            }
        }
    }
    if let Some(missing) = (0..schema.slots).find(|&slot| (schema.is_required)(slot) && !seen[slot])
    {
        return Err(SheetError::MissingColumn {
            kind: schema.kind,
            column: (schema.column_name)(missing, chinese),
        });
    }
    Ok((schema, ColumnMap { slots }))
}

#[cfg(test)]
mod tests;
