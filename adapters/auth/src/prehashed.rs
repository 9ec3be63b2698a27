//! Password hashes made elsewhere that Ferry verifies as they are stored, the
//! formats SFTPGo accepts: PBKDF2 in SFTPGo's `$pbkdf2-<digest>$` notation,
//! the crypt(3) formats MD5 (`$1$`), Apache APR1 (`$apr1$`) and SHA-crypt
//! (`$5$`, `$6$`), and the LDAP-style digests `{MD5}`, `{SHA256}`, `{SHA512}`.
//!
//! Ferry never produces these: it hashes with argon2id. They exist so that
//! accounts moved from SFTPGo, `/etc/shadow` or an `.htpasswd` file keep
//! their passwords.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use ferry_domain::{Error, Result};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// A PBKDF2 hash with fewer iterations than this is taken as malformed.
const PBKDF2_MIN_ITERATIONS: u32 = 1;
/// Bounds the CPU one login may cost: a stored hash asking for more is
/// refused as malformed rather than computed for minutes.
const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;
/// The same bound for SHA-crypt's `rounds=` (its own limit is 999,999,999).
const SHA_CRYPT_MAX_ROUNDS: u32 = 10_000_000;
/// A derived key shorter than this would make guessing cheap: refused.
const PBKDF2_MIN_KEY_LEN: usize = 16;
/// Longer keys are refused (no PRF here gives more than 64 bytes per block
/// and SFTPGo stores one block).
const PBKDF2_MAX_KEY_LEN: usize = 128;

/// The crypt(3) alphabet, used by the MD5 and APR1 formats.
const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The digest PBKDF2 runs HMAC over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prf {
    Sha1,
    Sha256,
    Sha512,
}

/// A recognised pre-hashed format, named by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// `$pbkdf2-<prf>$<iterations>$<salt>$<base64 key>`; with `b64_salt`
    /// the salt is itself standard base64.
    Pbkdf2 { prf: Prf, b64_salt: bool },
    /// `$1$` (crypt) or `$apr1$` (Apache): the same algorithm with a
    /// different magic string.
    Md5Crypt { magic: &'static str },
    /// `$5$` and `$6$`.
    ShaCrypt,
    /// `{MD5}`, `{SHA256}`, `{SHA512}` followed by the digest of the
    /// password in base64 or hex.
    Digest(DigestKind),
}

/// The plain digests of the `{...}` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DigestKind {
    Md5,
    Sha256,
    Sha512,
}

const PREFIXES: [(&str, Scheme); 11] = [
    (
        "$pbkdf2-sha1$",
        Scheme::Pbkdf2 {
            prf: Prf::Sha1,
            b64_salt: false,
        },
    ),
    (
        "$pbkdf2-sha256$",
        Scheme::Pbkdf2 {
            prf: Prf::Sha256,
            b64_salt: false,
        },
    ),
    (
        "$pbkdf2-sha512$",
        Scheme::Pbkdf2 {
            prf: Prf::Sha512,
            b64_salt: false,
        },
    ),
    (
        "$pbkdf2-b64salt-sha256$",
        Scheme::Pbkdf2 {
            prf: Prf::Sha256,
            b64_salt: true,
        },
    ),
    ("$1$", Scheme::Md5Crypt { magic: "$1$" }),
    ("$apr1$", Scheme::Md5Crypt { magic: "$apr1$" }),
    ("$5$", Scheme::ShaCrypt),
    ("$6$", Scheme::ShaCrypt),
    ("{MD5}", Scheme::Digest(DigestKind::Md5)),
    ("{SHA256}", Scheme::Digest(DigestKind::Sha256)),
    ("{SHA512}", Scheme::Digest(DigestKind::Sha512)),
];

fn scheme_of(stored: &str) -> Option<(&'static str, Scheme)> {
    PREFIXES
        .iter()
        .find(|(prefix, _)| stored.starts_with(prefix))
        .copied()
}

/// True when `value` starts with the prefix of a format this module verifies.
pub(crate) fn is_prehashed(value: &str) -> bool {
    scheme_of(value).is_some()
}

/// Checks that a pre-hashed value is well formed, without the cost of
/// hashing, so that a bad value is refused when it is set rather than at
/// every login.
pub(crate) fn check_format(value: &str) -> Result<()> {
    // The empty password cannot be correct for a well-formed value, and a
    // malformed one fails to parse: only the parse result matters here.
    verify(value, "").map(|_| ())
}

