//! The SSRF guard: a sink URL must be `https` and every address its host resolves to must be public.
//! The URL is judged as parsed by the HTTP client's own (WHATWG) parser, and the sender sends to that
//! parsed URL ([`GuardedUrl`]), so no other spelling of an address slips past. A host name is checked
//! on its RESOLVED addresses (the HTTP client's resolver calls [`check_resolved`]), so a
//! DNS name pointing at `127.0.0.1` or the cloud metadata address is refused like the literal is.
//! Operators can allow-list hosts or CIDRs (a sandbox on loopback, a partner on a private network);
//! allow-listed hosts may also use plain `http`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Host;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error("not a usable URL: {0}")]
    BadUrl(String),
    #[error("only https sinks are allowed")]
    NotHttps,
    #[error("{ip} is a {class} address")]
    Forbidden { ip: IpAddr, class: AddrClass },
    #[error("the host resolved to no address")]
    NoAddress,
    #[error("not an allow-list entry: {0}")]
    BadAllowEntry(String),
}

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrClass {
    Unspecified,
    Loopback,
    Private,
    LinkLocal,
    SharedCgnat,
    Documentation,
    Benchmarking,
    Reserved,
    Broadcast,
    Multicast,
}

impl fmt::Display for AddrClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddrClass::Unspecified => "unspecified",
            AddrClass::Loopback => "loopback",
            AddrClass::Private => "private",
            AddrClass::LinkLocal => "link-local",
            AddrClass::SharedCgnat => "shared (CGNAT)",
            AddrClass::Documentation => "documentation",
            AddrClass::Benchmarking => "benchmarking",
            AddrClass::Reserved => "reserved",
            AddrClass::Broadcast => "broadcast",
            AddrClass::Multicast => "multicast",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    net: IpAddr,
    len: u8,
}

impl Cidr {
    fn parse(text: &str) -> Option<Cidr> {
        let (ip, len) = match text.split_once('/') {
            Some((ip, len)) => (ip.parse::<IpAddr>().ok()?, Some(len.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let ip = ip.to_canonical();
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(max);
        (len <= max).then_some(Cidr { net: ip, len })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                prefix(n.to_bits().into(), a.to_bits().into(), 32, self.len)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix(n.to_bits(), a.to_bits(), 128, self.len),
            _ => false,
        }
    }
}

/// Whether the first `len` of `bits` bits of `a` and `b` agree.
fn prefix(a: u128, b: u128, bits: u8, len: u8) -> bool {
    len == 0 || (a ^ b) >> (bits - len) == 0
}

/// Hosts and networks exempt from the guard, from config entries: a CIDR (`10.20.0.0/16`), an IP
/// (`127.0.0.1`, `::1`) or an exact host name (`sandbox.internal`, case-insensitive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    nets: Vec<Cidr>,
    hosts: Vec<String>,
}

impl AllowList {
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, SsrfError> {
        let mut list = AllowList::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if let Some(net) = Cidr::parse(entry) {
                list.nets.push(net);
            } else if !entry.is_empty()
                && !entry.contains(['/', ':', '@', ' '])
                && entry.parse::<IpAddr>().is_err()
            {
                list.hosts.push(normalise_host(entry));
            } else {
                return Err(SsrfError::BadAllowEntry(entry.to_string()));
            }
        }
        Ok(list)
    }

    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// An allow-listed host name, or an IP literal inside an allow-listed network.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = normalise_host(host);
        match host.parse::<IpAddr>() {
            Ok(ip) => self.allows_ip(ip),
            Err(_) => self.hosts.contains(&host),
        }
    }
}

fn normalise_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A sink URL the guard accepted, parsed once by the HTTP client's own parser (`reqwest::Url`, the
/// WHATWG URL standard): the sender sends to this very [`Url`](reqwest::Url), so the host judged is the
/// host connected to. `https://0x7f000002/`, `https://2852039166/` or `https://10.1/` are IPv4
/// literals to that parser (127.0.0.2, 169.254.169.254, 10.0.0.1) and are judged as such.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardedUrl {
    url: reqwest::Url,
    host: String,
    port: u16,
}

