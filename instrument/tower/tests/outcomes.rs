//! How each way a request can end is counted, in process (`oneshot`, no
//! sockets): errors, panics caught outside the layer, requests dropped
//! unfinished, panics in the inner `call`, the route's source order,
//! grouped status codes, exclude lists, constant labels, families shared
//! between layers (settings that must agree, families registered again
//! after `unregister`), in-flight series that never expire, and exact
//! totals with many threads writing while a scraper reads.

use hotmetrics_core::testing::{TestRegistry, assert_absent, assert_value};
use hotmetrics_core::{Buckets, Error, Registry};
use hotmetrics_tower::{BuildError, HttpMetricsLayer};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::future::{Future, ready};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use tower::{Service, ServiceBuilder, ServiceExt};

fn route(parts: &Parts) -> Option<&'static str> {
    match parts.uri.path() {
        "/ok" => Some("/ok"),
        "/fail" => Some("/fail"),
        "/panic" => Some("/panic"),
        "/pending" => Some("/pending"),
        "/health" => Some("/health"),
        _ => None,
    }
}

/// Answers `/ok` with 200, `/fail` with an error, `/panic` by panicking,
/// `/pending` never, anything else with 404.
#[derive(Clone)]
struct App;

impl Service<Request<()>> for App {
    type Response = Response<()>;
    type Error = &'static str;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<Response<()>, &'static str>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let path = request.uri().path().to_owned();
        Box::pin(async move {
            match path.as_str() {
                "/ok" | "/health" => Ok(Response::new(())),
                "/fail" => Err("the database is gone"),
                "/panic" => panic!("a bug in the handler"),
                "/pending" => std::future::pending().await,
                _ => {
                    let mut response = Response::new(());
                    *response.status_mut() = StatusCode::NOT_FOUND;
                    Ok(response)
                }
            }
        })
    }
}

fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

