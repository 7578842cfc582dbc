//! The simulator's tests: the tenant's ground truth, then the API over HTTP on 127.0.0.1:0.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};

use super::*;

/// Tuesday 2024-06-04 12:00:00 +08:00.
const NOON: i64 = 1_717_473_600;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

mod tenant_truth {
    use super::*;

    #[test]
    fn same_seed_same_data_different_seed_different_data() {
        let (a, b, c) = (Tenant::new(42), Tenant::new(42), Tenant::new(43));
        let range = (NOON - 3 * DAY, NOON);
        assert_eq!(
            a.meetings_started_between(range.0, range.1),
            b.meetings_started_between(range.0, range.1)
        );
        assert_eq!(a.users(), b.users());
        assert_eq!(a.rooms(), b.rooms());
        assert_eq!(
            a.bookings_between(a.room_level_id(), range.0, range.1),
            b.bookings_between(b.room_level_id(), range.0, range.1)
        );
        assert_ne!(
            a.meetings_started_between(range.0, range.1),
            c.meetings_started_between(range.0, range.1)
        );
        assert_ne!(a.users(), c.users());
        // Quality is regenerated on every call, identically.
        let m = &a.meetings_started_between(range.0, range.1)[3];
        assert_eq!(m.quality_minutes(0), m.quality_minutes(0));
    }

    #[test]
    fn any_range_gives_the_same_meetings_however_it_is_asked() {
        let t = Tenant::new(7);
        let whole = t.meetings_started_between(NOON - DAY, NOON);
        let mut halves = t.meetings_started_between(NOON - DAY, NOON - 5 * HOUR - 1);
        halves.extend(t.meetings_started_between(NOON - 5 * HOUR, NOON));
        assert_eq!(whole, halves);
        // Bounds are inclusive on both ends.
        let first = &whole[0];
        let exact = t.meetings_started_between(first.start, first.start);
        assert!(exact.iter().any(|m| m.meeting_no == first.meeting_no));
        // Meeting numbers are unique, nine digits, and lead back to their meeting.
        let numbers: BTreeSet<_> = whole.iter().map(|m| m.meeting_no.clone()).collect();
        assert_eq!(numbers.len(), whole.len());
        for m in whole.iter().take(30) {
            assert_eq!(m.meeting_no.len(), 9);
            assert_eq!(t.meeting_by_no(&m.meeting_no).as_ref(), Some(m));
        }
        assert!(t.meeting_by_no("12345").is_none());
        assert!(t.meeting_by_no("abcdefghi").is_none());
    }

    #[test]
    fn every_hour_has_a_meeting_and_sizes_and_lengths_are_realistic() {
        let t = Tenant::new(42);
        let start = NOON - 28 * DAY;
        let meetings = t.meetings_started_between(start, NOON - 1);
        for hour in 0..28 * 24 {
            let from = start + hour * HOUR;
            assert!(
                meetings
                    .iter()
                    .any(|m| m.start >= from && m.start < from + HOUR),
                "no meeting in hour {hour}"
            );
        }
        let n = meetings.len() as f64;
        let share = |f: &dyn Fn(usize) -> bool| {
            meetings.iter().filter(|m| f(m.participants.len())).count() as f64 / n
        };
        let small = share(&|s| (2..=8).contains(&s));
        let medium = share(&|s| (10..=50).contains(&s));
        let large = share(&|s| s >= 100);
        assert!(small > 0.65, "2–8: {small}");
        assert!(medium > 0.05 && medium < 0.25, "10–50: {medium}");
        assert!(large > 0.0 && large < 0.02, "100+: {large}");
        let mut minutes: Vec<i64> = meetings.iter().map(|m| m.duration() / 60).collect();
        minutes.sort();
        assert!(minutes[0] >= 5 && *minutes.last().unwrap() <= 120);
        let median = minutes[minutes.len() / 2];
        assert!((15..=60).contains(&median), "median {median} min");
        // Business hours are busier than nights.
        let local_hour = |t: i64| (t + 8 * HOUR).rem_euclid(DAY) / HOUR;
        let day = meetings
            .iter()
            .filter(|m| local_hour(m.start) == 10)
            .count();
        let night = meetings.iter().filter(|m| local_hour(m.start) == 3).count();
        assert!(day > 3 * night, "10h {day} vs 3h {night}");
        // Variety of devices, networks, leave reasons, and both meeting types.
        let participants: Vec<_> = meetings.iter().flat_map(|m| &m.participants).collect();
        for device in Device::ALL {
            assert!(
                participants.iter().any(|p| p.device == *device),
                "{device:?}"
            );
        }
        for network in NetworkType::ALL {
            assert!(participants.iter().any(|p| p.network_type == *network));
        }
        for reason in LeaveReason::ALL {
            assert!(participants.iter().any(|p| p.leave_reason == *reason));
        }
        assert!(meetings
            .iter()
            .any(|m| m.meeting_type == MeetingType::ScreenCast));
        let versions: BTreeSet<_> = participants.iter().map(|p| &p.client_version).collect();
        assert!(versions.len() >= 4);
    }

    /// CPU time of the calling thread: unlike wall time, a loaded machine does not stretch it.
    fn thread_cpu_time() -> Duration {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec, which `t` is.
        let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        assert_eq!(ok, 0, "{}", std::io::Error::last_os_error());
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }

