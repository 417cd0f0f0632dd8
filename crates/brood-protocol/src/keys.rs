//! The controller's Ed25519 keys: generating them, writing them as hex, keeping the secret key
//! in a file only its owner can read; and the random nonces of signed messages.
//!
//! Randomness comes from the operating system (`getrandom`) and nowhere else, so a key or a
//! nonce never depends on a seed a test or a clock chose.

use std::fs;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey, PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH};

use crate::error::ProtocolError;

fn random_bytes<const N: usize>() -> Result<[u8; N], ProtocolError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| ProtocolError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A new signing key from the operating system's random source. Its public half is
/// [`SigningKey::verifying_key`].
pub fn generate_signing_key() -> Result<SigningKey, ProtocolError> {
    Ok(SigningKey::from_bytes(&random_bytes::<SECRET_KEY_LENGTH>()?))
}

/// A new key pair: the secret key for the controller, the public key for its workers.
pub fn generate_key_pair() -> Result<(SigningKey, VerifyingKey), ProtocolError> {
    let secret = generate_signing_key()?;
    let public = secret.verifying_key();
    Ok((secret, public))
}

/// A fresh nonce for a signed message: 128 random bits as 32 lower-case hex digits.
pub fn new_nonce() -> Result<String, ProtocolError> {
    Ok(hex_encode(&random_bytes::<16>()?))
}

/// The public key as 64 lower-case hex digits (how it travels in a fleet request or a flag).
pub fn public_key_to_hex(key: &VerifyingKey) -> String {
    hex_encode(key.as_bytes())
}

/// Reads [`public_key_to_hex`]'s form (either case; surrounding whitespace ignored). Keys that
/// are not points on the curve are refused here rather than at the first verification.
pub fn public_key_from_hex(text: &str) -> Result<VerifyingKey, ProtocolError> {
    let bytes: [u8; PUBLIC_KEY_LENGTH] = hex_decode_array("public key", text)?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| ProtocolError::Key {
        what: "public key",
        reason: e.to_string(),
    })
}

/// The secret key's 32 bytes as 64 lower-case hex digits. Keep it out of logs.
pub fn secret_key_to_hex(key: &SigningKey) -> String {
    hex_encode(&key.to_bytes())
}

/// Reads [`secret_key_to_hex`]'s form (either case; surrounding whitespace ignored).
pub fn secret_key_from_hex(text: &str) -> Result<SigningKey, ProtocolError> {
    let bytes: [u8; SECRET_KEY_LENGTH] = hex_decode_array("secret key", text)?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Writes the secret key as one line of hex to `path`, readable and writable by its owner only
/// (mode 0600 on Unix; the mode is set before the key is written, also when the file existed).
pub fn save_secret_key(path: &Path, key: &SigningKey) -> Result<(), ProtocolError> {
    let io_error = |source| ProtocolError::KeyFile {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path).map_err(io_error)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_error)?;
        write_key(file, key).map_err(io_error)
    }
    #[cfg(not(unix))]
    {
        let file = options.open(path).map_err(io_error)?;
        write_key(file, key).map_err(io_error)
    }
}

fn write_key(mut file: fs::File, key: &SigningKey) -> std::io::Result<()> {
    file.write_all(format!("{}\n", secret_key_to_hex(key)).as_bytes())?;
    file.sync_all()
}

/// Reads a key written by [`save_secret_key`]. On Unix a file that group or others may read is
/// refused, as ssh refuses such private keys: a secret that others can read is no longer one.
pub fn load_secret_key(path: &Path) -> Result<SigningKey, ProtocolError> {
    let io_error = |source| ProtocolError::KeyFile {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map_err(io_error)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ProtocolError::KeyFilePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    let text = fs::read_to_string(path).map_err(io_error)?;
    secret_key_from_hex(&text)
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

fn hex_decode_array<const N: usize>(
    what: &'static str,
    text: &str,
) -> Result<[u8; N], ProtocolError> {
    let text = text.trim();
    let invalid = |reason: String| ProtocolError::Key { what, reason };
    if !text.is_ascii() {
        return Err(invalid(
            "contains a character that is not a hex digit".to_string(),
        ));
    }
    if text.len() != N * 2 {
        return Err(invalid(format!(
            "expected {} hex digits, found {} characters",
            N * 2,
            text.len()
        )));
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(invalid(
            "contains a character that is not a hex digit".to_string(),
        )),
    };
    let mut out = [0u8; N];
    for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        let (secret, public) = generate_key_pair().unwrap();
        let public_hex = public_key_to_hex(&public);
        assert_eq!(public_hex.len(), 64);
        assert_eq!(public_key_from_hex(&public_hex).unwrap(), public);
        let upper = format!("  {}\n", public_hex.to_uppercase());
        assert_eq!(public_key_from_hex(&upper).unwrap(), public);
        let secret_back = secret_key_from_hex(&secret_key_to_hex(&secret)).unwrap();
        assert_eq!(secret_back.to_bytes(), secret.to_bytes());

        for bad in ["", "zz", &"g".repeat(64), &"0".repeat(63), &"é".repeat(32)] {
            let err = public_key_from_hex(bad).unwrap_err();
            assert!(err.to_string().starts_with("invalid public key"), "{err}");
        }
    }

    #[test]
    fn nonces_are_fresh_hex() {
        let a = new_nonce().unwrap();
        let b = new_nonce().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn key_file_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("controller.key");
        let key = generate_signing_key().unwrap();
        save_secret_key(&path, &key).unwrap();
        assert_eq!(load_secret_key(&path).unwrap().to_bytes(), key.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let err = load_secret_key(&path).unwrap_err();
            assert!(matches!(
                err,
                ProtocolError::KeyFilePermissions { mode: 0o644, .. }
            ));
            // Saving again over the too-open file closes it up.
            save_secret_key(&path, &key).unwrap();
            assert!(load_secret_key(&path).is_ok());
        }
        let missing = load_secret_key(&dir.path().join("missing")).unwrap_err();
        assert!(
            missing.to_string().contains("cannot read key file"),
            "{missing}"
        );
    }
}
