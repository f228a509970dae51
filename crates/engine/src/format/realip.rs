//! The client behind trusted proxies, found as nginx's realip module finds it with
//! `real_ip_header X-Forwarded-For` and `real_ip_recursive on`: starting from `$remote_addr`,
//! while the address at hand is a trusted proxy, step to the next X-Forwarded-For hop from the
//! right. The client is the first address not trusted, so hops the sender wrote to the left of
//! it (a forged `X-Forwarded-For: 192.0.2.55`) are never believed.

use super::field::strip_port;
use ipnet::IpNet;
use std::net::IpAddr;

/// Proxies whose X-Forwarded-For additions are believed (`--trusted-proxies`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

fn address(a: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(a).ok()?.parse().ok()
}

impl TrustedProxies {
    /// Reads a comma-separated list of addresses and CIDR ranges (`10.0.0.0/8,2001:db8::/32`).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim) {
            if item.is_empty() {
                continue;
            }
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(addr) => IpNet::from(addr),
                    Err(_) => {
                        return Err(format!("{item:?} is neither an address nor a CIDR range"))
                    }
                },
            };
            nets.push(net.trunc());
        }
        if nets.is_empty() {
            return Err("no address or CIDR range given".into());
        }
        Ok(TrustedProxies { nets })
    }

    /// Whether `addr` (with or without a port) is a trusted proxy; `false` for what is not an
    /// address.
    fn trusts(&self, addr: &[u8]) -> bool {
        address(strip_port(addr)).is_some_and(|a| {
            let a = match a {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
                v4 => v4,
            };
            self.nets.iter().any(|n| n.contains(&a))
        })
    }

    /// The client of a request from `remote` (`$remote_addr`, `None` when the format lacks
    /// it: then the walk starts at the right end of `xff`) with X-Forwarded-For `xff`. As
    /// nginx does, a hop that is not an address ends the walk where it stands (at
    /// `$remote_addr` when it is the rightmost hop), and when every hop is trusted the client
    /// is the leftmost one.
    pub(crate) fn client<'a>(
        &self,
        remote: Option<&'a [u8]>,
        xff: Option<&'a [u8]>,
    ) -> Option<&'a [u8]> {
        let mut client = remote.map(strip_port);
        if client.is_some_and(|c| !self.trusts(c)) {
            return client;
        }
        let hops = xff.unwrap_or(b"").rsplit(|&b| b == b',' || b == b' ');
        for hop in hops.filter(|h| !h.is_empty()) {
            let hop = strip_port(hop);
            if address(hop).is_none() {
                break;
            }
            client = Some(hop);
            if !self.trusts(hop) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client<'a>(t: &TrustedProxies, remote: &'a str, xff: &'a str) -> Option<&'a str> {
        let remote = (!remote.is_empty()).then_some(remote.as_bytes());
        t.client(remote, Some(xff.as_bytes()))
            .map(|c| std::str::from_utf8(c).unwrap())
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let t = TrustedProxies::parse("10.0.0.0/8, 2001:db8::/32,192.0.2.1").unwrap();
        // A forged first hop is not believed.
        let forged = "192.0.2.55, 198.51.100.7, 10.0.0.2";
        assert_eq!(client(&t, "10.0.0.1", forged), Some("198.51.100.7"));
        // An untrusted $remote_addr is the client whatever the header says.
        assert_eq!(client(&t, "203.0.113.9", forged), Some("203.0.113.9"));
        // Ports, IPv6 in brackets, spaces without commas, empty hops.
        assert_eq!(
            client(
                &t,
                "10.0.0.1:443",
                "[2001:db8::1]:80 ,,198.51.100.8:5 10.1.1.1"
            ),
            Some("198.51.100.8")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            client(&t, "10.0.0.1", "10.9.9.9, 192.0.2.1"),
            Some("10.9.9.9")
        );
        // The rightmost hop not an address: $remote_addr, as nginx declines.
        assert_eq!(
            client(&t, "10.0.0.1", "198.51.100.7, unknown"),
            Some("10.0.0.1")
        );
        // A later hop not an address: the walk stops at the trusted hop before it.
        assert_eq!(client(&t, "10.0.0.1", "junk, 10.2.2.2"), Some("10.2.2.2"));
        // No header.
        assert_eq!(client(&t, "10.0.0.1", ""), Some("10.0.0.1"));
        // No $remote_addr in the format: the walk starts at the right end.
        assert_eq!(
            client(&t, "", "198.51.100.7, 10.0.0.2"),
            Some("198.51.100.7")
        );
        // An IPv4-mapped IPv6 address is its IPv4 address.
        assert_eq!(
            client(&t, "::ffff:10.0.0.1", "198.51.100.7"),
            Some("198.51.100.7")
        );
        // A 7 KB hop is not an address.
        let long = format!("{}, 10.0.0.2", "1".repeat(7000));
        assert_eq!(client(&t, "10.0.0.1", &long), Some("10.0.0.2"));
    }

    #[test]
    fn lists_are_read_strictly() {
        assert!(TrustedProxies::parse("10.0.0.0/8,::1").is_ok());
        for bad in ["", " , ", "10.0.0.0/33", "example.com", "10.0.0.0/8,x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad:?}");
        }
    }
}
