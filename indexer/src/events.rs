//! What the indexer stores from a log: the event's name and, for the events the API
//! reads, a typed [`Fact`]. Decoded with minuto-chain's `sol!` bindings from `abi/`.

use alloy_primitives::{Address, LogData, B256, U256};
use minuto_chain::alloy::sol_types::SolEventInterface;
use minuto_chain::bindings::IBadges::IBadgesEvents;
use minuto_chain::bindings::IBooking::IBookingEvents;
use minuto_chain::bindings::ICredentials::ICredentialsEvents;
use minuto_chain::bindings::IRatings::IRatingsEvents;
use minuto_chain::bindings::ISessionEscrow::ISessionEscrowEvents;
use minuto_chain::bindings::IVetting::IVettingEvents;

/// Which followed contract a log came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// `minuto-escrow`.
    Escrow,
    /// `minuto-credentials`.
    Credentials,
    /// `minuto-badges`.
    Badges,
    /// `minuto-ratings`.
    Ratings,
    /// `minuto-vetting`.
    Vetting,
    /// `minuto-booking`.
    Booking,
}

impl Source {
    /// Name stored in `events.contract`.
    pub fn key(self) -> &'static str {
        match self {
            Source::Escrow => "escrow",
            Source::Credentials => "credentials",
            Source::Badges => "badges",
            Source::Ratings => "ratings",
            Source::Vetting => "vetting",
            Source::Booking => "booking",
        }
    }
}

/// One decoded log with what the follower's [`Located`](minuto_chain::follower::Located)
/// does not carry: its block's hash and time, its transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indexed {
    /// Hash of the block holding the log.
    pub block_hash: B256,
    /// Transaction that emitted it.
    pub tx_hash: B256,
    /// The block's timestamp (seconds).
    pub ts: u64,
    /// Emitting contract.
    pub source: Source,
    /// The event's name in the ABI (`SessionEnded`).
    pub name: &'static str,
    /// What the API reads from it (`None`: kept in `events` only, e.g. `ConfigUpdated`).
    pub fact: Option<Fact>,
}

