//! Reading variables: the embedded defaults under the environment, typed parsers (numbers,
//! booleans, durations, rates) and the one-line error that names the variable.

use super::{Rate, VARIABLES};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One line naming the variable and what is wrong with it (never the value of a secret).
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration: {}: {}",
            self.variable, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

pub(super) struct Source<'a> {
    pub(super) overrides: &'a HashMap<String, String>,
}

impl Source<'_> {
    /// The override when set and non-empty, else the embedded default.
    pub(super) fn raw(&self, name: &'static str) -> Option<String> {
        let value = self
            .overrides
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        value.or_else(|| {
            VARIABLES
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, default, _)| (*default).to_owned())
                .filter(|d| !d.is_empty())
        })
    }

    pub(super) fn is_overridden(&self, name: &str) -> bool {
        self.overrides
            .get(name)
            .is_some_and(|v| !v.trim().is_empty())
    }

    pub(super) fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.raw(name).ok_or_else(|| err(name, "is required"))
    }

    pub(super) fn parse<T: FromStr>(
        &self,
        name: &'static str,
        expected: &str,
    ) -> Result<T, ConfigError> {
        let raw = self.required(name)?;
        raw.parse()
            .map_err(|_| err(name, format!("expected {expected}, got {raw:?}")))
    }

    pub(super) fn bool(&self, name: &'static str) -> Result<bool, ConfigError> {
        let raw = self.required(name)?;
        match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(err(name, format!("expected true or false, got {raw:?}"))),
        }
    }

    pub(super) fn duration(&self, name: &'static str) -> Result<Duration, ConfigError> {
        let raw = self.required(name)?;
        parse_duration(&raw).ok_or_else(|| {
            err(
                name,
                format!("expected a duration such as 30s, 15m, 1h or 30d, got {raw:?}"),
            )
        })
    }

    pub(super) fn seconds(&self, name: &'static str) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(
            self.parse::<u64>(name, "a whole number of seconds")?,
        ))
    }

    pub(super) fn rate(&self, name: &'static str) -> Result<Rate, ConfigError> {
        let raw = self.required(name)?;
        let parsed = raw.split_once('/').and_then(|(limit, window)| {
            let limit = limit.trim().parse::<u32>().ok().filter(|l| *l > 0)?;
            let window = parse_duration(window.trim())?;
            Some(Rate { limit, window })
        });
        parsed.ok_or_else(|| {
            err(
                name,
                format!("expected LIMIT/WINDOW such as 10/15m, got {raw:?}"),
            )
        })
    }
}

pub(super) fn err(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// `90` (seconds), `30s`, `15m`, `1h`, `30d`. Zero is refused.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        "d" => number.checked_mul(86_400)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}
