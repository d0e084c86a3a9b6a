//! A booking that requires a credential: the tutor must hold it to accept, and the escrow
//! checks it again when the tutor starts the session.

use alloy_sol_types::SolError;

use super::*;

pub mod test_credentials {
    //! A stand-in for the credentials contract's `hasValid(address,uint32)`.
    use alloy_primitives::Address;
    use stylus_sdk::{
        prelude::*,
        storage::{StorageBool, StorageMap},
    };

    #[storage]
    #[entrypoint]
    pub struct TestCredentials {
        valid: StorageMap<Address, StorageMap<u32, StorageBool>>,
    }

    #[public]
    impl TestCredentials {
        pub fn has_valid(&self, holder: Address, kind: u32) -> bool {
            self.valid.get(holder).get(kind)
        }

        pub fn set_valid(&mut self, holder: Address, kind: u32, valid: bool) {
            self.valid.setter(holder).setter(kind).set(valid);
        }
    }
}
use test_credentials::TestCredentials;

const KIND: u32 = 7;

#[motsu::test]
fn accept_needs_the_required_credential(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    let id = w.request_with(u(RATE), u(DEPOSIT), KIND).motsu_unwrap();
    let refused = BookingCredentialRequired {
        id,
        tutor: w.tutor,
        kind: KIND,
    };
    // The escrow checks no credentials contract: nobody holds anything.
    assert_reverts(&booking, refused.clone(), || {
        booking.sender(w.tutor).accept(id)
    });
    escrow
        .sender(w.admin)
        .set_config(w.treasury, creds.address(), FEE_BPS, START_WINDOW, 60)
        .motsu_unwrap();
    assert_reverts(&booking, refused, || booking.sender(w.tutor).accept(id));
    // Another kind is not enough.
    creds.sender(w.admin).set_valid(w.tutor, KIND + 1, true);
    assert_eq!(
        Vec::<u8>::from(booking.sender(w.tutor).accept(id).motsu_unwrap_err()),
        BookingCredentialRequired {
            id,
            tutor: w.tutor,
            kind: KIND
        }
        .abi_encode()
    );
    creds.sender(w.admin).set_valid(w.tutor, KIND, true);
    booking.sender(w.tutor).accept(id).motsu_unwrap();
    // A booking without a required kind needs nothing.
    creds.sender(w.admin).set_valid(w.tutor, KIND, false);
    let plain = w.request().motsu_unwrap();
    booking.sender(w.tutor).accept(plain).motsu_unwrap();
    // The session carries the kind; the escrow lets a tutor holding it start.
    creds.sender(w.admin).set_valid(w.tutor, KIND, true);
    w.advance_to(w.start());
    let session = booking
        .sender(w.student)
        .join(id, w.student_key)
        .motsu_unwrap();
    assert_eq!(
        escrow
            .sender(w.stranger)
            .session(session)
            .motsu_unwrap()
            .credentialKind,
        KIND
    );
    escrow
        .sender(w.tutor)
        .start(session, w.tutor_key)
        .motsu_unwrap();
}

#[motsu::test]
fn a_credential_lapsed_after_accept_stops_the_start_and_counts_a_no_show(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
    booking: Contract<Booking>,
) {
    let w = World::new(&escrow, &token, &booking);
    escrow
        .sender(w.admin)
        .set_config(w.treasury, creds.address(), FEE_BPS, START_WINDOW, 60)
        .motsu_unwrap();
    creds.sender(w.admin).set_valid(w.tutor, KIND, true);
    let id = w.request_with(u(RATE), u(DEPOSIT), KIND).motsu_unwrap();
    booking.sender(w.tutor).accept(id).motsu_unwrap();
    creds.sender(w.admin).set_valid(w.tutor, KIND, false);
    w.advance_to(w.start());
    let session = booking
        .sender(w.student)
        .join(id, w.student_key)
        .motsu_unwrap();
    let err = escrow
        .sender(w.tutor)
        .start(session, w.tutor_key)
        .motsu_unwrap_err();
    assert_eq!(
        Vec::<u8>::from(err),
        minuto_escrow::EscrowCredentialRequired {
            id: session,
            tutor: w.tutor,
            kind: KIND
        }
        .abi_encode()
    );
    w.advance_to(w.now() + u64::from(START_WINDOW) + 1);
    booking
        .sender(w.student)
        .report_tutor_no_show(id)
        .motsu_unwrap();
    assert_eq!(w.balances(), [FUNDS, 0, 0, 0, 0]);
    assert_eq!(booking.sender(w.stranger).tutor_record(w.tutor), (0, 1, 0));
}
