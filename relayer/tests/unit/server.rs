//! Tests of `minuto_relayer::server` through its public API.

use axum::http::HeaderMap;
use axum::http::HeaderValue;
use ipnet::IpNet;
use minuto_relayer::config::ForwardedHeader::{self, Forwarded, XForwardedFor};
use minuto_relayer::server::*;
use std::net::IpAddr;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_static(v));
    }
    h
}

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

const PROXY: &str = "10.0.0.5:40000";

#[test]
fn client_ip_ignores_headers_from_untrusted_peers() {
    let h = headers(&[("x-forwarded-for", "1.1.1.1")]);
    let ip = client_ip(
        "203.0.113.9:5000".parse().unwrap(),
        &h,
        &nets(&["10.0.0.0/8"]),
        XForwardedFor,
    );
    assert_eq!(ip, "203.0.113.9".parse::<IpAddr>().unwrap());
    // No proxies configured: always the peer.
    assert_eq!(
        client_ip(PROXY.parse().unwrap(), &h, &[], XForwardedFor),
        "10.0.0.5".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn client_ip_takes_the_rightmost_untrusted_hop() {
    let trusted = nets(&["10.0.0.0/8", "172.16.0.0/12"]);
    // The client forged "6.6.6.6"; its real address was appended by our proxies.
    let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 172.16.3.4")]);
    assert_eq!(
        client_ip(PROXY.parse().unwrap(), &h, &trusted, XForwardedFor),
        "198.51.100.7".parse::<IpAddr>().unwrap()
    );
    // Several header lines count as one list.
    let h = headers(&[
        ("x-forwarded-for", "6.6.6.6"),
        ("x-forwarded-for", "198.51.100.8"),
    ]);
    assert_eq!(
        client_ip(PROXY.parse().unwrap(), &h, &trusted, XForwardedFor),
        "198.51.100.8".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn client_ip_reads_rfc7239_forwarded_when_the_proxies_write_it() {
    let trusted = nets(&["10.0.0.0/8"]);
    let h = headers(&[
        (
            "forwarded",
            r#"for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711""#,
        ),
        ("x-forwarded-for", "9.9.9.9"),
    ]);
    assert_eq!(
        client_ip(PROXY.parse().unwrap(), &h, &trusted, Forwarded),
        "2001:db8:cafe::17".parse::<IpAddr>().unwrap()
    );
    let h = headers(&[("forwarded", "for=unknown, for=10.1.1.1")]);
    // Only trusted hops and an unknown one: the last address we can vouch for.
    assert_eq!(
        client_ip(PROXY.parse().unwrap(), &h, &trusted, Forwarded),
        "10.1.1.1".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn client_ip_without_headers_is_the_proxy_itself() {
    assert_eq!(
        client_ip(
            PROXY.parse().unwrap(),
            &HeaderMap::new(),
            &nets(&["10.0.0.0/8"]),
            XForwardedFor
        ),
        "10.0.0.5".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn client_ip_reads_only_the_header_the_proxies_write() {
    let trusted = nets(&["10.0.0.0/8"]);
    // nginx appends to X-Forwarded-For and passes a client's `Forwarded` on as it came.
    let h = headers(&[
        ("forwarded", "for=203.0.113.50"),
        ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
    ]);
    let read = |header: ForwardedHeader| client_ip(PROXY.parse().unwrap(), &h, &trusted, header);
    assert_eq!(
        read(XForwardedFor),
        "198.51.100.7".parse::<IpAddr>().unwrap()
    );
    assert_eq!(read(Forwarded), "203.0.113.50".parse::<IpAddr>().unwrap());
    // The configured header absent: the proxy itself, whatever the other one says.
    let only_forwarded = headers(&[("forwarded", "for=203.0.113.50")]);
    assert_eq!(
        client_ip(
            PROXY.parse().unwrap(),
            &only_forwarded,
            &trusted,
            XForwardedFor
        ),
        "10.0.0.5".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn client_ip_keeps_the_proxies_hops_after_bytes_a_client_wrote() {
    let trusted = nets(&["10.0.0.0/8"]);
    // Not UTF-8: that hop is unknown, the ones appended after it still count.
    let mut h = HeaderMap::new();
    h.append(
        "x-forwarded-for",
        HeaderValue::from_bytes(b"\x80\xff, 198.51.100.7").unwrap(),
    );
    assert_eq!(
        client_ip(PROXY.parse().unwrap(), &h, &trusted, XForwardedFor),
        "198.51.100.7".parse::<IpAddr>().unwrap()
    );
    // The client's bytes as the nearest hop: nothing to its left is vouched for.
    let mut h = HeaderMap::new();
    h.append(
        "x-forwarded-for",
        HeaderValue::from_bytes(b"6.6.6.6, \x80\xff").unwrap(),
    );
    assert_eq!(
        client_ip(PROXY.parse().unwrap(), &h, &trusted, XForwardedFor),
        "10.0.0.5".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn a_forwarded_element_without_for_is_an_unknown_hop() {
    let trusted = nets(&["10.0.0.0/8"]);
    // A proxy wrote only `proto`: the client's own `for=6.6.6.6` left of it is not read.
    let h = headers(&[("forwarded", "for=6.6.6.6, proto=https")]);
    assert_eq!(
        client_ip(PROXY.parse().unwrap(), &h, &trusted, Forwarded),
        "10.0.0.5".parse::<IpAddr>().unwrap()
    );
}
