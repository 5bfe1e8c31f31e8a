//! The `/metrics` service (`hotmetrics::http::MetricsService::handle`) on
//! arbitrary requests: method, path and query, and headers (`Accept`,
//! `Accept-Encoding`, `Authorization` with right, wrong and junk
//! credentials, `Content-Length`, junk), built with
//! `http::Request::builder` (what it refuses is skipped) and answered on
//! one current-thread tokio runtime. Four services: mounted with the
//! defaults, mounted with Basic auth, a 16-byte body limit and
//! self-metrics, mounted with a bearer token and gzip off, and the
//! standalone server's own (routes `/metrics`, `/`, `/health`; Basic and
//! bearer).
//!
//! Never a panic; the status is the one the service's docs give for the
//! request (health first; then 413 for a declared body over the limit;
//! 401 without a right credential, so a wrong one never gets a 200; 404
//! off the standalone routes; 405 for methods other than GET and HEAD;
//! else 200); a scrape's `Content-Type` is the negotiated format's, its
//! body (gunzipped when `Content-Encoding: gzip`, which a service with
//! gzip off never sends) parses in that format, and a `HEAD` has an empty
//! body with the `Content-Length` of the full one.
//!
//! ```sh
//! cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run http_request seeds/http_request -- -max_total_time=60
//! ```
#![no_main]

use std::io::Read;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hotmetrics::exposition::{Format, negotiate_bytes};
use hotmetrics::http::{MetricsService, Server};
use hotmetrics::{Buckets, Registry};
use hotmetrics_fuzz::Input;
use hotmetrics_tests::parse::{Dialect, parse};
use hotmetrics_tests::proto;
use http::header::{
    ACCEPT, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap,
};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;

const USER: &str = "prom";
const PASSWORD: &str = "s3cr:et";
const TOKEN: &str = "tok.en-1";

/// One service and what the reference needs to know about it.
struct Served {
    service: MetricsService,
    basic: bool,
    bearer: bool,
    gzip: bool,
    max_body: u64,
    /// Whether it has the standalone server's routes.
    routes: bool,
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    services: [Served; 4],
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let registry = Registry::new();
        let jobs = registry
            .counter_vec(("jobs", "Jobs done."), &["queue"])
            .expect("a valid family");
        jobs.with(&["a\"\\\n"], |c| c.inc_by(7)).expect("one label");
        let latency = registry
            .histogram(("latency_seconds", "Latency."), Buckets::default())
            .expect("a valid family");
        latency.observe(0.25);
        let mounted = |registry: &Registry| Server::builder(registry.clone());
        let standalone = Server::builder(Registry::new())
            .addr("127.0.0.1:0".parse().expect("an address"))
            .basic_auth(USER, PASSWORD)
            .bearer_token(TOKEN)
            .start()
            .expect("the server starts");
        let standalone_service = standalone.service().clone();
        // Serving for the whole process: the fuzzer never returns.
        std::mem::forget(standalone);
        let served = |service, basic, bearer, gzip, max_body, routes| Served {
            service,
            basic,
            bearer,
            gzip,
            max_body,
            routes,
        };
        Fixture {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime"),
            services: [
                served(
                    MetricsService::new(registry.clone()),
                    false,
                    false,
                    true,
                    1024,
                    false,
                ),
                served(
                    mounted(&registry)
                        .basic_auth(USER, PASSWORD)
                        .max_request_body(16)
                        .self_metrics(true)
                        .build_service()
                        .expect("valid settings"),
                    true,
                    false,
                    true,
                    16,
                    false,
                ),
                served(
                    mounted(&registry)
                        .bearer_token(TOKEN)
                        .gzip(false)
                        .build_service()
                        .expect("valid settings"),
                    false,
                    true,
                    false,
                    1024,
                    false,
                ),
                served(standalone_service, true, true, true, 1024, true),
            ],
        }
    })
}

