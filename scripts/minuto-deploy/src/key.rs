//! Where the deployer's key comes from: an encrypted JSON keystore (password from a
//! variable, a file, or stdin), the first line of stdin, or — on dev nodes and testnets
//! only — a plain-text flag or variable. The key is held in memory only: never written to
//! a file, never given to a child process (see [`crate::child_env`]).

use std::io::BufRead;
use std::path::Path;

use alloy::signers::local::PrivateKeySigner;

/// Variable holding the keystore's password.
pub const ENV_KEYSTORE_PASSWORD: &str = "MINUTO_DEPLOYER_KEYSTORE_PASSWORD";

/// Where the key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// An encrypted keystore file.
    Keystore,
    /// The first line of stdin.
    Stdin,
    /// `--private-key` or `MINUTO_DEPLOYER_KEY`: refused on production chains.
    Plain,
}

/// The key could not be had. No variant holds the key or the password.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No source given.
    #[error("no deployer key: pass --keystore <file>, --private-key-stdin, or (dev nodes and testnets) MINUTO_DEPLOYER_KEY")]
    Missing,
    /// The text is not a secp256k1 private key (the text itself is never printed).
    #[error("invalid deployer key from {0}: not a 32-byte hex secp256k1 key")]
    Invalid(&'static str),
    /// stdin gave nothing.
    #[error("no {0} on stdin")]
    EmptyStdin(&'static str),
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        reason: String,
    },
    /// The keystore could not be decrypted.
    #[error("cannot decrypt keystore {path}: {reason}")]
    Keystore {
        /// File.
        path: String,
        /// Cause (wrong password, bad file).
        reason: String,
    },
}

fn first_line(stdin: &mut dyn BufRead, what: &'static str) -> Result<String, KeyError> {
    let mut line = String::new();
    stdin.read_line(&mut line).map_err(|e| KeyError::Read {
        path: "stdin".into(),
        reason: e.to_string(),
    })?;
    let line = line.trim_end_matches(['\n', '\r']).to_owned();
    if line.is_empty() {
        return Err(KeyError::EmptyStdin(what));
    }
    Ok(line)
}

fn parse(text: &str, from: &'static str) -> Result<PrivateKeySigner, KeyError> {
    text.trim().parse().map_err(|_| KeyError::Invalid(from))
}

/// The deployer's key from the first source given: a keystore (password from
/// [`ENV_KEYSTORE_PASSWORD`], else `password_file`, else stdin), stdin, or `plain`.
///
/// # Errors
/// [`KeyError`].
pub fn load(
    plain: Option<&str>,
    keystore: Option<&Path>,
    password_file: Option<&Path>,
    from_stdin: bool,
    stdin: &mut dyn BufRead,
) -> Result<(PrivateKeySigner, KeySource), KeyError> {
    if let Some(path) = keystore {
        let password = match (std::env::var(ENV_KEYSTORE_PASSWORD), password_file) {
            (Ok(p), _) => p,
            (Err(_), Some(f)) => std::fs::read_to_string(f)
                .map_err(|e| KeyError::Read {
                    path: f.display().to_string(),
                    reason: e.to_string(),
                })?
                .trim_end_matches(['\n', '\r'])
                .to_owned(),
            (Err(_), None) => first_line(stdin, "keystore password")?,
        };
        let bytes = eth_keystore::decrypt_key(path, password).map_err(|e| KeyError::Keystore {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let signer =
            PrivateKeySigner::from_slice(&bytes).map_err(|_| KeyError::Invalid("the keystore"))?;
        return Ok((signer, KeySource::Keystore));
    }
    if from_stdin {
        let line = first_line(stdin, "private key")?;
        return Ok((parse(&line, "stdin")?, KeySource::Stdin));
    }
    match plain {
        Some(k) => Ok((
            parse(k, "--private-key / MINUTO_DEPLOYER_KEY")?,
            KeySource::Plain,
        )),
        None => Err(KeyError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // anvil's second development account.
    const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    const ADDRESS: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    #[test]
    fn key_from_stdin_takes_the_first_line_only() {
        let mut input = format!("{KEY}\nnext line\n").into_bytes();
        let (s, src) = load(None, None, None, true, &mut &input[..]).unwrap();
        assert_eq!(
            (s.address().to_string(), src),
            (ADDRESS.into(), KeySource::Stdin)
        );
        input.clear();
        assert_eq!(
            load(None, None, None, true, &mut &input[..]).unwrap_err(),
            KeyError::EmptyStdin("private key")
        );
        let err = load(None, None, None, true, &mut &b"0xnotakey\n"[..]).unwrap_err();
        assert_eq!(err, KeyError::Invalid("stdin"));
        assert!(!err.to_string().contains("notakey"), "{err}");
    }

    #[test]
    fn keystore_decrypts_with_the_password_from_a_file_or_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let secret = alloy::hex::decode(KEY).unwrap();
        let mut rng = rand_core::OsRng;
        eth_keystore::encrypt_key(dir.path(), &mut rng, &secret, "pw-123", Some("k")).unwrap();
        let ks = dir.path().join("k");
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "pw-123\n").unwrap();
        let (s, src) = load(None, Some(&ks), Some(&pw), false, &mut &b""[..]).unwrap();
        assert_eq!(
            (s.address().to_string(), src),
            (ADDRESS.into(), KeySource::Keystore)
        );
        let (s, _) = load(None, Some(&ks), None, false, &mut &b"pw-123\n"[..]).unwrap();
        assert_eq!(s.address().to_string(), ADDRESS);
        let err = load(None, Some(&ks), None, false, &mut &b"wrong\n"[..]).unwrap_err();
        assert!(
            matches!(&err, KeyError::Keystore { path, .. } if *path == ks.display().to_string()),
            "{err:?}"
        );
    }

    #[test]
    fn plain_key_is_marked_and_nothing_given_is_an_error() {
        let (s, src) = load(Some(KEY), None, None, false, &mut &b""[..]).unwrap();
        assert_eq!(
            (s.address().to_string(), src),
            (ADDRESS.into(), KeySource::Plain)
        );
        assert_eq!(
            load(None, None, None, false, &mut &b""[..]).unwrap_err(),
            KeyError::Missing
        );
    }
}