fn call<S>(service: &mut S, path: &'static str) -> Result<Response<()>, S::Error>
where
    S: Service<Request<()>, Response = Response<()>>,
{
    let future = pin!(service.call(Request::get(path).body(()).unwrap()));
    match poll_once(future) {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("{path} answers at once"),
    }
}

const OK: [(&str, &str); 2] = [("method", "GET"), ("path", "/ok")];
const FAIL: [(&str, &str); 2] = [("method", "GET"), ("path", "/fail")];
const PANIC: [(&str, &str); 2] = [("method", "GET"), ("path", "/panic")];
const PENDING: [(&str, &str); 2] = [("method", "GET"), ("path", "/pending")];

fn status(
    route: [(&'static str, &'static str); 2],
    code: &'static str,
) -> [(&'static str, &'static str); 3] {
    [route[0], route[1], ("status_code", code)]
}

#[test]
fn errors_and_panics_count_as_exceptions_with_a_500() {
    let registry = TestRegistry::new();
    let layer = HttpMetricsLayer::builder(&registry)
        .route_fn(route)
        .build()
        .unwrap();
    let mut service = ServiceBuilder::new().layer(layer).service(App);

    assert!(call(&mut service, "/ok").is_ok());
    assert_eq!(
        call(&mut service, "/fail").unwrap_err(),
        "the database is gone"
    );
    // Caught outside the layer, as tower-http's CatchPanic would: the
    // layer saw it as it unwound, and the future is dropped afterwards.
    let caught = catch_unwind(AssertUnwindSafe(|| call(&mut service, "/panic")));
    let message = caught.expect_err("the panic goes on unwinding");
    assert_eq!(
        message.downcast_ref::<&str>(),
        Some(&"a bug in the handler")
    );

    registry.assert_family("exceptions_total", &[(&FAIL, 1.0), (&PANIC, 1.0)]);
    registry.assert_family(
        "status_codes_total",
        &[
            (&status(OK, "200"), 1.0),
            (&status(FAIL, "500"), 1.0),
            (&status(PANIC, "500"), 1.0),
        ],
    );
    for labels in [OK, FAIL, PANIC] {
        registry.assert_value("requests_total", &labels, 1.0);
        registry.assert_value("responses_total", &labels, 1.0);
        registry.assert_value("request_duration_seconds_count", &labels, 1.0);
        registry.assert_value("requests_in_flight", &labels, 0.0);
    }
}

#[test]
fn a_request_dropped_unfinished_is_no_longer_in_flight_and_counts_no_response() {
    let registry = TestRegistry::new();
    let layer = HttpMetricsLayer::builder(&registry)
        .route_fn(route)
        .build()
        .unwrap();
    let mut service = ServiceBuilder::new().layer(layer).service(App);
    {
        let mut future = Box::pin(service.call(Request::get("/pending").body(()).unwrap()));
        assert!(poll_once(future.as_mut()).is_pending());
        registry.assert_value("requests_in_flight", &PENDING, 1.0);
        registry.assert_value("requests_total", &PENDING, 1.0);
    } // the client went away
    registry.assert_value("requests_in_flight", &PENDING, 0.0);
    registry.assert_absent("responses_total", &PENDING);
    registry.assert_absent("exceptions_total", &PENDING);
    registry.assert_value("request_duration_seconds_count", &PENDING, 0.0);
    // Never polled at all: the same.
    drop(service.call(Request::get("/pending").body(()).unwrap()));
    registry.assert_value("requests_total", &PENDING, 2.0);
    registry.assert_value("requests_in_flight", &PENDING, 0.0);
}

#[test]
fn grouped_status_codes_exclude_lists_and_constant_labels() {
    let registry = TestRegistry::new();
    let layer = HttpMetricsLayer::builder(&registry)
        .route_fn(route)
        .group_status_codes(true)
        .exclude_paths(["/health"])
        .const_label("service", "shop")
        .buckets(Buckets::new(vec![0.5]).unwrap())
        .build()
        .unwrap();
    let mut service = ServiceBuilder::new().layer(layer).service(App);
    for path in ["/ok", "/ok", "/health", "/metrics", "/nope"] {
        call(&mut service, path).unwrap();
    }
    let shop = ("service", "shop");
    registry.assert_family(
        "status_codes_total",
        &[
            (&[shop, OK[0], OK[1], ("status_code", "2xx")], 2.0),
            // `/metrics` is no longer excluded; unrouted, it is `<unmatched>`.
            (
                &[
                    shop,
                    ("method", "GET"),
                    ("path", "<unmatched>"),
                    ("status_code", "4xx"),
                ],
                2.0,
            ),
        ],
    );
    registry.assert_absent(
        "requests_total",
        &[shop, ("method", "GET"), ("path", "/health")],
    );
    registry.assert_value(
        "request_duration_seconds_bucket",
        &[shop, OK[0], OK[1], ("le", "0.5")],
        2.0,
    );
}

#[test]
fn layers_on_one_registry_share_the_families() {
    let registry = TestRegistry::new();
    let first = HttpMetricsLayer::builder(&registry)
        .route_fn(route)
        .build()
        .unwrap();
    let second = HttpMetricsLayer::builder(&registry)
        .route_fn(route)
        .build()
        .unwrap();
    let mut a = ServiceBuilder::new().layer(first).service(App);
    let mut b = ServiceBuilder::new().layer(second).service(App);
    call(&mut a, "/ok").unwrap();
    call(&mut b, "/ok").unwrap();
    registry.assert_value("requests_total", &OK, 2.0);
    assert_eq!(registry.family_names().len(), 6);
}

#[test]
fn a_taken_name_fails_the_build_and_leaves_nothing_registered() {
    let registry = Registry::new();
    let mine = registry
        .gauge(("status_codes_total", "The application's own."))
        .unwrap();
    let err = HttpMetricsLayer::new(&registry).unwrap_err();
    assert!(
        matches!(err, BuildError::Registry(Error::AlreadyRegistered { .. })),
        "{err}"
    );
    assert_eq!(registry.family_names(), ["status_codes_total"]);
    drop(mine);
    assert!(registry.unregister("status_codes_total"));
    HttpMetricsLayer::new(&registry).expect("the names are free now");
    assert_eq!(registry.family_names().len(), 6);
}

#[test]
fn exact_totals_from_many_threads_while_a_scraper_reads() {
    const THREADS: usize = 4;
    const REQUESTS: usize = 5_000;
    let registry = TestRegistry::new();
    let layer = HttpMetricsLayer::builder(&registry)
        .route_fn(route)
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|r: Request<()>| {
            let mut response = Response::new(());
            if r.uri().path() != "/ok" {
                *response.status_mut() = StatusCode::NOT_FOUND;
            }
            ready(Ok::<_, Infallible>(response))
        });
    let done = AtomicBool::new(false);
    // Scrapes finished so far, and those that saw the writers mid-way.
    let scrapes = AtomicUsize::new(0);
    let scraper_gone = AtomicBool::new(false);
    let total = (THREADS * REQUESTS) as f64;
    let during = std::thread::scope(|s| {
        let scraper = s.spawn(|| {
            // A failed assertion here must not leave the workers waiting
            // for scrapes forever: they stop waiting once this is dropped.
            struct Gone<'a>(&'a AtomicBool);
            impl Drop for Gone<'_> {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::Relaxed);
                }
            }
            let _gone = Gone(&scraper_gone);
            // Every scrape: counts never going back, in flight between 0
            // and the writers. (No bound across families: a scrape merges
            // one family after the other, so responses read after requests
            // may count requests made in between.)
            let mut last = [0.0; 2];
            let mut during = 0;
            while !done.load(Ordering::Relaxed) {
                let now = registry.samples();
                for (k, name) in ["requests_total", "responses_total"]
                    .into_iter()
                    .enumerate()
                {
                    let n = now.get(name, &OK).unwrap_or(0.0);
                    assert!(n >= last[k], "{name} went back: {} -> {n}", last[k]);
                    last[k] = n;
                }
                if last[0] > 0.0 && last[0] < total * 0.8 {
                    during += 1;
                }
                let in_flight = now.get("requests_in_flight", &OK).unwrap_or(0.0);
                assert!(
                    (0.0..=THREADS as f64).contains(&in_flight),
                    "in flight: {in_flight}"
                );
                // Release: a worker that reads this count sees the scrape
                // done (it only waits on it; no data rides on it).
                scrapes.fetch_add(1, Ordering::Release);
            }
            during
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let mut service = service.clone();
                let (scrapes, scraper_gone) = (&scrapes, &scraper_gone);
                s.spawn(move || {
                    for i in 0..REQUESTS {
                        if i == REQUESTS / 2 {
                            // Half-way, wait for a whole scrape to start
                            // and end: one scrape at least reads the
                            // families while every writer is mid-way.
                            let seen = scrapes.load(Ordering::Acquire);
                            while scrapes.load(Ordering::Acquire) < seen + 2
                                && !scraper_gone.load(Ordering::Relaxed)
                            {
                                std::thread::yield_now();
                            }
                        }
                        let path = if i % 5 == 0 { "/nope" } else { "/ok" };
                        let mut ready_service = pin!(service.ready());
                        let Poll::Ready(Ok(svc)) = poll_once(ready_service.as_mut()) else {
                            panic!("always ready");
                        };
                        let future = pin!(svc.call(Request::get(path).body(()).unwrap()));
                        assert!(poll_once(future).is_ready());
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("a worker");
        }
        done.store(true, Ordering::Relaxed);
        scraper.join().expect("the scraper")
    });
    assert!(during > 0, "no scrape overlapped the writers");
    registry.assert_value("requests_total", &OK, total * 0.8);
    registry.assert_value("responses_total", &OK, total * 0.8);
    registry.assert_value("status_codes_total", &status(OK, "200"), total * 0.8);
    let unmatched = [("method", "GET"), ("path", "<unmatched>")];
    registry.assert_value("status_codes_total", &status(unmatched, "404"), total * 0.2);
    registry.assert_value("request_duration_seconds_count", &OK, total * 0.8);
    registry.assert_value("requests_in_flight", &OK, 0.0);
}

/// A service whose `call` itself panics, before returning a future.
#[derive(Clone)]
struct PanicsInCall;

impl Service<Request<()>> for PanicsInCall {
    type Response = Response<()>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        panic!("a bug in call");
    }
}

