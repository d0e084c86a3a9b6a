//! Tests of `minuto_relayer::escrow` through its public API.

use alloy_primitives::{Address, LogData, B256, U256};
use minuto_relayer::escrow::*;

#[test]
fn decode_round_trips_every_event() {
    let id = U256::from(7);
    let events = [
        EscrowEvent::Opened {
            id,
            student_key: Address::repeat_byte(1),
            rate: 5,
            deposit: 1_000,
            fee_bps: 250,
        },
        EscrowEvent::Started {
            id,
            tutor_key: Address::repeat_byte(2),
            start: 1_700_000_000,
        },
        EscrowEvent::ToppedUp {
            id,
            deposited: 2_000,
        },
        EscrowEvent::Withdrawn { id, amount: 3 },
        EscrowEvent::Ended { id, end: 9 },
        EscrowEvent::Cancelled { id },
    ];
    for event in events {
        let log = encode(Address::ZERO, &event);
        assert_eq!(decode(&log.data).unwrap(), event);
    }
}

#[test]
fn decode_rejects_foreign_topic() {
    let log = LogData::new_unchecked(vec![B256::repeat_byte(9)], Default::default());
    assert!(matches!(
        decode(&log),
        Err(DecodeError::UnknownTopic(Some(t))) if t == B256::repeat_byte(9)
    ));
}