    #[test]
    fn a_week_generates_well_under_a_second() {
        let t = Tenant::new(42);
        let timer = thread_cpu_time();
        let meetings = t.meetings_started_between(NOON - 7 * DAY, NOON);
        let bookings = t.bookings_between(t.room_level_id(), NOON - 7 * DAY, NOON);
        let elapsed = thread_cpu_time() - timer;
        assert!(meetings.len() > 200 && bookings.len() > 100);
        assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    }

    #[test]
    fn participants_fit_their_meeting() {
        let t = Tenant::new(42);
        for m in t.meetings_started_between(NOON - 3 * DAY, NOON) {
            let ps = &m.participants;
            assert!(!ps.is_empty());
            assert_eq!(ps[0].person, m.organizer);
            assert_eq!(ps[0].join, m.start);
            assert_eq!(ps.iter().map(|p| p.leave).max(), Some(m.end));
            for p in ps {
                assert!(p.join >= m.start && p.leave <= m.end && p.leave > p.join);
                assert_eq!(p.room_id.is_some(), p.device == Device::Rooms);
                if let Some((a, b)) = p.video_on {
                    assert!(p.join <= a && a < b && b <= p.leave);
                }
                if p.leave < m.end {
                    assert_ne!(p.leave_reason, LeaveReason::HostEnded);
                }
            }
            assert_eq!(m.audio, ps.iter().any(|p| p.audio));
            assert_eq!(m.video, ps.iter().any(|p| p.video));
            assert_eq!(m.share, ps.iter().any(|p| p.share));
            let ids: BTreeSet<_> = ps.iter().map(|p| p.id(IdType::OpenId)).collect();
            assert_eq!(ids.len(), ps.len(), "a person twice in {}", m.meeting_no);
        }
    }

    #[test]
    fn quality_minutes_cover_the_session_and_show_bad_networks() {
        let t = Tenant::new(42);
        let meetings = t.meetings_started_between(NOON - 2 * DAY, NOON);
        let (mut minutes, mut bad, mut unused) = (0, 0, 0);
        for m in &meetings {
            for (i, p) in m.participants.iter().enumerate() {
                let q = m.quality_minutes(i);
                assert_eq!(q.len(), p.quality_minute_times().count());
                assert_eq!(q[0].time, p.join - p.join.rem_euclid(60));
                for row in &q {
                    minutes += 1;
                    assert!(row.client_cpu_min_pct <= row.client_cpu_avg_pct);
                    assert!(row.client_cpu_avg_pct <= row.client_cpu_max_pct);
                    assert!(row.client_cpu_max_pct <= row.system_cpu_max_pct);
                    assert_eq!(row.audio.send.is_some(), p.audio);
                    if row.video.send.is_none() {
                        unused += 1;
                    }
                    for pair in row.media() {
                        for s in [pair.receive, pair.send].into_iter().flatten() {
                            assert!(s.loss_max_pct >= s.loss_avg_pct);
                            if row.bad_network {
                                assert!(s.latency_ms >= 300 && s.jitter_ms >= 30);
                                assert!(s.loss_avg_pct >= 5.0);
                            }
                        }
                    }
                    bad += row.bad_network as usize;
                }
            }
        }
        let bad_share = bad as f64 / minutes as f64;
        assert!(
            bad_share > 0.002 && bad_share < 0.08,
            "bad minutes {bad_share}"
        );
        assert!(unused > 0);
    }

    #[test]
    fn quality_cells_are_exactly_the_typed_values() {
        let t = Tenant::new(42);
        let m = t
            .meetings_started_between(NOON - DAY, NOON)
            .into_iter()
            .find(|m| m.share && m.participants.len() >= 3)
            .expect("a shared meeting");
        let minutes = m.quality_minutes(0);
        let row = participant_quality_row(&minutes[0]);
        assert_eq!(row.len(), PARTICIPANT_QUALITY_LIST_HEADERS.len());
        assert_eq!(row[0], format_time(minutes[0].time));
        for q in &minutes {
            let row = participant_quality_row(q);
            let mut col = 1;
            for pair in q.media() {
                for stats in [pair.receive, pair.send] {
                    match stats {
                        None => assert!(row[col..col + 5].iter().all(|c| c == "-")),
                        Some(s) => {
                            assert_eq!(row[col], format_bitrate(s.bitrate_bps));
                            assert_eq!(row[col + 1], format!("{}ms", s.latency_ms));
                            assert_eq!(row[col + 2], format!("{}ms", s.jitter_ms));
                            let pct: f64 = row[col + 3].trim_end_matches('%').parse().unwrap();
                            assert_eq!(pct, s.loss_avg_pct);
                        }
                    }
                    col += 5;
                }
            }
            let cpu: f64 = row[32].trim_end_matches('%').parse().unwrap();
            assert_eq!(cpu, q.client_cpu_avg_pct);
        }
    }

