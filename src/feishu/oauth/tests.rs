//! The OAuth pieces: the authorise URL, PKCE, token answers and their error classes, grants.

use super::*;

const SECRET: &str = "app-secret-value";
const REFRESH: &str = "eyJhbGciOiJFUzI1NiIsRefreshTokenValue";

fn accounts() -> Url {
    Url::parse(FEISHU_ACCOUNTS_URL).unwrap()
}

#[test]
fn the_authorize_url_has_every_documented_parameter() {
    let state = Secret::new("st4te");
    let url = authorize_url(
        &accounts(),
        "cli_a5d611352af9d00b",
        "http://127.0.0.1:9875/callback",
        &["vc:export", "vc:room:readonly vc:export"],
        &state,
    );
    assert_eq!(url.path(), AUTHORIZE_PATH);
    assert_eq!(url.host_str(), Some("accounts.feishu.cn"));
    let query = url.query().unwrap();
    assert!(query.contains("scope=vc%3Aexport%20vc%3Aroom%3Areadonly%20offline_access"));
    assert!(!query.contains('+'), "{query}");
    let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs["client_id"], "cli_a5d611352af9d00b");
    assert_eq!(pairs["response_type"], "code");
    assert_eq!(pairs["redirect_uri"], "http://127.0.0.1:9875/callback");
    assert_eq!(pairs["scope"], "vc:export vc:room:readonly offline_access");
    assert_eq!(pairs["state"], "st4te");
    assert!(!pairs.contains_key("code_challenge"));
}

#[test]
fn offline_access_is_not_repeated_and_a_path_prefix_is_kept() {
    assert_eq!(scope_param(&["offline_access", "a"]), "offline_access a");
    assert_eq!(scope_param(&[]), "offline_access");
    let base = Url::parse("http://127.0.0.1:1234/prefix/").unwrap();
    let url = authorize_url(&base, "cli", "http://x/cb", &[], &Secret::new("s"));
    assert_eq!(url.path(), "/prefix/open-apis/authen/v1/authorize");
}

#[test]
fn pkce_uses_s256_of_the_verifier() {
    // SHA-256("abc") = ba7816bf…f20015ad (FIPS 180-2), base64url without padding.
    assert_eq!(
        s256_challenge("abc"),
        "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    );
    let pkce = Pkce::generate();
    let verifier = pkce.verifier().expose().to_owned();
    assert_eq!(verifier.len(), 43);
    assert!(verifier
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    let url = authorize_url_with_pkce(
        &accounts(),
        "cli",
        "http://x/cb",
        &[],
        &random_state(),
        &pkce,
    );
    let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs["code_challenge"], pkce.challenge());
    assert_eq!(pairs["code_challenge_method"], "S256");
    assert!(!url.as_str().contains(&verifier));
    assert!(!format!("{pkce:?}").contains(&verifier));
}

#[test]
fn states_are_random_and_never_print() {
    let (a, b) = (random_state(), random_state());
    assert_ne!(a, b);
    assert_eq!(a.expose().len(), 43);
    assert_eq!(format!("{a} {a:?}"), "<redacted> <redacted>");
}

#[test]
fn a_success_answer_becomes_a_dated_pair() {
    let body = br#"{"code":0,"access_token":"eyJhbGciOiJFUzI1NiIsAccess","expires_in":7200,
            "refresh_token":"eyJhbGciOiJFUzI1NiIsRefresh","refresh_token_expires_in":604800,
            "scope":"auth:user.id:read offline_access","token_type":"Bearer"}"#;
    let pair = parse_answer(200, body, &[], 1_000).unwrap();
    assert_eq!(pair.access_token.expose(), "eyJhbGciOiJFUzI1NiIsAccess");
    assert_eq!(pair.access_expires_at, 8_200);
    assert_eq!(pair.refresh_token.expose(), "eyJhbGciOiJFUzI1NiIsRefresh");
    assert_eq!(pair.refresh_expires_at, Some(605_800));
    assert_eq!(pair.scope, "auth:user.id:read offline_access");
    assert_eq!(pair.issued_at, 1_000);
    assert!(!format!("{pair:?}").contains("eyJ"));
    // A 4 KB token is fine; lifetimes are taken as answered.
    let long = "eyJ".to_owned() + &"x".repeat(4096);
    let body = json!({"code":0,"access_token":long,"expires_in":3,"refresh_token":"r",
            "scope":"offline_access"});
    let pair = parse_answer(200, body.to_string().as_bytes(), &[], 10).unwrap();
    assert_eq!(pair.access_expires_at, 13);
    assert_eq!(pair.refresh_expires_at, None);
}

