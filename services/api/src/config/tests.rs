//! Parsing, defaults and validation of the settings, and their documentation.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn defaults_alone_are_valid_and_point_at_local_services() {
    let s = Settings::from_vars(&HashMap::new()).expect("defaults are valid");
    assert_eq!(s.port, 3001);
    assert_eq!(s.host, "127.0.0.1");
    assert_eq!(
        s.database_url.expose(),
        "postgres://postgres@127.0.0.1:5432/clawrent"
    );
    assert!(s.jwt_secret_generated);
    assert!(s.smtp_url.is_none());
}

#[test]
fn each_invalid_value_names_its_variable() {
    let cases = [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("CLAWRENT_ENV", "staging"),
        ("JWT_SECRET", "short"),
        ("AUTO_MIGRATE", "maybe"),
        ("RATE_LIMIT_LOGIN_ACCOUNT", "ten"),
        ("RATE_LIMIT_LOGIN_ACCOUNT", "0/1m"),
        ("JWT_TTL", "forever"),
        ("DATABASE_URL", "mysql://x"),
        ("SMTP_URL", "http://x"),
        ("MAIL_FROM", "not a mailbox"),
        ("PLATFORM_OPERATOR_TOKEN", "tiny"),
        ("MAX_BODY_BYTES", "1"),
        ("WORKERS", "0"),
        ("LOG_FORMAT", "xml"),
        ("PASSWORD_HASH_MAX_WAIT", "soon"),
        ("PASSWORD_HASH_MAX_WAIT", "2h"),
        ("PASSWORD_HASH_PER_CLIENT", "0"),
        ("RATE_LIMIT_LOGIN_ACCOUNT_IP", "10"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal"),
    ];
    for (name, value) in cases {
        let error = Settings::from_vars(&vars(&[(name, value)])).expect_err(name);
        assert_eq!(error.variable, name, "{name}={value}: {error}");
    }
}

#[test]
fn production_requires_a_jwt_secret() {
    let error =
        Settings::from_vars(&vars(&[("CLAWRENT_ENV", "production")])).expect_err("must fail");
    assert_eq!(error.variable, "JWT_SECRET");
    let secret = "s".repeat(32);
    let error = Settings::from_vars(&vars(&[
        ("CLAWRENT_ENV", "production"),
        ("JWT_SECRET", &secret),
    ]))
    .expect_err("no smtp");
    assert_eq!(error.variable, "SMTP_URL");
    let ok = Settings::from_vars(&vars(&[
        ("CLAWRENT_ENV", "production"),
        ("JWT_SECRET", &secret),
        ("SMTP_URL", "smtps://user:pass@mail.example.com:465"),
        ("PAYMENT_MODE", "disabled"),
    ]));
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn secrets_are_never_printed() {
    let s = Settings::from_vars(&vars(&[("JWT_SECRET", "x".repeat(40).as_str())])).expect("valid");
    assert!(!format!("{s:?}").contains(&"x".repeat(40)));
    let error =
        Settings::from_vars(&vars(&[("PLATFORM_OPERATOR_TOKEN", "s3cr3t")])).expect_err("short");
    assert!(!error.to_string().contains("s3cr3t"));
}

#[test]
fn durations_and_rates_parse() {
    assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
    assert_eq!(parse_duration("0s"), None);
    assert_eq!(parse_duration("1w"), None);
    let s = Settings::from_vars(&vars(&[("RATE_LIMIT_LOGIN_IP", "7/2h")])).expect("valid");
    assert_eq!(
        s.rate_limits.login_ip,
        Rate {
            limit: 7,
            window: Duration::from_secs(7200)
        }
    );
}

#[test]
fn overload_settings_default_and_parse() {
    let s = Settings::from_vars(&HashMap::new()).expect("defaults");
    assert_eq!(s.password_hash_max_wait, Duration::from_secs(2));
    assert_eq!(s.password_hash_per_client, 2);
    assert_eq!(s.rate_limits.login_account.limit, 100);
    assert_eq!(s.rate_limits.login_account_ip.limit, 10);
    assert_eq!(s.trusted_proxies.len(), 6);
    let s = Settings::from_vars(&vars(&[(
        "TRUSTED_PROXIES",
        " 10.2.0.0/16 , 2001:db8::/32 ",
    )]))
    .expect("valid");
    assert_eq!(
        s.trusted_proxies,
        vec![
            Cidr::parse("10.2.0.0/16").expect("v4"),
            Cidr::parse("2001:db8::/32").expect("v6")
        ]
    );
}

#[test]
fn production_needs_an_explicit_payment_mode() {
    let prod = [
        ("CLAWRENT_ENV", "production"),
        ("JWT_SECRET", "a-production-secret-that-is-long-enough-0123"),
        ("SMTP_URL", "smtp://127.0.0.1:25"),
    ];
    let err = Settings::from_vars(&vars(&prod)).expect_err("no payment mode");
    assert_eq!(err.variable, "PAYMENT_MODE");
    let mut with_mode = prod.to_vec();
    with_mode.push(("PAYMENT_MODE", "disabled"));
    let s = Settings::from_vars(&vars(&with_mode)).expect("valid");
    assert_eq!(s.billing.payment_mode, PaymentMode::Disabled);
    assert!(Settings::from_vars(&vars(&[("PAYMENT_MODE", "free-money")])).is_err());
}

#[test]
fn every_variable_is_documented() {
    let readme = include_str!("../../../../README.md");
    let docs = include_str!("../../../../docs/configuration.md");
    for (name, _, _) in VARIABLES {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md lacks {name}"
        );
        assert!(
            docs.contains(&format!("`{name}`")),
            "docs/configuration.md lacks {name}"
        );
    }
}
