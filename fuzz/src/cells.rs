//! The `sheet_cells` target's input: a header row of one export kind (documented, in-the-wild
//! or English names, some left out, rotated) and data rows of realistic values, edited values,
//! arbitrary text, numbers, Excel dates and times, booleans, errors and dangling shared-string
//! indices, rendered as a workbook. Every execution gets past kind detection into the row and
//! value parsers.

use crate::{cell_ref, escape, workbook};
use arbitrary::Arbitrary;
use feishu_vc_exporter::simulator::{
    MEETING_LIST_HEADERS, PARTICIPANT_LIST_HEADERS, RESOURCE_RESERVATION_LIST_HEADERS,
};

#[derive(Arbitrary, Debug)]
pub struct Input {
    headers: u8,
    /// Header columns left out, by bit.
    omit: u64,
    rotate: u8,
    extra_header: Option<String>,
    rows: Vec<Row>,
}

#[derive(Arbitrary, Debug)]
struct Row {
    /// Rows skipped before this one; 255 jumps to the last row a sheet can have.
    gap: u8,
    cells: Vec<Value>,
}

#[derive(Arbitrary, Debug)]
enum Value {
    Empty,
    Token(u8),
    /// A realistic value with `delete` bytes at `at` replaced by `insert`.
    Edited {
        token: u8,
        at: u8,
        delete: u8,
        insert: String,
    },
    /// The first `cut` bytes of a realistic value, then `suffix`: e.g. a time with an
    /// arbitrary zone, a number with an arbitrary unit.
    Suffixed {
        token: u8,
        cut: u8,
        suffix: String,
    },
    Inline(String),
    Shared(String),
    SharedIndex(u32),
    Number(f64),
    /// A number cell with one of the workbook's date, time, date-time or duration styles.
    Styled(u8, f64),
    Bool(bool),
    Error,
}

const TOKENS: &[&str] = &[
    "2022.07.21 11:01:40 (GMT+08:00)",
    "2022.07.21 12:01:40 （GMT+08:00）",
    "2022-07-21 11:01:40",
    "2022/07/21 11:01",
    "2022-07-21T11:01:40.250+0800",
    "2022.07.21 11:01:40 GMT+8",
    "2022.07.20 22:31:40 (GMT-04:30)",
    "2022-07-21 03:01:40Z",
    "2022.07.21 (UTC)",
    "01:00:00",
    "27:00:05",
    "05:30",
    "42",
    "50kbps",
    "1.2Mbps",
    "800 bps",
    "64 kb/s",
    "5ms",
    "0.3s",
    "120 ms",
    "7µs",
    "2%",
    "0.8％",
    "100",
    "是",
    "否",
    "Yes",
    "false",
    "2",
    "1,024",
    "12.0",
    "-",
    "--",
    "N/A",
    "",
    " ",
    "123456789",
    "ou_0123456789abcdef",
    "审批中",
    "预定成功",
    "已释放（手动释放）",
    "已释放（会议结束后自动释放）",
    "已释放（未签到被释放）",
    "已释放（传感器自动释放）",
    "签到板",
    "签到二维码",
    "控制器",
    "触屏板",
    "设备离线，自动签到",
    "无需签到（即时预定）",
    "无需签到（未开启签到设置）",
    "无需签到",
    "超时未签到",
    "签到时间未结束",
    "无需签到（未安装签到设备）",
    "已签到",
    "待签到",
    "不可签到（会议室被禁用）",
    "主持人结束会议",
    "被主持人移出会议",
    "网络异常",
];

fn header_sets() -> Vec<Vec<String>> {
    let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let quality = |open: &str, close: &str, english: bool| {
        let mut headers = vec![if english { "Time" } else { "时间" }.to_owned()];
        let (medias, directions, metrics) = if english {
            (
                ["Audio", "Video", "Screen Share"],
                ["Receive", "Send"],
                [
                    "Bitrate",
                    "Latency",
                    "Jitter",
                    "Packet Loss Avg",
                    "Packet Loss Max",
                ],
            )
        } else {
            (
                ["音频", "视频", "共享屏幕"],
                ["接收", "发送"],
                ["码率", "延迟", "抖动", "丢包平均", "丢包最大"],
            )
        };
        for media in medias {
            for direction in directions {
                for metric in metrics {
                    headers.push(format!("{media}-{metric}{open}{direction}{close}"));
                }
            }
        }
        headers.extend(owned(if english {
            &[
                "Client Min CPU",
                "Client Avg CPU",
                "Client Max CPU",
                "System Max CPU",
            ]
        } else {
            &[
                "客户端最小 CPU 占用",
                "客户端平均 CPU 占用",
                "客户端最大 CPU 占用",
                "系统最大 CPU 占用",
            ]
        }));
        headers
    };
    vec![
        owned(&MEETING_LIST_HEADERS),
        owned(&[
            "外部会议",
            "会议 ID",
            "组织者",
            "组织者部门",
            "会议开始时间",
            "会议时长",
            "参会人数",
            "参会者",
            "会议类型",
            "累计入会设备数",
            "音频 ",
            "会议结束时间",
        ]),
        owned(&[
            "Meeting ID",
            "Topic",
            "Start Time",
            "End Time",
            "Duration",
            "Participants",
            "Audio",
            "Video",
            "Screen Sharing",
            "Recording",
            "Telephone",
        ]),
        owned(&PARTICIPANT_LIST_HEADERS),
        quality("（", "）", false),
        quality("(", ")", false),
        quality(" (", ")", true),
        owned(&RESOURCE_RESERVATION_LIST_HEADERS),
    ]
}