#[test]
fn a_success_without_refresh_token_is_an_error_classed_by_the_scope() {
    let body = br#"{"code":0,"access_token":"a","expires_in":7200,"scope":"offline_access x"}"#;
    let error = parse_answer(200, body, &[], 0).unwrap_err();
    assert_eq!(
        error,
        OAuthError::NoRefreshToken {
            offline_access_granted: true
        }
    );
    assert_eq!(error.class(), ErrorClass::Retryable);
    let body = br#"{"code":0,"access_token":"a","expires_in":7200,"scope":"x"}"#;
    let error = parse_answer(200, body, &[], 0).unwrap_err();
    assert_eq!(error.class(), ErrorClass::Config);
    assert!(error.to_string().contains("offline_access"), "{error}");
}

#[test]
fn documented_errors_are_classified_and_named() {
    let cases = [
        (20064, 400, ErrorClass::Reauthorize, "revoked"),
        (20073, 400, ErrorClass::Reauthorize, "already been used"),
        (20026, 400, ErrorClass::Reauthorize, "invalid"),
        (20037, 400, ErrorClass::Reauthorize, "expired"),
        (20003, 400, ErrorClass::Reauthorize, "not found"),
        (20050, 500, ErrorClass::Retryable, "unexpected server error"),
        (20072, 503, ErrorClass::Retryable, "temporarily unavailable"),
        (20002, 400, ErrorClass::Config, "client_secret"),
        (20074, 400, ErrorClass::Config, "not allowed to refresh"),
        (20071, 400, ErrorClass::Bug, "redirect_uri"),
        (20049, 400, ErrorClass::Bug, "PKCE"),
    ];
    for (code, status, class, words) in cases {
        let info = codes::info(code).unwrap();
        assert_eq!(info.http_status, status, "{code}");
        let body = json!({"code": code, "error": info.error,
                "error_description": format!("echo {REFRESH} and {SECRET}")});
        let error =
            parse_answer(status, body.to_string().as_bytes(), &[SECRET, REFRESH], 0).unwrap_err();
        assert_eq!(error.class(), class, "{code}");
        assert_eq!(error.code(), Some(code));
        let text = error.to_string();
        assert!(
            text.contains(&code.to_string()) && text.contains(words),
            "{text}"
        );
        assert!(!text.contains(REFRESH) && !text.contains(SECRET), "{text}");
        assert!(!format!("{error:?}").contains(REFRESH));
    }
}

#[test]
fn unknown_answers_fall_back_on_the_status() {
    let class = |status, body: &str| {
        parse_answer(status, body.as_bytes(), &[], 0)
            .unwrap_err()
            .class()
    };
    assert_eq!(
        class(502, "<html>bad gateway</html>"),
        ErrorClass::Retryable
    );
    assert_eq!(class(404, "not found"), ErrorClass::Config);
    assert_eq!(class(200, "{\"code\":0"), ErrorClass::Retryable);
    assert_eq!(class(200, "[]"), ErrorClass::Retryable);
    assert_eq!(
        class(200, r#"{"code":0,"access_token":"a"}"#),
        ErrorClass::Retryable
    );
    assert_eq!(class(400, r#"{"code":29999,"error":"x"}"#), ErrorClass::Bug);
    assert_eq!(class(503, r#"{"code":29999}"#), ErrorClass::Retryable);
    assert_eq!(
        class(400, r#"{"error":"invalid_grant"}"#),
        ErrorClass::Reauthorize
    );
    assert_eq!(
        class(200, r#"{"code":0,"error":"server_error"}"#),
        ErrorClass::Retryable
    );
}

#[test]
fn grants_send_the_documented_bodies() {
    let secret = Secret::new(SECRET);
    let grant = TokenGrant::AuthorizationCode {
        code: Secret::new("c0de"),
        redirect_uri: "http://127.0.0.1:9875/callback".into(),
        code_verifier: Some(Secret::new("v")),
    };
    assert_eq!(
        grant.body("cli", &secret),
        json!({"grant_type":"authorization_code","client_id":"cli","client_secret":SECRET,
                "code":"c0de","redirect_uri":"http://127.0.0.1:9875/callback","code_verifier":"v"})
    );
    let grant = TokenGrant::RefreshToken {
        refresh_token: Secret::new(REFRESH),
    };
    assert_eq!(
        grant.body("cli", &secret),
        json!({"grant_type":"refresh_token","client_id":"cli","client_secret":SECRET,
                "refresh_token":REFRESH})
    );
    assert!(!format!("{grant:?}").contains(REFRESH));
}

#[tokio::test]
async fn transport_failures_and_bad_urls_are_classified() {
    async fn refresh_at(base: &Url) -> OAuthError {
        let grant = TokenGrant::RefreshToken {
            refresh_token: Secret::new(REFRESH),
        };
        let (http, secret) = (reqwest::Client::new(), Secret::new(SECRET));
        let timeout = Duration::from_secs(5);
        exchange(&http, base, "cli", &secret, &grant, timeout, 0)
            .await
            .unwrap_err()
    }
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let error = refresh_at(&base).await;
    assert_eq!(error.class(), ErrorClass::Retryable, "{error}");
    assert!(!error.to_string().contains(REFRESH));
    let error = refresh_at(&Url::parse("mailto:someone@example.com").unwrap()).await;
    assert_eq!(error.class(), ErrorClass::Config);
}
