//! An app's `[web]` section as written in its TOML file, and its field-by-field check into a
//! [`WebConfig`]. Every app with a status page shares it, so the keys, defaults and error
//! texts are the same everywhere.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{RateLimit, Token, WebConfig};
use crate::config::Invalid;

/// The token an app's template carries until `--init` replaces it; refused as a token.
pub const TOKEN_PLACEHOLDER: &str = "REPLACE-WITH-A-RANDOM-TOKEN-run-init";

/// `[web]`: the status page, JSON API, Server-Sent Events and Prometheus metrics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSection {
    /// Serve it (default true when the section is present).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Address to listen on (default `127.0.0.1`: this machine only).
    #[serde(default = "default_bind")]
    pub bind: String,
    /// TCP port (default 8080).
    #[serde(default = "default_port")]
    pub port: u16,
    /// The bearer token for commands and set points over HTTP (at least 16 characters);
    /// `--init` writes a random one. Without any token source, control over HTTP is off.
    pub token: Option<String>,
    /// Read the token from this file instead (first line).
    pub token_file: Option<PathBuf>,
    /// Read the token from this environment variable instead.
    pub token_env: Option<String>,
    /// Require the token on the read endpoints too (`/api/*`, `/metrics`).
    #[serde(default)]
    pub protect_reads: bool,
    /// Requests per second per client (bursts of twice that).
    #[serde(default = "default_rate")]
    pub rate_limit_per_s: u32,
}

const fn yes() -> bool {
    true
}
fn default_bind() -> String {
    "127.0.0.1".to_owned()
}
const fn default_port() -> u16 {
    8080
}
const fn default_rate() -> u32 {
    20
}

fn bad(field: &str, message: impl Into<String>, fix: impl Into<String>) -> Invalid {
    Invalid::new(field, message, fix)
}

impl WebSection {
    /// Check the section field by field: `None` when `enabled = false`. The token comes from
    /// exactly one of `token`, `token_file`, `token_env` (or none: control over HTTP is off).
    /// `app` is the program's name, used in the fixes (`… --init writes one`).
    ///
    /// # Errors
    /// The first bad field.
    pub fn validate(&self, app: &str) -> Result<Option<WebConfig>, Invalid> {
        let bind = self.bind.parse::<IpAddr>().map_err(|_| {
            bad(
                "web.bind",
                format!("`{}` is not an IP address", self.bind),
                "give 127.0.0.1 (this machine only, the default) or an address of this machine, e.g. 0.0.0.0 for every interface",
            )
        })?;
        let token = self.token(app)?;
        if self.protect_reads && token.is_none() {
            return Err(bad(
                "web.protect_reads",
                "protect_reads needs a token, and none is configured",
                "set web.token (or token_file / token_env), or protect_reads = false",
            ));
        }
        if !(1..=10_000).contains(&self.rate_limit_per_s) {
            return Err(bad(
                "web.rate_limit_per_s",
                format!("{} is outside 1 ..= 10000", self.rate_limit_per_s),
                "give the requests per second one client may make (20 suits a page and a Prometheus scraper)",
            ));
        }
        if !self.enabled {
            return Ok(None);
        }
        Ok(Some(WebConfig {
            bind,
            port: self.port,
            token,
            protect_reads: self.protect_reads,
            rate_limit: RateLimit {
                per_second: self.rate_limit_per_s,
                burst: self.rate_limit_per_s.saturating_mul(2),
            },
            ..WebConfig::default()
        }))
    }

    /// The token from whichever one source is given.
    fn token(&self, app: &str) -> Result<Option<Token>, Invalid> {
        let given = [
            self.token.is_some(),
            self.token_file.is_some(),
            self.token_env.is_some(),
        ];
        if given.iter().filter(|x| **x).count() > 1 {
            return Err(bad(
                "web.token",
                "more than one of token, token_file, token_env is given",
                "keep one of them",
            ));
        }
        if let Some(t) = &self.token {
            if t.trim() == TOKEN_PLACEHOLDER {
                return Err(bad(
                    "web.token",
                    "this is the template's placeholder, not a secret",
                    format!(
                        "put a random token here ({app} --init writes one), or remove the line to keep control over HTTP off"
                    ),
                ));
            }
            return Token::new(t).map(Some).map_err(|e| {
                bad(
                    "web.token",
                    e,
                    format!(
                        "give at least 16 random characters without spaces ({app} --init writes one)"
                    ),
                )
            });
        }
        if let Some(path) = &self.token_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                bad(
                    "web.token_file",
                    format!("cannot read {}: {e}", path.display()),
                    "give the path of a readable file holding the token",
                )
            })?;
            return Token::new(text.lines().next().unwrap_or_default())
                .map(Some)
                .map_err(|e| {
                    bad(
                        "web.token_file",
                        format!("{}: {e}", path.display()),
                        "put at least 16 random characters without spaces on the file's first line",
                    )
                });
        }
        if let Some(var) = &self.token_env {
            let text = std::env::var(var).map_err(|_| {
                bad(
                    "web.token_env",
                    format!("the environment variable `{var}` is not set (or not UTF-8)"),
                    format!("set it before starting {app} (e.g. Environment= in the systemd unit), or use token / token_file"),
                )
            })?;
            return Token::new(&text).map(Some).map_err(|e| {
                bad(
                    "web.token_env",
                    format!("`{var}`: {e}"),
                    "put at least 16 random characters without spaces in the variable",
                )
            });
        }
        Ok(None)
    }
}

/// `template` with a fresh random web token in place of [`TOKEN_PLACEHOLDER`] (what an app's
/// `--init` writes).
///
/// # Errors
/// When no random token can be made (`/dev/urandom` unreadable).
pub fn template_with_token(template: &str) -> Result<String, String> {
    let t = Token::generate().map_err(|e| format!("cannot make a random web token: {e}"))?;
    Ok(template.replace(TOKEN_PLACEHOLDER, t.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml_text: &str) -> WebSection {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn defaults_and_disabled() {
        let c = section("").validate("app").unwrap().unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1");
        assert_eq!(c.port, 8080);
        assert!(c.token.is_none());
        assert_eq!(c.rate_limit.per_second, 20);
        assert_eq!(c.rate_limit.burst, 40);
        assert!(
            section("enabled = false")
                .validate("app")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn errors_name_the_field_and_the_app() {
        let e = section("bind = \"x\"").validate("app").unwrap_err();
        assert_eq!(e.field, "web.bind");
        let e = section(&format!("token = \"{TOKEN_PLACEHOLDER}\""))
            .validate("my-app")
            .unwrap_err();
        assert_eq!(e.field, "web.token");
        assert!(e.fix.contains("my-app --init"), "{}", e.fix);
        let e = section("token = \"aaaaaaaaaaaaaaaaaaaa\"\ntoken_env = \"X\"")
            .validate("app")
            .unwrap_err();
        assert_eq!(
            e.message,
            "more than one of token, token_file, token_env is given"
        );
        let e = section("protect_reads = true").validate("app").unwrap_err();
        assert_eq!(e.field, "web.protect_reads");
        let e = section("rate_limit_per_s = 0").validate("app").unwrap_err();
        assert_eq!(e.message, "0 is outside 1 ..= 10000");
    }

    #[test]
    fn template_token_is_replaced() {
        let t = template_with_token("token = \"REPLACE-WITH-A-RANDOM-TOKEN-run-init\"").unwrap();
        assert!(!t.contains(TOKEN_PLACEHOLDER));
    }
}