const METHODS: &[&[u8]] = &[
    b"GET", b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"get", b"CONNECT",
];
const URIS: &[&[u8]] = &[
    b"/metrics",
    b"/metrics",
    b"/",
    b"/health",
    b"/metrics?x=1&y",
    b"/metrics/",
    b"/health?",
    b"*",
    b"http://h:1/metrics",
    b"/%6Detrics",
    b"//metrics",
];
const ACCEPTS: &[&str] = &[
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
    "text/plain",
    "*/*",
    "application/json",
    "text/plain;q=0, */*",
    "application/*",
    "*;q=0",
];
const ENCODINGS: &[&str] = &[
    "gzip",
    "identity;q=0",
    "*",
    "gzip;q=0",
    "br, gzip;q=0.1",
    "x-gzip",
];
const LENGTHS: &[&str] = &[
    "0",
    "16",
    "17",
    "1024",
    "1025",
    " 5 ",
    "-1",
    "99999999999999999999",
    "x",
];

/// An `Authorization` value: right or wrong Basic or bearer credentials,
/// in any scheme case and spacing, or junk.
fn authorization(input: &mut Input<'_>) -> Vec<u8> {
    let basic = |s: &str| STANDARD.encode(s);
    let scheme = |input: &mut Input<'_>, s: &str| {
        let s = hotmetrics_fuzz::recase(input, s);
        format!("{s}{}", input.pick(&[" ", "  ", "\t"]))
    };
    match input.below(8) {
        0 => format!(
            "{}{}",
            scheme(input, "basic"),
            basic(&format!("{USER}:{PASSWORD}"))
        ),
        1 => format!("{}{}", scheme(input, "bearer"), TOKEN),
        2 => format!(
            "{}{}",
            scheme(input, "basic"),
            basic(&format!("{USER}:{PASSWORD}x"))
        ),
        3 => format!(
            "{}{}",
            scheme(input, "bearer"),
            &TOKEN[..input.below(TOKEN.len())]
        ),
        4 => format!(
            "{}{}",
            scheme(input, "bearer"),
            basic(&format!("{USER}:{PASSWORD}"))
        ),
        5 => format!("{}{}", scheme(input, "basic"), TOKEN),
        _ => return input.bytes(40).to_vec(),
    }
    .into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let fixture = fixture();
    let served = &fixture.services[input.below(4)];
    let method = if input.one_in(8) {
        input.bytes(8)
    } else {
        input.pick(METHODS)
    };
    let uri = if input.one_in(8) {
        input.bytes(24)
    } else {
        input.pick(URIS)
    };
    let mut request = Request::builder().method(method).uri(uri);
    for _ in 0..input.below(7) {
        let (name, value): (&[u8], Vec<u8>) = match input.below(6) {
            0 => (b"accept", pick_or_bytes(&mut input, ACCEPTS)),
            1 => (b"accept-encoding", pick_or_bytes(&mut input, ENCODINGS)),
            2 => (b"authorization", authorization(&mut input)),
            3 => (b"content-length", pick_or_bytes(&mut input, LENGTHS)),
            4 => (b"x-junk", input.bytes(16).to_vec()),
            _ => (input.bytes(12), input.bytes(16).to_vec()),
        };
        request = request.header(name, value);
    }
    let Ok(request) = request.body(()) else {
        return;
    };
    let (method, path, headers) = (
        request.method().clone(),
        request.uri().path().to_owned(),
        request.headers().clone(),
    );
    let response = fixture.runtime.block_on(served.service.handle(request));
    let status = response.status();
    assert_eq!(
        status,
        expected_status(served, &method, &path, &headers),
        "{method} {path} {headers:?}"
    );
    if status == StatusCode::OK && (served.basic || served.bearer) && path != "/health" {
        assert!(authorized(served, &headers), "a 200 without credentials");
    }
    let response_headers = response.headers().clone();
    let declared: usize = response_headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .expect("every answer has a Content-Length");
    let body = fixture
        .runtime
        .block_on(response.into_body().collect())
        .expect("a full body never fails")
        .to_bytes();
    if method == Method::HEAD {
        assert!(body.is_empty());
    } else {
        assert_eq!(body.len(), declared);
    }
    let scrape = status == StatusCode::OK && (!served.routes || path == "/metrics");
    if !scrape {
        assert!(response_headers.get(CONTENT_ENCODING).is_none());
        return;
    }
    let content_type = response_headers
        .get(CONTENT_TYPE)
        .expect("a scrape has a Content-Type");
    let accept = joined(&headers);
    let negotiated = negotiate_bytes(accept.as_deref()).expect("formats are compiled in");
    assert_eq!(content_type, negotiated.content_type());
    let gzip = match response_headers.get(CONTENT_ENCODING) {
        None => false,
        Some(v) if v == "gzip" => true,
        Some(other) => panic!("Content-Encoding {other:?}"),
    };
    assert!(served.gzip || !gzip, "gzip sent with gzip off");
    if method == Method::HEAD {
        return;
    }
    let mut plain = body.to_vec();
    if gzip {
        plain.clear();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut plain)
            .expect("a gzip body gunzips");
    }
    let format = negotiated.format();
    match format {
        Format::Protobuf => {
            proto::decode_delimited(&plain).expect("the protobuf body decodes");
        }
        _ => {
            let dialect = if format == Format::Text {
                Dialect::Text
            } else {
                Dialect::OpenMetrics
            };
            let text = std::str::from_utf8(&plain).expect("a UTF-8 body");
            parse(text, dialect).unwrap_or_else(|e| panic!("{e}\n{text}"));
        }
    }
});