#[test]
fn a_panic_in_the_inner_call_counts_as_an_exception_with_a_500() {
    let registry = TestRegistry::new();
    let layer = HttpMetricsLayer::builder(&registry)
        .route_fn(route)
        .build()
        .unwrap();
    let mut service = ServiceBuilder::new().layer(layer).service(PanicsInCall);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        service.call(Request::get("/ok").body(()).unwrap())
    }));
    let message = caught.expect_err("the panic goes on unwinding");
    assert_eq!(message.downcast_ref::<&str>(), Some(&"a bug in call"));
    registry.assert_value("requests_total", &OK, 1.0);
    registry.assert_value("exceptions_total", &OK, 1.0);
    registry.assert_value("responses_total", &OK, 1.0);
    registry.assert_family("status_codes_total", &[(&status(OK, "500"), 1.0)]);
    registry.assert_value("request_duration_seconds_count", &OK, 1.0);
    registry.assert_value("requests_in_flight", &OK, 0.0);
}

/// Names every request `/from-fn`.
fn everything(_: &Parts) -> Option<&'static str> {
    Some("/from-fn")
}

#[test]
fn matched_path_comes_first_and_the_route_fn_only_without_one() {
    let registry = TestRegistry::new();
    let layer = HttpMetricsLayer::builder(&registry)
        .route_fn(everything)
        .build()
        .unwrap();
    let app: axum::Router = axum::Router::new()
        .route("/users/{id}", axum::routing::get(|| async { "a user" }))
        .layer(layer);
    for path in ["/users/1", "/nope"] {
        let request = Request::get(path).body(axum::body::Body::empty()).unwrap();
        let future = pin!(app.clone().oneshot(request));
        let Poll::Ready(Ok(_)) = poll_once(future) else {
            panic!("the router answers at once");
        };
    }
    registry.assert_family(
        "requests_total",
        &[
            // Routed: axum's template, whatever the function says.
            (&[("method", "GET"), ("path", "/users/{id}")], 1.0),
            // Unrouted (no `MatchedPath`): the function's name.
            (&[("method", "GET"), ("path", "/from-fn")], 1.0),
        ],
    );
}

