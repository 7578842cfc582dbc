//! What the client sends: bodies, query parameters, options, endpoints, Send + Sync.

use super::*;

#[tokio::test]
async fn request_bodies_and_query_parameters_are_as_documented() {
    let (fake, client, _) = start_with(|options| options.user_id_type = UserIdType::UnionId).await;
    let requests = [
        ExportRequest::MeetingList {
            start: 1_700_000_000,
            end: 1_700_003_600,
            status: Some(MeetingStatus::Ongoing),
            filter: Some(MeetingFilter::MeetingType(MeetingType::Video)),
        },
        ExportRequest::MeetingList {
            start: 1_700_000_000,
            end: 1_700_003_600,
            status: None,
            filter: Some(MeetingFilter::RoomId("omm_room".into())),
        },
        ExportRequest::ParticipantList {
            meeting_start: 1_700_000_000,
            meeting_end: 1_700_001_800,
            meeting_no: "123456789".into(),
            status: Some(MeetingStatus::Ended),
            user_id: None,
            room_id: None,
        },
        ExportRequest::ParticipantQualityList {
            meeting_start: 1_700_000_000,
            meeting_end: 1_700_001_800,
            meeting_no: "123456789".into(),
            join_time: 1_700_000_060,
            participant: Participant::User("ou_abc".into()),
        },
        ExportRequest::ResourceReservationList {
            room_level_id: "omb_level".into(),
            start: 1_700_000_000,
            end: 1_700_086_400,
            need_topic: Some(true),
            room_ids: vec!["omm_1".into(), "omm_2".into()],
            is_exclude: Some(false),
        },
        ExportRequest::ResourceReservationList {
            room_level_id: "omb_level".into(),
            start: 1_700_000_000,
            end: 1_700_086_400,
            need_topic: None,
            room_ids: vec![],
            is_exclude: None,
        },
    ];
    for request in &requests {
        client.create_export(request).await.unwrap();
    }
    let ml = fake.requests(MEETING_LIST);
    assert_eq!(
        ml[0].json(),
        json!({"start_time": "1700000000", "end_time": "1700003600", "meeting_status": 1, "meeting_type": 2})
    );
    assert_eq!(
        ml[1].json(),
        json!({"start_time": "1700000000", "end_time": "1700003600", "room_id": "omm_room"})
    );
    let pl = fake.requests(PARTICIPANT_LIST);
    assert_eq!(
        pl[0].json(),
        json!({"meeting_start_time": "1700000000", "meeting_end_time": "1700001800",
               "meeting_no": "123456789", "meeting_status": 2})
    );
    let ql = fake.requests(QUALITY_LIST);
    assert_eq!(
        ql[0].json(),
        json!({"meeting_start_time": "1700000000", "meeting_end_time": "1700001800",
               "meeting_no": "123456789", "join_time": "1700000060", "user_id": "ou_abc"})
    );
    let rl = fake.requests(RESERVATION_LIST);
    assert_eq!(
        rl[0].json(),
        json!({"room_level_id": "omb_level", "start_time": "1700000000", "end_time": "1700086400",
               "need_topic": true, "room_ids": ["omm_1", "omm_2"], "is_exclude": false})
    );
    assert_eq!(
        rl[1].json(),
        json!({"room_level_id": "omb_level", "start_time": "1700000000", "end_time": "1700086400"})
    );
    for r in ml.iter().chain(&pl).chain(&ql) {
        assert_eq!(
            r.query.as_deref(),
            Some("user_id_type=union_id"),
            "{}",
            r.path
        );
    }
    for r in &rl {
        assert_eq!(r.query, None);
    }
    for r in ml.iter().chain(&pl).chain(&ql).chain(&rl) {
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(r.authorization, bearer("t-1"));
    }
    assert_eq!(
        requests.iter().map(ExportRequest::kind).collect::<Vec<_>>(),
        [
            "meeting_list",
            "meeting_list",
            "participant_list",
            "participant_quality_list",
            "resource_reservation_list",
            "resource_reservation_list"
        ]
    );
}

#[test]
fn bad_options_are_refused() {
    let base = Url::parse("https://open.feishu.cn").unwrap();
    let app = || Credentials::App {
        app_id: "cli_x".into(),
        app_secret: Secret::new("s"),
    };
    let observer: Arc<dyn CallObserver> = Arc::new(NoopObserver);
    let mut zero_rate = ClientOptions::new(base.clone(), app());
    zero_rate.requests_per_minute = 0;
    let no_secret = ClientOptions::new(
        base.clone(),
        Credentials::App {
            app_id: "cli_x".into(),
            app_secret: Secret::default(),
        },
    );
    let not_http = ClientOptions::new(Url::parse("ftp://open.feishu.cn").unwrap(), app());
    for options in [zero_rate, no_secret, not_http] {
        let error = Client::new(options, observer.clone()).unwrap_err();
        assert_eq!(error.reason(), "config");
    }
    Client::new(ClientOptions::new(base, app()), observer).unwrap();
}

#[test]
fn endpoint_labels_and_kinds() {
    let labels: Vec<_> = Endpoint::ALL.iter().map(|e| e.label()).collect();
    assert_eq!(
        labels,
        [
            "token",
            "meeting_list",
            "participant_list",
            "participant_quality_list",
            "resource_reservation_list",
            "get_task",
            "download"
        ]
    );
    for (index, endpoint) in Endpoint::ALL.iter().enumerate() {
        assert_eq!(endpoint.index(), index);
    }
}

#[test]
fn the_client_and_its_futures_can_be_shared_and_spawned() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    fn spawnable<T: Send>(_: &T) {}
    shared::<Client>();
    let client = Client::new(
        ClientOptions::new(
            Url::parse("https://open.feishu.cn").unwrap(),
            Credentials::UserToken(Secret::new("u-x")),
        ),
        Arc::new(NoopObserver),
    )
    .unwrap();
    let request = meeting_list();
    let poll = PollOptions::default();
    spawnable(&client.run_export(&request, &poll));
    spawnable(&client.create_export(&request));
}

#[test]
fn a_retry_policy_with_crossed_bounds_is_refused() {
    let mut options = ClientOptions::new(
        Url::parse("https://open.feishu.cn").unwrap(),
        Credentials::UserToken(Secret::new("u-x")),
    );
    options.retry.throttle_min = Duration::from_secs(61);
    let error = Client::new(options, Arc::new(NoopObserver)).unwrap_err();
    assert_eq!(error.reason(), "config");
    assert!(error.to_string().contains("throttle_min"), "{error}");
}
