//! Writes the seed corpora: real workbooks from `sheet::writer::write_xlsx`, one or two per
//! export kind, as `corpus/sheet/*.xlsx`, and their worksheet XML (NUL, shared strings XML) as
//! `corpus/sheet_xml/*`. Run from `fuzz/`: `cargo run --example seeds`.

use std::fs;
use std::io::{Cursor, Read};
use std::path::Path;

use feishu_vc_exporter::sheet::writer::write_xlsx;
use zip::ZipArchive;

/// A file name, its headers and its rows.
type Seed = (&'static str, Vec<String>, Vec<Vec<String>>);

fn quality_headers() -> Vec<String> {
    let mut headers = vec!["时间".to_owned()];
    for media in ["音频", "视频", "共享屏幕"] {
        for direction in ["接收", "发送"] {
            for metric in ["码率", "延迟", "抖动", "丢包平均", "丢包最大"] {
                headers.push(format!("{media}-{metric}（{direction}）"));
            }
        }
    }
    headers.extend(
        [
            "客户端最小 CPU 占用",
            "客户端平均 CPU 占用",
            "客户端最大 CPU 占用",
            "系统最大 CPU 占用",
        ]
        .map(String::from),
    );
    headers
}

fn quality_row(time: &str, audio: [&str; 5]) -> Vec<String> {
    let mut row = vec![time.to_owned()];
    row.extend(audio.map(String::from));
    row.extend(["48kbps", "8ms", "2ms", "0.5%", "1%"].map(String::from));
    row.extend(["1.2Mbps", "30ms", "4ms", "0%", "0.8%"].map(String::from));
    for _ in 0..3 {
        row.extend(["-", "--", "N/A", "", "-"].map(String::from));
    }
    row.extend(["2%", "5%", "10%", "20%"].map(String::from));
    row
}

fn main() {
    let t0 = "2022.07.21 11:01:40 (GMT+08:00)";
    let t1 = "2022.07.21 12:01:40 (GMT+08:00)";
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let seeds: Vec<Seed> = vec![
        (
            "meeting_list",
            s(&[
                "会议ID",
                "会议主题",
                "会议组织者",
                "会议开始时间",
                "会议结束时间",
                "会议持续时间",
                "参会人数量",
                "音频",
                "视频",
                "共享",
                "录制",
                "电话",
            ]),
            vec![
                s(&[
                    "123456789",
                    "周会",
                    "张三",
                    t0,
                    t1,
                    "01:00:00",
                    "5",
                    "是",
                    "否",
                    "是",
                    "否",
                    "否",
                ]),
                s(&[
                    "987654321",
                    "",
                    "",
                    "2022-07-21 11:01:40",
                    "",
                    "27:00:05",
                    "12.0",
                    "Yes",
                    "-",
                    "",
                    "N/A",
                    "false",
                ]),
                s(&[
                    "",
                    "x",
                    "y",
                    "yesterday",
                    "",
                    "1h",
                    "two",
                    "maybe",
                    "",
                    "",
                    "",
                    "",
                ]),
            ],
        ),
        (
            "meeting_list_wild",
            s(&[
                "外部会议",
                "会议 ID",
                "组织者",
                "会议开始时间",
                "会议时长",
                "参会人数",
                "会议类型",
            ]),
            vec![s(&[
                "否",
                "111222333",
                "李四",
                "2022/07/21 11:01",
                "05:30",
                "1,024",
                "视频会议",
            ])],
        ),
        (
            "participant_list",
            s(&[
                "参会人",
                "用户ID",
                "设备",
                "客户端版本",
                "代理服务",
                "位置",
                "网络类型",
                "音频",
                "视频",
                "共享",
                "入会时间",
                "离会时间",
                "参会时长",
                "离会原因",
            ]),
            vec![
                s(&[
                    "王五",
                    "ou_abc",
                    "Mac",
                    "7.1.0",
                    "否",
                    "北京",
                    "Wi-Fi",
                    "是",
                    "是",
                    "否",
                    t0,
                    t1,
                    "00:59:00",
                    "主持人结束会议",
                ]),
                s(&[
                    "赵六",
                    "ou_def",
                    "iOS",
                    "7.0.2",
                    "是",
                    "上海",
                    "4G",
                    "是",
                    "否",
                    "否",
                    "2022-07-21T11:01:40.250+0800",
                    "",
                    "",
                    "网络异常",
                ]),
            ],
        ),
        (
            "participant_quality_list",
            quality_headers(),
            vec![
                quality_row(t0, ["50kbps", "5ms", "1ms", "2%", "5%"]),
                quality_row(
                    "2022.07.21 11:02:40 GMT+8",
                    ["64 kb/s", "0.3s", "7µs", "0.8％", "100"],
                ),
                quality_row(
                    "2022.07.21 11:03:40 (GMT+08:00)",
                    ["fast", "-", "-", "-", "-"],
                ),
            ],
        ),
        (
            "resource_reservation_list",
            s(&[
                "会议室名称",
                "邀请人数",
                "接受人数",
                "会议开始时间",
                "会议结束时间",
                "会议室预定状态",
                "签到设备",
                "会议室签到状态",
                "会议室签到时间",
                "释放时间",
            ]),
            vec![
                s(&[
                    "A-101",
                    "5",
                    "3",
                    t0,
                    t1,
                    "预定成功",
                    "签到板",
                    "已签到",
                    t0,
                    "",
                ]),
                s(&[
                    "B-202",
                    "2",
                    "0",
                    t0,
                    t1,
                    "已释放（未签到被释放）",
                    "设备离线，自动签到",
                    "超时未签到",
                    "",
                    t1,
                ]),
                s(&[
                    "C-303",
                    "",
                    "",
                    t0,
                    t1,
                    "审批中",
                    "",
                    "无需签到（即时预定）",
                    "",
                    "",
                ]),
            ],
        ),
    ];

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    fs::create_dir_all(dir.join("sheet")).unwrap();
    fs::create_dir_all(dir.join("sheet_xml")).unwrap();
    for (name, headers, rows) in seeds {
        let bytes = write_xlsx(&headers, rows.iter().map(|r| r.iter())).unwrap();
        fs::write(dir.join("sheet").join(format!("{name}.xlsx")), &bytes).unwrap();
        let mut zip = ZipArchive::new(Cursor::new(&bytes)).unwrap();
        let mut part = |path: &str| {
            let mut out = Vec::new();
            if let Ok(mut file) = zip.by_name(path) {
                file.read_to_end(&mut out).unwrap();
            }
            out
        };
        let mut xml = part("xl/worksheets/sheet1.xml");
        xml.push(0);
        xml.extend(part("xl/sharedStrings.xml"));
        fs::write(dir.join("sheet_xml").join(name), xml).unwrap();
    }
    println!("seeds written under {}", dir.display());
}
