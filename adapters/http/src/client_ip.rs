//! The client's address behind a reverse proxy: the `X-Forwarded-For` and
//! `X-Real-IP` headers, believed only when the connection comes from a
//! network of `httpd.proxy_allowed` (SFTPGo's `proxy_allowed`).
//!
//! `X-Forwarded-For` is read from the right, the side the proxies append to:
//! the client is the right-most address that is not itself an allowed proxy.
//! Behind a single proxy that is the last hop, the address SFTPGo takes with
//! its default `client_ip_header_depth` of 0; behind a chain of allowed
//! proxies it skips them, and an address a client wrote into the header
//! itself can only ever be left of the one the first proxy saw.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use warp::http::HeaderMap;

const X_FORWARDED_FOR: &str = "x-forwarded-for";
const X_REAL_IP: &str = "x-real-ip";

/// The networks whose requests may name the client in a proxy header.
/// Empty (the default): the headers are never believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyAllowed {
    networks: Vec<IpNet>,
}

impl ProxyAllowed {
    /// Parses CIDR networks (`10.0.0.0/8`, `fd00::/8`) or single addresses
    /// (`127.0.0.1`); the error names the entry that is neither.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let networks = entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("{entry:?} is neither an IP address nor a CIDR network"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { networks })
    }

    /// True when no proxy is allowed.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that arrived from `peer`: the address the
    /// proxy headers name when `peer` is an allowed proxy and they name one,
    /// else `peer` itself. A header address carries port 0 unless it names
    /// one.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        if !self.allows(peer.ip()) {
            return peer;
        }
        self.forwarded_for_client(headers)
            .or_else(|| real_ip(headers))
            .unwrap_or(peer)
    }

    /// The right-most `X-Forwarded-For` address that is not an allowed
    /// proxy; the left-most one when all are. `None` when the header is
    /// missing or the address it would give is malformed.
    fn forwarded_for_client(&self, headers: &HeaderMap) -> Option<SocketAddr> {
        let mut hops: Vec<&str> = Vec::new();
        for value in headers.get_all(X_FORWARDED_FOR) {
            let value = value.to_str().ok()?;
            hops.extend(value.split(',').map(str::trim).filter(|h| !h.is_empty()));
        }
        let mut last = None;
        for hop in hops.iter().rev() {
            let addr = parse_hop(hop)?;
            if !self.allows(addr.ip()) {
                return Some(addr);
            }
            last = Some(addr);
        }
        last
    }
}

fn real_ip(headers: &HeaderMap) -> Option<SocketAddr> {
    parse_hop(headers.get(X_REAL_IP)?.to_str().ok()?.trim())
}

/// An address as proxies write it: `1.2.3.4`, `2001:db8::1`, or with a port
/// (`1.2.3.4:80`, `[2001:db8::1]:80`).
fn parse_hop(hop: &str) -> Option<SocketAddr> {
    if let Ok(ip) = IpAddr::from_str(hop) {
        return Some(SocketAddr::new(ip.to_canonical(), 0));
    }
    let addr = SocketAddr::from_str(hop).ok()?;
    Some(SocketAddr::new(addr.ip().to_canonical(), addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn allowed(entries: &[&str]) -> ProxyAllowed {
        ProxyAllowed::parse(entries).unwrap()
    }

    #[test]
    fn entries_are_networks_or_addresses() {
        let p = allowed(&["10.0.0.0/8", "127.0.0.1", " ::1 ", "192.168.1.7/24"]);
        assert!(p.allows("10.9.9.9".parse().unwrap()));
        assert!(p.allows("127.0.0.1".parse().unwrap()));
        assert!(!p.allows("127.0.0.2".parse().unwrap()));
        assert!(p.allows("::1".parse().unwrap()));
        assert!(p.allows("192.168.1.200".parse().unwrap()));
        assert!(p.allows("::ffff:10.1.1.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "localhost", "", "1.2.3.4/"] {
            let err = ProxyAllowed::parse(&[bad]).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
        assert!(ProxyAllowed::parse::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn headers_count_only_from_allowed_proxies() {
        let h = headers(&[("x-forwarded-for", "10.1.2.3"), ("x-real-ip", "10.4.4.4")]);
        let peer = addr("127.0.0.1:5000");
        assert_eq!(ProxyAllowed::default().client(peer, &h), peer);
        assert_eq!(allowed(&["192.0.2.0/24"]).client(peer, &h), peer);
        let trusted = allowed(&["127.0.0.1/32"]);
        assert_eq!(trusted.client(peer, &h), addr("10.1.2.3:0"));
        let real_only = headers(&[("x-real-ip", "10.4.4.4")]);
        assert_eq!(trusted.client(peer, &real_only), addr("10.4.4.4:0"));
        assert_eq!(trusted.client(peer, &HeaderMap::new()), peer);
    }

    #[test]
    fn forwarded_for_skips_allowed_proxies_from_the_right() {
        let p = allowed(&["127.0.0.1", "10.0.0.0/8"]);
        let peer = addr("127.0.0.1:1");
        let spoofed = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(p.client(peer, &spoofed), addr("203.0.113.9:0"));
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9:8443, 10.0.0.2"),
        ]);
        assert_eq!(p.client(peer, &split), addr("203.0.113.9:8443"));
        let all_proxies = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.2")]);
        assert_eq!(p.client(peer, &all_proxies), addr("10.0.0.9:0"));
        let v6 = headers(&[("x-forwarded-for", "[2001:db8::1]:80")]);
        assert_eq!(p.client(peer, &v6), addr("[2001:db8::1]:80"));
    }

    #[test]
    fn malformed_headers_fall_back() {
        let p = allowed(&["127.0.0.1"]);
        let peer = addr("127.0.0.1:1");
        let junk = headers(&[("x-forwarded-for", "not-an-ip"), ("x-real-ip", "10.4.4.4")]);
        assert_eq!(p.client(peer, &junk), addr("10.4.4.4:0"));
        let all_junk = headers(&[("x-forwarded-for", "1.2.3.4, junk"), ("x-real-ip", "??")]);
        assert_eq!(p.client(peer, &all_junk), peer);
        let empty = headers(&[("x-forwarded-for", " , ")]);
        assert_eq!(p.client(peer, &empty), peer);
    }
}
