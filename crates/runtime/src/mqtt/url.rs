//! Broker URLs: `mqtt://user:pass@host:1883` and `mqtts://user:pass@host:8883?ca=/path/ca.pem`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Query keys a broker URL accepts (listed in error messages).
const QUERY_KEYS: &str = "client_id, ca, keep_alive";

/// A parsed broker URL.
///
/// Forms: `mqtt://[user[:pass]@]host[:port][?query]` (plain TCP, default port 1883) and
/// `mqtts://…` (TLS via rustls, default port 8883). IPv6 hosts go in brackets
/// (`mqtt://[::1]:1883`). User and password may be percent-encoded (`%40` for `@`).
/// Query keys: `client_id=<id>`, `ca=<PEM file>` (trust only this CA instead of the system
/// roots; `mqtts` only), `keep_alive=<seconds>`.
///
/// `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// `true` for `mqtts://`.
    pub tls: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name, if given.
    pub username: Option<String>,
    /// Password, if given (only together with a user name).
    pub password: Option<String>,
    /// Client id from `?client_id=`, if given.
    pub client_id: Option<String>,
    /// CA certificate file (PEM) from `?ca=`, if given.
    pub ca_file: Option<PathBuf>,
    /// Keep-alive interval from `?keep_alive=`, if given.
    pub keep_alive: Option<Duration>,
}

/// Which part of a broker URL is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UrlField {
    /// `mqtt://` / `mqtts://`.
    Scheme,
    /// `user` in `user:pass@`.
    Username,
    /// `pass` in `user:pass@`.
    Password,
    /// The host name.
    Host,
    /// The port number.
    Port,
    /// Anything after the authority other than a query.
    Path,
    /// A `?key=value` parameter.
    Query,
}

impl UrlField {
    /// Stable short name of the field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheme => "scheme",
            Self::Username => "username",
            Self::Password => "password",
            Self::Host => "host",
            Self::Port => "port",
            Self::Path => "path",
            Self::Query => "query",
        }
    }
}

impl fmt::Display for UrlField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A broker URL that could not be parsed: which field, what is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("broker URL {field}: {problem}; {fix}")]
pub struct UrlError {
    /// The field that is wrong.
    pub field: UrlField,
    /// What is wrong with it.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl UrlError {
    fn new(field: UrlField, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// Stable short snake-case code (`bad_url_<field>`).
    pub fn code(&self) -> &'static str {
        match self.field {
            UrlField::Scheme => "bad_url_scheme",
            UrlField::Username => "bad_url_username",
            UrlField::Password => "bad_url_password",
            UrlField::Host => "bad_url_host",
            UrlField::Port => "bad_url_port",
            UrlField::Path => "bad_url_path",
            UrlField::Query => "bad_url_query",
        }
    }
}

