//! OpenSSH public keys as users list them (`authorized_keys` lines): each
//! is checked down to its wire encoding (RFC 4253 section 6.6, RFC 5656
//! section 3.1, RFC 8709 section 4, and OpenSSH's PROTOCOL.u2f for the
//! security-key types), so a damaged key is refused when it is stored, not
//! found useless at login.

use crate::error::{Error, Result};

/// Key algorithms accepted in `public_keys`.
const KEY_ALGORITHMS: [&str; 8] = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
];

/// The smallest RSA modulus OpenSSH accepts, in bits.
const MIN_RSA_BITS: usize = 1024;

/// Splits an authorized_keys line into algorithm and base64 blob, skipping any
/// options before the algorithm.
pub(crate) fn parse_key_line(line: &str) -> Option<(&str, &str)> {
    let mut words = line.split_whitespace();
    loop {
        let word = words.next()?;
        if KEY_ALGORITHMS.contains(&word) {
            return Some((word, words.next()?));
        }
    }
}

/// Trims each key line, drops empty ones and repeats, keeping the order.
pub fn tidy_public_keys(keys: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(keys.len());
    for key in keys {
        let key = key.trim();
        if !key.is_empty() && !out.iter().any(|k| k == key) {
            out.push(key.to_owned());
        }
    }
    out
}

/// Checks that `line` is an OpenSSH public key of a known type whose data
/// is that type's complete, well-formed encoding.
pub fn validate_public_key(line: &str) -> Result<()> {
    let (algo, blob) = parse_key_line(line)
        .ok_or_else(|| Error::invalid("not an OpenSSH public key of a known type"))?;
    let bytes = decode_base64(blob).ok_or_else(|| Error::invalid("the key data is not base64"))?;
    let mut data = Fields(&bytes);
    let broken = || Error::invalid(format!("the {algo} key data is damaged or incomplete"));
    if data.string().ok_or_else(broken)? != algo.as_bytes() {
        return Err(Error::invalid("the key data does not match its type"));
    }
    check_fields(algo, &mut data).ok_or_else(broken)??;
    if !data.0.is_empty() {
        return Err(broken());
    }
    Ok(())
}

/// Reads the fields after the type name; `None` when one is missing or
/// malformed, `Some(Err)` for a well-formed key Ferry refuses.
fn check_fields(algo: &str, data: &mut Fields<'_>) -> Option<Result<()>> {
    match algo {
        "ssh-ed25519" => expect(data.string()?.len() == 32),
        "sk-ssh-ed25519@openssh.com" => {
            expect(data.string()?.len() == 32)?;
            data.string().map(drop)
        }
        "ssh-rsa" => {
            data.mpint()?;
            let bits = data.mpint()?;
            if bits < MIN_RSA_BITS {
                return Some(Err(Error::invalid(format!(
                    "an RSA key of {bits} bits is too short: at least {MIN_RSA_BITS}"
                ))));
            }
            Some(())
        }
        "ssh-dss" => (0..4).try_for_each(|_| data.mpint().map(drop)),
        _ => {
            // ecdsa-sha2-<curve>, plain or on a security key.
            let curve = algo
                .trim_start_matches("sk-")
                .trim_end_matches("@openssh.com")
                .trim_start_matches("ecdsa-sha2-");
            expect(data.string()? == curve.as_bytes())?;
            expect(data.string()?.len() == ec_point_len(curve)?)?;
            if algo.starts_with("sk-") {
                data.string()?;
            }
            Some(())
        }
    }
    .map(Ok)
}

fn expect(condition: bool) -> Option<()> {
    condition.then_some(())
}

/// Length of an uncompressed point (`0x04 || x || y`) on `curve`.
fn ec_point_len(curve: &str) -> Option<usize> {
    let coordinate = match curve {
        "nistp256" => 32,
        "nistp384" => 48,
        "nistp521" => 66,
        _ => return None,
    };
    Some(1 + 2 * coordinate)
}

