//! Development only: the secrets a developer did not set are generated once and kept in files
//! under `var/` (mode 0600), so a restart of `clawrent serve` keeps every token valid and the
//! platform-operator API usable without stopping the server to set a variable. Production never
//! comes here: it requires JWT_SECRET and keeps the platform API off unless its token is set.

use super::{Environment, Secret, Settings};
use anyhow::Context as _;
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// Where `clawrent serve` keeps development state, relative to its working directory.
pub const DEV_STATE_DIR: &str = "var";
pub const JWT_SECRET_FILE: &str = "jwt-secret";
pub const PLATFORM_OPERATOR_TOKEN_FILE: &str = "platform-operator-token";

/// What [`persist`] did, for the log lines (paths only, never the values).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Persisted {
    pub jwt_secret: Option<PathBuf>,
    pub platform_operator_token: Option<PathBuf>,
}

/// In development, replaces a generated JWT secret and an unset platform-operator token by the
/// ones kept in `dir` (creating them on first use). Any other settings are returned unchanged.
pub fn persist(settings: &mut Settings, dir: &Path) -> anyhow::Result<Persisted> {
    let mut persisted = Persisted::default();
    if settings.env != Environment::Development {
        return Ok(persisted);
    }
    if settings.jwt_secret_generated {
        let path = dir.join(JWT_SECRET_FILE);
        settings.jwt_secret = Secret::new(load_or_create(&path, 64, 32)?);
        settings.jwt_secret_generated = false;
        persisted.jwt_secret = Some(path);
    }
    if settings.platform_operator_token.is_none() {
        let path = dir.join(PLATFORM_OPERATOR_TOKEN_FILE);
        settings.platform_operator_token = Some(Secret::new(load_or_create(&path, 48, 24)?));
        persisted.platform_operator_token = Some(path);
    }
    Ok(persisted)
}

/// The secret kept in `path`, or a new random one of `len` characters written there with mode
/// 0600. A kept value shorter than `min_len` is refused (someone edited the file).
pub fn load_or_create(path: &Path, len: usize, min_len: usize) -> anyhow::Result<String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
    }
    let fresh = crate::auth::tokens::random_alphanumeric(len);
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(mut file) => {
            file.write_all(fresh.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("could not write {}", path.display()))?;
            Ok(fresh)
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {
            let kept = std::fs::read_to_string(path)
                .with_context(|| format!("could not read {}", path.display()))?;
            let kept = kept.trim().to_owned();
            anyhow::ensure!(
                kept.len() >= min_len,
                "{} holds fewer than {min_len} characters: delete it to generate a new one",
                path.display()
            );
            Ok(kept)
        }
        Err(error) => Err(error).with_context(|| format!("could not create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt as _;

    fn temp_dir() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("clawrent-dev-secrets-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_vars(&vars).expect("valid settings")
    }

    #[test]
    fn a_restart_in_development_keeps_the_generated_secrets() {
        let dir = temp_dir();
        let mut first = settings(&[]);
        let persisted = persist(&mut first, &dir).expect("persist");
        assert_eq!(persisted.jwt_secret, Some(dir.join(JWT_SECRET_FILE)));
        let mut second = settings(&[]);
        persist(&mut second, &dir).expect("persist again");
        assert_eq!(first.jwt_secret.expose(), second.jwt_secret.expose());
        assert_eq!(first.jwt_secret.expose().len(), 64);
        let token = |s: &Settings| {
            s.platform_operator_token
                .as_ref()
                .map(|t| t.expose().to_owned())
        };
        assert!(token(&first).is_some_and(|t| t.len() == 48));
        assert_eq!(token(&first), token(&second));
        for file in [JWT_SECRET_FILE, PLATFORM_OPERATOR_TOKEN_FILE] {
            let mode = std::fs::metadata(dir.join(file))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn configured_values_and_production_are_left_alone() {
        let cases: [(&str, &[(&str, &str)]); 2] = [
            (
                "development with both set",
                &[
                    ("JWT_SECRET", "a-configured-secret-of-at-least-32-bytes"),
                    ("PLATFORM_OPERATOR_TOKEN", "a-configured-operator-token"),
                ],
            ),
            (
                "production",
                &[
                    ("CLAWRENT_ENV", "production"),
                    ("JWT_SECRET", "a-configured-secret-of-at-least-32-bytes"),
                    ("SMTP_URL", "smtp://127.0.0.1:25"),
                    ("PAYMENT_MODE", "sandbox"),
                ],
            ),
        ];
        for (name, pairs) in cases {
            let dir = temp_dir();
            let mut s = settings(pairs);
            let before = s
                .platform_operator_token
                .as_ref()
                .map(|t| t.expose().to_owned());
            let persisted = persist(&mut s, &dir).expect("persist");
            assert_eq!(persisted, Persisted::default(), "{name}");
            assert_eq!(
                s.jwt_secret.expose(),
                "a-configured-secret-of-at-least-32-bytes",
                "{name}"
            );
            let after = s
                .platform_operator_token
                .as_ref()
                .map(|t| t.expose().to_owned());
            assert_eq!(before, after, "{name}");
            assert!(
                std::fs::read_dir(&dir).expect("dir").next().is_none(),
                "{name}: wrote a file"
            );
            std::fs::remove_dir_all(dir).ok();
        }
    }

    #[test]
    fn a_truncated_kept_secret_is_refused() {
        let dir = temp_dir();
        let path = dir.join(JWT_SECRET_FILE);
        std::fs::write(&path, "short\n").expect("write");
        let error = load_or_create(&path, 64, 32).expect_err("too short");
        assert!(error.to_string().contains("delete it"), "{error}");
        std::fs::remove_dir_all(dir).ok();
    }
}