fn edited(token: &str, at: u8, delete: u8, insert: &str) -> String {
    let mut start = usize::from(at).min(token.len());
    while !token.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + usize::from(delete % 8)).min(token.len());
    while !token.is_char_boundary(end) {
        end += 1;
    }
    format!("{}{insert}{}", &token[..start], &token[end..])
}

fn token(index: u8) -> &'static str {
    TOKENS[usize::from(index) % TOKENS.len()]
}

struct Shared(Vec<String>);

impl Shared {
    fn add(&mut self, text: &str) -> usize {
        self.0.push(text.to_owned());
        self.0.len() - 1
    }

    fn xml(&self) -> String {
        let mut xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">"#,
            self.0.len()
        );
        for s in &self.0 {
            xml.push_str(r#"<si><t xml:space="preserve">"#);
            escape(s, &mut xml);
            xml.push_str("</t></si>");
        }
        xml.push_str("</sst>");
        xml
    }
}

fn text_cell(xml: &mut String, reference: &str, text: &str) {
    xml.push_str(&format!(
        r#"<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">"#
    ));
    escape(text, xml);
    xml.push_str("</t></is></c>");
}

/// The workbook an input stands for.
pub fn render(input: &Input) -> Vec<u8> {
    let sets = header_sets();
    let mut headers = sets[usize::from(input.headers) % sets.len()].clone();
    let mut index = 0;
    headers.retain(|_| {
        index += 1;
        index > 64 || input.omit & (1 << (index - 1)) == 0
    });
    if !headers.is_empty() {
        let by = usize::from(input.rotate) % headers.len();
        headers.rotate_left(by);
    }
    headers.extend(input.extra_header.clone());

    let mut shared = Shared(Vec::new());
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">"#,
    );
    let mut reference = String::new();
    for (col, header) in headers.iter().enumerate() {
        reference.clear();
        cell_ref(col as u32, 1, &mut reference);
        let index = shared.add(header);
        xml.push_str(&format!(r#"<c r="{reference}" t="s"><v>{index}</v></c>"#));
    }
    xml.push_str("</row>");

    let mut row_number: u32 = 1;
    for row in input.rows.iter().take(64) {
        row_number = if row.gap == 255 {
            1_048_576
        } else {
            (row_number + 1 + u32::from(row.gap % 4)).min(1_048_576)
        };
        xml.push_str(&format!(r#"<row r="{row_number}">"#));
        for (col, value) in row.cells.iter().take(64).enumerate() {
            reference.clear();
            cell_ref(col as u32, row_number, &mut reference);
            let r = &reference;
            match value {
                Value::Empty => {}
                Value::Token(t) => text_cell(&mut xml, r, token(*t)),
                Value::Edited {
                    token: t,
                    at,
                    delete,
                    insert,
                } => text_cell(&mut xml, r, &edited(token(*t), *at, *delete, insert)),
                Value::Suffixed {
                    token: t,
                    cut,
                    suffix,
                } => {
                    let t = token(*t);
                    let mut end = usize::from(*cut).min(t.len());
                    while !t.is_char_boundary(end) {
                        end -= 1;
                    }
                    text_cell(&mut xml, r, &format!("{}{suffix}", &t[..end]))
                }
                Value::Inline(text) => text_cell(&mut xml, r, text),
                Value::Shared(text) => {
                    let index = shared.add(text);
                    xml.push_str(&format!(r#"<c r="{r}" t="s"><v>{index}</v></c>"#));
                }
                Value::SharedIndex(index) => {
                    xml.push_str(&format!(r#"<c r="{r}" t="s"><v>{index}</v></c>"#));
                }
                Value::Number(n) => xml.push_str(&format!(r#"<c r="{r}"><v>{n:?}</v></c>"#)),
                Value::Styled(style, n) => {
                    let style = 1 + style % 4;
                    xml.push_str(&format!(r#"<c r="{r}" s="{style}"><v>{n:?}</v></c>"#));
                }
                Value::Bool(b) => {
                    xml.push_str(&format!(r#"<c r="{r}" t="b"><v>{}</v></c>"#, u8::from(*b)));
                }
                Value::Error => xml.push_str(&format!(r#"<c r="{r}" t="e"><v>#N/A</v></c>"#)),
            }
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData></worksheet>");
    workbook(xml.as_bytes(), Some(shared.xml().as_bytes()))
}
