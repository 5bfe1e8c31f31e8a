//! Configurations that cannot work fail at build time, with a message
//! naming what is wrong.

use hotmetrics_remote_write::{Error, RemoteWrite};
use std::time::Duration;

fn err(b: hotmetrics_remote_write::RemoteWriteBuilder) -> Error {
    b.build().expect_err("must be refused")
}

#[test]
fn bad_urls_are_refused() {
    for (url, why) in [
        ("not a url", "relative URL"),
        ("ftp://host/write", "http or https"),
        ("http://user:pw@host/write", "basic_auth"),
        ("file:///tmp/x", "http or https"),
    ] {
        match err(RemoteWrite::builder(url)) {
            e @ Error::InvalidUrl { .. } => assert!(e.to_string().contains(why), "{url}: {e}"),
            e => panic!("{url}: {e:?}"),
        }
    }
}

#[test]
fn bad_labels_and_headers_are_refused() {
    let b = || RemoteWrite::builder("http://127.0.0.1:9/api/v1/write");
    for (name, value) in [
        ("__name__", "x"),
        ("1job", "x"),
        ("job-name", "x"),
        ("job", ""),
    ] {
        assert!(
            matches!(
                err(b().external_label(name, value)),
                Error::InvalidLabel { .. }
            ),
            "{name}={value:?}"
        );
    }
    assert!(matches!(
        err(b().external_label("job", "a").external_label("job", "b")),
        Error::InvalidLabel { .. }
    ));
    for (name, value) in [
        ("X Scope", "t"),
        ("X-Scope-OrgID", "a\nb"),
        ("Content-Type", "text/plain"),
        ("authorization", "Basic x"),
    ] {
        match err(b().header(name, value)) {
            Error::InvalidHeader { name: n, .. } => assert_eq!(n, name),
            e => panic!("{name}: {e:?}"),
        }
    }
    assert!(matches!(
        err(b().bearer_token("a\r\nb")),
        Error::InvalidHeader { .. }
    ));
    assert!(matches!(err(b().timeout(Duration::ZERO)), Error::Config(_)));
    assert!(matches!(
        err(b().max_samples_per_request(0)),
        Error::Config(_)
    ));
    // https with the system's roots builds.
    RemoteWrite::builder("https://example.com/api/v1/write")
        .external_label("job", "a")
        .header("X-Scope-OrgID", "tenant")
        .build()
        .unwrap();
}
