//! `GET /v1/calendar/{address}.ics`: an address's bookings as an iCalendar feed
//! (RFC 5545) a calendar application subscribes to. Written with the `icalendar` crate,
//! which folds lines at 75 octets (never inside a UTF-8 character), ends them with CRLF
//! and escapes text values.
//!
//! One VEVENT per booking that starts from [`PAST_DAYS`] days ago on, whatever its
//! state: a booking that ended without a lesson stays in the feed as `CANCELLED`, so a
//! subscribed calendar removes the event it had. `UID` is stable per booking
//! (`booking-{id}@{booking contract}.{chain id}.minuto`), `SEQUENCE` counts the booking's
//! events after its request (it grows with each change of state) and `DTSTAMP` is the
//! block time of the latest one: fetching the feed twice gives the same bytes.

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
        "accepted" | "joined" | "student_no_show" => EventStatus::Confirmed,
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
        let stamp = b.changes.last().map_or(b.requested_at, |c| c.at);
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
                "Booking {}; state: {}; you are the {role}; price: {} base units of {}",
                b.id,
                b.state,
                b.price,
                hex_addr(&b.token)
            ))
            .status(status(b.state))
            .sequence(u32::try_from(b.changes.len()).unwrap_or(u32::MAX))
            .done();
        cal.push(event);
    }
    cal.to_string()
}
