//! Export tasks: states, downloads and their guards, run_export, first-poll learning.

use super::*;

#[tokio::test]
async fn task_states_are_read() {
    let (fake, client, _) = start().await;
    fake.push(TASK, ok(json!({"status": 1})));
    fake.push(TASK, ok(json!({"status": 2, "fail_msg": "export failed"})));
    fake.push(
        TASK,
        ok(json!({"status": 3, "file_token": "ft-1", "url": "https://x"})),
    );
    fake.push(TASK, ok(json!({"status": 3})));
    assert_eq!(
        client.get_task("task-1").await.unwrap(),
        TaskStatus::Processing
    );
    assert_eq!(
        client.get_task("task-1").await.unwrap(),
        TaskStatus::Failed {
            message: "export failed".into()
        }
    );
    assert_eq!(
        client.get_task("task-1").await.unwrap(),
        TaskStatus::Done {
            file_token: "ft-1".into()
        }
    );
    assert_eq!(
        client.get_task("task-1").await.unwrap_err().reason(),
        "bad_response"
    );
    assert!(fake.requests(TASK).iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn a_download_error_body_is_an_error_with_its_code() {
    let (fake, client, recorder) = start().await;
    fake.push(DOWNLOAD, feishu_error(200, 121004, "data not exist"));
    fake.push(DOWNLOAD, feishu_error(403, 121005, "no permission"));
    let error = client.download("ft-1").await.unwrap_err();
    assert_eq!(error.code(), Some(121004));
    assert_eq!(error.reason(), "not_found");
    assert!(error.to_string().contains("download"), "{error}");
    let error = client.download("ft-1").await.unwrap_err();
    assert_eq!(error.code(), Some(121005));
    assert_eq!(recorder.codes(Endpoint::Download), ["121004", "121005"]);
    let request = &fake.requests(DOWNLOAD)[0];
    assert_eq!(request.query.as_deref(), Some("file_token=ft-1"));
    assert_eq!(request.authorization, bearer("t-1"));
}

#[tokio::test]
async fn a_good_download_is_returned_byte_for_byte() {
    let (fake, client, recorder) = start().await;
    let workbook = xlsx();
    fake.push(DOWNLOAD, file(workbook.clone()));
    fake.push(DOWNLOAD, Reply::Streamed(workbook.clone()));
    assert_eq!(client.download("ft-1").await.unwrap(), workbook);
    assert_eq!(client.download("ft-1").await.unwrap(), workbook);
    assert_eq!(recorder.codes(Endpoint::Download), ["0", "0"]);
}

#[tokio::test]
async fn a_download_over_the_cap_is_too_large() {
    let (fake, client, _) = start_with(|options| options.max_download_bytes = 4096).await;
    fake.push(DOWNLOAD, file(vec![7; 10_000]));
    fake.push(DOWNLOAD, Reply::Streamed(vec![7; 10_000]));
    for _ in 0..2 {
        let error = client.download("ft-1").await.unwrap_err();
        assert!(matches!(error, FeishuError::TooLarge { .. }), "{error:?}");
        assert_eq!(error.reason(), "too_large");
    }
    assert_eq!(fake.count(DOWNLOAD), 2, "not retried");
}

#[tokio::test]
async fn a_download_that_is_not_a_whole_zip_is_a_bad_response() {
    let (fake, client, _) = start().await;
    let workbook = xlsx();
    fake.push(DOWNLOAD, file(b"<html>surprise</html>".to_vec()));
    fake.push(DOWNLOAD, file(workbook[..workbook.len() - 30].to_vec()));
    for _ in 0..2 {
        let error = client.download("ft-1").await.unwrap_err();
        assert!(
            matches!(error, FeishuError::BadResponse { .. }),
            "{error:?}"
        );
        assert_eq!(error.reason(), "bad_response");
    }
}

#[test]
fn a_zip_bomb_is_refused_without_inflating_it() {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer
        .start_file("xl/worksheets/sheet1.xml", options)
        .unwrap();
    writer.write_all(&vec![b'0'; 4 << 20]).unwrap();
    let bomb = writer.finish().unwrap().into_inner();
    assert!(bomb.len() < 64 << 10, "compressed to {} bytes", bomb.len());
    let error = check_workbook(&bomb, 1 << 20).unwrap_err();
    assert!(matches!(
        error,
        FeishuError::TooLarge {
            what: "uncompressed workbook",
            ..
        }
    ));
    check_workbook(&bomb, 8 << 20).unwrap();
    check_workbook(&xlsx(), 1 << 20).unwrap();
}

#[tokio::test]
async fn run_export_creates_polls_and_downloads() {
    let (fake, client, recorder) = start().await;
    let workbook = xlsx();
    let never = fake.base.join("/never-fetch-this").unwrap();
    fake.push(TASK, ok(json!({"status": 1})));
    fake.push(TASK, ok(json!({"status": 1})));
    fake.push(
        TASK,
        ok(json!({"status": 3, "file_token": "ft-9", "url": never.as_str()})),
    );
    fake.push(DOWNLOAD, file(workbook.clone()));
    let poll = PollOptions {
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
    };
    let bytes = client.run_export(&meeting_list(), &poll).await.unwrap();
    assert_eq!(bytes, workbook);
    let code = |e: Endpoint| (e, "0".to_owned());
    assert_eq!(
        recorder.calls(),
        [
            code(Endpoint::Token),
            code(Endpoint::CreateMeetingList),
            code(Endpoint::GetTask),
            code(Endpoint::GetTask),
            code(Endpoint::GetTask),
            code(Endpoint::Download),
        ]
    );
    assert_eq!(
        fake.all_paths(),
        [TOKEN, MEETING_LIST, TASK, TASK, TASK, DOWNLOAD],
        "the url field is never fetched"
    );
    assert_eq!(
        fake.requests(DOWNLOAD)[0].query.as_deref(),
        Some("file_token=ft-9")
    );
}

#[tokio::test]
async fn run_export_reports_a_failed_task() {
    let (fake, client, _) = start().await;
    fake.push(TASK, ok(json!({"status": 2, "fail_msg": "too much data"})));
    let poll = PollOptions {
        initial_delay: Duration::from_millis(1),
        ..PollOptions::default()
    };
    let error = client.run_export(&meeting_list(), &poll).await.unwrap_err();
    assert!(
        matches!(&error, FeishuError::TaskFailed { task_id, message } if task_id == "task-1" && message == "too much data"),
        "{error:?}"
    );
    assert_eq!(error.reason(), "task_failed");
    assert_eq!(fake.count(DOWNLOAD), 0);
}

#[tokio::test]
async fn run_export_gives_up_after_the_poll_timeout() {
    let (fake, client, _) = start().await;
    for _ in 0..100 {
        fake.push(TASK, ok(json!({"status": 1})));
    }
    let poll = PollOptions {
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        timeout: Duration::from_millis(300),
    };
    let error = client.run_export(&meeting_list(), &poll).await.unwrap_err();
    assert!(error.is_task_timeout(), "{error:?}");
    assert_eq!(error.reason(), "timeout");
    let polls = fake.count(TASK);
    // 10 + 20 + 40 + 40 + … ms: at most 10 polls fit in 300 ms, and the backoff keeps it low.
    assert!((2..=10).contains(&polls), "{polls} polls");
    assert_eq!(fake.count(DOWNLOAD), 0);
}

#[tokio::test]
async fn the_first_poll_moves_toward_when_tasks_are_done() {
    let (fake, client, _) = start().await;
    let poll = PollOptions {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(10),
        timeout: Duration::from_secs(10),
    };
    let kind = meeting_list().kind();
    assert_eq!(
        client.first_poll_delay(kind, &poll),
        Duration::from_millis(100)
    );
    // Still processing at the first poll: the next export waits 32 % longer.
    fake.push(TASK, ok(json!({"status": 1})));
    fake.push(TASK, ok(json!({"status": 3, "file_token": "ft-1"})));
    fake.push(DOWNLOAD, file(xlsx()));
    client.run_export(&meeting_list(), &poll).await.unwrap();
    assert_eq!(
        client.first_poll_delay(kind, &poll),
        Duration::from_millis(132)
    );
    // Done at the first poll: 1 % sooner next time.
    fake.push(TASK, ok(json!({"status": 3, "file_token": "ft-2"})));
    fake.push(DOWNLOAD, file(xlsx()));
    client.run_export(&meeting_list(), &poll).await.unwrap();
    let learned = client.first_poll_delay(kind, &poll).as_secs_f64();
    assert!((learned - 0.13068).abs() < 1e-6, "{learned}");
    assert_eq!(fake.count(TASK), 3);
}