    #[test]
    fn bookings_show_every_state_device_and_check_in_status() {
        let t = Tenant::new(42);
        let bookings = t.bookings_between(t.room_level_id(), NOON - 14 * DAY, NOON);
        let statuses: BTreeSet<_> = bookings.iter().map(|b| b.status).collect();
        assert_eq!(statuses.len(), ReservationStatus::ALL.len(), "{statuses:?}");
        let devices: BTreeSet<_> = bookings.iter().filter_map(|b| b.check_in_device).collect();
        assert_eq!(devices.len(), CheckInDevice::ALL.len());
        // The final states, plus the two that only exist before a booking's check-in.
        let mut checks: BTreeSet<_> = bookings.iter().map(|b| b.check_in_status).collect();
        for b in bookings
            .iter()
            .filter(|b| b.check_in_status == CheckInStatus::CheckedIn)
        {
            checks.insert(b.at(b.start - CHECK_IN_OPENS_BEFORE - 60).check_in_status);
            checks.insert(b.at(b.start - 60).check_in_status);
        }
        assert_eq!(checks.len(), CheckInStatus::ALL.len(), "{checks:?}");
        for b in &bookings {
            assert_eq!(&b.at(b.end), b, "final after its end");
            assert!(b.acceptances <= b.invitees && b.duration() >= 1800);
            assert_eq!(b.check_in_device.is_some(), b.check_in_time.is_some());
            if let Some(release) = b.release_time {
                assert!(release < b.end);
            }
            // Before the start nothing has been checked in or released yet (but a release by
            // hand before the start).
            let early = b.at(b.start - 2 * CHECK_IN_OPENS_BEFORE);
            assert!(early.check_in_time.is_none());
            if b.status != ReservationStatus::ReleasedManually {
                assert!(early.release_time.is_none());
            }
        }
        // A room holds one booking at a time.
        let mut by_room: BTreeMap<&str, Vec<&SimBooking>> = BTreeMap::new();
        for b in &bookings {
            by_room.entry(&b.room_id).or_default().push(b);
        }
        for list in by_room.values() {
            for pair in list.windows(2) {
                assert!(pair[0].end <= pair[1].start);
            }
        }
    }

    #[test]
    fn room_levels_form_a_tree() {
        let t = Tenant::new(42);
        let all = t.rooms_in_level(t.room_level_id()).unwrap();
        assert_eq!(all.len(), t.rooms().len());
        let child = &t.room_levels()[1];
        let some = t.rooms_in_level(&child.level_id).unwrap();
        assert!(!some.is_empty() && some.len() < all.len());
        assert!(t.rooms_in_level("omb_nope").is_none());
        assert!(t
            .bookings_between(&child.level_id, NOON - 7 * DAY, NOON)
            .iter()
            .all(|b| some.iter().any(|r| r.room_id == b.room_id)));
        assert!(t.bookings_between("omb_nope", NOON - DAY, NOON).is_empty());
    }
}

#[test]
fn clocks_and_options() {
    assert_eq!(Clock::Fixed(NOON).now(), NOON);
    let system = Clock::System.now();
    assert!((Clock::Offset(-DAY).now() - (system - DAY)).abs() <= 1);
    let manual = ManualClock::new(NOON);
    let clock = Clock::Manual(manual.clone());
    manual.advance(Duration::from_secs(90));
    assert_eq!(clock.now(), NOON + 90);
    manual.set(NOON);
    assert_eq!(clock.now(), NOON);
    assert_eq!(
        clock.skipped_ms(),
        90_000,
        "a jump back does not rewind the timeline"
    );
    manual.set(NOON + 10);
    assert_eq!(clock.skipped_ms(), 100_000);

    let options = SimulatorOptions::default();
    assert_eq!((options.app_id.as_str(), options.seed), ("cli_demo", 42));
    assert_eq!(options.requests_per_minute, 100);
    assert_eq!(options.token_ttl, Duration::from_secs(7200));
    let printed = format!("{options:?}");
    assert!(!printed.contains("demo-secret") && printed.contains("<redacted>"));
}

mod api {
    use super::*;
    use reqwest::StatusCode;

    fn quick(clock: Clock) -> SimulatorOptions {
        SimulatorOptions {
            task_delay: (Duration::from_millis(30), Duration::from_millis(60)),
            requests_per_minute: 0,
            clock,
            ..SimulatorOptions::default()
        }
    }

    struct Client {
        sim: SimulatorHandle,
        http: reqwest::Client,
        token: String,
    }

    impl Client {
        async fn start(options: SimulatorOptions) -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let sim = Simulator::start(listener, options).await;
            let http = reqwest::Client::new();
            let mut client = Self {
                sim,
                http,
                token: String::new(),
            };
            let (status, body) = client
                .post_raw(
                    "/open-apis/auth/v3/tenant_access_token/internal",
                    None,
                    json!({"app_id": "cli_demo", "app_secret": "demo-secret"}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            client.token = body["tenant_access_token"].as_str().unwrap().to_string();
            client
        }

        fn url(&self, path: &str) -> String {
            format!("{}{path}", self.sim.base_url())
        }

        async fn post_raw(
            &self,
            path: &str,
            token: Option<&str>,
            body: Value,
        ) -> (StatusCode, Value) {
            let mut request = self.http.post(self.url(path)).json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json().await.unwrap_or(Value::Null))
        }

        async fn create(&self, kind: &str, body: Value) -> (StatusCode, Value) {
            let path = format!("/open-apis/vc/v1/exports/{kind}");
            self.post_raw(&path, Some(&self.token), body).await
        }

        async fn get(&self, path: &str) -> reqwest::Response {
            self.http
                .get(self.url(path))
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap()
        }

        async fn poll(&self, task_id: &str) -> (StatusCode, Value) {
            let response = self
                .get(&format!("/open-apis/vc/v1/exports/{task_id}"))
                .await;
            let status = response.status();
            (status, response.json().await.unwrap_or(Value::Null))
        }

