//! What the fuzz targets share: a sink that checks the reader's promises, and a minimal
//! workbook to wrap fuzzed sheet XML in so the input gets past the zip layer.

use std::io::{Cursor, Write};

use feishu_vc_exporter::sheet::{
    read_export, ExportSink, Kind, ParseOptions, Record, Rejected, StreamSample,
};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

pub mod cells;

/// Checks cheaply, as rows arrive, what [`read_export`] promises its sink.
#[derive(Default)]
pub struct CheckingSink {
    kind: Option<Kind>,
    records: u64,
    rejected: u64,
}

impl ExportSink for CheckingSink {
    fn begin(&mut self, kind: Kind) {
        assert!(self.kind.is_none(), "begin called twice");
        self.kind = Some(kind);
    }

    fn record(&mut self, record: Record) {
        let kind = self.kind.expect("record before begin");
        check_record(kind, &record);
        self.records += 1;
    }

    fn rejected(&mut self, rejected: Rejected) {
        assert!(self.kind.is_some(), "rejected row before begin");
        // 1-based. (Not necessarily below the header: a malformed sheet whose cell references
        // go back up, as in `<row r="2"><c r="C1">`, has cells of row 1 after the header.)
        assert!(rejected.row >= 1, "rejected row number {}", rejected.row);
        assert!(
            !rejected.column.is_empty(),
            "a rejected row names no column"
        );
        self.rejected += 1;
    }
}

fn check_record(kind: Kind, record: &Record) {
    let ratio = |value: Option<f64>| {
        if let Some(v) = value {
            assert!(v.is_finite() && v >= 0.0, "bad measurement {v}");
        }
    };
    match record {
        Record::Meeting(m) => {
            assert_eq!(kind, Kind::MeetingList);
            assert!(!m.meeting_no.is_empty() && m.meeting_no.trim() == m.meeting_no);
        }
        Record::Participant(_) => assert_eq!(kind, Kind::ParticipantList),
        Record::Quality(q) => {
            assert_eq!(kind, Kind::ParticipantQualityList);
            for StreamSample {
                bitrate_bytes_per_second,
                latency_seconds,
                jitter_seconds,
                packet_loss_ratio,
                packet_loss_peak_ratio,
            } in q.streams.iter().flatten()
            {
                for v in [
                    *bitrate_bytes_per_second,
                    *latency_seconds,
                    *jitter_seconds,
                    *packet_loss_ratio,
                    *packet_loss_peak_ratio,
                ] {
                    ratio(v);
                }
            }
            for v in [
                q.client_cpu_min_ratio,
                q.client_cpu_ratio,
                q.client_cpu_peak_ratio,
                q.system_cpu_peak_ratio,
            ] {
                ratio(v);
            }
        }
        Record::Reservation(r) => {
            assert_eq!(kind, Kind::ResourceReservationList);
            assert!(!r.room.is_empty());
        }
    }
}

/// Reads `bytes` as an export; panics only if the reader breaks a promise (or panics itself).
pub fn check(bytes: &[u8]) {
    let mut sink = CheckingSink::default();
    if let Ok(summary) = read_export(Cursor::new(bytes), &ParseOptions::default(), &mut sink) {
        assert_eq!(Some(summary.kind), sink.kind, "summary kind");
        assert_eq!(summary.records, sink.records, "summary record count");
        assert_eq!(summary.rejected, sink.rejected, "summary rejected count");
    }
}

const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;

const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

/// Cell styles the fuzzed sheet may use: `s="1"` a date (numFmt 14), `s="2"` a time of day
/// (21), `s="3"` a date-time (22), `s="4"` a custom `[h]:mm:ss` duration.
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="[h]:mm:ss"/></numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="21" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>"#;