/// The events the API reads, with session ids as `i64` (the escrow counts them up from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Fact {
    Opened {
        id: i64,
        student: Address,
        tutor: Address,
        token: Address,
        rate: U256,
        deposit: U256,
        student_key: Address,
        credential_kind: u32,
        fee_bps: u16,
    },
    Started {
        id: i64,
        tutor_key: Address,
        start: u64,
    },
    ToppedUp {
        id: i64,
        amount: U256,
        deposited: U256,
    },
    Withdrawn {
        id: i64,
        tutor: Address,
        amount: U256,
    },
    Ended {
        id: i64,
        by: Address,
        end: u64,
        billed: U256,
        tutor_paid: U256,
        fee: U256,
        refund: U256,
    },
    Cancelled {
        id: i64,
        by: Address,
        refund: U256,
    },
    PayoutCredited {
        token: Address,
        account: Address,
        amount: U256,
    },
    Claimed {
        token: Address,
        account: Address,
        to: Address,
        amount: U256,
    },
    RelayerUpdated {
        relayer: Address,
        allowed: bool,
    },
    CredentialIssued {
        token_id: U256,
        holder: Address,
        kind: u32,
        expiry: u64,
        uri: String,
        issuer: Address,
    },
    CredentialEnded {
        token_id: U256,
        holder: Address,
        kind: u32,
        revoked: bool,
    },
    BadgeClaimed {
        token_id: U256,
        session_id: i64,
        holder: Address,
        role: u8,
    },
    /// `BadgeMinDurationUpdated` (`token` `None`: `value` seconds) or
    /// `BadgeMinBilledUpdated` (`value` base units of `token`; 0: it earns no badges).
    BadgeSetting {
        token: Option<Address>,
        value: u128,
    },
    Rated {
        session_id: i64,
        rater: Address,
        ratee: Address,
        rater_role: u8,
        score: u8,
        content_hash: B256,
        cid: String,
    },
    VettingOpened {
        application_id: i64,
        tutor: Address,
        kind: u32,
        action: u8,
        token_id: U256,
        opened_by: Address,
        deadline: u64,
        cid: String,
    },
    VettingVoted {
        application_id: i64,
        reviewer: Address,
        approve: bool,
        approvals: u32,
        rejections: u32,
        reason_cid: String,
    },
    /// Decided, expired or superseded.
    VettingClosed {
        application_id: i64,
        outcome: Outcome,
        token_id: U256,
        revocation_id: U256,
    },
    /// `RateSet`: `tutor` takes bookings in `token` at up to `rate` (0: none).
    RateSet {
        tutor: Address,
        token: Address,
        rate: U256,
    },
    /// `PolicySet`: `tutor`'s cancellation policy for bookings requested from then on.
    PolicySet {
        tutor: Address,
        free_notice: u32,
        late_cancel_fee_bps: u16,
        no_show_fee_bps: u16,
    },
    /// `BookingRequested`, with the tutor's policy snapshotted.
    BookingRequested {
        id: i64,
        student: Address,
        tutor: Address,
        token: Address,
        start: u64,
        duration: u32,
        rate: U256,
        deposit: U256,
        credential_kind: u32,
        answer_deadline: u64,
        free_notice: u32,
        late_cancel_fee_bps: u16,
        no_show_fee_bps: u16,
    },
    /// `SeriesRequested`: bookings `first_id` to `first_id + lessons - 1` are one series.
    SeriesRequested {
        first_id: i64,
        student: Address,
        tutor: Address,
        lessons: u16,
        interval: u32,
    },
    /// `BookingFundingDue`: lesson `id` of a series funded lesson by lesson was booked
    /// without its deposit, which the student must `fund` by `fund_by`.
    BookingFundingDue {
        id: i64,
        fund_by: u64,
    },
    /// `BookingFunded`: lesson `id`'s deposit (`amount`) was pulled in.
    BookingFunded {
        id: i64,
        amount: U256,
    },
    /// Every later event of a booking: its new state and what the event carries.
    BookingChanged {
        id: i64,
        state: BookingState,
        /// Who sent it, where the event names them.
        by: Option<Address>,
        tutor_fee: Option<U256>,
        refund: Option<U256>,
        escrowed: Option<U256>,
        session_id: Option<i64>,
        /// `BookingJoinRefused`'s reason.
        reason: Option<u8>,
        /// `BookingTutorEndedEarly`'s seconds held.
        held: Option<u64>,
    },
}

/// A booking's state after one of its events (the contract's `BookingInvalidState`
/// numbering: 1 requested … 10 tutor ended early).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookingState {
    /// `BookingRequested`: waiting for the tutor.
    Requested,
    /// `BookingAccepted`.
    Accepted,
    /// `BookingDeclined`.
    Declined,
    /// `BookingExpired`: not answered by its deadline.
    Expired,
    /// `BookingCancelled` (by the student or the tutor).
    Cancelled,
    /// `BookingJoined`: an escrow session was opened.
    Joined,
    /// `BookingStudentNoShow`.
    StudentNoShow,
    /// `BookingTutorNoShow`.
    TutorNoShow,
    /// `BookingJoinRefused`: the escrow would have refused the session.
    JoinRefused,
    /// `BookingTutorEndedEarly`: the tutor ended the session short of the booked time.
    TutorEndedEarly,
}

impl BookingState {
    /// Stored in `booking_change.state`, served as the booking's `state`.
    pub fn key(self) -> &'static str {
        match self {
            BookingState::Requested => "requested",
            BookingState::Accepted => "accepted",
            BookingState::Declined => "declined",
            BookingState::Expired => "expired",
            BookingState::Cancelled => "cancelled",
            BookingState::Joined => "joined",
            BookingState::StudentNoShow => "student_no_show",
            BookingState::TutorNoShow => "tutor_no_show",
            BookingState::JoinRefused => "join_refused",
            BookingState::TutorEndedEarly => "tutor_ended_early",
        }
    }

    /// The state stored under `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        [
            BookingState::Requested,
            BookingState::Accepted,
            BookingState::Declined,
            BookingState::Expired,
            BookingState::Cancelled,
            BookingState::Joined,
            BookingState::StudentNoShow,
            BookingState::TutorNoShow,
            BookingState::JoinRefused,
            BookingState::TutorEndedEarly,
        ]
        .into_iter()
        .find(|s| s.key() == key)
    }
}