/// True when `password` matches `stored`, a value [`is_prehashed`] accepts.
/// A malformed `stored` value is an error, never a match.
pub(crate) fn verify(stored: &str, password: &str) -> Result<bool> {
    let Some((prefix, scheme)) = scheme_of(stored) else {
        return Err(malformed("unknown"));
    };
    let body = &stored[prefix.len()..];
    match scheme {
        Scheme::Pbkdf2 { prf, b64_salt } => verify_pbkdf2(body, prf, b64_salt, password),
        Scheme::Md5Crypt { magic } => verify_md5_crypt(body, magic, password),
        Scheme::ShaCrypt => verify_sha_crypt(stored, password),
        Scheme::Digest(kind) => verify_digest(body, &kind.digest(password.as_bytes())),
    }
}

impl DigestKind {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Md5 => Md5::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

fn malformed(format: &str) -> Error {
    Error::invalid(format!("the {format} password hash is malformed"))
}

fn verify_pbkdf2(body: &str, prf: Prf, b64_salt: bool, password: &str) -> Result<bool> {
    let bad = || malformed("pbkdf2");
    let mut parts = body.split('$');
    let (Some(iterations), Some(salt), Some(key), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let iterations: u32 = iterations.parse().map_err(|_| bad())?;
    if !(PBKDF2_MIN_ITERATIONS..=PBKDF2_MAX_ITERATIONS).contains(&iterations) || salt.is_empty() {
        return Err(bad());
    }
    let salt = if b64_salt {
        decode_base64(salt).ok_or_else(bad)?
    } else {
        salt.as_bytes().to_vec()
    };
    let expected = decode_base64(key).ok_or_else(bad)?;
    if !(PBKDF2_MIN_KEY_LEN..=PBKDF2_MAX_KEY_LEN).contains(&expected.len()) {
        return Err(bad());
    }
    let mut derived = vec![0u8; expected.len()];
    let password = password.as_bytes();
    match prf {
        Prf::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, &salt, iterations, &mut derived),
        Prf::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, &salt, iterations, &mut derived),
        Prf::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, &salt, iterations, &mut derived),
    }
    Ok(derived.ct_eq(&expected).into())
}

/// Standard base64, padded or not.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .ok()
}

/// `<salt>$<22 characters>`: the salt is at most 8 characters.
fn verify_md5_crypt(body: &str, magic: &str, password: &str) -> Result<bool> {
    let bad = || malformed("md5crypt");
    let (salt, encoded) = body.split_once('$').ok_or_else(bad)?;
    if salt.len() > 8 || encoded.len() != 22 || !encoded.bytes().all(is_crypt_char) {
        return Err(bad());
    }
    let computed = md5_crypt(password.as_bytes(), salt.as_bytes(), magic.as_bytes());
    Ok(computed.as_bytes().ct_eq(encoded.as_bytes()).into())
}

fn is_crypt_char(byte: u8) -> bool {
    CRYPT_ALPHABET.contains(&byte)
}

/// The MD5-based crypt of Poul-Henning Kamp (FreeBSD), which Apache's APR1
/// reuses with the magic `$apr1$`. Returns the 22-character encoded hash.
fn md5_crypt(password: &[u8], salt: &[u8], magic: &[u8]) -> String {
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(password)
        .chain_update(magic)
        .chain_update(salt);
    for chunk in password.chunks(16) {
        ctx.update(&alternate[..chunk.len()]);
    }
    // The original implementation's quirk: one byte per bit of the length,
    // a zero byte for a set bit and the first password byte for a clear one.
    let mut length = password.len();
    while length > 0 {
        if length & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        length >>= 1;
    }
    let mut digest = ctx.finalize();
    for round in 0..1000 {
        let mut ctx = Md5::new();
        if round % 2 == 1 {
            ctx.update(password);
        } else {
            ctx.update(digest);
        }
        if round % 3 != 0 {
            ctx.update(salt);
        }
        if round % 7 != 0 {
            ctx.update(password);
        }
        if round % 2 == 1 {
            ctx.update(digest);
        } else {
            ctx.update(password);
        }
        digest = ctx.finalize();
    }
    encode_md5_crypt(&digest)
}

