//! The protocol's numbers for record types, response codes and classes: [`Rtype`], [`Rcode`]
//! and the `CLASS_*` constants.
//!
//! One newtype each, so that no other module passes raw `u16`s around for them, and one table
//! of mnemonics, so that presentation and parsing agree (RFC 3597 §5 for the `TYPEnnn` form).

use std::fmt;

use crate::rdata::RdataError;

/// The Internet class (RFC 1035 §3.2.4).
pub const CLASS_IN: u16 = 1;
/// Class NONE, used in UPDATE prerequisites and deletions (RFC 2136 §2.4).
pub const CLASS_NONE: u16 = 254;
/// Class ANY (RFC 1035 §3.2.5).
pub const CLASS_ANY: u16 = 255;

/// A resource record TYPE (RFC 1035 §3.2.2), known or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rtype(pub u16);

macro_rules! rtypes {
    ($($name:ident = $code:expr, $doc:expr;)*) => {
        impl Rtype {
            $(
                #[doc = $doc]
                pub const $name: Self = Self($code);
            )*

            /// Every type this module has a mnemonic for, in code order.
            pub const KNOWN: &'static [Self] = &[$(Self::$name),*];

            /// The registered mnemonic, e.g. `"AAAA"`, or `None` for a type without one here.
            pub fn mnemonic(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

rtypes! {
    A = 1, "IPv4 host address (RFC 1035 §3.4.1).";
    NS = 2, "Authoritative name server (RFC 1035 §3.3.11).";
    CNAME = 5, "Canonical name (RFC 1035 §3.3.1).";
    SOA = 6, "Start of a zone of authority (RFC 1035 §3.3.13).";
    PTR = 12, "Domain name pointer (RFC 1035 §3.3.12).";
    HINFO = 13, "Host information (RFC 1035 §3.3.2).";
    MX = 15, "Mail exchange (RFC 1035 §3.3.9).";
    TXT = 16, "Text strings (RFC 1035 §3.3.14).";
    RP = 17, "Responsible person (RFC 1183 §2.2).";
    AFSDB = 18, "AFS database location (RFC 1183 §1).";
    AAAA = 28, "IPv6 host address (RFC 3596 §2.1).";
    LOC = 29, "Location (RFC 1876).";
    SRV = 33, "Service location (RFC 2782).";
    NAPTR = 35, "Naming authority pointer (RFC 3403 §4).";
    KX = 36, "Key exchanger (RFC 2230).";
    CERT = 37, "Certificate (RFC 4398).";
    DNAME = 39, "Delegation name (RFC 6672).";
    OPT = 41, "EDNS(0) option pseudo-record (RFC 6891 §6.1).";
    APL = 42, "Address prefix list (RFC 3123).";
    DS = 43, "Delegation signer (RFC 4034 §5).";
    SSHFP = 44, "SSH key fingerprint (RFC 4255).";
    IPSECKEY = 45, "IPsec keying material (RFC 4025).";
    RRSIG = 46, "RRset signature (RFC 4034 §3).";
    NSEC = 47, "Next secure (RFC 4034 §4).";
    DNSKEY = 48, "DNS public key (RFC 4034 §2).";
    DHCID = 49, "DHCP identifier (RFC 4701).";
    NSEC3 = 50, "Hashed next secure (RFC 5155 §3).";
    NSEC3PARAM = 51, "NSEC3 parameters (RFC 5155 §4).";
    TLSA = 52, "TLS certificate association (RFC 6698).";
    SMIMEA = 53, "S/MIME certificate association (RFC 8162).";
    CDS = 59, "Child DS (RFC 7344).";
    CDNSKEY = 60, "Child DNSKEY (RFC 7344).";
    OPENPGPKEY = 61, "OpenPGP public key (RFC 7929).";
    CSYNC = 62, "Child-to-parent synchronisation (RFC 7477).";
    ZONEMD = 63, "Zone message digest (RFC 8976).";
    SVCB = 64, "General service binding (RFC 9460).";
    HTTPS = 65, "HTTPS service binding (RFC 9460 §9).";
    SPF = 99, "Sender policy framework, TXT format (RFC 7208 §3.1).";
    TKEY = 249, "Transaction key (RFC 2930).";
    TSIG = 250, "Transaction signature (RFC 8945).";
    IXFR = 251, "Incremental zone transfer (RFC 1995).";
    AXFR = 252, "Full zone transfer (RFC 1035 §3.2.3).";
    MAILB = 253, "Mailbox-related records (RFC 1035 §3.2.3).";
    MAILA = 254, "Mail agent records, obsolete (RFC 1035 §3.2.3).";
    ANY = 255, "All records, the `*` query (RFC 1035 §3.2.3, RFC 8482).";
    URI = 256, "Uniform resource identifier (RFC 7553).";
    CAA = 257, "Certification authority authorization (RFC 8659).";
}

impl Rtype {
    /// The numeric TYPE.
    pub fn code(self) -> u16 {
        self.0
    }

    /// Parses a mnemonic (any case) or the RFC 3597 §5 form `TYPEnnn`.
    pub fn parse(text: &str) -> Result<Self, RdataError> {
        if let Some(known) = Self::KNOWN
            .iter()
            .find(|t| t.mnemonic().is_some_and(|m| m.eq_ignore_ascii_case(text)))
        {
            return Ok(*known);
        }
        let digits = text
            .get(..4)
            .filter(|prefix| prefix.eq_ignore_ascii_case("TYPE"))
            .map(|_| &text[4..]);
        match digits {
            Some(d) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => d
                .parse::<u16>()
                .map(Self)
                .map_err(|_| RdataError::UnknownType(text.to_owned())),
            _ => Err(RdataError::UnknownType(text.to_owned())),
        }
    }

    /// True for types that can never be zone data.
    ///
    /// RFC 6895 §3.1: "0x0080 - 0x00FF: Q and Meta types" — plus OPT (RFC 6891 §6.1.1), which
    /// lies outside that range but only ever appears in the additional section.
    pub fn is_meta(self) -> bool {
        self == Self::OPT || (128..=255).contains(&self.0)
    }

    /// True for the DNSSEC types a signing server generates itself (RRSIG, NSEC, NSEC3,
    /// NSEC3PARAM); DNSKEY, DS and CDS/CDNSKEY are published by the operator and are not
    /// included.
    pub fn is_dnssec(self) -> bool {
        matches!(
            self,
            Self::RRSIG | Self::NSEC | Self::NSEC3 | Self::NSEC3PARAM
        )
    }
}

impl fmt::Display for Rtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(m) => f.write_str(m),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

/// A response code (RFC 1035 §4.1.1), extended to 12 bits by EDNS (RFC 6891 §6.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rcode(pub u16);

macro_rules! rcodes {
    ($($name:ident = $code:expr, $doc:expr;)*) => {
        impl Rcode {
            $(
                #[doc = $doc]
                pub const $name: Self = Self($code);
            )*
        }
    };
}

rcodes! {
    NOERROR = 0, "No error (RFC 1035 §4.1.1).";
    FORMERR = 1, "Format error (RFC 1035 §4.1.1).";
    SERVFAIL = 2, "Server failure (RFC 1035 §4.1.1).";
    NXDOMAIN = 3, "Name does not exist (RFC 1035 §4.1.1).";
    NOTIMP = 4, "Not implemented (RFC 1035 §4.1.1).";
    REFUSED = 5, "Refused (RFC 1035 §4.1.1).";
    YXDOMAIN = 6, "Name exists when it should not (RFC 2136 §2.2).";
    YXRRSET = 7, "RRset exists when it should not (RFC 2136 §2.2).";
    NXRRSET = 8, "RRset that should exist does not (RFC 2136 §2.2).";
    NOTAUTH = 9, "Not authoritative, or not authorized (RFC 2136 §2.2, RFC 8945 §4.1).";
    NOTZONE = 10, "Name not contained in zone (RFC 2136 §2.2).";
    BADVERS = 16, "Bad OPT version (RFC 6891 §9).";
    BADSIG = 16, "TSIG signature failure; same code as BADVERS (RFC 8945 §5.3).";
    BADKEY = 17, "Key not recognized (RFC 8945).";
    BADTIME = 18, "Signature out of time window (RFC 8945).";
    BADMODE = 19, "Bad TKEY mode (RFC 2930).";
    BADNAME = 20, "Duplicate key name (RFC 2930).";
    BADALG = 21, "Algorithm not supported (RFC 2930).";
    BADTRUNC = 22, "Bad truncation (RFC 8945).";
    BADCOOKIE = 23, "Bad or missing server cookie (RFC 7873).";
}

impl Rcode {
    /// The four bits that go into the header's RCODE field.
    pub fn low4(self) -> u8 {
        (self.0 & 0x0f) as u8
    }

    /// The upper eight bits of a 12-bit RCODE, the OPT record's EXTENDED-RCODE
    /// (RFC 6891 §6.1.3).
    pub fn high8(self) -> u8 {
        ((self.0 >> 4) & 0xff) as u8
    }

    /// Rebuilds a 12-bit RCODE from the header bits and the OPT record's extended bits.
    pub fn from_parts(high8: u8, low4: u8) -> Self {
        Self((u16::from(high8) << 4) | u16::from(low4 & 0x0f))
    }

    /// The mnemonic; 16 reads as `BADVERS` (as `BADSIG` only inside TSIG).
    pub fn mnemonic(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NOERROR",
            1 => "FORMERR",
            2 => "SERVFAIL",
            3 => "NXDOMAIN",
            4 => "NOTIMP",
            5 => "REFUSED",
            6 => "YXDOMAIN",
            7 => "YXRRSET",
            8 => "NXRRSET",
            9 => "NOTAUTH",
            10 => "NOTZONE",
            16 => "BADVERS",
            17 => "BADKEY",
            18 => "BADTIME",
            19 => "BADMODE",
            20 => "BADNAME",
            21 => "BADALG",
            22 => "BADTRUNC",
            23 => "BADCOOKIE",
            _ => return None,
        })
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(m) => f.write_str(m),
            None => write!(f, "RCODE{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics_round_trip() {
        for t in Rtype::KNOWN {
            assert_eq!(Rtype::parse(&t.to_string()).unwrap(), *t);
            assert_eq!(
                Rtype::parse(&t.to_string().to_ascii_lowercase()).unwrap(),
                *t
            );
            assert_eq!(Rtype::parse(&format!("TYPE{}", t.code())).unwrap(), *t);
        }
        assert_eq!(Rtype(65280).to_string(), "TYPE65280");
        assert_eq!(Rtype::parse("type65280").unwrap(), Rtype(65280));
        assert_eq!(Rtype::parse("Https").unwrap(), Rtype::HTTPS);
        for bad in [
            "",
            "TYPE",
            "TYPE65536",
            "TYPE-1",
            "TYPE+1",
            "AAAAA",
            "TYPE 1",
        ] {
            assert!(
                matches!(Rtype::parse(bad), Err(RdataError::UnknownType(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn meta_and_dnssec() {
        for t in [
            Rtype::OPT,
            Rtype::TKEY,
            Rtype::TSIG,
            Rtype::IXFR,
            Rtype::AXFR,
            Rtype::MAILB,
            Rtype::MAILA,
            Rtype::ANY,
            Rtype(128),
        ] {
            assert!(t.is_meta(), "{t}");
        }
        for t in [
            Rtype::A,
            Rtype::SPF,
            Rtype::URI,
            Rtype::CAA,
            Rtype(127),
            Rtype(256),
        ] {
            assert!(!t.is_meta(), "{t}");
        }
        assert!(Rtype::RRSIG.is_dnssec() && Rtype::NSEC3PARAM.is_dnssec());
        assert!(!Rtype::DNSKEY.is_dnssec() && !Rtype::DS.is_dnssec());
    }

    #[test]
    fn rcode_bits() {
        assert_eq!(Rcode::BADSIG, Rcode::BADVERS);
        assert_eq!(Rcode::BADCOOKIE.low4(), 7);
        assert_eq!(Rcode::BADCOOKIE.high8(), 1);
        assert_eq!(Rcode::from_parts(1, 7), Rcode::BADCOOKIE);
        assert_eq!(Rcode::NXDOMAIN.low4(), 3);
        assert_eq!(Rcode::NXDOMAIN.high8(), 0);
        assert_eq!(Rcode::NOTZONE.to_string(), "NOTZONE");
        assert_eq!(Rcode(4095).to_string(), "RCODE4095");
        assert_eq!(Rcode(4095).high8(), 0xff);
    }
}