/// A valid one-sheet workbook around `sheet_xml` (and `shared_strings_xml`, if any), stored
/// uncompressed so the fuzzer's bytes reach the XML reader as they are.
pub fn workbook(sheet_xml: &[u8], shared_strings_xml: Option<&[u8]>) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut add = |name: &str, data: &[u8]| {
        zip.start_file(name, options).expect("zip entry");
        zip.write_all(data).expect("zip write");
    };
    add("[Content_Types].xml", CONTENT_TYPES.as_bytes());
    add("_rels/.rels", RELS.as_bytes());
    add("xl/workbook.xml", WORKBOOK.as_bytes());
    add("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes());
    add("xl/styles.xml", STYLES.as_bytes());
    if let Some(shared) = shared_strings_xml {
        add("xl/sharedStrings.xml", shared);
    }
    add("xl/worksheets/sheet1.xml", sheet_xml);
    zip.finish().expect("zip finish").into_inner()
}

/// The `sheet_xml` target's input format: the sheet XML, then optionally a NUL byte and the
/// shared-strings XML.
pub fn split_xml_input(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], Some(&data[nul + 1..])),
        None => (data, None),
    }
}

/// The workbook `read_export` sees for the input `data` of fuzz target `target`.
pub fn input_to_xlsx(target: &str, data: &[u8]) -> Option<Vec<u8>> {
    match target {
        "sheet" => Some(data.to_vec()),
        "sheet_xml" => {
            let (sheet, shared) = split_xml_input(data);
            Some(workbook(sheet, shared))
        }
        "sheet_cells" => {
            let input = <cells::Input as arbitrary::Arbitrary>::arbitrary_take_rest(
                arbitrary::Unstructured::new(data),
            )
            .ok()?;
            Some(cells::render(&input))
        }
        _ => None,
    }
}

/// Escapes text for an XML text node or attribute.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// `A1`-style reference of a 0-based column and 1-based row.
pub fn cell_ref(col: u32, row: u32, out: &mut String) {
    let mut letters = [0u8; 8];
    let mut n = col + 1;
    let mut len = 0;
    while n > 0 {
        letters[len] = b'A' + ((n - 1) % 26) as u8;
        n = (n - 1) / 26;
        len += 1;
    }
    for &b in letters[..len].iter().rev() {
        out.push(b as char);
    }
    out.push_str(&row.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = |col, row| {
            let mut s = String::new();
            cell_ref(col, row, &mut s);
            s
        };
        assert_eq!(r(0, 1), "A1");
        assert_eq!(r(25, 2), "Z2");
        assert_eq!(r(26, 3), "AA3");
        assert_eq!(r(16_383, 1_048_576), "XFD1048576");
    }

    #[derive(Default)]
    struct Count(Option<Kind>, u64, u64);

    impl ExportSink for Count {
        fn begin(&mut self, kind: Kind) {
            self.0 = Some(kind);
        }
        fn record(&mut self, _: Record) {
            self.1 += 1;
        }
        fn rejected(&mut self, _: Rejected) {
            self.2 += 1;
        }
    }

    /// The wrapper must be a workbook calamine accepts, or `sheet_xml` fuzzes only error paths.
    #[test]
    fn the_wrapper_workbook_is_read_to_the_last_cell() {
        let sheet = r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>会议开始时间</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>123</t></is></c><c r="B2" s="3"><v>44763.5</v></c></row><row r="3"><c r="A3"><v>9</v></c><c r="B3" t="inlineStr"><is><t>yesterday</t></is></c></row></sheetData></worksheet>"#;
        let shared = r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>会议ID</t></si></sst>"#;
        let mut input = sheet.as_bytes().to_vec();
        input.push(0);
        input.extend_from_slice(shared.as_bytes());
        let (sheet, shared) = split_xml_input(&input);
        let bytes = workbook(sheet, shared);
        let mut sink = Count::default();
        let summary = read_export(Cursor::new(bytes), &ParseOptions::default(), &mut sink).unwrap();
        assert_eq!(summary.kind, Kind::MeetingList);
        assert_eq!((sink.1, sink.2), (1, 1));
    }
}