impl BrokerUrl {
    /// Parses a broker URL.
    ///
    /// # Errors
    /// [`UrlError`] naming the field (scheme, username, password, host, port, path, query),
    /// what is wrong and how to fix it.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(UrlError::new(
                UrlField::Scheme,
                format!("`{url}` has no scheme"),
                "write it as `mqtt://host:1883` or `mqtts://host:8883`",
            ));
        };
        let (tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "mqtt" | "tcp" => (false, 1883),
            "mqtts" | "ssl" if cfg!(feature = "tls") => (true, 8883),
            "mqtts" | "ssl" => {
                return Err(UrlError::new(
                    UrlField::Scheme,
                    format!("`{scheme}://` needs TLS, and this build has none"),
                    "use `mqtt://` (plain TCP, e.g. through a local bridge) or a build with \
                     voltwire-runtime's `tls` feature",
                ));
            }
            other => {
                return Err(UrlError::new(
                    UrlField::Scheme,
                    format!("scheme `{other}` is not supported"),
                    "use `mqtt://` (plain TCP) or `mqtts://` (TLS)",
                ));
            }
        };
        let (before_query, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.split_once('/') {
            Some((a, p)) => (a, p),
            None => (before_query, ""),
        };
        if !path.is_empty() {
            return Err(UrlError::new(
                UrlField::Path,
                format!("unexpected path `/{path}`"),
                "remove it: topics are configured separately, the URL names only the broker",
            ));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, pass) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let user = percent_decode(user, UrlField::Username)?;
                if user.is_empty() {
                    return Err(UrlError::new(
                        UrlField::Username,
                        "empty user name before `@`",
                        "write `mqtt://user:pass@host` or drop the `@` part for anonymous access",
                    ));
                }
                let pass = pass
                    .map(|p| percent_decode(p, UrlField::Password))
                    .transpose()?;
                (Some(user), pass)
            }
        };
        let (host, port) = split_host_port(hostport, default_port)?;
        let mut parsed = Self {
            tls,
            host,
            port,
            username,
            password,
            client_id: None,
            ca_file: None,
            keep_alive: None,
        };
        if let Some(query) = query {
            parsed.apply_query(query)?;
        }
        Ok(parsed)
    }

    fn apply_query(&mut self, query: &str) -> Result<(), UrlError> {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let Some((key, raw)) = pair.split_once('=') else {
                return Err(UrlError::new(
                    UrlField::Query,
                    format!("parameter `{pair}` has no value"),
                    format!("write `{pair}=<value>`; known keys: {QUERY_KEYS}"),
                ));
            };
            let value = percent_decode(raw, UrlField::Query)?;
            match key {
                "client_id" if !value.is_empty() => self.client_id = Some(value),
                "ca" if !value.is_empty() => {
                    if !self.tls {
                        return Err(UrlError::new(
                            UrlField::Query,
                            "`ca=` is only meaningful with TLS",
                            "use `mqtts://` or remove `ca=`",
                        ));
                    }
                    self.ca_file = Some(PathBuf::from(value));
                }
                "keep_alive" => match value.parse::<u16>() {
                    Ok(secs) if secs >= 5 => {
                        self.keep_alive = Some(Duration::from_secs(u64::from(secs)));
                    }
                    _ => {
                        return Err(UrlError::new(
                            UrlField::Query,
                            format!("keep_alive `{value}` is not a number of seconds in 5..=65535"),
                            "write e.g. `keep_alive=30`",
                        ));
                    }
                },
                "client_id" | "ca" => {
                    return Err(UrlError::new(
                        UrlField::Query,
                        format!("`{key}=` is empty"),
                        format!("give a value or remove `{key}=`"),
                    ));
                }
                other => {
                    return Err(UrlError::new(
                        UrlField::Query,
                        format!("unknown parameter `{other}`"),
                        format!("known keys: {QUERY_KEYS}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn split_host_port(hostport: &str, default_port: u16) -> Result<(String, u16), UrlError> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(UrlError::new(
                UrlField::Host,
                format!("`{hostport}` opens `[` without `]`"),
                "write IPv6 addresses as `[::1]:1883`",
            ));
        };
        let port = match after {
            "" => None,
            p => match p.strip_prefix(':') {
                Some(p) => Some(p),
                None => {
                    return Err(UrlError::new(
                        UrlField::Port,
                        format!("unexpected `{p}` after `]`"),
                        "write `[::1]:1883`",
                    ));
                }
            },
        };
        (host, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err(UrlError::new(
                    UrlField::Host,
                    format!("`{hostport}` looks like a bare IPv6 address"),
                    "put IPv6 addresses in brackets: `[::1]:1883`",
                ));
            }
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::new(
            UrlField::Host,
            "no host name",
            "write `mqtt://<host>:1883`, e.g. `mqtt://localhost:1883`",
        ));
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '@' | '%'))
    {
        return Err(UrlError::new(
            UrlField::Host,
            format!("`{host}` is not a valid host name"),
            "use a DNS name or an IP address",
        ));
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 => n,
            _ => {
                return Err(UrlError::new(
                    UrlField::Port,
                    format!("`{p}` is not a port number"),
                    format!("use a number in 1..=65535 or omit it for the default {default_port}"),
                ));
            }
        },
    };
    Ok((host.to_owned(), port))
}