/// SSH wire fields read from the front of a buffer.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    /// A `string`: a 32-bit big-endian length, then that many bytes.
    fn string(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(self.0.get(..4)?.try_into().ok()?) as usize;
        let value = self.0.get(4..4usize.checked_add(len)?)?;
        self.0 = &self.0[4 + len..];
        Some(value)
    }

    /// A positive `mpint`, as its size in bits; zero, negative or padded
    /// with a needless zero byte is malformed.
    fn mpint(&mut self) -> Option<usize> {
        let value = self.string()?;
        let (&first, rest) = value.split_first()?;
        if first & 0x80 != 0 {
            return None;
        }
        let (lead, digits) = if first == 0 {
            (*rest.first()?, rest.len())
        } else {
            (first, value.len())
        };
        if first == 0 && lead & 0x80 == 0 {
            return None;
        }
        Some(digits * 8 - lead.leading_zeros() as usize)
    }
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let trimmed = s.trim_end_matches('=');
    if !s.len().is_multiple_of(4) || s.len() - trimmed.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in trimmed.bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `ssh-keygen -t <type> [-b <bits>] -N '' -C t` (OpenSSH 9.2).
    const GOOD: [&str; 6] = [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3d+rRRq1oJjdfepzrNRl64h6LPEyyin/nwvKSdk9lT t",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCq/Im2g8Z4cpI4GXtmxdAKfvNCmSa3pK0Eut0vihGykgOlhQ77\
         zcaeYaCGttH2Wtr/oVkJnckaq2HH4Rv9tGVosHtxmIu+BLtOP8bj7dnCEewn2wG5cD4YUk7ylNGydOpVbFf3Y9Gf\
         6jHs0fJUO7YHUxkJTg0jIwYRfU1xxsxCRQ==",
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHt2xdPuU/tv1370\
         cwgRTtVOSPrT3txdR1t9+HQqYwXhLNOR5ykXim838SK64tZnSYmw3h9IWwqDUVazZAT8PRE=",
        "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBIvR67Nu3KxoPBCC\
         xrxHShx2v1riPjIFRTZ0ZBhiNlZP7MXbLkfPthx1pCuDO/sE1RkD0cdmsc7MrFXjPybRG7fwOx57Q8W+CQkj6K6h\
         iS4SlZcAzzB8dxQuCneD1n+NbQ==",
        "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAAAHP9Lvb445rwy\
         MEQ6IVdlzHLLHCNSTCzlEBSp0QWKOoKEjOg7QC1oHvSFtBOjI9M1QzoQ2VDOVMKVOP7+whC6ZQG+yFjWZzC+056y\
         7IAEWEEb2E+erhSCkHeDLRornWb3n2JtO8jPDTFyJ7NAHkgMxw6zfKnl/QSXosZtQEtjlRKsig==",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAJaCAkSrUn3yUIFZanSqWsbNjJgTLzvpo1slY0mRNABsPt4gImIlIIJLpHuo\
         Ck3jBzikC6Jx7TUx85qv+XWXEuDMqxOf0fmrgmhXKUMM6K9h3CnkWeZsJcGr9L2e1LOBYnKg9y0KSGT4+uuxBqX2\
         Pdwp0i3yabOh8wI99LDqPXZlAAAAFQDDPxrkw+a3HrnyjRqfyRWFE3JrXQAAAIBgZIvmSaNJJ+1pQhZtjJm6rrFK\
         O3r4AWw6SsV2PYiHy5RvDPquD/bMBAYxjTeRwxo4HmHlGl4lypaLM61qKbiUt6hajkj9vWIy1ymXC84qtOlTpZyV\
         wRvkL1ek8REBqGbtBPQKP4hdrXJ2XA+vXPcB0fQJhiNeBETT4RRGg5ZmPwAAAIBgopAhPEiqLIzw3R6vmu+H6gNw\
         FwwHonTpeQ+ZGPIsqYHfcVPuV5M8jGDRzFyJECVIH3J1eRKIPZ8IQ7gFMFx4RfabXP/x9PUpLzKE4cU75Db+Xi39\
         YbebzlcpjQqjbyAyhCeLtLrRubkMsnGDHlEhFCY/t/wO15vTrJFVsiAnlw==",
    ];

    // Made from the keys above with Python's base64 and struct modules.
    const DAMAGED: [(&str, &str); 5] = [
        // the ed25519 key without its last three bytes
        (
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3d+rRRq1oJjdfepzrNRl64h6LPEyyin/nwvKSd",
            "damaged",
        ),
        // the ed25519 key with a byte added
        (
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3d+rRRq1oJjdfepzrNRl64h6LPEyyin/nwvKSdk9lTAA==",
            "damaged",
        ),
        // a 512-bit RSA modulus
        (
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAQQCAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\
             AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADA5",
            "too short",
        ),
        // the P-256 key naming the P-384 curve
        (
            "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAzODQAAABBBHt2xdPuU/tv\
             1370cwgRTtVOSPrT3txdR1t9+HQqYwXhLNOR5ykXim838SK64tZnSYmw3h9IWwqDUVazZAT8PRE=",
            "damaged",
        ),
        // an ed25519 blob under the RSA type
        (
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIE3d+rRRq1oJjdfepzrNRl64h6LPEyyin/nwvKSdk9lT",
            "does not match",
        ),
    ];

    #[test]
    fn generated_keys_of_every_type_pass() {
        for key in GOOD {
            assert!(validate_public_key(key).is_ok(), "{key}");
            let with_options = format!("no-pty,from=\"10.0.0.0/8\" {key}");
            assert!(validate_public_key(&with_options).is_ok(), "{with_options}");
        }
    }

    #[test]
    fn damaged_keys_are_refused_with_the_reason() {
        for (key, reason) in DAMAGED {
            let err = validate_public_key(key).expect_err(key);
            assert!(err.message().contains(reason), "{key}: {}", err.message());
        }
        for junk in ["ssh-ed25519 notbase64!", "hello", "ssh-ed25519", ""] {
            assert!(validate_public_key(junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn key_lists_are_trimmed_and_deduplicated() {
        let keys = vec![
            " ssh-ed25519 AAAA a ".to_owned(),
            String::new(),
            "   ".to_owned(),
            "ssh-ed25519 AAAA a".to_owned(),
            "ssh-rsa BBBB".to_owned(),
        ];
        assert_eq!(
            tidy_public_keys(keys),
            ["ssh-ed25519 AAAA a", "ssh-rsa BBBB"]
        );
    }

    #[test]
    fn base64_decodes_with_padding_only() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert!(decode_base64("aGk").is_none());
    }
}
