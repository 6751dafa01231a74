//! The client's IP address, the subject of every per-IP rate limit and of the per-client cap on
//! password hashes.
//!
//! Without `TRUST_PROXY_HEADERS` the client is the socket peer. With it, `X-Forwarded-For` is
//! believed only as far as it was written by proxies in `TRUSTED_PROXIES`:
//!
//! - a peer that is not a trusted proxy is the client (its X-Forwarded-For is ignored);
//! - otherwise the header is walked from the right (the entry the nearest proxy appended),
//!   skipping trusted addresses; the first untrusted address is the client. Entries to its left
//!   were written by the client itself and are never looked at, so a spoofed leftmost entry
//!   changes nothing;
//! - when every entry is trusted, the leftmost one is the client (a request from inside the
//!   private network, through the proxies);
//! - an entry that is not an IP address (`unknown`, an obfuscated RFC 7239 identifier, garbage)
//!   stops the walk: the client is the last trusted address seen (the peer when the garbage is the
//!   rightmost entry). Nothing to the left of an unreadable hop can be vouched for.
//!
//! Entries may carry a port (`203.0.113.7:5123`, `[2001:db8::1]:443`); IPv4-mapped IPv6
//! addresses are compared as IPv4.

pub use crate::cidr::{Cidr, DEFAULT_TRUSTED_PROXIES};
use crate::state::AppState;
use actix_web::{HttpRequest, web};
use std::net::{IpAddr, SocketAddr};

fn parse_hop(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    raw.parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The client address given the socket peer and the X-Forwarded-For header (module rules).
pub fn resolve(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[Cidr]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    let Some(header) = forwarded_for else {
        return peer;
    };
    if !is_trusted(peer) {
        return peer;
    }
    let mut last_trusted = peer;
    for hop in header.rsplit(',') {
        if hop.trim().is_empty() {
            continue;
        }
        let Some(ip) = parse_hop(hop) else {
            return last_trusted;
        };
        if !is_trusted(ip) {
            return ip;
        }
        last_trusted = ip;
    }
    last_trusted
}

/// The client's IP for this request (see the module documentation).
pub fn client_ip(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".to_owned();
    };
    let settings = req.app_data::<web::Data<AppState>>().map(|s| &s.settings);
    let Some(settings) = settings.filter(|s| s.trust_proxy_headers) else {
        return peer.to_canonical().to_string();
    };
    // Several X-Forwarded-For headers are one list, in order (RFC 9110 section 5.3).
    let joined = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| v.to_str().unwrap_or("garbage"))
        .collect::<Vec<_>>()
        .join(",");
    let header = (!joined.is_empty()).then_some(joined.as_str());
    resolve(peer, header, &settings.trusted_proxies).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn defaults() -> Vec<Cidr> {
        Cidr::parse_list(DEFAULT_TRUSTED_PROXIES).expect("defaults parse")
    }

    #[test]
    fn networks_contain_exactly_their_addresses() {
        let cases = [
            ("10.0.0.0/8", "10.255.1.2", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("172.16.0.0/12", "172.31.255.255", true),
            ("172.16.0.0/12", "172.32.0.1", false),
            ("192.168.1.7", "192.168.1.7", true),
            ("192.168.1.7", "192.168.1.8", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("0.0.0.0/0", "::1", false),
            ("fc00::/7", "fd12:3456::1", true),
            ("fc00::/7", "fe80::1", false),
            ("::1/128", "::1", true),
            ("::/0", "2001:db8::1", true),
            ("127.0.0.0/8", "::ffff:127.0.0.1", true),
        ];
        for (net, addr, inside) in cases {
            let cidr = Cidr::parse(net).expect(net);
            assert_eq!(cidr.contains(ip(addr)), inside, "{addr} in {net}");
        }
    }

    #[test]
    fn malformed_networks_are_refused() {
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/x",
            "host/8",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Cidr::parse_list("10.0.0.0/8,,::1").is_err());
        assert_eq!(defaults().len(), 6);
    }

    #[test]
    fn the_walk_takes_the_rightmost_untrusted_hop() {
        let public_peer = "198.51.100.9";
        let proxy = "10.1.2.3";
        // (peer, X-Forwarded-For, expected client, why)
        let cases = [
            (proxy, None, proxy, "no header: the peer"),
            (
                public_peer,
                Some("1.1.1.1"),
                public_peer,
                "untrusted peer: header ignored",
            ),
            (
                proxy,
                Some("203.0.113.7"),
                "203.0.113.7",
                "one hop written by the proxy",
            ),
            (
                proxy,
                Some("6.6.6.6, 203.0.113.7"),
                "203.0.113.7",
                "spoofed leftmost entry ignored",
            ),
            (
                proxy,
                Some("6.6.6.6,7.7.7.7, 203.0.113.7, 10.9.9.9"),
                "203.0.113.7",
                "trusted hops skipped",
            ),
            (
                proxy,
                Some("192.168.0.5, 10.9.9.9"),
                "192.168.0.5",
                "all trusted: leftmost",
            ),
            (
                proxy,
                Some("6.6.6.6, unknown"),
                proxy,
                "garbage rightmost: the peer",
            ),
            (
                proxy,
                Some("6.6.6.6, garbage, 10.9.9.9"),
                "10.9.9.9",
                "garbage: last trusted hop",
            ),
            (
                proxy,
                Some("203.0.113.7:5123"),
                "203.0.113.7",
                "a port is dropped",
            ),
            (
                proxy,
                Some("[2001:db8::1]:443"),
                "2001:db8::1",
                "IPv6 with a port",
            ),
            (
                proxy,
                Some("::ffff:203.0.113.7"),
                "203.0.113.7",
                "IPv4-mapped",
            ),
            (proxy, Some(" , "), proxy, "empty entries"),
        ];
        for (peer, header, expected, why) in cases {
            assert_eq!(
                resolve(ip(peer), header, &defaults()),
                ip(expected),
                "{why}"
            );
        }
    }

    #[test]
    fn an_empty_trust_list_believes_no_header() {
        assert_eq!(
            resolve(ip("127.0.0.1"), Some("203.0.113.7"), &[]),
            ip("127.0.0.1")
        );
    }
}
