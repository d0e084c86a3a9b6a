//! Tests of `minuto_relayer::api` through its public API.

use alloy_primitives::U256;
use minuto_relayer::api::*;
use minuto_relayer::heartbeat::Role;

#[test]
fn low_funds_thresholds() {
    assert_eq!(low_funds(0), "warn3m");
    assert_eq!(low_funds(180), "warn3m");
    assert_eq!(low_funds(181), "warn10m");
    assert_eq!(low_funds(600), "warn10m");
    assert_eq!(low_funds(601), "none");
}

#[test]
fn parse_heartbeat_accepts_number_and_hex_ids_and_rejects_junk() {
    let sig = format!("0x{}", "11".repeat(65));
    let ok =
        format!(r#"{{"session":"0x10","role":"tutor","seq":1,"sent_at":2,"signature":"{sig}"}}"#);
    let p = parse_heartbeat(ok.as_bytes()).unwrap();
    assert_eq!(p.session, U256::from(16));
    assert_eq!(p.role, Role::Tutor);
    let num =
        format!(r#"{{"session":16,"role":"student","seq":1,"sent_at":2,"signature":"{sig}"}}"#);
    assert_eq!(
        parse_heartbeat(num.as_bytes()).unwrap().session,
        U256::from(16)
    );
    // The `0x` is optional.
    let bare = format!(
        r#"{{"session":1,"role":"tutor","seq":1,"sent_at":2,"signature":"{}"}}"#,
        "11".repeat(65)
    );
    assert_eq!(
        parse_heartbeat(bare.as_bytes()).unwrap().signature,
        [0x11; 65]
    );
    for bad in [
        "not json".to_owned(),
        format!(r#"{{"session":1,"role":"teacher","seq":1,"sent_at":2,"signature":"{sig}"}}"#),
        format!(r#"{{"session":1,"role":"tutor","seq":-1,"sent_at":2,"signature":"{sig}"}}"#),
        r#"{"session":1,"role":"tutor","seq":1,"sent_at":2,"signature":"0x1234"}"#.to_owned(),
        format!(r#"{{"session":"x","role":"tutor","seq":1,"sent_at":2,"signature":"{sig}"}}"#),
        format!(
            r#"{{"session":1,"role":"tutor","seq":1,"sent_at":2,"signature":"{sig}","extra":1}}"#
        ),
    ] {
        assert_eq!(
            parse_heartbeat(bad.as_bytes()).unwrap_err().code(),
            "malformed",
            "{bad}"
        );
    }
}