/// How a vetting application was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The quorum approved it.
    Approved,
    /// The quorum rejected it.
    Rejected,
    /// Its deadline passed undecided.
    Expired,
    /// A revocation of the tutor's credential of its kind took its place.
    Superseded,
}

impl Outcome {
    /// Stored in `vetting_closed.outcome`, served as the application's `status`.
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::Rejected => "rejected",
            Outcome::Expired => "expired",
            Outcome::Superseded => "superseded",
        }
    }
}

/// Why a log was not stored.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not an event of the contract's ABI, or malformed.
    #[error("{0}")]
    Abi(#[from] minuto_chain::alloy::sol_types::Error),
    /// A session id past `i64::MAX` (the escrow counts from 1; no real one gets there).
    #[error("session id {0} does not fit the index")]
    SessionId(U256),
    /// A vetting application id past `i64::MAX` (the contract counts from 1).
    #[error("vetting application id {0} does not fit the index")]
    ApplicationId(U256),
    /// A booking id past `i64::MAX` (the contract counts from 1).
    #[error("booking id {0} does not fit the index")]
    BookingId(U256),
}

fn booking_id(id: U256) -> Result<i64, DecodeError> {
    i64::try_from(id).map_err(|_| DecodeError::BookingId(id))
}

fn application(id: U256) -> Result<i64, DecodeError> {
    i64::try_from(id).map_err(|_| DecodeError::ApplicationId(id))
}

fn session(id: U256) -> Result<i64, DecodeError> {
    i64::try_from(id).map_err(|_| DecodeError::SessionId(id))
}

/// The ABI name of an event with topic 0 `topic`, for `source`.
fn name(source: Source, topic: B256) -> Option<&'static str> {
    match source {
        Source::Escrow => ISessionEscrowEvents::name_by_selector(topic.0),
        Source::Credentials => ICredentialsEvents::name_by_selector(topic.0),
        Source::Badges => IBadgesEvents::name_by_selector(topic.0),
        Source::Ratings => IRatingsEvents::name_by_selector(topic.0),
        Source::Vetting => IVettingEvents::name_by_selector(topic.0),
        Source::Booking => IBookingEvents::name_by_selector(topic.0),
    }
}

/// Every event topic of `source`'s ABI (the log filter).
pub fn topics(source: Source) -> Vec<B256> {
    let s: &[[u8; 32]] = match source {
        Source::Escrow => ISessionEscrowEvents::SELECTORS,
        Source::Credentials => ICredentialsEvents::SELECTORS,
        Source::Badges => IBadgesEvents::SELECTORS,
        Source::Ratings => IRatingsEvents::SELECTORS,
        Source::Vetting => IVettingEvents::SELECTORS,
        Source::Booking => IBookingEvents::SELECTORS,
    };
    s.iter().map(|t| B256::from(*t)).collect()
}

/// Decodes a log of `source`: its ABI name and the fact the API reads, if any.
///
/// # Errors
/// [`DecodeError`] when the log is not one of the ABI's events or its data is malformed.
pub fn decode(source: Source, log: &LogData) -> Result<(&'static str, Option<Fact>), DecodeError> {
    let topics = log.topics();
    let fact = match source {
        Source::Escrow => escrow(ISessionEscrowEvents::decode_raw_log(topics, &log.data)?)?,
        Source::Credentials => credentials(ICredentialsEvents::decode_raw_log(topics, &log.data)?),
        Source::Badges => match IBadgesEvents::decode_raw_log(topics, &log.data)? {
            IBadgesEvents::BadgeClaimed(e) => Some(Fact::BadgeClaimed {
                token_id: e.tokenId,
                session_id: session(e.sessionId)?,
                holder: e.holder,
                role: e.role,
            }),
            IBadgesEvents::BadgeMinDurationUpdated(e) => Some(Fact::BadgeSetting {
                token: None,
                value: u128::from(e.minDuration),
            }),
            IBadgesEvents::BadgeMinBilledUpdated(e) => Some(Fact::BadgeSetting {
                token: Some(e.token),
                value: e.minBilled,
            }),
            _ => None,
        },
        Source::Ratings => match IRatingsEvents::decode_raw_log(topics, &log.data)? {
            IRatingsEvents::Rated(e) => Some(Fact::Rated {
                session_id: session(e.sessionId)?,
                rater: e.rater,
                ratee: e.ratee,
                rater_role: e.raterRole,
                score: e.score,
                content_hash: e.contentHash,
                cid: e.cid,
            }),
            _ => None,
        },
        Source::Vetting => vetting(IVettingEvents::decode_raw_log(topics, &log.data)?)?,
        Source::Booking => booking(IBookingEvents::decode_raw_log(topics, &log.data)?)?,
    };
    // A decoded log has a known topic 0, so it has a name.
    let name = topics
        .first()
        .and_then(|t| name(source, *t))
        .unwrap_or("unknown");
    Ok((name, fact))
}

