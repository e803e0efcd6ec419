//! `cidr` blocks for IPv4 and IPv6 addresses, on `std::net` alone.

use std::net::IpAddr;

/// A network: an address with its host bits cleared, and the prefix length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `"10.0.0.0/24"` or `"2001:db8::/32"`; host bits set in the address are
    /// ignored (`10.0.0.7/24` is `10.0.0.0/24`).
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = text.split_once('/')?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let prefix: u8 = prefix.parse().ok()?;
        let network: IpAddr = address.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return None;
        }
        Some(Cidr {
            network: mask(network, prefix),
            prefix,
        })
    }

    /// Whether `text` is an address of the same family inside this block.
    pub(crate) fn contains(&self, text: &str) -> bool {
        match text.parse::<IpAddr>() {
            Ok(address) if address.is_ipv4() == self.network.is_ipv4() => {
                mask(address, self.prefix) == self.network
            }
            _ => false,
        }
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & kept).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & kept).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cidr;

    #[test]
    fn ipv4_and_ipv6_blocks() {
        let v4 = Cidr::parse("10.0.0.0/24").unwrap();
        assert!(v4.contains("10.0.0.0") && v4.contains("10.0.0.255"));
        assert!(!v4.contains("10.0.1.0") && !v4.contains("::1") && !v4.contains("nope"));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8"));
        assert!(Cidr::parse("10.0.0.7/32").unwrap().contains("10.0.0.7"));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::1") && !v6.contains("2001:db9::1"));
        assert!(!v6.contains("10.0.0.1"));
        assert!(Cidr::parse("::/0").unwrap().contains("::1"));
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0/24",
            "x/8",
            "::/129",
            "1.2.3.4/+8",
            "1.2.3.4/",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }
}
