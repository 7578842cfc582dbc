//! The tenant token: fetched, cached, refreshed once when rejected, shared; the user token.

use super::*;

#[tokio::test]
async fn token_is_cached_and_refreshed_once_on_an_expired_token() {
    let (fake, client, recorder) = start().await;

    assert_eq!(
        client.create_export(&meeting_list()).await.unwrap(),
        "task-1"
    );
    assert_eq!(
        client.create_export(&meeting_list()).await.unwrap(),
        "task-1"
    );
    assert_eq!(fake.count(TOKEN), 1, "the token is cached across calls");
    let token_call = &fake.requests(TOKEN)[0];
    assert_eq!(
        token_call.json(),
        json!({"app_id": "cli_test", "app_secret": SECRET})
    );
    assert_eq!(token_call.authorization, None);

    fake.push(
        MEETING_LIST,
        feishu_error(400, 99991663, "Invalid access token"),
    );
    assert_eq!(
        client.create_export(&meeting_list()).await.unwrap(),
        "task-1"
    );
    assert_eq!(fake.count(TOKEN), 2, "exactly one refresh");
    let auth: Vec<_> = fake
        .requests(MEETING_LIST)
        .into_iter()
        .map(|r| r.authorization)
        .collect();
    assert_eq!(
        auth,
        [bearer("t-1"), bearer("t-1"), bearer("t-1"), bearer("t-2")],
        "the rejected call is retried once with the new token"
    );
    let code = |e: Endpoint, c: &str| (e, c.to_owned());
    assert_eq!(
        recorder.calls(),
        [
            code(Endpoint::Token, "0"),
            code(Endpoint::CreateMeetingList, "0"),
            code(Endpoint::CreateMeetingList, "0"),
            code(Endpoint::CreateMeetingList, "99991663"),
            code(Endpoint::Token, "0"),
            code(Endpoint::CreateMeetingList, "0"),
        ]
    );
}

#[tokio::test]
async fn a_token_still_rejected_after_the_refresh_is_returned() {
    let (fake, client, _) = start().await;
    for _ in 0..3 {
        fake.push(MEETING_LIST, feishu_error(400, 99991671, "token expired"));
    }
    let error = client.create_export(&meeting_list()).await.unwrap_err();
    assert_eq!(error.code(), Some(99991671));
    assert_eq!(error.reason(), "auth");
    assert_eq!(
        fake.count(MEETING_LIST),
        2,
        "one retry after one refresh, no more"
    );
    assert_eq!(fake.count(TOKEN), 2);
}

#[tokio::test]
async fn a_due_token_is_refreshed_before_the_call() {
    let fake = Fake::start().await;
    *fake.state.token_expire.lock().unwrap() = 0;
    let (client, _) = client_with(options(&fake));
    client.create_export(&meeting_list()).await.unwrap();
    client.create_export(&meeting_list()).await.unwrap();
    assert_eq!(
        fake.count(TOKEN),
        2,
        "a token without life left is not reused"
    );
    let auth: Vec<_> = fake
        .requests(MEETING_LIST)
        .into_iter()
        .map(|r| r.authorization)
        .collect();
    assert_eq!(auth, [bearer("t-1"), bearer("t-2")]);
}

#[test]
fn the_refresh_margin_is_five_minutes_or_a_tenth() {
    use crate::feishu::auth::refresh_margin;
    assert_eq!(
        refresh_margin(Duration::from_secs(7200)),
        Duration::from_secs(300)
    );
    assert_eq!(
        refresh_margin(Duration::from_secs(600)),
        Duration::from_secs(60)
    );
    assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_fetch() {
    let (fake, client, _) = start().await;
    let request = meeting_list();
    let calls = (0..8).map(|_| client.create_export(&request));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap(), "task-1");
    }
    assert_eq!(fake.count(TOKEN), 1);
    assert_eq!(fake.count(MEETING_LIST), 8);
}

#[tokio::test]
async fn a_user_token_is_used_as_is_and_its_rejection_is_permanent() {
    let (fake, client, _) = start_with(|options| {
        options.credentials = Credentials::UserToken(Secret::new("u-user-token"))
    })
    .await;
    client.create_export(&meeting_list()).await.unwrap();
    fake.push(
        MEETING_LIST,
        feishu_error(400, 99991677, "user token expired"),
    );
    let error = client.create_export(&meeting_list()).await.unwrap_err();
    assert_eq!(error.code(), Some(99991677));
    assert!(error.is_permanent());
    assert_eq!(fake.count(TOKEN), 0, "a user token is never exchanged");
    assert_eq!(fake.count(MEETING_LIST), 2);
    assert!(fake
        .requests(MEETING_LIST)
        .iter()
        .all(|r| r.authorization == bearer("u-user-token")));
}
