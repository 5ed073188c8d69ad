//! Trusted reverse proxies, and the client's address behind them.
//!
//! A proxy header (`Forwarded`, RFC 7239, or `X-Forwarded-For`) can be written by anyone, so it
//! is read only when the peer of the connection is a trusted proxy; the client is then the
//! rightmost address of the chain that is not itself a trusted proxy. Without trusted proxies
//! the peer's address is the client's.

use std::net::IpAddr;

/// An entry of a proxy list that is neither an IP address nor a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not an IP address or a CIDR network such as 10.0.0.0/8 or fd00::/8")]
pub struct ProxyListError {
    /// The entry as given.
    pub entry: String,
}

/// The addresses and networks of trusted reverse proxies (none by default).
///
/// ```
/// use citygrid::model::proxies::TrustedProxies;
/// let proxies = TrustedProxies::parse("10.0.0.0/8, ::1").unwrap();
/// let peer = "10.1.2.3".parse().unwrap();
/// assert_eq!(
///     proxies.client_address(peer, &["198.51.100.7", "10.9.9.9"]).to_string(),
///     "198.51.100.7"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    /// Networks as (address, prefix length); a single address has the full length.
    networks: Vec<(IpAddr, u8)>,
}

impl TrustedProxies {
    /// Parses a list of IP addresses and CIDR networks separated by commas or white space.
    pub fn parse(list: &str) -> Result<Self, ProxyListError> {
        let networks = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let error = || ProxyListError {
                    entry: entry.to_owned(),
                };
                let (address, prefix) = match entry.split_once('/') {
                    Some((address, prefix)) => (address, Some(prefix)),
                    None => (entry, None),
                };
                let address: IpAddr = address.parse().map_err(|_| error())?;
                let address = address.to_canonical();
                let bits = if address.is_ipv4() { 32 } else { 128 };
                let prefix = match prefix {
                    Some(prefix) => prefix.parse::<u8>().ok().filter(|&p| p <= bits),
                    None => Some(bits),
                }
                .ok_or_else(error)?;
                Ok((address, prefix))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { networks })
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    /// Whether `address` is a trusted proxy.
    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.networks
            .iter()
            .any(|&(network, prefix)| match (network, address) {
                (IpAddr::V4(n), IpAddr::V4(a)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                    u32::from(n) & mask == u32::from(a) & mask
                }
                (IpAddr::V6(n), IpAddr::V6(a)) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                    u128::from(n) & mask == u128::from(a) & mask
                }
                _ => false,
            })
    }

    /// The client's address, given the connection's `peer` and the addresses a proxy header
    /// lists (`hops`, as sent: the client first, each proxy appending its peer). The header is
    /// ignored unless `peer` is trusted; then the chain is walked from the right over trusted
    /// proxies, and the first address that is not one is the client. An entry that is not an
    /// address (`unknown`, an obfuscated name) stops the walk at the proxy that wrote it.
    pub fn client_address(&self, peer: IpAddr, hops: &[&str]) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        for hop in hops.iter().rev() {
            let Some(address) = hop_address(hop) else {
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

/// The address of one entry of `X-Forwarded-For` or of a `for=` of `Forwarded`: an IP address,
/// perhaps quoted, perhaps with a port (`192.0.2.1:4711`, `"[2001:db8::1]:4711"`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (address, _) = rest.split_once(']')?;
        return address.parse::<IpAddr>().ok().map(|a| a.to_canonical());
    }
    let (address, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    address.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The `for=` addresses of `Forwarded` header values (RFC 7239), in order.
pub fn forwarded_for<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    values
        .into_iter()
        .flat_map(|value| value.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| value.trim())
            })
        })
        .collect()
}

/// The addresses of `X-Forwarded-For` header values, in order.
pub fn x_forwarded_for<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    values
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_and_networks_of_both_families_are_parsed_and_matched() {
        let proxies = TrustedProxies::parse("10.0.0.0/8 192.0.2.1,fd00::/8").unwrap();
        assert!(proxies.trusts(ip("10.200.0.1")));
        assert!(
            proxies.trusts(ip("::ffff:10.0.0.1")),
            "IPv4-mapped counts as IPv4"
        );
        assert!(proxies.trusts(ip("192.0.2.1")));
        assert!(!proxies.trusts(ip("192.0.2.2")));
        assert!(proxies.trusts(ip("fd12::1")));
        assert!(!proxies.trusts(ip("2001:db8::1")));
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .trusts(ip("8.8.8.8"))
        );
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }

    #[test]
    fn entries_that_are_not_addresses_or_networks_are_named() {
        for bad in ["10.0.0.0/33", "example.org", "10.0.0.1/x", "::1/129"] {
            let error = TrustedProxies::parse(&format!("127.0.0.1, {bad}")).unwrap_err();
            assert_eq!(error.entry, bad);
        }
    }

    #[test]
    fn proxy_headers_from_an_untrusted_peer_are_ignored() {
        let proxies = TrustedProxies::parse("10.0.0.1").unwrap();
        assert_eq!(
            proxies.client_address(ip("198.51.100.9"), &["192.0.2.1"]),
            ip("198.51.100.9")
        );
        assert_eq!(
            TrustedProxies::default().client_address(ip("10.0.0.1"), &["192.0.2.1"]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client forged the first entry; the proxies appended the real ones.
        let hops = ["1.1.1.1", "198.51.100.7", "10.0.0.2"];
        assert_eq!(
            proxies.client_address(ip("10.0.0.1"), &hops),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client_address(ip("10.0.0.1"), &["10.0.0.3"]),
            ip("10.0.0.3"),
            "only proxies: the leftmost"
        );
        assert_eq!(
            proxies.client_address(ip("10.0.0.1"), &["198.51.100.7", "unknown"]),
            ip("10.0.0.1"),
            "an entry that is no address stops at the proxy that wrote it"
        );
    }

    #[test]
    fn forwarded_and_x_forwarded_for_entries_are_read_with_quotes_brackets_and_ports() {
        let hops = forwarded_for([
            "for=192.0.2.60;proto=http;by=203.0.113.43",
            r#"For="[2001:db8:cafe::17]:4711", for=198.51.100.7:8080"#,
        ]);
        assert_eq!(
            hops,
            [
                "192.0.2.60",
                r#""[2001:db8:cafe::17]:4711""#,
                "198.51.100.7:8080"
            ]
        );
        let addresses: Vec<IpAddr> = hops.iter().filter_map(|h| hop_address(h)).collect();
        assert_eq!(
            addresses,
            [
                ip("192.0.2.60"),
                ip("2001:db8:cafe::17"),
                ip("198.51.100.7")
            ]
        );
        assert_eq!(
            x_forwarded_for(["203.0.113.1, 10.0.0.2", "10.0.0.3"]),
            ["203.0.113.1", "10.0.0.2", "10.0.0.3"]
        );
    }
}