fn pick_or_bytes(input: &mut Input<'_>, known: &[&str]) -> Vec<u8> {
    if input.one_in(4) {
        input.bytes(32).to_vec()
    } else {
        input.pick(known).as_bytes().to_vec()
    }
}

/// The `Accept` lines joined with `,`, as the service reads them.
fn joined(headers: &HeaderMap) -> Option<Vec<u8>> {
    let mut values = headers.get_all(ACCEPT).iter();
    let mut joined = values.next()?.as_bytes().to_vec();
    for value in values {
        joined.push(b',');
        joined.extend_from_slice(value.as_bytes());
    }
    Some(joined)
}

/// Whether some `Authorization` header carries a credential the service
/// was given: `Basic <base64 of user:password>` or `Bearer <token>`, the
/// scheme in any case, whitespace around the parts.
fn authorized(served: &Served, headers: &HeaderMap) -> bool {
    headers.get_all(AUTHORIZATION).iter().any(|value| {
        let value = value.as_bytes().trim_ascii();
        let Some(space) = value.iter().position(|&b| b == b' ' || b == b'\t') else {
            return false;
        };
        let (scheme, credentials) = (&value[..space], value[space + 1..].trim_ascii());
        if scheme.eq_ignore_ascii_case(b"basic") && served.basic {
            STANDARD
                .decode(credentials)
                .is_ok_and(|c| c == format!("{USER}:{PASSWORD}").as_bytes())
        } else if scheme.eq_ignore_ascii_case(b"bearer") && served.bearer {
            credentials == TOKEN.as_bytes()
        } else {
            false
        }
    })
}

/// The status the service's docs give for the request.
fn expected_status(
    served: &Served,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> StatusCode {
    let get_or_head = method == Method::GET || method == Method::HEAD;
    let not_allowed = if get_or_head {
        StatusCode::OK
    } else {
        StatusCode::METHOD_NOT_ALLOWED
    };
    if served.routes && path == "/health" {
        return not_allowed;
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > served.max_body) {
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    if (served.basic || served.bearer) && !authorized(served, headers) {
        return StatusCode::UNAUTHORIZED;
    }
    if served.routes && path != "/metrics" && path != "/" {
        return StatusCode::NOT_FOUND;
    }
    not_allowed
}
