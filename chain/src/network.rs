//! What a chain id and an RPC URL say about where a program is pointed.
//!
//! - [`kind`]: dev node, public testnet, or anything else — treated as production, so a
//!   chain this list does not know gets the careful path (explicit admin and treasury,
//!   no test suite);
//! - [`redact`]: an RPC URL as it may be shown, and any text with the URL's secrets
//!   replaced: hosted endpoints put API keys in the path, the query or the user info.

use url::Url;

/// What kind of chain an id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainKind {
    /// A local development node (anvil, hardhat, the nitro dev node).
    Dev,
    /// A public test network.
    Testnet,
    /// A production network, or a chain id this list does not know.
    Production,
}

/// The kind of chain `chain_id` is.
pub fn kind(chain_id: u64) -> ChainKind {
    match chain_id {
        // anvil/hardhat, geth --dev, the nitro dev node
        31_337 | 1_337 | 412_346 => ChainKind::Dev,
        // Arbitrum Sepolia, Sepolia, Holesky, Hoodi
        421_614 | 11_155_111 | 17_000 | 560_048 => ChainKind::Testnet,
        _ => ChainKind::Production,
    }
}

/// `url` as it may be shown: scheme, host and port only.
pub fn shown(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}",
        url.scheme(),
        url.host_str().unwrap_or_default()
    )
}

/// `text` with every secret part of `url` (user info, path, query) replaced by
/// `<redacted>`.
pub fn redact(text: &str, url: &Url) -> String {
    let tail = &url[url::Position::BeforePath..];
    if tail.len() <= 1 && url.username().is_empty() && url.password().is_none() {
        return text.to_owned();
    }
    let full = url.as_str().trim_end_matches('/');
    let mut out = text.replace(full, &format!("{}/<redacted>", shown(url)));
    if tail.len() > 1 {
        out = out.replace(tail, "/<redacted>");
    }
    for secret in [url.username(), url.password().unwrap_or_default()] {
        if secret.len() > 2 {
            out = out.replace(secret, "<redacted>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_the_url_never_show() {
        let url: Url = "https://user:hunter22@rpc.example:8443/v2/KEY123?token=abc"
            .parse()
            .unwrap();
        assert_eq!(shown(&url), "https://rpc.example:8443");
        let text =
            format!("error sending request for url ({url}): timed out; path /v2/KEY123?token=abc");
        let r = redact(&text, &url);
        for secret in ["hunter22", "KEY123", "token=abc", "user:"] {
            assert!(!r.contains(secret), "{secret} in {r}");
        }
        assert!(r.contains("https://rpc.example:8443/<redacted>"), "{r}");
        // A bare URL has nothing to hide and is left alone.
        let local: Url = "http://127.0.0.1:8547".parse().unwrap();
        assert_eq!(
            redact("to http://127.0.0.1:8547/", &local),
            "to http://127.0.0.1:8547/"
        );
    }

    #[test]
    fn unknown_chains_count_as_production() {
        assert_eq!(kind(31_337), ChainKind::Dev);
        assert_eq!(kind(412_346), ChainKind::Dev);
        assert_eq!(kind(421_614), ChainKind::Testnet);
        assert_eq!(kind(42_161), ChainKind::Production);
        assert_eq!(kind(1), ChainKind::Production);
        assert_eq!(kind(987_654_321), ChainKind::Production);
    }
}