impl GuardedUrl {
    /// The parsed URL, to send to as it is (never re-parse the raw text).
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// The host as the client sees it: a lower-case name without a trailing dot, or a canonical IP
    /// literal (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The explicit port, or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Judges a sink URL as the HTTP client will parse it: `https` only, unless the host is allow-listed
/// (then `http` too); no user-info; no whitespace or control characters; an IP-literal host (in any
/// spelling the parser accepts) is checked at once with [`check_addr`]. A host name is checked later, on
/// the addresses it resolves to ([`check_resolved`], in the sender's resolver).
pub fn check_url(url: &str, allow: &AllowList) -> Result<GuardedUrl, SsrfError> {
    let bad = || SsrfError::BadUrl(url.to_string());
    if url.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| bad())?;
    let default_port = match parsed.scheme() {
        "https" => 443,
        "http" => 80,
        _ => return Err(SsrfError::NotHttps),
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad());
    }
    let port = match parsed.port() {
        Some(0) => return Err(bad()),
        Some(p) => p,
        None => default_port,
    };
    let (host, ip) = match parsed.host() {
        Some(Host::Ipv4(v4)) => (v4.to_string(), Some(IpAddr::V4(v4))),
        Some(Host::Ipv6(v6)) => (v6.to_string(), Some(IpAddr::V6(v6))),
        Some(Host::Domain(name)) => (normalise_host(name), None),
        None => return Err(bad()),
    };
    if host.is_empty() {
        return Err(bad());
    }
    let allowed = match ip {
        Some(ip) => allow.allows_ip(ip),
        None => allow.hosts.contains(&host),
    };
    if parsed.scheme() != "https" && !allowed {
        return Err(SsrfError::NotHttps);
    }
    if let Some(ip) = ip {
        check_addr(ip, allow)?;
    }
    Ok(GuardedUrl {
        url: parsed,
        host,
        port,
    })
}

/// Refuses an address that is not public unicast, unless the allow-list covers it. IPv4 inside IPv6
/// (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is judged as the IPv4 address.
pub fn check_addr(ip: IpAddr, allow: &AllowList) -> Result<(), SsrfError> {
    if allow.allows_ip(ip) {
        return Ok(());
    }
    match classify_ip(ip.to_canonical()) {
        Some(class) => Err(SsrfError::Forbidden { ip, class }),
        None => Ok(()),
    }
}

/// Refuses when ANY of the resolved addresses is forbidden (or there are none), so a name with one
/// public and one private record cannot be used to reach the private one.
pub fn check_resolved(addrs: &[SocketAddr], allow: &AllowList) -> Result<(), SsrfError> {
    if addrs.is_empty() {
        return Err(SsrfError::NoAddress);
    }
    addrs.iter().try_for_each(|a| check_addr(a.ip(), allow))
}

