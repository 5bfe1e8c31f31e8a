//! `Accept-Encoding`: the weighted-list grammar
//! (`hotmetrics::exposition::weighted`) and the gzip decision of the
//! `/metrics` service (`hotmetrics::http::MetricsService`, seen through
//! its `Content-Encoding`). Raw header bytes: the grammar never panics and
//! its elements are trimmed, non-empty and weighted 0 to 1; the service
//! answers 200 and a gzip body gunzips to the plain one. Generated headers
//! (one to three lines of codings, `gzip`/`x-gzip`/`identity`/`*` in any
//! case, parameters, every q spelling): gzip is sent exactly when RFC 9110
//! §12.5.3 makes it acceptable (`gzip` or `x-gzip` with the highest
//! listed q > 0, or else `*` with q > 0), so a request that refuses
//! `identity` (`identity;q=0`, or `*;q=0` without `identity`) while
//! accepting gzip always gets gzip; a service with gzip off never sends
//! it.
//!
//! ```sh
//! cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run accept_encoding seeds/accept_encoding -- -max_total_time=60
//! ```
#![no_main]

use std::io::Read;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use hotmetrics::Registry;
use hotmetrics::exposition::weighted::weighted_list;
use hotmetrics::http::{MetricsService, Server};
use hotmetrics_fuzz::{Input, TOKEN_CHARS, ows, quality, recase};
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
use http::{HeaderValue, Request};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;

/// The services, made once: gzip on (the default) and off, and the plain
/// body they serve.
struct Fixture {
    gzip: MetricsService,
    no_gzip: MetricsService,
    plain: Bytes,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let registry = Registry::new();
        let jobs = registry
            .counter_vec(("jobs", "Jobs done."), &["queue"])
            .expect("a valid family");
        for queue in ["a", "b", "c"] {
            jobs.with(&[queue], |c| c.inc_by(7)).expect("one label");
        }
        let gzip = MetricsService::new(registry.clone());
        let no_gzip = Server::builder(registry)
            .gzip(false)
            .build_service()
            .expect("valid settings");
        let (plain, gzipped) = scrape(&no_gzip, &[]);
        assert!(!gzipped);
        Fixture {
            gzip,
            no_gzip,
            plain,
        }
    })
}

/// Polls a future that cannot wait: outside a tokio runtime the service
/// encodes inline, so its future is ready at the first poll.
fn now<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a scrape outside a runtime completes at once"),
    }
}

/// A scrape with these `Accept-Encoding` lines: the body (gunzipped) and
/// whether it came gzipped.
fn scrape(service: &MetricsService, lines: &[HeaderValue]) -> (Bytes, bool) {
    let mut request = Request::get("/metrics");
    for line in lines {
        request = request.header(ACCEPT_ENCODING, line.clone());
    }
    let request = request.body(()).expect("a valid request");
    let response = now(service.handle(request));
    assert_eq!(response.status(), 200);
    let gzipped = match response.headers().get(CONTENT_ENCODING) {
        None => false,
        Some(v) if v == "gzip" => true,
        Some(other) => panic!("Content-Encoding {other:?}"),
    };
    let body = now(response.into_body().collect())
        .expect("a full body never fails")
        .to_bytes();
    if !gzipped {
        return (body, false);
    }
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut plain)
        .expect("a gzip body gunzips");
    (Bytes::from(plain), true)
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    if input.one_in(2) {
        raw(input.rest());
    } else {
        structured(&mut input);
    }
});

/// Arbitrary bytes: the grammar's promises, and a 200 from the service.
fn raw(bytes: &[u8]) {
    for element in weighted_list(bytes) {
        let value = element.value();
        assert!(!value.is_empty());
        assert!(!value.starts_with(b" ") && !value.starts_with(b"\t"));
        assert!(!value.ends_with(b" ") && !value.ends_with(b"\t"));
        assert!(element.q() <= 1000);
        assert!(element.param("q").is_none() && element.param("Q").is_none());
    }
    if let Ok(value) = HeaderValue::from_bytes(bytes) {
        let fixture = fixture();
        let (body, _) = scrape(&fixture.gzip, &[value]);
        assert_eq!(body, fixture.plain);
    }
}

/// The codings a generated list is made of.
const CODINGS: &[&str] = &[
    "gzip", "x-gzip", "identity", "*", "br", "deflate", "zstd", "compress", "gzipx",
];

/// A generated list of lines, checked against RFC 9110's reading.
fn structured(input: &mut Input<'_>) {
    // Per coding of interest: the highest q listed, if listed.
    let (mut gzip, mut identity, mut any) = (None::<u16>, None::<u16>, None::<u16>);
    let mut lines = Vec::new();
    for _ in 0..=input.below(3) {
        let mut line = String::new();
        for i in 0..input.below(6) {
            if i > 0 {
                line.push(',');
            }
            line.push_str(ows(input));
            let coding = if input.one_in(10) {
                let mut token = input.word(TOKEN_CHARS, 6);
                if token.is_empty() {
                    token.push('x');
                }
                token
            } else {
                let coding = input.pick(CODINGS);
                recase(input, coding)
            };
            line.push_str(&coding);
            if input.one_in(4) {
                line.push_str(ows(input));
                line.push_str(input.pick(&[";level=1", ";x=\"a,b;q=0\"", ";;"]));
            }
            let mut q = 1000;
            if input.one_in(2) {
                let (written, weight) = quality(input);
                line.push_str(ows(input));
                line.push(';');
                line.push_str(ows(input));
                line.push_str(input.pick(&["q=", "Q="]));
                line.push_str(&written);
                q = weight;
            }
            line.push_str(ows(input));
            let slot =
                if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                    Some(&mut gzip)
                } else if coding.eq_ignore_ascii_case("identity") {
                    Some(&mut identity)
                } else if coding == "*" {
                    Some(&mut any)
                } else {
                    None
                };
            if let Some(slot) = slot {
                *slot = Some(slot.map_or(q, |old| old.max(q)));
            }
        }
        lines.push(HeaderValue::from_str(&line).expect("generated lines are valid values"));
    }
    let gzip_acceptable = gzip.or(any).is_some_and(|q| q > 0);
    let identity_refused = identity.or(any) == Some(0);

    let fixture = fixture();
    let (body, gzipped) = scrape(&fixture.gzip, &lines);
    assert_eq!(body, fixture.plain);
    assert_eq!(gzipped, gzip_acceptable, "{lines:?}");
    if identity_refused && gzip_acceptable {
        assert!(gzipped, "identity refused, gzip accepted: {lines:?}");
    }
    let (body, gzipped) = scrape(&fixture.no_gzip, &lines);
    assert_eq!(body, fixture.plain);
    assert!(!gzipped);
}