/// crypt(3)'s byte order and 6-bit little-endian groups.
fn encode_md5_crypt(digest: &[u8]) -> String {
    let mut out = String::with_capacity(22);
    let mut push = |value: u32, chars: usize| {
        for i in 0..chars {
            out.push(CRYPT_ALPHABET[((value >> (6 * i)) & 0x3f) as usize] as char);
        }
    };
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        let value = u32::from(digest[a]) << 16 | u32::from(digest[b]) << 8 | u32::from(digest[c]);
        push(value, 4);
    }
    push(u32::from(digest[11]), 2);
    out
}

fn verify_sha_crypt(stored: &str, password: &str) -> Result<bool> {
    use sha_crypt::{PasswordVerifier as _, ShaCrypt, password_hash};
    let rounds = stored
        .split('$')
        .nth(2)
        .and_then(|field| field.strip_prefix("rounds="));
    if let Some(rounds) = rounds {
        let rounds: u32 = rounds.parse().map_err(|_| malformed("sha-crypt"))?;
        if rounds > SHA_CRYPT_MAX_ROUNDS {
            return Err(malformed("sha-crypt"));
        }
    }
    match ShaCrypt::default().verify_password(password.as_bytes(), stored) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(malformed("sha-crypt")),
    }
}

/// The digest as hex (what `md5sum` prints) or as standard base64 (LDAP's
/// `userPassword` form); the two have different lengths, so they cannot be
/// confused.
fn verify_digest(body: &str, computed: &[u8]) -> Result<bool> {
    let expected = if body.len() == computed.len() * 2 {
        decode_hex(body)
    } else {
        decode_base64(body)
    };
    match expected {
        Some(expected) if expected.len() == computed.len() => Ok(computed.ct_eq(&expected).into()),
        _ => Err(malformed("digest")),
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "correct horse";

    /// Every vector was made with a standard tool for the password
    /// "correct horse", as noted beside it.
    const VECTORS: [&str; 14] = [
        // python3: base64.b64encode(hashlib.pbkdf2_hmac('sha1',
        //   b'correct horse', b'FerrySalt1', 10000))
        "$pbkdf2-sha1$10000$FerrySalt1$P4R+pePDk5DC8qcfOviu+dUkd2w=",
        // the same with 'sha256'
        "$pbkdf2-sha256$10000$FerrySalt1$/wBT2/7LOl4Zjsqh/QRezRgPTW5MRL57zH5eOO5MBuM=",
        // the same with 'sha512'
        "$pbkdf2-sha512$10000$FerrySalt1$uATljaNYENyLkNZPiJFgExElJdtW/+mqGgZ7QnM1jtQowXOAxl/\
         6nuGjliW4C8r2/3WV0vnQo0EZ6m4naiyxDg==",
        // python3: salt = bytes([0, 1, 2, 250, 251, 252, 36, 36]) (not text, and
        // holding '$'); base64 of it, then of pbkdf2_hmac('sha256', ..., salt, 5000)
        "$pbkdf2-b64salt-sha256$5000$AAEC+vv8JCQ=$zOK3SAXbLtDJUvM9k6POi7OiJWjzWob+0l4Oqf0Uzlk=",
        // openssl passwd -1 -salt saltsalt 'correct horse'
        "$1$saltsalt$NuzA7WTAelpl95xgBGWN60",
        // openssl passwd -apr1 -salt Xy7Zq1w2 'correct horse'
        "$apr1$Xy7Zq1w2$amC.CVgItbCFpw7SFTnAA/",
        // openssl passwd -5 -salt ferrysalt16chars 'correct horse'
        "$5$ferrysalt16chars$ynYZLc1l/Z3SDVm.g1ZQsQwHkGgCJv2JR2B7tzLknV0",
        // openssl passwd -6 -salt ferrysalt 'correct horse'
        "$6$ferrysalt$XEO/G4dsdRuPITyJ7LBfQu5pPY9XNULj6kkNIFEUXKzCONxIkH3BDiHxq/xibw.qH.\
         btgkgnI2HKowwVUh/Re/",
        // openssl passwd -6 -salt 'rounds=20000$abc' 'correct horse'
        "$6$rounds=20000$abc$v0.TNtGBeJEHWpI/9rjbNI9iwiUQaPIoylAD8pvQ41hhoWvb2vv.C8Jfb5pWdbBtXdHqeMN\
         lSgNaRTo0i17Ar/",
        // python3: hashlib.md5(b'correct horse').hexdigest()
        "{MD5}3cb4e732631f47e6eb961f34554b7cde",
        // python3: base64.b64encode(hashlib.md5(b'correct horse').digest())
        "{MD5}PLTnMmMfR+brlh80VUt83g==",
        // python3: base64.b64encode(hashlib.sha256(b'correct horse').digest())
        "{SHA256}QQTTb42iwlQ0n4WDZ5Pr4CngyVcGOjTJHC6SAxh7VjE=",
        // python3: hashlib.sha512(b'correct horse').hexdigest()
        "{SHA512}56b698defedb5a435b634afe3320bbaf3fdcd920b6c503a446fc7b7a776b298d479d1ba6a8b617808e\
         b0bf579ce9a95d668347bcab7149085ac93cb27995197b",
        // SFTPGo's documented example: "password", 150000 iterations, salt
        // E86a9YMX3zC7 (python3's pbkdf2_hmac gives the same key)
        "$pbkdf2-sha256$150000$E86a9YMX3zC7$R5J62hsSq+pYw00hLLPKBbcGXmq7fj5+/M0IFoYtZbo=",
    ];

    fn password_of(vector: &str) -> &'static str {
        if vector.contains("E86a9YMX3zC7") {
            "password"
        } else {
            PASSWORD
        }
    }

    #[test]
    fn every_vector_verifies_with_its_password_only() {
        for vector in VECTORS {
            assert!(is_prehashed(vector), "{vector}");
            assert!(verify(vector, password_of(vector)).unwrap(), "{vector}");
            assert!(!verify(vector, "correct horsE").unwrap(), "{vector}");
            assert!(!verify(vector, "").unwrap(), "{vector}");
            check_format(vector).unwrap();
        }
    }

    #[test]
    fn md5_crypt_of_the_empty_password_matches_openssl() {
        // openssl passwd -1 -salt ab ''
        assert!(verify("$1$ab$rn6aQS/o7141mj179E/zA.", "").unwrap());
    }

    #[test]
    fn long_passwords_cover_every_md5_crypt_branch() {
        // openssl passwd -1 -salt 12345678 'a password longer than sixteen bytes'
        let vector = "$1$12345678$H2K48mBSX8MIUbPKzMydi/";
        assert!(verify(vector, "a password longer than sixteen bytes").unwrap());
    }

    #[test]
    fn malformed_values_are_errors_not_matches() {
        let cases = [
            "$pbkdf2-sha256$10000$FerrySalt1",
            "$pbkdf2-sha256$many$FerrySalt1$/wBT2/7LOl4Zjsqh/QRezRgPTW5MRL57zH5eOO5MBuM=",
            "$pbkdf2-sha256$0$FerrySalt1$/wBT2/7LOl4Zjsqh/QRezRgPTW5MRL57zH5eOO5MBuM=",
            "$pbkdf2-sha256$99999999$s$/wBT2/7LOl4Zjsqh/QRezRgPTW5MRL57zH5eOO5MBuM=",
            "$pbkdf2-sha256$10000$FerrySalt1$not base64",
            "$pbkdf2-sha256$10000$FerrySalt1$AAAA",
            "$pbkdf2-b64salt-sha256$10000$%%%$/wBT2/7LOl4Zjsqh/QRezRgPTW5MRL57zH5eOO5MBuM=",
            "$1$saltsalt$short",
            "$1$saltsaltTooLong$NuzA7WTAelpl95xgBGWN60",
            "$apr1$nohash",
            "$6$ferrysalt$!!",
            "$6$rounds=999999999$abc$v0.TNtGBeJEHWpI/9rjbNI9iwiUQaPIoylAD8pvQ41hhoWvb2vv.C8Jfb5p",
            "{MD5}abc",
            "{SHA256}3cb4e732631f47e6eb961f34554b7cde",
        ];
        for case in cases {
            assert!(is_prehashed(case), "{case}");
            let err = verify(case, PASSWORD).unwrap_err();
            assert_eq!(err.kind(), ferry_domain::ErrorKind::InvalidInput, "{case}");
            assert!(check_format(case).is_err(), "{case}");
        }
    }

    #[test]
    fn other_values_are_not_prehashed() {
        for value in [
            "plain",
            "$argon2id$v=19$x",
            "$2b$10$x",
            "$y$j9T$x",
            "{SSHA}x",
        ] {
            assert!(!is_prehashed(value), "{value}");
        }
    }
}
