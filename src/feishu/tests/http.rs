//! What the client reads and says: secrets never appear in errors.

use super::*;

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let (fake, client, recorder) = start().await;
    fake.push(
        TOKEN,
        feishu_error(400, 10014, &format!("app secret invalid: {SECRET}")),
    );
    let error = client.create_export(&meeting_list()).await.unwrap_err();
    assert_eq!(error.code(), Some(10014));
    assert!(error.is_permanent());
    assert_eq!(error.reason(), "auth");
    assert_eq!(recorder.codes(Endpoint::Token), ["10014"]);
    assert_eq!(fake.count(MEETING_LIST), 0);
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains("10014") && shown.contains("token"),
        "{shown}"
    );
    assert!(!shown.contains(SECRET), "{shown}");

    fake.push(
        MEETING_LIST,
        feishu_error(400, 121003, "bad token t-1 in request"),
    );
    let error = client.create_export(&meeting_list()).await.unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("121003"), "{shown}");
    assert!(!shown.contains("t-1"), "the token is blanked: {shown}");
    assert!(shown.contains("bad token <redacted>"), "{shown}");

    let debug = format!("{client:?} {:?}", options(&fake));
    assert!(!debug.contains(SECRET), "{debug}");
}
