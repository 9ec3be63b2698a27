//! Admin tokens as JWTs signed with HMAC-SHA256.

use ferry_domain::{Error, Result};
use ferry_ports::{TokenClaims, TokenSigner};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Every token Ferry issues is for its REST API.
const AUDIENCE: &str = "API";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    jti: String,
    iat: i64,
    exp: i64,
    aud: String,
}

/// Signs tokens with a secret key: random per start unless derived from a
/// configured passphrase that replicas share.
pub struct JwtSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtSigner {
    /// A signer whose key is `secret`. An empty secret is refused.
    pub fn from_secret(secret: &[u8]) -> Result<Self> {
        if secret.is_empty() {
            return Err(Error::invalid("the token signing secret is empty"));
        }
        let encoding = EncodingKey::from_secret(secret).map_err(Error::internal)?;
        let decoding = DecodingKey::from_secret(secret).map_err(Error::internal)?;
        Ok(Self { encoding, decoding })
    }

    /// A signer with a fresh random 256-bit key: tokens die with the process.
    pub fn random() -> Result<Self> {
        let key: [u8; 32] = rand::random();
        Self::from_secret(&key)
    }
}

impl TokenSigner for JwtSigner {
    fn sign(&self, claims: &TokenClaims) -> Result<String> {
        let claims = Claims {
            sub: claims.subject.clone(),
            jti: claims.token_id.clone(),
            iat: claims.issued_at,
            exp: claims.expires_at,
            aud: AUDIENCE.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::internal(format!("token signing failed: {e}")))
    }

    fn verify(&self, token: &str, now: i64) -> Result<TokenClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.validate_exp = false;
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| Error::not_authenticated("invalid token"))?;
        let claims = data.claims;
        if claims.exp <= now {
            return Err(Error::not_authenticated("token expired"));
        }
        Ok(TokenClaims {
            subject: claims.sub,
            token_id: claims.jti,
            issued_at: claims.iat,
            expires_at: claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;

    fn claims(exp: i64) -> TokenClaims {
        TokenClaims {
            subject: "admin".into(),
            token_id: "t1".into(),
            issued_at: 100,
            expires_at: exp,
        }
    }

    #[test]
    fn round_trips_and_expires() {
        let signer = JwtSigner::random().unwrap();
        let token = signer.sign(&claims(1_000)).unwrap();
        assert_eq!(signer.verify(&token, 999).unwrap(), claims(1_000));
        let err = signer.verify(&token, 1_000).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotAuthenticated);
    }

    #[test]
    fn refuses_forged_and_garbage_tokens() {
        let signer = JwtSigner::random().unwrap();
        let other = JwtSigner::random().unwrap();
        let forged = other.sign(&claims(1_000)).unwrap();
        assert_eq!(
            signer.verify(&forged, 0).unwrap_err().kind(),
            ErrorKind::NotAuthenticated
        );
        assert_eq!(
            signer.verify("a.b.c", 0).unwrap_err().kind(),
            ErrorKind::NotAuthenticated
        );
        assert_eq!(
            signer.verify("", 0).unwrap_err().kind(),
            ErrorKind::NotAuthenticated
        );
    }

    #[test]
    fn a_shared_passphrase_makes_tokens_portable() {
        let a = JwtSigner::from_secret(b"shared").unwrap();
        let b = JwtSigner::from_secret(b"shared").unwrap();
        let token = a.sign(&claims(1_000)).unwrap();
        assert!(b.verify(&token, 0).is_ok());
        assert!(JwtSigner::from_secret(b"").is_err());
    }
}
