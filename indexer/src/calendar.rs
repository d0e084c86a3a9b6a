//! `GET /v1/calendar/{address}.ics`: an address's bookings as an iCalendar feed
//! (RFC 5545) a calendar application subscribes to. Written with the `icalendar` crate,
//! which folds lines at 75 octets (never inside a UTF-8 character), ends them with CRLF
//! and escapes text values.
//!
//! One VEVENT per booking that starts from [`PAST_DAYS`] days ago on, whatever its
//! state: a booking that ended without a lesson stays in the feed as `CANCELLED`, so a
//! subscribed calendar removes the event it had. `UID` is stable per booking
//! (`booking-{id}@{booking contract}.{chain id}.minuto`), `SEQUENCE` counts the booking's
//! events after its request (it grows with each change of state, and with the
//! `BookingFunded` of a lesson booked without its deposit) and `DTSTAMP` is the block time
//! of the latest one: fetching the feed twice gives the same bytes. The `DESCRIPTION` of a
//! lesson booked without its deposit says `deposit not funded: due by …` (its fundBy, UTC)
//! until it is funded, then `deposit funded`.

use alloy_primitives::Address;
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};

use crate::booking::Booking;
use crate::store::hex_addr;

/// How far back the feed reaches.
pub const PAST_DAYS: i64 = 30;

fn utc(ts: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(ts, 0).unwrap_or_default()
}

/// The VEVENT `STATUS` of a booking in `state`.
pub fn status(state: &str) -> EventStatus {
    match state {
        "requested" => EventStatus::Tentative,
        // A lesson the tutor ended early did take place, if shorter.
        "accepted" | "joined" | "student_no_show" | "tutor_ended_early" => EventStatus::Confirmed,
        // declined, expired, cancelled, tutor_no_show, join_refused: no lesson.
        _ => EventStatus::Cancelled,
    }
}

/// `who`'s feed of `bookings` (the booking contract `contract` on chain `chain_id`).
pub fn feed(who: Address, bookings: &[Booking], contract: Address, chain_id: u64) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("PRODID", "-//Minuto//minuto-indexer//EN"));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    cal.append_property(Property::new("METHOD", "PUBLISH"));
    cal.append_property(Property::new(
        "X-WR-CALNAME",
        format!("Minuto lessons of {}", hex_addr(&who)),
    ));
    for b in bookings {
        let (role, other) = if b.student == who {
            ("student", b.tutor)
        } else {
            ("tutor", b.student)
        };
        let with = if role == "student" {
            "tutor"
        } else {
            "student"
        };
        // A lesson booked without its deposit: its funding is part of the event, and its
        // funding (`BookingFunded`) a change of it.
        let stamp = b
            .changes
            .last()
            .map_or(b.requested_at, |c| c.at)
            .max(b.funded_at.unwrap_or(i64::MIN));
        let funding = match (b.fund_by, b.funded_at) {
            (Some(by), _) => format!(
                "; deposit not funded: due by {}",
                utc(by).format("%Y-%m-%dT%H:%M:%SZ")
            ),
            (None, Some(_)) => "; deposit funded".to_owned(),
            (None, None) => String::new(),
        };
        let sequence = b.changes.len() + usize::from(b.funded_at.is_some());
        let event = Event::new()
            .uid(&format!(
                "booking-{}@{}.{chain_id}.minuto",
                b.id,
                hex_addr(&contract)
            ))
            .timestamp(utc(stamp))
            .starts(utc(b.start))
            .ends(utc(b.end))
            .summary(&format!("Minuto lesson with {with} {}", hex_addr(&other)))
            .description(&format!(
                "Booking {}; state: {}; you are the {role}; price: {} base units of {}{funding}",
                b.id,
                b.state,
                b.price,
                hex_addr(&b.token)
            ))
            .status(status(b.state))
            .sequence(u32::try_from(sequence).unwrap_or(u32::MAX))
            .done();
        cal.push(event);
    }
    cal.to_string()
}
