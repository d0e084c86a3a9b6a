//! Tests of `minuto_relayer::escrow` through its public API, and of how the chain
//! client reads the escrow's revert data (`minuto_relayer::evm::classify_revert`).

use alloy_primitives::{Address, LogData, B256, U256};
use alloy_sol_types::{SolError, SolEvent};
use minuto_relayer::escrow::*;
use minuto_relayer::evm::classify_revert;
use minuto_relayer::submit::Precheck;

#[test]
fn decode_reads_every_event_as_the_escrow_emits_it() {
    use ISessionEscrow as E;
    let id = U256::from(7);
    let logs = [
        (
            E::SessionOpened {
                id,
                student: Address::repeat_byte(3),
                tutor: Address::repeat_byte(4),
                token: Address::repeat_byte(5),
                rate: U256::from(5),
                deposit: U256::from(1_000),
                studentKey: Address::repeat_byte(1),
                credentialKind: 2,
                feeBps: 250,
            }
            .encode_log_data(),
            EscrowEvent::Opened {
                id,
                student_key: Address::repeat_byte(1),
                rate: 5,
                deposit: 1_000,
                fee_bps: 250,
            },
        ),
        (
            E::SessionStarted {
                id,
                tutorKey: Address::repeat_byte(2),
                start: 1_700_000_000,
            }
            .encode_log_data(),
            EscrowEvent::Started {
                id,
                tutor_key: Address::repeat_byte(2),
                start: 1_700_000_000,
            },
        ),
        (
            E::SessionToppedUp {
                id,
                amount: U256::from(1_000),
                deposited: U256::from(2_000),
            }
            .encode_log_data(),
            EscrowEvent::ToppedUp {
                id,
                deposited: 2_000,
            },
        ),
        (
            E::Withdrawn {
                id,
                tutor: Address::repeat_byte(4),
                amount: U256::from(3),
            }
            .encode_log_data(),
            EscrowEvent::Withdrawn { id, amount: 3 },
        ),
        (
            E::SessionEnded {
                id,
                by: Address::repeat_byte(6),
                end: 9,
                billed: U256::from(10),
                tutorPaid: U256::from(9),
                fee: U256::from(1),
                refund: U256::from(990),
            }
            .encode_log_data(),
            EscrowEvent::Ended { id, end: 9 },
        ),
        (
            E::SessionCancelled {
                id,
                by: Address::repeat_byte(3),
                refund: U256::from(1_000),
            }
            .encode_log_data(),
            EscrowEvent::Cancelled { id },
        ),
    ];
    let topics: Vec<B256> = logs.iter().map(|(l, _)| l.topics()[0]).collect();
    assert_eq!(topics, event_topics());
    for (log, event) in logs {
        assert_eq!(decode(&log).unwrap(), event);
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

#[test]
fn decode_rejects_an_amount_above_u128_and_a_truncated_log() {
    let huge = ISessionEscrow::SessionToppedUp {
        id: U256::from(1),
        amount: U256::ZERO,
        deposited: U256::from(u128::MAX) + U256::from(1),
    }
    .encode_log_data();
    assert!(matches!(
        decode(&huge),
        Err(DecodeError::AmountOutOfRange("SessionToppedUp"))
    ));
    let cut = LogData::new_unchecked(huge.topics().to_vec(), huge.data[..32].to_vec().into());
    assert!(matches!(
        decode(&cut),
        Err(DecodeError::Abi { event, .. }) if event == ISessionEscrow::SessionToppedUp::SIGNATURE
    ));
}

#[test]
fn classify_revert_maps_escrow_errors() {
    let ended = ISessionEscrow::EscrowInvalidState {
        id: U256::from(1),
        state: state::ENDED,
    }
    .abi_encode();
    assert_eq!(
        classify_revert(Some(&ended.into()), "x"),
        Precheck::AlreadyEnded
    );
    let range = ISessionEscrow::EscrowStopAtOutOfRange {
        id: U256::from(1),
        at: 5,
        earliest: 10,
        latest: 20,
    }
    .abi_encode();
    assert_eq!(
        classify_revert(Some(&range.into()), "x"),
        Precheck::OutOfRange {
            earliest: 10,
            latest: 20
        }
    );
    let open = ISessionEscrow::EscrowInvalidState {
        id: U256::from(1),
        state: 1,
    }
    .abi_encode();
    assert_eq!(
        classify_revert(Some(&open.into()), "x"),
        Precheck::Reverted("EscrowInvalidState(state = 1)".into())
    );
    let removed = ISessionEscrow::EscrowNotRelayer {
        caller: Address::repeat_byte(7),
    }
    .abi_encode();
    assert!(matches!(
        classify_revert(Some(&removed.into()), "x"),
        Precheck::Reverted(m) if m.starts_with("EscrowNotRelayer")
    ));
    assert_eq!(
        classify_revert(None, "boom"),
        Precheck::Reverted("boom".into())
    );
}