#[test]
fn a_later_layer_with_other_buckets_or_constant_labels_fails_to_build() {
    let registry = TestRegistry::new();
    let buckets = || Buckets::new(vec![0.1, 1.0]).unwrap();
    let _first = HttpMetricsLayer::builder(&registry)
        .buckets(buckets())
        .const_label("service", "shop")
        .build()
        .unwrap();
    let err = HttpMetricsLayer::builder(&registry)
        .const_label("service", "shop")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, BuildError::SettingsDiffer { setting: "buckets" }),
        "{err}"
    );
    assert!(err.to_string().contains("other buckets"), "{err}");
    let err = HttpMetricsLayer::builder(&registry)
        .buckets(buckets())
        .const_label("service", "cart")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::SettingsDiffer {
                setting: "constant labels"
            }
        ),
        "{err}"
    );
    // The same settings share the families.
    HttpMetricsLayer::builder(&registry)
        .buckets(buckets())
        .const_label("service", "shop")
        .build()
        .expect("the same settings");
    let err = HttpMetricsLayer::builder(&registry)
        .buckets(buckets())
        .const_label("service", "shop")
        .const_label("zone", "b")
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::SettingsDiffer { .. }), "{err}");
    assert_eq!(registry.family_names().len(), 6);

    // The order the constant labels are given in does not matter.
    let other = TestRegistry::new();
    HttpMetricsLayer::builder(&other)
        .const_label("service", "shop")
        .const_label("zone", "b")
        .build()
        .unwrap();
    HttpMetricsLayer::builder(&other)
        .const_label("zone", "b")
        .const_label("service", "shop")
        .build()
        .expect("the same labels, in another order");
}

#[test]
fn families_unregistered_since_are_registered_again() {
    let registry = TestRegistry::new();
    let first = HttpMetricsLayer::builder(&registry)
        .route_fn(route)
        .build()
        .unwrap();
    assert!(registry.unregister("requests"));
    // Other settings are fine now: the families are made afresh.
    let second = HttpMetricsLayer::builder(&registry)
        .route_fn(route)
        .const_label("service", "shop")
        .build()
        .expect("registered again");
    assert_eq!(registry.family_names().len(), 6);
    let mut service = ServiceBuilder::new().layer(second).service(App);
    call(&mut service, "/ok").unwrap();
    let shop = [("service", "shop"), OK[0], OK[1]];
    registry.assert_value("requests_total", &shop, 1.0);
    registry.assert_value("responses_total", &shop, 1.0);
    drop(first);
}

#[test]
fn in_flight_series_do_not_expire_under_a_long_request() {
    let registry = Registry::builder()
        .expire_after(std::time::Duration::from_millis(1))
        .build()
        .unwrap();
    let layer = HttpMetricsLayer::builder(&registry)
        .route_fn(route)
        .build()
        .unwrap();
    let mut service = ServiceBuilder::new().layer(layer).service(App);
    let mut future = Box::pin(service.call(Request::get("/pending").body(()).unwrap()));
    assert!(poll_once(future.as_mut()).is_pending());
    // The first sweep keeps what changed since it was created, the
    // second expires what did not change since: the in-flight gauge.
    for _ in 0..2 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        registry.expire_idle();
    }
    assert_absent(&registry, "requests_total", &PENDING);
    assert_value(&registry, "requests_in_flight", &PENDING, 1.0);
    drop(future);
    assert_value(&registry, "requests_in_flight", &PENDING, 0.0);
}

#[test]
fn the_duration_has_the_unit_seconds() {
    let registry = Registry::new();
    let _layer = HttpMetricsLayer::new(&registry).unwrap();
    let mut out = hotmetrics_core::bytes::BytesMut::new();
    hotmetrics_text::OpenMetricsEncoder::new().encode(&registry, &mut out);
    let text = String::from_utf8(out.to_vec()).unwrap();
    assert!(
        text.contains("# UNIT request_duration_seconds seconds\n"),
        "{text}"
    );
}