fn escrow(e: ISessionEscrowEvents) -> Result<Option<Fact>, DecodeError> {
    use ISessionEscrowEvents as E;
    Ok(Some(match e {
        E::SessionOpened(e) => Fact::Opened {
            id: session(e.id)?,
            student: e.student,
            tutor: e.tutor,
            token: e.token,
            rate: e.rate,
            deposit: e.deposit,
            student_key: e.studentKey,
            credential_kind: e.credentialKind,
            fee_bps: e.feeBps,
        },
        E::SessionStarted(e) => Fact::Started {
            id: session(e.id)?,
            tutor_key: e.tutorKey,
            start: e.start,
        },
        E::SessionToppedUp(e) => Fact::ToppedUp {
            id: session(e.id)?,
            amount: e.amount,
            deposited: e.deposited,
        },
        E::Withdrawn(e) => Fact::Withdrawn {
            id: session(e.id)?,
            tutor: e.tutor,
            amount: e.amount,
        },
        E::SessionEnded(e) => Fact::Ended {
            id: session(e.id)?,
            by: e.by,
            end: e.end,
            billed: e.billed,
            tutor_paid: e.tutorPaid,
            fee: e.fee,
            refund: e.refund,
        },
        E::SessionCancelled(e) => Fact::Cancelled {
            id: session(e.id)?,
            by: e.by,
            refund: e.refund,
        },
        E::PayoutCredited(e) => Fact::PayoutCredited {
            token: e.token,
            account: e.account,
            amount: e.amount,
        },
        E::Claimed(e) => Fact::Claimed {
            token: e.token,
            account: e.account,
            to: e.to,
            amount: e.amount,
        },
        E::RelayerUpdated(e) => Fact::RelayerUpdated {
            relayer: e.relayer,
            allowed: e.allowed,
        },
        _ => return Ok(None),
    }))
}

fn vetting(e: IVettingEvents) -> Result<Option<Fact>, DecodeError> {
    use IVettingEvents as E;
    let closed = |id: U256, outcome, token_id, revocation_id| {
        Ok(Some(Fact::VettingClosed {
            application_id: application(id)?,
            outcome,
            token_id,
            revocation_id,
        }))
    };
    match e {
        E::VettingApplicationOpened(e) => Ok(Some(Fact::VettingOpened {
            application_id: application(e.applicationId)?,
            tutor: e.tutor,
            kind: e.kind,
            action: e.action,
            token_id: e.tokenId,
            opened_by: e.openedBy,
            deadline: e.deadline,
            cid: e.cid,
        })),
        E::VettingVoted(e) => Ok(Some(Fact::VettingVoted {
            application_id: application(e.applicationId)?,
            reviewer: e.reviewer,
            approve: e.approve,
            approvals: e.approvals,
            rejections: e.rejections,
            reason_cid: e.reasonCid,
        })),
        E::VettingDecided(e) => {
            let outcome = if e.approved {
                Outcome::Approved
            } else {
                Outcome::Rejected
            };
            closed(e.applicationId, outcome, e.tokenId, U256::ZERO)
        }
        E::VettingExpired(e) => closed(e.applicationId, Outcome::Expired, U256::ZERO, U256::ZERO),
        E::VettingSuperseded(e) => closed(
            e.applicationId,
            Outcome::Superseded,
            U256::ZERO,
            e.revocationId,
        ),
        _ => Ok(None),
    }
}

/// A [`Fact::BookingChanged`]'s amounts: (tutor fee, refund, escrowed).
type Amounts = (Option<U256>, Option<U256>, Option<U256>);

