//! One data row while it is being read, and the typed getters the kinds parse it with.

use std::borrow::Cow;

use calamine::DataRef;

use super::header::ColumnSpec;
use super::value::{self, Invalid, Parsed};
use super::{Kind, ParseOptions, Record};

/// What a kind tells the reader: how headers map to slots and how a row becomes a record.
pub(crate) struct Schema {
    pub kind: Kind,
    pub slots: usize,
    pub slot_of: fn(&str) -> Option<usize>,
    pub column_name: fn(usize, bool) -> &'static str,
    pub is_required: fn(usize) -> bool,
    /// Columns that only this kind has: a file with none of them is not this kind.
    pub is_signature: fn(usize) -> bool,
    pub parse: fn(&Row<'_>) -> Result<Record, RowError>,
}

/// The helpers for kinds described by a plain column table, slot = index in the table.
pub(crate) fn slot_in(columns: &[ColumnSpec], normalised: &str) -> Option<usize> {
    columns.iter().position(|c| c.matches(normalised))
}

/// The column a row was rejected for, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowError {
    pub slot: usize,
    pub reason: Invalid,
}

pub(crate) struct Row<'a> {
    cells: Vec<DataRef<'a>>,
    options: ParseOptions,
}

impl<'a> Row<'a> {
    pub fn new(slots: usize, options: &ParseOptions) -> Self {
        Self {
            cells: vec![DataRef::Empty; slots],
            options: *options,
        }
    }

    pub fn set(&mut self, slot: usize, value: DataRef<'a>) {
        self.cells[slot] = value;
    }

    pub fn clear(&mut self) {
        self.cells.fill(DataRef::Empty);
    }

    /// A row of empty cells (or missing-value markers only) is skipped, not counted.
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| match c {
            DataRef::Empty => true,
            DataRef::String(s) => s.trim().is_empty(),
            DataRef::SharedString(s) => s.trim().is_empty(),
            _ => false,
        })
    }

    /// FNV-1a over the cells' text: stable across runs and versions, unlike std's hasher.
    pub fn fingerprint(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for cell in &self.cells {
            for byte in cell_to_string(cell).bytes().chain([0x1f]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash
    }

    /// The cell as text, `None` when it is empty or a missing-value marker.
    pub fn text(&self, slot: usize) -> Result<Option<Cow<'_, str>>, RowError> {
        let text: Cow<'_, str> = match &self.cells[slot] {
            DataRef::Empty => return Ok(None),
            DataRef::String(s) => Cow::Borrowed(s.as_str()),
            DataRef::SharedString(s) => Cow::Borrowed(s),
            DataRef::Error(_) => {
                return Err(RowError {
                    slot,
                    reason: Invalid::CellError,
                })
            }
            other => Cow::Owned(cell_to_string(other)),
        };
        if value::is_missing(&text) {
            Ok(None)
        } else {
            Ok(Some(text))
        }
    }

    /// Text for a label or an id, trimmed.
    pub fn string(&self, slot: usize) -> Result<Option<String>, RowError> {
        Ok(self.text(slot)?.map(|t| t.trim().to_owned()))
    }

    fn parse<T>(&self, slot: usize, parse: fn(&str) -> Parsed<T>) -> Result<Option<T>, RowError> {
        match self.text(slot)? {
            None => Ok(None),
            Some(text) => parse(&text).map_err(|reason| RowError { slot, reason }),
        }
    }

    pub fn time(&self, slot: usize) -> Result<Option<i64>, RowError> {
        let offset = self.options.default_offset;
        let fail = |reason| RowError { slot, reason };
        match &self.cells[slot] {
            // A real Excel date cell: a wall-clock time in the configured zone.
            DataRef::DateTime(excel) => {
                // calamine's conversion panics (in chrono) on serials far outside any
                // calendar, so anything outside Excel's own range is rejected first.
                if !(0.0..EXCEL_SERIAL_END).contains(&excel.as_f64()) {
                    return Err(fail(Invalid::Time));
                }
                let naive = excel.as_datetime().ok_or(fail(Invalid::Time))?;
                value::local_to_unix(naive, offset).map(Some).map_err(fail)
            }
            DataRef::Int(_) | DataRef::Float(_) => Err(fail(Invalid::Time)),
            _ => match self.text(slot)? {
                None => Ok(None),
                Some(text) => value::parse_time(&text, offset).map_err(fail),
            },
        }
    }

    pub fn duration(&self, slot: usize) -> Result<Option<u64>, RowError> {
        match &self.cells[slot] {
            // A time-formatted cell holds a fraction of a day.
            DataRef::DateTime(excel) => {
                let seconds = excel.as_f64() * 86_400.0;
                if seconds.is_finite() && seconds >= 0.0 {
                    Ok(Some(seconds.round() as u64))
                } else {
                    Err(RowError {
                        slot,
                        reason: Invalid::Duration,
                    })
                }
            }
            _ => self.parse(slot, value::parse_duration),
        }
    }

    pub fn count(&self, slot: usize) -> Result<Option<u64>, RowError> {
        self.parse(slot, value::parse_count)
    }

    pub fn bitrate(&self, slot: usize) -> Result<Option<f64>, RowError> {
        self.parse(slot, value::parse_bitrate)
    }

    pub fn delay(&self, slot: usize) -> Result<Option<f64>, RowError> {
        self.parse(slot, value::parse_delay)
    }

    pub fn percent(&self, slot: usize) -> Result<Option<f64>, RowError> {
        self.parse(slot, value::parse_percent)
    }

    pub fn boolean(&self, slot: usize) -> Result<Option<bool>, RowError> {
        match &self.cells[slot] {
            DataRef::Bool(b) => Ok(Some(*b)),
            _ => self.parse(slot, value::parse_bool),
        }
    }
}

/// The serial of 10000-01-01, the first day Excel cannot show: its dates are serials from 0
/// (1900-01-00) up to this.
const EXCEL_SERIAL_END: f64 = 2_958_466.0;

/// A value that must be there.
pub(crate) fn required<T>(slot: usize, value: Result<Option<T>, RowError>) -> Result<T, RowError> {
    value?.ok_or(RowError {
        slot,
        reason: Invalid::Missing,
    })
}

/// Any cell as text (headers, ids). Numbers print without a trailing `.0`.
pub(crate) fn cell_to_string(cell: &DataRef<'_>) -> String {
    match cell {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => d.to_string(),
        DataRef::Error(e) => e.to_string(),
    }
}