/// Decodes `%XX` escapes (UTF-8 result).
fn percent_decode(s: &str, field: UrlField) -> Result<String, UrlError> {
    let bad = || {
        UrlError::new(
            field,
            format!("`{s}` has a malformed %-escape or is not UTF-8"),
            "escape reserved characters as %XX (e.g. `@` as %40, `:` as %3A)",
        )
    };
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = bytes.next().and_then(hex_val).ok_or_else(bad)?;
            let lo = bytes.next().and_then(hex_val).ok_or_else(bad)?;
            out.push(hi << 4 | lo);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

use voltwire_core::hex::value as hex_val;

impl FromStr for BrokerUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.tls { "mqtts://" } else { "mqtt://" })?;
        if let Some(user) = &self.username {
            write!(f, "{user}")?;
            if self.password.is_some() {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerUrl")
            .field("tls", &self.tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("client_id", &self.client_id)
            .field("ca_file", &self.ca_file)
            .field("keep_alive", &self.keep_alive)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_url() {
        let u =
            BrokerUrl::parse("mqtt://us%40er:p%3Ass@broker.lan:1884?client_id=bms1&keep_alive=30")
                .unwrap();
        assert!(!u.tls);
        assert_eq!(u.host, "broker.lan");
        assert_eq!(u.port, 1884);
        assert_eq!(u.username.as_deref(), Some("us@er"));
        assert_eq!(u.password.as_deref(), Some("p:ss"));
        assert_eq!(u.client_id.as_deref(), Some("bms1"));
        assert_eq!(u.keep_alive, Some(Duration::from_secs(30)));
        assert_eq!(u.to_string(), "mqtt://us@er:***@broker.lan:1884");
        assert!(!format!("{u:?}").contains("p:ss"));
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn tls_urls_are_refused_without_the_tls_feature() {
        for url in ["mqtts://h", "ssl://h:8883", "MQTTS://u:p@h?ca=/etc/ca.pem"] {
            let e = BrokerUrl::parse(url).unwrap_err();
            assert_eq!(e.field, UrlField::Scheme, "{url}: {e}");
            let msg = e.to_string();
            assert!(msg.contains("needs TLS"), "{url}: {msg}");
            assert!(
                msg.contains("`mqtt://`") && msg.contains("`tls` feature"),
                "{msg}"
            );
        }
        assert!(!BrokerUrl::parse("mqtt://h").unwrap().tls);
    }

    #[cfg(feature = "tls")]
    #[test]
    fn defaults_and_tls() {
        let u: BrokerUrl = "mqtt://localhost".parse().unwrap();
        assert_eq!((u.tls, u.port, u.username), (false, 1883, None));
        let u: BrokerUrl = "mqtts://h/?ca=/etc/ca.pem".parse().unwrap();
        assert!(u.tls);
        assert_eq!(u.port, 8883);
        assert_eq!(u.ca_file, Some(PathBuf::from("/etc/ca.pem")));
        let u: BrokerUrl = "mqtts://[::1]:9000".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9000));
        assert_eq!(u.to_string(), "mqtts://[::1]:9000");
    }

    #[test]
    fn errors_name_field_and_fix() {
        let cases = [
            ("localhost:1883", UrlField::Scheme, "mqtt://"),
            ("http://h", UrlField::Scheme, "mqtts://"),
            ("mqtt://:pw@h", UrlField::Username, "user:pass"),
            ("mqtt://u:%zz@h", UrlField::Password, "%XX"),
            ("mqtt://", UrlField::Host, "localhost"),
            ("mqtt://u@:1883", UrlField::Host, "<host>"),
            ("mqtt://::1:1883", UrlField::Host, "brackets"),
            ("mqtt://h:99999", UrlField::Port, "1..=65535"),
            ("mqtt://h:0", UrlField::Port, "default 1883"),
            ("mqtt://h:x", UrlField::Port, "1..=65535"),
            ("mqtt://h/topic", UrlField::Path, "remove"),
            (
                "mqtt://h?foo=1",
                UrlField::Query,
                "client_id, ca, keep_alive",
            ),
            ("mqtt://h?ca=/x.pem", UrlField::Query, "mqtts://"),
            ("mqtt://h?keep_alive=0", UrlField::Query, "keep_alive=30"),
            ("mqtt://h?client_id", UrlField::Query, "client_id=<value>"),
        ];
        for (url, field, fix) in cases {
            let e = BrokerUrl::parse(url).unwrap_err();
            assert_eq!(e.field, field, "{url}: {e}");
            let msg = e.to_string();
            assert!(msg.contains(field.as_str()), "{url}: {msg}");
            assert!(msg.contains(fix), "{url}: {msg}");
            assert!(e.code().starts_with("bad_url_"));
        }
    }
}