fn changed(
    id: U256,
    state: BookingState,
    by: Option<Address>,
    (tutor_fee, refund, escrowed): Amounts,
    session_id: Option<U256>,
    reason: Option<u8>,
) -> Result<Fact, DecodeError> {
    Ok(Fact::BookingChanged {
        id: booking_id(id)?,
        state,
        by,
        tutor_fee,
        refund,
        escrowed,
        session_id: session_id.map(session).transpose()?,
        reason,
        held: None,
    })
}

fn booking(e: IBookingEvents) -> Result<Option<Fact>, DecodeError> {
    use BookingState as S;
    use IBookingEvents as E;
    let none = (None, None, None);
    Ok(Some(match e {
        E::RateSet(e) => Fact::RateSet {
            tutor: e.tutor,
            token: e.token,
            rate: e.rate,
        },
        E::PolicySet(e) => Fact::PolicySet {
            tutor: e.tutor,
            free_notice: e.freeNotice,
            late_cancel_fee_bps: e.lateCancelFeeBps,
            no_show_fee_bps: e.noShowFeeBps,
        },
        E::BookingRequested(e) => Fact::BookingRequested {
            id: booking_id(e.id)?,
            student: e.student,
            tutor: e.tutor,
            token: e.token,
            start: e.start,
            duration: e.duration,
            rate: e.rate,
            deposit: e.deposit,
            credential_kind: e.credentialKind,
            answer_deadline: e.answerDeadline,
            free_notice: e.freeNotice,
            late_cancel_fee_bps: e.lateCancelFeeBps,
            no_show_fee_bps: e.noShowFeeBps,
        },
        E::SeriesRequested(e) => Fact::SeriesRequested {
            first_id: booking_id(e.firstId)?,
            student: e.student,
            tutor: e.tutor,
            lessons: e.lessons,
            interval: e.interval,
        },
        E::BookingFundingDue(e) => Fact::BookingFundingDue {
            id: booking_id(e.id)?,
            fund_by: e.fundBy,
        },
        E::BookingFunded(e) => Fact::BookingFunded {
            id: booking_id(e.id)?,
            amount: e.amount,
        },
        E::BookingAccepted(e) => changed(e.id, S::Accepted, Some(e.tutor), none, None, None)?,
        E::BookingDeclined(e) => changed(
            e.id,
            S::Declined,
            Some(e.tutor),
            (None, Some(e.refund), None),
            None,
            None,
        )?,
        E::BookingExpired(e) => changed(
            e.id,
            S::Expired,
            Some(e.by),
            (None, Some(e.refund), None),
            None,
            None,
        )?,
        E::BookingCancelled(e) => changed(
            e.id,
            S::Cancelled,
            Some(e.by),
            (Some(e.tutorFee), Some(e.refund), None),
            None,
            None,
        )?,
        E::BookingJoined(e) => changed(
            e.id,
            S::Joined,
            None,
            (None, Some(e.refund), Some(e.escrowed)),
            Some(e.sessionId),
            None,
        )?,
        E::BookingStudentNoShow(e) => changed(
            e.id,
            S::StudentNoShow,
            Some(e.by),
            (Some(e.tutorFee), Some(e.refund), None),
            None,
            None,
        )?,
        E::BookingTutorNoShow(e) => changed(
            e.id,
            S::TutorNoShow,
            Some(e.by),
            none,
            Some(e.sessionId),
            None,
        )?,
        E::BookingTutorEndedEarly(e) => {
            let mut fact = changed(
                e.id,
                S::TutorEndedEarly,
                Some(e.by),
                none,
                Some(e.sessionId),
                None,
            )?;
            if let Fact::BookingChanged { held, .. } = &mut fact {
                *held = Some(e.held);
            }
            fact
        }
        E::BookingJoinRefused(e) => changed(
            e.id,
            S::JoinRefused,
            None,
            (None, Some(e.refund), None),
            None,
            Some(e.reason),
        )?,
        _ => return Ok(None),
    }))
}

