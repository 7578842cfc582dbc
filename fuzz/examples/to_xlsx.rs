//! Turns a fuzz input (a crash artifact, a minimised case) into the .xlsx file `read_export`
//! saw, e.g. to keep it under `tests/fixtures/fuzz-regressions/`. From `fuzz/`:
//! `cargo run --example to_xlsx -- sheet_cells artifacts/sheet_cells/crash-… out.xlsx`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, input, output] = args.as_slice() else {
        eprintln!("usage: to_xlsx <sheet|sheet_xml|sheet_cells> <input> <output.xlsx>");
        std::process::exit(2);
    };
    let data = std::fs::read(input).expect("read the input");
    let Some(xlsx) = feishu_vc_exporter_fuzz::input_to_xlsx(target, &data) else {
        eprintln!("unknown target {target:?}, or the input does not decode");
        std::process::exit(2);
    };
    std::fs::write(output, xlsx).expect("write the workbook");
}
