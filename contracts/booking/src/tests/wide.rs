//! Audit 15, L4: the escrow's views are read by word offset, and a longer answer (a field
//! added at the end of `config()`, say) is read the same. A stand-in escrow answers a
//! ten-word `config()`: a gated `accept` still finds the credentials contract in word 3,
//! and a `join` still finds the pause in word 7 (the join refused, the deposit back).

use super::gated::test_credentials::TestCredentials;
use super::*;

pub mod wide_escrow {
    //! An escrow stand-in whose `config()` has a tenth word.
    use alloy_primitives::Address;
    use stylus_sdk::{
        prelude::*,
        storage::{StorageAddress, StorageBool},
    };

    #[storage]
    #[entrypoint]
    pub struct WideEscrow {
        credentials: StorageAddress,
        booking: StorageAddress,
        paused: StorageBool,
    }

    #[public]
    impl WideEscrow {
        pub fn token_allowed(&self, _token: Address) -> bool {
            true
        }

        #[allow(clippy::type_complexity)]
        pub fn config(
            &self,
        ) -> (
            Address,
            Address,
            Address,
            Address,
            u16,
            u32,
            u32,
            bool,
            u64,
            Address,
        ) {
            (
                Address::repeat_byte(1),
                Address::ZERO,
                Address::repeat_byte(2),
                self.credentials.get(),
                250,
                600,
                60,
                self.paused.get(),
                0,
                Address::repeat_byte(0xee),
            )
        }

        pub fn booking(&self) -> Address {
            self.booking.get()
        }

        pub fn set(&mut self, credentials: Address, booking: Address, paused: bool) {
            self.credentials.set(credentials);
            self.booking.set(booking);
            self.paused.set(paused);
        }
    }
}
use wide_escrow::WideEscrow;

#[motsu::test]
fn a_longer_config_answer_is_read_by_its_words(
    wide: Contract<WideEscrow>,
    token: Contract<TestToken>,
    creds: Contract<TestCredentials>,
    booking: Contract<Booking>,
) {
    clock::reset();
    let (admin, student, tutor) = (
        Address::repeat_byte(0xad),
        Address::repeat_byte(0x51),
        Address::repeat_byte(0x70),
    );
    booking
        .sender(admin)
        .constructor(wide.address())
        .motsu_unwrap();
    wide.sender(admin)
        .set(creds.address(), booking.address(), false);
    token.sender(admin).mint(student, u(FUNDS)).motsu_unwrap();
    token
        .sender(student)
        .approve(booking.address(), U256::MAX)
        .motsu_unwrap();
    booking
        .sender(tutor)
        .set_rate(token.address(), u(RATE))
        .motsu_unwrap();
    creds.sender(admin).set_valid(tutor, 7, true);
    let id = booking
        .sender(student)
        .request(
            tutor,
            token.address(),
            T0 + LEAD,
            DURATION,
            u(RATE),
            u(DEPOSIT),
            7,
            T0 + ANSWER,
            ANY_NOTICE,
            ANY_LATE_BPS,
            ANY_NO_SHOW_BPS,
        )
        .motsu_unwrap();
    // The credentials contract, word 3 of ten.
    booking.sender(tutor).accept(id).motsu_unwrap();
    // The pause, word 7 of ten.
    wide.sender(admin)
        .set(creds.address(), booking.address(), true);
    clock::advance(LEAD);
    let session = booking
        .sender(student)
        .join(id, Address::repeat_byte(0x5b))
        .motsu_unwrap();
    assert_eq!(session, U256::ZERO);
    booking.assert_emitted(&BookingJoinRefused {
        id,
        reason: 2,
        refund: u(DEPOSIT),
    });
    assert_eq!(
        token.sender(student).balance_of(student),
        u(FUNDS),
        "the whole deposit back"
    );
}