fn credentials(e: ICredentialsEvents) -> Option<Fact> {
    use ICredentialsEvents as E;
    Some(match e {
        E::CredentialIssued(e) => Fact::CredentialIssued {
            token_id: e.tokenId,
            holder: e.holder,
            kind: e.kind,
            expiry: e.expiry,
            uri: e.uri,
            issuer: e.issuer,
        },
        E::CredentialRevoked(e) => Fact::CredentialEnded {
            token_id: e.tokenId,
            holder: e.holder,
            kind: e.kind,
            revoked: true,
        },
        E::CredentialBurned(e) => Fact::CredentialEnded {
            token_id: e.tokenId,
            holder: e.holder,
            kind: e.kind,
            revoked: false,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use minuto_chain::alloy::sol_types::SolEvent;
    use minuto_chain::bindings::{ISessionEscrow, IVetting};

    use super::*;

    #[test]
    fn logs_decode_to_their_abi_name_and_fact() {
        let ended = ISessionEscrow::SessionEnded {
            id: U256::from(9),
            by: Address::repeat_byte(1),
            end: 1_000,
            billed: U256::from(100),
            tutorPaid: U256::from(97),
            fee: U256::from(3),
            refund: U256::from(5),
        }
        .encode_log_data();
        let (name, fact) = decode(Source::Escrow, &ended).unwrap();
        assert_eq!(name, "SessionEnded");
        assert_eq!(
            fact,
            Some(Fact::Ended {
                id: 9,
                by: Address::repeat_byte(1),
                end: 1_000,
                billed: U256::from(100),
                tutor_paid: U256::from(97),
                fee: U256::from(3),
                refund: U256::from(5),
            })
        );
        // A vote: its fact; a quorum change: by name only.
        let voted = IVetting::VettingVoted {
            applicationId: U256::from(1),
            reviewer: Address::repeat_byte(2),
            approve: true,
            approvals: 1,
            rejections: 0,
            reasonCid: "cid".into(),
        }
        .encode_log_data();
        assert_eq!(
            decode(Source::Vetting, &voted).unwrap(),
            (
                "VettingVoted",
                Some(Fact::VettingVoted {
                    application_id: 1,
                    reviewer: Address::repeat_byte(2),
                    approve: true,
                    approvals: 1,
                    rejections: 0,
                    reason_cid: "cid".into(),
                })
            )
        );
        // The badges contract's settings.
        let min_billed = minuto_chain::bindings::IBadges::BadgeMinBilledUpdated {
            token: Address::repeat_byte(4),
            minBilled: 3_000_000,
        }
        .encode_log_data();
        assert_eq!(
            decode(Source::Badges, &min_billed).unwrap(),
            (
                "BadgeMinBilledUpdated",
                Some(Fact::BadgeSetting {
                    token: Some(Address::repeat_byte(4)),
                    value: 3_000_000,
                })
            )
        );
        let min_duration =
            minuto_chain::bindings::IBadges::BadgeMinDurationUpdated { minDuration: 300 }
                .encode_log_data();
        assert_eq!(
            decode(Source::Badges, &min_duration).unwrap(),
            (
                "BadgeMinDurationUpdated",
                Some(Fact::BadgeSetting {
                    token: None,
                    value: 300,
                })
            )
        );
        let quorum = IVetting::VettingQuorumSet {
            quorum: 2,
            reviewers: 3,
        }
        .encode_log_data();
        assert_eq!(
            decode(Source::Vetting, &quorum).unwrap(),
            ("VettingQuorumSet", None)
        );
        let superseded = IVetting::VettingSuperseded {
            applicationId: U256::from(4),
            tutor: Address::repeat_byte(3),
            kind: 1,
            revocationId: U256::from(5),
        }
        .encode_log_data();
        assert_eq!(
            decode(Source::Vetting, &superseded).unwrap(),
            (
                "VettingSuperseded",
                Some(Fact::VettingClosed {
                    application_id: 4,
                    outcome: Outcome::Superseded,
                    token_id: U256::ZERO,
                    revocation_id: U256::from(5),
                })
            )
        );
        let expired_huge = IVetting::VettingExpired {
            applicationId: U256::MAX,
            tutor: Address::ZERO,
            kind: 1,
        }
        .encode_log_data();
        assert!(matches!(
            decode(Source::Vetting, &expired_huge),
            Err(DecodeError::ApplicationId(id)) if id == U256::MAX
        ));
        // Another contract's event under this source's address, and a session id past
        // i64: refused with a typed error (the log is skipped and counted).
        assert!(matches!(
            decode(Source::Ratings, &ended),
            Err(DecodeError::Abi(_))
        ));
        let huge = ISessionEscrow::SessionStarted {
            id: U256::MAX,
            tutorKey: Address::ZERO,
            start: 1,
        }
        .encode_log_data();
        assert!(matches!(
            decode(Source::Escrow, &huge),
            Err(DecodeError::SessionId(id)) if id == U256::MAX
        ));
        assert_eq!(
            topics(Source::Vetting).len(),
            IVettingEvents::SELECTORS.len()
        );
        // Booking events: the request with its snapshot, the series, each later event as
        // the state it leads to with what it carries.
        use minuto_chain::bindings::IBooking;
        let joined = IBooking::BookingJoined {
            id: U256::from(4),
            sessionId: U256::from(9),
            escrowed: U256::from(18),
            refund: U256::from(2),
        }
        .encode_log_data();
        assert_eq!(
            decode(Source::Booking, &joined).unwrap(),
            (
                "BookingJoined",
                Some(Fact::BookingChanged {
                    id: 4,
                    state: BookingState::Joined,
                    by: None,
                    tutor_fee: None,
                    refund: Some(U256::from(2)),
                    escrowed: Some(U256::from(18)),
                    session_id: Some(9),
                    reason: None,
                    held: None,
                })
            )
        );
        // A tutor's early end carries the seconds held.
        let early = IBooking::BookingTutorEndedEarly {
            id: U256::from(5),
            sessionId: U256::from(9),
            by: Address::repeat_byte(7),
            held: 42,
        }
        .encode_log_data();
        assert_eq!(
            decode(Source::Booking, &early).unwrap(),
            (
                "BookingTutorEndedEarly",
                Some(Fact::BookingChanged {
                    id: 5,
                    state: BookingState::TutorEndedEarly,
                    by: Some(Address::repeat_byte(7)),
                    tutor_fee: None,
                    refund: None,
                    escrowed: None,
                    session_id: Some(9),
                    reason: None,
                    held: Some(42),
                })
            )
        );
        let series = IBooking::SeriesRequested {
            firstId: U256::from(2),
            student: Address::repeat_byte(5),
            tutor: Address::repeat_byte(6),
            lessons: 3,
            interval: 604_800,
        }
        .encode_log_data();
        assert_eq!(
            decode(Source::Booking, &series).unwrap(),
            (
                "SeriesRequested",
                Some(Fact::SeriesRequested {
                    first_id: 2,
                    student: Address::repeat_byte(5),
                    tutor: Address::repeat_byte(6),
                    lessons: 3,
                    interval: 604_800,
                })
            )
        );
        // A lesson booked without its deposit, and its funding.
        let due = IBooking::BookingFundingDue {
            id: U256::from(7),
            fundBy: 1_796_688_000,
        }
        .encode_log_data();
        assert_eq!(
            decode(Source::Booking, &due).unwrap(),
            (
                "BookingFundingDue",
                Some(Fact::BookingFundingDue {
                    id: 7,
                    fund_by: 1_796_688_000
                })
            )
        );
        let funded = IBooking::BookingFunded {
            id: U256::from(7),
            amount: U256::from(20_000_000u64),
        }
        .encode_log_data();
        assert_eq!(
            decode(Source::Booking, &funded).unwrap(),
            (
                "BookingFunded",
                Some(Fact::BookingFunded {
                    id: 7,
                    amount: U256::from(20_000_000u64)
                })
            )
        );
        let claimed = IBooking::Claimed {
            token: Address::repeat_byte(1),
            account: Address::repeat_byte(2),
            to: Address::repeat_byte(3),
            amount: U256::from(1),
        }
        .encode_log_data();
        assert_eq!(
            decode(Source::Booking, &claimed).unwrap(),
            ("Claimed", None)
        );
        let huge = IBooking::BookingAccepted {
            id: U256::MAX,
            tutor: Address::ZERO,
        }
        .encode_log_data();
        assert!(matches!(
            decode(Source::Booking, &huge),
            Err(DecodeError::BookingId(id)) if id == U256::MAX
        ));
        for s in [
            BookingState::Requested,
            BookingState::TutorNoShow,
            BookingState::JoinRefused,
            BookingState::TutorEndedEarly,
        ] {
            assert_eq!(BookingState::from_key(s.key()), Some(s));
        }
    }
}