fn classify_ip(ip: IpAddr) -> Option<AddrClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], len: u8) -> bool {
    prefix(
        u32::from(Ipv4Addr::from(net)).into(),
        u32::from(ip).into(),
        32,
        len,
    )
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddrClass> {
    use AddrClass::*;
    const RANGES: &[([u8; 4], u8, AddrClass)] = &[
        ([255, 255, 255, 255], 32, Broadcast),
        ([0, 0, 0, 0], 8, Unspecified),
        ([127, 0, 0, 0], 8, Loopback),
        ([10, 0, 0, 0], 8, Private),
        ([172, 16, 0, 0], 12, Private),
        ([192, 168, 0, 0], 16, Private),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([192, 0, 2, 0], 24, Documentation),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([192, 0, 0, 0], 24, Reserved),
        ([224, 0, 0, 0], 4, Multicast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    RANGES
        .iter()
        .find(|(net, len, _)| in_v4(ip, *net, *len))
        .map(|(_, _, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddrClass> {
    use AddrClass::*;
    let bits = ip.to_bits();
    let seg = ip.segments();
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_loopback() {
        return Some(Loopback);
    }
    // deprecated IPv4-compatible ::a.b.c.d
    if bits >> 32 == 0 {
        return Some(Reserved);
    }
    // the NAT64 well-known prefix carries an IPv4 address
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return classify_v4(Ipv4Addr::from_bits(bits as u32));
    }
    if seg[0] == 0x2002 {
        return classify_v4(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    const RANGES: &[(u128, u8, AddrClass)] = &[
        (0xfc00 << 112, 7, Private),
        (0xfe80 << 112, 10, LinkLocal),
        (0xfec0 << 112, 10, Private), // deprecated site-local
        (0xff00 << 112, 8, Multicast),
        (0x2001_0db8 << 96, 32, Documentation),
        (0x3fff << 112, 20, Documentation),
        (0x2001_0002 << 96, 48, Benchmarking),
        (0x0100 << 112, 64, Reserved), // discard-only
    ];
    RANGES
        .iter()
        .find(|(net, len, _)| prefix(*net, bits, 128, *len))
        .map(|(_, _, class)| *class)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> AllowList {
        AllowList::default()
    }

    /// `check_url` as `(host, port)`.
    fn hp(url: &str, allow: &AllowList) -> Result<(String, u16), SsrfError> {
        check_url(url, allow).map(|g| (g.host().to_string(), g.port()))
    }

    fn class_of(ip: &str) -> Option<AddrClass> {
        match check_addr(ip.parse().unwrap(), &none()) {
            Ok(()) => None,
            Err(SsrfError::Forbidden { class, .. }) => Some(class),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn refuses_every_non_public_class() {
        use AddrClass::*;
        let cases = [
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("::1", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("fc00::1", Private),
            ("fd12:3456::1", Private),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("0.0.0.0", Unspecified),
            ("::", Unspecified),
            ("255.255.255.255", Broadcast),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.254", SharedCgnat),
            ("192.0.2.10", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.1", Documentation),
            ("2001:db8::1", Documentation),
            ("198.18.0.1", Benchmarking),
            ("240.0.0.1", Reserved),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", LinkLocal),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("2002:7f00:1::", Loopback),
        ];
        for (ip, class) in cases {
            assert_eq!(class_of(ip), Some(class), "{ip}");
        }
    }

    #[test]
    fn lets_public_addresses_through() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(class_of(ip), None, "{ip}");
        }
    }

    #[test]
    fn urls_must_be_https_with_a_public_literal() {
        let allow = none();
        assert_eq!(
            hp("https://merchant.example.com/notify?x=1", &allow),
            Ok(("merchant.example.com".into(), 443))
        );
        assert_eq!(
            hp("HTTPS://Merchant.Example.COM.:8443", &allow),
            Ok(("merchant.example.com".into(), 8443))
        );
        assert_eq!(
            hp("https://[2606:4700::1]:9000/x", &allow),
            Ok(("2606:4700::1".into(), 9000))
        );
        assert_eq!(
            hp("http://merchant.example.com", &allow),
            Err(SsrfError::NotHttps)
        );
        assert_eq!(
            hp("ftp://merchant.example.com", &allow),
            Err(SsrfError::NotHttps)
        );
        for bad in [
            "merchant",
            "https://",
            "https://user:pw@host/",
            "https://h:99999",
            "https://h:0",
            "https://[::1",
        ] {
            assert!(
                matches!(hp(bad, &allow), Err(SsrfError::BadUrl(_))),
                "{bad}"
            );
        }
        for forbidden in [
            "https://127.0.0.1",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::1]:8443",
        ] {
            assert!(
                matches!(hp(forbidden, &allow), Err(SsrfError::Forbidden { .. })),
                "{forbidden}"
            );
        }
    }

    /// Every spelling the WHATWG parser reads as an IPv4 (or IPv6) literal is judged as that address.
    #[test]
    fn other_address_spellings_are_judged_as_the_client_parses_them() {
        use AddrClass::*;
        let cases = [
            ("https://2852039166/", "169.254.169.254", LinkLocal),
            ("https://0xa9fea9fe/", "169.254.169.254", LinkLocal),
            ("https://0251.0376.0251.0376/", "169.254.169.254", LinkLocal),
            ("https://169.254.43518/", "169.254.169.254", LinkLocal),
            ("https://10.1/", "10.0.0.1", Private),
            ("https://0x0a.0.0.1/", "10.0.0.1", Private),
            ("https://0177.0.0.2/", "127.0.0.2", Loopback),
            ("HTTPS://0XA9FEA9FE/", "169.254.169.254", LinkLocal),
            ("https://0x7f000002/", "127.0.0.2", Loopback),
            ("https://127.1./x", "127.0.0.1", Loopback),
            (
                "https://[::ffff:169.254.169.254]/",
                "::ffff:169.254.169.254",
                LinkLocal,
            ),
            (
                "https://[::ffff:a9fe:a9fe]/",
                "::ffff:169.254.169.254",
                LinkLocal,
            ),
            ("https://[fd00::1]/", "fd00::1", Private),
            (
                "https://[0:0:0:0:0:ffff:0a00:0001]:8443/",
                "::ffff:10.0.0.1",
                Private,
            ),
        ];
        for (url, ip, class) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(
                check_url(url, &none()),
                Err(SsrfError::Forbidden { ip, class }),
                "{url}"
            );
        }
        // Loopback allowed only as 127.0.0.1: other spellings of it pass, of 127.0.0.2 do not.
        let one = AllowList::parse(&["127.0.0.1"]).unwrap();
        let guarded = check_url("http://0x7f000001:8080/cb", &one).unwrap();
        assert_eq!((guarded.host(), guarded.port()), ("127.0.0.1", 8080));
        assert_eq!(guarded.url().as_str(), "http://127.0.0.1:8080/cb");
        for url in [
            "https://0x7f000002/",
            "https://2130706434/",
            "https://127.2/",
        ] {
            assert!(
                matches!(check_url(url, &one), Err(SsrfError::Forbidden { .. })),
                "{url}"
            );
        }
        // A name that merely looks numeric is no address: the parser refuses it.
        for url in [
            "https://1.2.3.09/",
            "https://example.0x10/",
            "https://256.0.0.1/",
        ] {
            assert!(
                matches!(check_url(url, &none()), Err(SsrfError::BadUrl(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn the_guarded_url_is_the_parsed_one() {
        let g = check_url("HTTPS://Merchant.Example.COM:443/a/../notify?x=1", &none()).unwrap();
        assert_eq!(g.url().as_str(), "https://merchant.example.com/notify?x=1");
        assert_eq!((g.host(), g.port()), ("merchant.example.com", 443));
        for bad in [
            "https://merchant.example.com\t/x",
            "https://merchant.example.com/a b",
            "https://user@merchant.example.com/",
            "https://:pw@merchant.example.com/",
        ] {
            assert!(
                matches!(check_url(bad, &none()), Err(SsrfError::BadUrl(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn allow_listed_hosts_and_networks_pass() {
        let allow =
            AllowList::parse(&["127.0.0.1/32", "10.20.0.0/16", "Sandbox.Internal"]).unwrap();
        assert_eq!(
            hp("https://127.0.0.1:9443/cb", &allow),
            Ok(("127.0.0.1".into(), 9443))
        );
        assert_eq!(
            hp("http://127.0.0.1:8080", &allow),
            Ok(("127.0.0.1".into(), 8080))
        );
        assert_eq!(
            hp("http://sandbox.internal/cb", &allow),
            Ok(("sandbox.internal".into(), 80))
        );
        assert_eq!(check_addr("127.0.0.1".parse().unwrap(), &allow), Ok(()));
        assert_eq!(
            check_addr("::ffff:127.0.0.1".parse().unwrap(), &allow),
            Ok(())
        );
        assert_eq!(check_addr("10.20.3.4".parse().unwrap(), &allow), Ok(()));
        assert!(check_addr("10.21.0.1".parse().unwrap(), &allow).is_err());
        assert!(check_addr("127.0.0.2".parse().unwrap(), &allow).is_err());
        assert_eq!(
            hp("http://other.internal", &allow),
            Err(SsrfError::NotHttps)
        );
        let v6 = AllowList::parse(&["::1", "fd00::/8"]).unwrap();
        assert_eq!(check_addr("::1".parse().unwrap(), &v6), Ok(()));
        assert_eq!(check_addr("fd00::5".parse().unwrap(), &v6), Ok(()));
        for bad in ["10.0.0.0/33", "host/path", "", "a b", "::1/129"] {
            assert!(AllowList::parse(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn any_forbidden_resolved_address_refuses_the_host() {
        let public: SocketAddr = "93.184.216.34:443".parse().unwrap();
        let metadata: SocketAddr = "169.254.169.254:443".parse().unwrap();
        assert_eq!(check_resolved(&[public], &none()), Ok(()));
        assert!(matches!(
            check_resolved(&[public, metadata], &none()),
            Err(SsrfError::Forbidden {
                class: AddrClass::LinkLocal,
                ..
            })
        ));
        assert_eq!(check_resolved(&[], &none()), Err(SsrfError::NoAddress));
        let allow = AllowList::parse(&["169.254.169.254"]).unwrap();
        assert_eq!(check_resolved(&[public, metadata], &allow), Ok(()));
    }
}