        /// Polls until the task leaves status 1; the final `data`.
        async fn wait(&self, task_id: &str) -> Value {
            for _ in 0..200 {
                let (_, body) = self.poll(task_id).await;
                assert_eq!(body["code"], 0, "{body}");
                if body["data"]["status"] != 1 {
                    return body["data"].clone();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("task {task_id} never finished");
        }

        async fn download(&self, file_token: &str) -> reqwest::Response {
            self.get(&format!(
                "/open-apis/vc/v1/exports/download?file_token={file_token}"
            ))
            .await
        }

        /// Create, wait, download: the sheet's rows, the header row first.
        async fn export(&self, kind: &str, query: &str, body: Value) -> Vec<Vec<String>> {
            let (status, created) = self.create(&format!("{kind}{query}"), body).await;
            assert_eq!(status, StatusCode::OK, "{created}");
            let task_id = created["data"]["task_id"].as_str().unwrap().to_string();
            let data = self.wait(&task_id).await;
            assert_eq!(data["status"], 3, "{data}");
            let response = self.download(data["file_token"].as_str().unwrap()).await;
            assert_eq!(response.status(), StatusCode::OK);
            read_xlsx(&response.bytes().await.unwrap())
        }
    }

    fn read_xlsx(bytes: &[u8]) -> Vec<Vec<String>> {
        use calamine::Reader;
        let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let range = workbook.worksheet_range_at(0).unwrap().unwrap();
        range
            .rows()
            .map(|row| row.iter().map(|cell| cell.to_string()).collect())
            .collect()
    }

    fn s(t: i64) -> String {
        t.to_string()
    }

    #[tokio::test]
    async fn token_flow_credentials_and_expiry() {
        let clock = ManualClock::new(NOON);
        let c = Client::start(quick(Clock::Manual(clock.clone()))).await;
        let path = "/open-apis/auth/v3/tenant_access_token/internal";
        let (status, body) = c
            .post_raw(
                path,
                None,
                json!({"app_id": "cli_demo", "app_secret": "nope"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (StatusCode::BAD_REQUEST, Some(10014))
        );
        let (status, body) = c
            .post_raw(
                path,
                None,
                json!({"app_id": "cli_x", "app_secret": "demo-secret"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (StatusCode::BAD_REQUEST, Some(99991543))
        );
        // The right credentials give the current token while more than 30 min remain.
        let (_, body) = c
            .post_raw(
                path,
                None,
                json!({"app_id": "cli_demo", "app_secret": "demo-secret"}),
            )
            .await;
        assert_eq!(body["code"], 0);
        assert_eq!(body["msg"], "ok");
        assert_eq!(body["tenant_access_token"], c.token.as_str());
        assert!(c.token.starts_with("t-"));
        let expire = body["expire"].as_i64().unwrap();
        assert!((7190..=7200).contains(&expire), "{expire}");

        let body = json!({"start_time": s(NOON - HOUR), "end_time": s(NOON)});
        assert_eq!(
            c.create("meeting_list", body.clone()).await.0,
            StatusCode::OK
        );
        let (status, answer) = c
            .post_raw("/open-apis/vc/v1/exports/meeting_list", None, body.clone())
            .await;
        assert_eq!(
            (status, answer["code"].as_i64()),
            (StatusCode::BAD_REQUEST, Some(99991661))
        );
        let (_, answer) = c
            .post_raw(
                "/open-apis/vc/v1/exports/meeting_list",
                Some("t-bogus"),
                body.clone(),
            )
            .await;
        assert_eq!(answer["code"], 99991663);

        // 100 min later (20 min left) a new token is handed out; the old one still works.
        clock.advance(Duration::from_secs(100 * 60));
        let (_, fresh) = c
            .post_raw(
                path,
                None,
                json!({"app_id": "cli_demo", "app_secret": "demo-secret"}),
            )
            .await;
        let fresh_token = fresh["tenant_access_token"].as_str().unwrap().to_string();
        assert_ne!(fresh_token, c.token);
        assert_eq!(
            c.create("meeting_list", body.clone()).await.0,
            StatusCode::OK
        );
        // After two hours the first token is dead, the new one is not.
        clock.advance(Duration::from_secs(21 * 60));
        let (status, answer) = c.create("meeting_list", body.clone()).await;
        assert_eq!(
            (status, answer["code"].as_i64()),
            (StatusCode::BAD_REQUEST, Some(99991663))
        );
        let (status, _) = c
            .post_raw(
                "/open-apis/vc/v1/exports/meeting_list",
                Some(&fresh_token),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let stats = c.sim.stats();
        assert_eq!(stats.tokens_issued, 2);
        assert_eq!(stats.calls(endpoint::TOKEN), 5);
        assert!(stats.auth_failures >= 4);
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_short_token_ttl_expires_in_real_time() {
        let c = Client::start(SimulatorOptions {
            token_ttl: Duration::from_secs(1),
            ..quick(Clock::Fixed(NOON))
        })
        .await;
        let body = json!({"start_time": s(NOON - HOUR), "end_time": s(NOON)});
        assert_eq!(
            c.create("meeting_list", body.clone()).await.0,
            StatusCode::OK
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (_, answer) = c.create("meeting_list", body).await;
        assert_eq!(answer["code"], 99991663);
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn create_calls_validate_their_parameters() {
        let c = Client::start(quick(Clock::Fixed(NOON))).await;
        let m = c
            .sim
            .tenant()
            .meetings_started_between(NOON - 3 * HOUR, NOON - 2 * HOUR)[0]
            .clone();
        let p = &m.participants[0];
        let cases: Vec<(&str, Value, i64, &str)> = vec![
            (
                "meeting_list",
                json!({"start_time": NOON - HOUR, "end_time": s(NOON)}),
                121003,
                "start_time",
            ),
            (
                "meeting_list",
                json!({"start_time": s(NOON - HOUR)}),
                121003,
                "end_time",
            ),
            (
                "meeting_list",
                json!({"start_time": "yesterday", "end_time": s(NOON)}),
                121003,
                "start_time",
            ),
            (
                "meeting_list",
                json!({"start_time": s(NOON), "end_time": s(NOON - 1)}),
                121003,
                "start_time",
            ),
            (
                "meeting_list",
                json!({"start_time": s(NOON - HOUR), "end_time": s(NOON), "meeting_no": m.meeting_no, "meeting_type": 2}),
                121003,
                "meeting_no",
            ),
            (
                "meeting_list",
                json!({"start_time": s(NOON - HOUR), "end_time": s(NOON), "meeting_status": 4}),
                121003,
                "meeting_status",
            ),
            (
                "meeting_list",
                json!({"start_time": s(NOON - 40 * DAY), "end_time": s(NOON)}),
                121003,
                "31 days",
            ),
            (
                "participant_list",
                json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end)}),
                121003,
                "meeting_no",
            ),
            (
                "participant_list",
                json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end), "meeting_no": "999999999"}),
                121004,
                "meeting",
            ),
            (
                "participant_list",
                json!({"meeting_start_time": s(m.start - 3600), "meeting_end_time": s(m.end), "meeting_no": m.meeting_no}),
                121004,
                "meeting",
            ),
            (
                "participant_quality_list",
                json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end), "meeting_no": m.meeting_no, "join_time": s(p.join)}),
                121003,
                "user_id",
            ),
            (
                "participant_quality_list",
                json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end), "meeting_no": m.meeting_no, "join_time": s(p.join), "user_id": p.person.open_id, "room_id": "omm_x"}),
                121003,
                "user_id",
            ),
            (
                "participant_quality_list",
                json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end), "meeting_no": m.meeting_no, "user_id": p.person.open_id}),
                121003,
                "join_time",
            ),
            (
                "participant_quality_list",
                json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end), "meeting_no": m.meeting_no, "join_time": s(p.join), "user_id": "ou_nobody"}),
                121004,
                "participant",
            ),
            (
                "participant_quality_list",
                json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end), "meeting_no": m.meeting_no, "join_time": s(p.join + 600), "user_id": p.person.open_id}),
                121004,
                "participant",
            ),
            (
                "resource_reservation_list",
                json!({"start_time": s(NOON - DAY), "end_time": s(NOON)}),
                121003,
                "room_level_id",
            ),
            (
                "resource_reservation_list",
                json!({"room_level_id": "omb_nope", "start_time": s(NOON - DAY), "end_time": s(NOON)}),
                121004,
                "room_level_id",
            ),
            (
                "resource_reservation_list",
                json!({"room_level_id": ROOT_LEVEL_ID, "start_time": s(NOON - DAY), "end_time": s(NOON), "room_ids": "omm_x"}),
                121003,
                "room_ids",
            ),
        ];
        for (kind, body, code, field) in cases {
            let (status, answer) = c.create(kind, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{kind} {body}: {answer}");
            assert_eq!(answer["code"], code, "{kind} {body}: {answer}");
            let msg = answer["msg"].as_str().unwrap();
            assert!(msg.contains(field), "{kind} {body}: {msg}");
        }
        let (status, answer) = c
            .create(
                "meeting_list?user_id_type=email",
                json!({"start_time": s(NOON - HOUR), "end_time": s(NOON)}),
            )
            .await;
        assert_eq!(
            (status, answer["code"].as_i64()),
            (StatusCode::BAD_REQUEST, Some(121003))
        );
        // The same calls done right are accepted, and only they created tasks.
        let ok = [
            (
                "meeting_list",
                json!({"start_time": s(NOON - HOUR), "end_time": s(NOON), "meeting_type": 2}),
            ),
            (
                "participant_list",
                json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end), "meeting_no": m.meeting_no}),
            ),
            (
                "participant_quality_list",
                json!({"meeting_start_time": s(m.start - m.start % 60), "meeting_end_time": s(m.end), "meeting_no": m.meeting_no, "join_time": s(p.join), "user_id": p.person.open_id}),
            ),
            (
                "resource_reservation_list",
                json!({"room_level_id": ROOT_LEVEL_ID, "start_time": s(NOON - DAY), "end_time": s(NOON)}),
            ),
        ];
        for (kind, body) in ok {
            let (status, answer) = c.create(kind, body).await;
            assert_eq!(status, StatusCode::OK, "{kind}: {answer}");
            assert!(answer["data"]["task_id"].is_string());
        }
        assert_eq!(c.sim.stats().total_tasks_created(), 4);
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn meeting_and_participant_exports_match_the_truth() {
        let c = Client::start(SimulatorOptions {
            task_delay: (Duration::from_millis(300), Duration::from_millis(400)),
            ..quick(Clock::Fixed(NOON))
        })
        .await;
        let (from, to) = (NOON - 6 * HOUR, NOON);
        let truth: Vec<_> = c
            .sim
            .tenant()
            .meetings_started_between(from, to)
            .into_iter()
            .filter(|m| m.end <= NOON)
            .collect();
        assert!(truth.len() > 5);

        // A task is processing first, then done; the url is not for clients.
        let (_, created) = c
            .create(
                "meeting_list",
                json!({"start_time": s(from), "end_time": s(to)}),
            )
            .await;
        let task_id = created["data"]["task_id"].as_str().unwrap().to_string();
        let (_, first) = c.poll(&task_id).await;
        assert_eq!(first["data"]["status"], 1, "{first}");
        let data = c.wait(&task_id).await;
        assert_eq!(data["status"], 3);
        let url = data["url"].as_str().unwrap();
        assert_eq!(
            c.http.get(url).send().await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        let response = c.download(data["file_token"].as_str().unwrap()).await;
        assert_eq!(
            response.headers()["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let disposition = response.headers()["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename="),
            "{disposition}"
        );
        let rows = read_xlsx(&response.bytes().await.unwrap());
        assert_eq!(rows[0], MEETING_LIST_HEADERS);
        assert_eq!(rows.len() - 1, truth.len());
        for (row, m) in rows[1..].iter().zip(&truth) {
            assert_eq!(row, &meeting_list_row(m, NOON, IdType::OpenId));
            assert_eq!(row[11], m.participants.len().to_string());
        }

        // 参会人数量 equals the participant_list rows, for a few meetings.
        for m in truth.iter().step_by(truth.len() / 4) {
            let rows = c
                .export(
                    "participant_list",
                    "",
                    json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end), "meeting_no": m.meeting_no}),
                )
                .await;
            assert_eq!(rows[0], PARTICIPANT_LIST_HEADERS);
            assert_eq!(rows.len() - 1, m.participants.len());
            let expected: Vec<Vec<String>> = participant_list_rows(m, NOON, IdType::OpenId)
                .into_iter()
                .map(|r| r.into_iter().collect())
                .collect();
            assert_eq!(&rows[1..], &expected[..]);
        }
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn quality_export_is_the_participants_minutes() {
        let c = Client::start(quick(Clock::Fixed(NOON))).await;
        let m = c
            .sim
            .tenant()
            .meetings_started_between(NOON - 3 * HOUR, NOON - HOUR)
            .into_iter()
            .find(|m| m.end <= NOON && m.participants.iter().any(|p| p.room_id.is_some()))
            .expect("a meeting with a room");
        let (index, p) = m
            .participants
            .iter()
            .enumerate()
            .find(|(_, p)| p.room_id.is_none() && p.video)
            .unwrap_or((0, &m.participants[0]));
        let rows = c
            .export(
                "participant_quality_list",
                "?user_id_type=user_id",
                json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end),
                       "meeting_no": m.meeting_no, "join_time": s(p.join), "user_id": p.person.user_id}),
            )
            .await;
        assert_eq!(rows[0], PARTICIPANT_QUALITY_LIST_HEADERS);
        let expected: Vec<Vec<String>> = m
            .quality_minutes(index)
            .iter()
            .map(participant_quality_row)
            .collect();
        assert_eq!(&rows[1..], &expected[..]);

        // The room, by room_id.
        let (room_index, room) = m
            .participants
            .iter()
            .enumerate()
            .find(|(_, p)| p.room_id.is_some())
            .unwrap();
        let rows = c
            .export(
                "participant_quality_list",
                "",
                json!({"meeting_start_time": s(m.start), "meeting_end_time": s(m.end),
                       "meeting_no": m.meeting_no, "join_time": s(room.join), "room_id": room.room_id}),
            )
            .await;
        assert_eq!(rows.len() - 1, m.quality_minutes(room_index).len());
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn filters_id_types_and_meeting_status() {
        let c = Client::start(quick(Clock::Fixed(NOON))).await;
        let (from, to) = (NOON - 4 * HOUR, NOON + 4 * HOUR);
        let all = c.sim.tenant().meetings_started_between(from, to);
        let count =
            |status: MeetingStatus| all.iter().filter(|m| m.status_at(NOON) == status).count();
        for (code, status) in [
            (1, MeetingStatus::Ongoing),
            (2, MeetingStatus::Ended),
            (3, MeetingStatus::Upcoming),
        ] {
            let rows = c
                .export(
                    "meeting_list",
                    "",
                    json!({"start_time": s(from), "end_time": s(to), "meeting_status": code}),
                )
                .await;
            assert_eq!(rows.len() - 1, count(status), "status {code}");
        }
        assert!(count(MeetingStatus::Ongoing) > 0);
        // An ongoing meeting: no end yet, the participants so far.
        let ongoing = all
            .iter()
            .find(|m| m.status_at(NOON) == MeetingStatus::Ongoing)
            .unwrap();
        let rows = c
            .export("participant_list", "", json!({"meeting_start_time": s(ongoing.start), "meeting_end_time": s(NOON), "meeting_no": ongoing.meeting_no, "meeting_status": 1}))
            .await;
        assert_eq!(rows.len() - 1, ongoing.participants_joined_by(NOON).count());

        // user_id filter in the union_id form, and the ids in the file follow the type.
        let user = &c.sim.tenant().users()[0];
        let rows = c
            .export(
                "meeting_list",
                "?user_id_type=union_id",
                json!({"start_time": s(NOON - 3 * DAY), "end_time": s(NOON), "user_id": user.union_id}),
            )
            .await;
        let expected = c
            .sim
            .tenant()
            .meetings_started_between(NOON - 3 * DAY, NOON)
            .into_iter()
            .filter(|m| m.end <= NOON && m.participants.iter().any(|p| p.person == *user))
            .count();
        assert!(expected > 0);
        assert_eq!(rows.len() - 1, expected);
        assert!(rows[1..].iter().all(|r| r[4].starts_with("on_")));

        // Nothing ended in the future: a file with the header row only.
        let rows = c
            .export(
                "meeting_list",
                "",
                json!({"start_time": s(NOON + HOUR), "end_time": s(NOON + 2 * HOUR)}),
            )
            .await;
        assert_eq!(rows, vec![MEETING_LIST_HEADERS.map(String::from).to_vec()]);

        // Screen-casts only.
        let rows = c
            .export(
                "meeting_list",
                "",
                json!({"start_time": s(NOON - 3 * DAY), "end_time": s(NOON), "meeting_type": 3}),
            )
            .await;
        let casts = c
            .sim
            .tenant()
            .meetings_started_between(NOON - 3 * DAY, NOON)
            .into_iter()
            .filter(|m| m.end <= NOON && m.meeting_type == MeetingType::ScreenCast)
            .count();
        assert_eq!(rows.len() - 1, casts);
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn reservation_export_matches_bookings_at_now() {
        let c = Client::start(quick(Clock::Fixed(NOON))).await;
        let t = c.sim.tenant();
        let (from, to) = (NOON - DAY, NOON + 6 * HOUR);
        let truth = t.bookings_between(t.room_level_id(), from, to);
        let rows = c
            .export(
                "resource_reservation_list",
                "",
                json!({"room_level_id": ROOT_LEVEL_ID, "start_time": s(from), "end_time": s(to), "need_topic": true}),
            )
            .await;
        assert_eq!(rows[0], RESOURCE_RESERVATION_LIST_HEADERS);
        let expected: Vec<Vec<String>> = truth
            .iter()
            .map(|b| resource_reservation_row(&b.at(NOON), true))
            .collect();
        assert_eq!(&rows[1..], &expected[..]);
        // Excluding one room drops exactly its bookings; topics only when asked for.
        let room = &t.rooms()[3];
        let rows = c
            .export(
                "resource_reservation_list",
                "",
                json!({"room_level_id": ROOT_LEVEL_ID, "start_time": s(from), "end_time": s(to), "room_ids": [room.room_id], "is_exclude": true}),
            )
            .await;
        let theirs = truth.iter().filter(|b| b.room_id == room.room_id).count();
        assert!(theirs > 0);
        assert_eq!(rows.len() - 1, truth.len() - theirs);
        assert!(rows[1..]
            .iter()
            .all(|r| r[1].is_empty() && r[0] != room.name));
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn over_the_limit_answers_429_with_the_reset_header() {
        let clock = ManualClock::new(NOON);
        let c = Client::start(SimulatorOptions {
            requests_per_minute: 5,
            ..quick(Clock::Manual(clock.clone()))
        })
        .await;
        for _ in 0..5 {
            let (status, body) = c.poll("123").await;
            assert_eq!(
                (status, body["code"].as_i64()),
                (StatusCode::BAD_REQUEST, Some(121004))
            );
        }
        let response = c.get("/open-apis/vc/v1/exports/123").await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["x-ogw-ratelimit-limit"], "5");
        let reset: i64 = response.headers()["x-ogw-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&reset), "{reset}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 99991400);
        assert_eq!(body["msg"], "request trigger frequency limit");
        // Other endpoints have their own budget.
        let (status, _) = c
            .create(
                "meeting_list",
                json!({"start_time": s(NOON - HOUR), "end_time": s(NOON)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        // A minute later the window has moved on.
        clock.advance(Duration::from_secs(61));
        assert_eq!(c.poll("123").await.0, StatusCode::BAD_REQUEST);
        let stats = c.sim.stats();
        assert_eq!(stats.rate_limited(endpoint::POLL), 1);
        assert_eq!(stats.calls(endpoint::POLL), 7);
        assert_eq!(stats.total_rate_limited(), 1);
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn injected_errors_come_at_the_configured_rate() {
        let c = Client::start(SimulatorOptions {
            faults: Faults {
                error_rate: 0.3,
                ..Faults::default()
            },
            ..quick(Clock::Fixed(NOON))
        })
        .await;
        let (mut injected, mut plain) = (0, 0);
        let n = 300;
        for _ in 0..n {
            let response = c.get("/open-apis/vc/v1/exports/123").await;
            let status = response.status();
            let text = response.text().await.unwrap();
            let code = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["code"].as_i64());
            match (status, code) {
                (StatusCode::INTERNAL_SERVER_ERROR, None) | (StatusCode::OK, Some(121001)) => {
                    injected += 1
                }
                (StatusCode::BAD_REQUEST, Some(121004)) => plain += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(injected + plain, n);
        let rate = injected as f64 / n as f64;
        assert!((0.22..0.38).contains(&rate), "{rate}");
        assert_eq!(c.sim.stats().injected_errors, injected as u64);
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn failed_and_slow_tasks() {
        let c = Client::start(SimulatorOptions {
            faults: Faults {
                failed_task_rate: 0.4,
                ..Faults::default()
            },
            task_delay: (Duration::ZERO, Duration::ZERO),
            ..quick(Clock::Fixed(NOON))
        })
        .await;
        let n = 80;
        let mut failed = 0;
        for i in 0..n {
            // A different export each time: one export's faults are capped (see the next test).
            let (_, created) = c
                .create(
                    "meeting_list",
                    json!({"start_time": s(NOON - HOUR - i), "end_time": s(NOON)}),
                )
                .await;
            let data = c.wait(created["data"]["task_id"].as_str().unwrap()).await;
            if data["status"] == 2 {
                assert!(!data["fail_msg"].as_str().unwrap().is_empty());
                assert!(data.get("file_token").is_none());
                failed += 1;
            } else {
                assert_eq!(data["status"], 3);
            }
        }
        let rate = failed as f64 / n as f64;
        assert!((0.25..0.55).contains(&rate), "{rate}");
        assert_eq!(c.sim.stats().failed_tasks, failed);
        c.sim.shutdown().await;

        let c = Client::start(SimulatorOptions {
            faults: Faults {
                slow_task_rate: 1.0,
                ..Faults::default()
            },
            task_delay: (Duration::from_millis(100), Duration::from_millis(100)),
            ..quick(Clock::Fixed(NOON))
        })
        .await;
        let created_at = std::time::Instant::now();
        let (_, created) = c
            .create(
                "meeting_list",
                json!({"start_time": s(NOON - HOUR), "end_time": s(NOON)}),
            )
            .await;
        let task_id = created["data"]["task_id"].as_str().unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(c.poll(task_id).await.1["data"]["status"], 1, "10× slower");
        assert_eq!(c.wait(task_id).await["status"], 3);
        assert!(created_at.elapsed() >= Duration::from_millis(1000));
        c.sim.shutdown().await;
    }

    /// The same export fails at most MAX_FAULT_STREAK times in a row, by failed tasks and
    /// truncated downloads together; a whole download starts a new streak.
    #[tokio::test]
    async fn one_export_gets_at_most_a_streak_of_faults() {
        let c = Client::start(SimulatorOptions {
            faults: Faults {
                failed_task_rate: 1.0,
                truncated_download_rate: 1.0,
                ..Faults::default()
            },
            task_delay: (Duration::ZERO, Duration::ZERO),
            ..quick(Clock::Fixed(NOON))
        })
        .await;
        /// Create and wait; download when the task is done. Whole or not?
        async fn attempt(c: &Client, body: &Value) -> &'static str {
            let (_, created) = c.create("meeting_list", body.clone()).await;
            let data = c.wait(created["data"]["task_id"].as_str().unwrap()).await;
            if data["status"] == 2 {
                return "failed";
            }
            let response = c.download(data["file_token"].as_str().unwrap()).await;
            let announced = response.content_length().unwrap();
            match response.bytes().await {
                Ok(bytes) if bytes.len() as u64 == announced => "whole",
                _ => "truncated",
            }
        }
        let body = json!({"start_time": s(NOON - HOUR), "end_time": s(NOON)});
        let mut outcomes = Vec::new();
        for _ in 0..2 * (MAX_FAULT_STREAK + 1) {
            outcomes.push(attempt(&c, &body).await);
        }
        let streak = vec!["failed"; MAX_FAULT_STREAK as usize];
        assert_eq!(
            outcomes,
            [&streak[..], &["whole"], &streak[..], &["whole"]].concat()
        );
        // Another export has its own streak: its task fails.
        let (_, created) = c
            .create(
                "meeting_list",
                json!({"start_time": s(NOON - 2 * HOUR), "end_time": s(NOON)}),
            )
            .await;
        let data = c.wait(created["data"]["task_id"].as_str().unwrap()).await;
        assert_eq!(data["status"], 2);
        let stats = c.sim.stats();
        assert_eq!(stats.failed_tasks, 2 * u64::from(MAX_FAULT_STREAK) + 1);
        assert_eq!(stats.truncated_downloads, 0);
        c.sim.shutdown().await;

        // Truncated downloads count in the streak as well.
        let c = Client::start(SimulatorOptions {
            faults: Faults {
                truncated_download_rate: 1.0,
                ..Faults::default()
            },
            task_delay: (Duration::ZERO, Duration::ZERO),
            ..quick(Clock::Fixed(NOON))
        })
        .await;
        let mut outcomes = Vec::new();
        for _ in 0..MAX_FAULT_STREAK + 1 {
            outcomes.push(attempt(&c, &body).await);
        }
        let streak = vec!["truncated"; MAX_FAULT_STREAK as usize];
        assert_eq!(outcomes, [&streak[..], &["whole"]].concat());
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_truncated_download_is_detectably_short() {
        let c = Client::start(SimulatorOptions {
            faults: Faults {
                truncated_download_rate: 1.0,
                ..Faults::default()
            },
            ..quick(Clock::Fixed(NOON))
        })
        .await;
        let (_, created) = c
            .create(
                "meeting_list",
                json!({"start_time": s(NOON - 6 * HOUR), "end_time": s(NOON)}),
            )
            .await;
        let data = c.wait(created["data"]["task_id"].as_str().unwrap()).await;
        let response = c.download(data["file_token"].as_str().unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let announced = response.content_length().expect("a Content-Length");
        match response.bytes().await {
            Err(_) => {}
            Ok(bytes) => assert!((bytes.len() as u64) < announced),
        }
        assert_eq!(c.sim.stats().truncated_downloads, 1);
        c.sim.shutdown().await;
    }

    #[tokio::test]
    async fn unknown_tasks_and_file_tokens() {
        let c = Client::start(quick(Clock::Fixed(NOON))).await;
        let (status, body) = c.poll("7000000000000000000").await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (StatusCode::BAD_REQUEST, Some(121004))
        );
        let response = c.download("boxcnNOPE").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 121004);
        // A download needs the token too.
        let response = c
            .http
            .get(c.url("/open-apis/vc/v1/exports/download?file_token=x"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.json::<Value>().await.unwrap()["code"], 99991661);
        c.sim.shutdown().await;
    }
}
