//! Writes a one-sheet workbook of text cells, the shape Feishu exports have.
//!
//! Shared by the simulator (which serves synthetic exports) and the test fixtures.

use rust_xlsxwriter::{Workbook, XlsxError};

/// A workbook whose first sheet holds `headers` in row 1 and `rows` below, every cell text.
pub fn write_xlsx<H, R, C>(headers: &[H], rows: R) -> Result<Vec<u8>, XlsxError>
where
    H: AsRef<str>,
    R: IntoIterator,
    R::Item: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string(0, col as u16, header.as_ref())?;
    }
    for (index, row) in rows.into_iter().enumerate() {
        let row_number = index as u32 + 1;
        for (col, cell) in row.into_iter().enumerate() {
            let text = cell.as_ref();
            // Feishu leaves unused cells empty; an empty string cell would be a different file.
            if !text.is_empty() {
                sheet.write_string(row_number, col as u16, text)?;
            }
        }
    }
    workbook.save_to_buffer()
}
