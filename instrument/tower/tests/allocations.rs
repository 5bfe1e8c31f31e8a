//! No allocation per request once a thread has seen a route: counted by a
//! counting global allocator, on the calling thread only.
//!
//! Two ways: a service that allocates nothing itself, where the layer's
//! requests must allocate nothing at all; and an axum router, where a
//! request through the layer must allocate exactly what the same request
//! through a layer that does nothing (`Identity`, wrapped by `Router::layer`
//! the same way) allocates: axum's own boxes, never one of ours. The
//! routers are made as `axum::serve` makes them (`into_make_service` calls
//! `with_state(())`, which turns handlers into routes once): a router
//! called without it converts each handler per request, boxing a copy of
//! every layer applied to it, so any layer that is not zero-sized adds an
//! allocation there (axum's box of the layer; `Identity`, zero-sized,
//! boxes nothing).

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use hotmetrics_core::testing::TestRegistry;
use hotmetrics_tower::HttpMetricsLayer;
use http::request::Parts;
use http::{Request, Response, StatusCode, Uri};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::future::{Future, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use tower::{Service, ServiceExt};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counting touches only const-initialised thread-locals without destructors.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `alloc`, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `alloc_zeroed`, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `realloc`, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations on this thread while `f` runs.
fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    COUNT.with(Cell::get)
}

/// Polls a future that must be ready without waiting.
fn ready_now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the service answers at once"),
    }
}

fn templated(parts: &Parts) -> Option<&'static str> {
    parts
        .uri
        .path()
        .starts_with("/items/")
        .then_some("/items/{id}")
}

#[test]
fn a_request_through_the_layer_allocates_nothing() {
    let registry = TestRegistry::new();
    let layer = HttpMetricsLayer::builder(&registry)
        .route_fn(templated)
        .build()
        .unwrap();
    let mut service = tower::ServiceBuilder::new()
        .layer(layer)
        .service_fn(|r: Request<()>| {
            let status = if r.uri().path() == "/boom" {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            let mut response = Response::new(());
            *response.status_mut() = status;
            ready(Ok::<_, Infallible>(response))
        });
    let paths = ["/items/1", "/items/2", "/boom", "/elsewhere", "/metrics"];
    let mut send = |path: &'static str| {
        // A static URI: parsing one from a `&str` would allocate.
        let request = Request::get(Uri::from_static(path)).body(()).unwrap();
        let response = ready_now(ready_now(service.ready()).unwrap().call(request)).unwrap();
        assert!(response.status().is_success() || response.status() == 503);
    };
    for path in paths {
        send(path); // each thread's first use of a series allocates its cache entry
    }
    let n = allocations(|| {
        for _ in 0..1000 {
            for path in paths {
                send(path);
            }
        }
    });
    assert_eq!(n, 0, "allocations in 5,000 requests after warm-up");
    registry.assert_value(
        "requests_total",
        &[("method", "GET"), ("path", "/items/{id}")],
        2002.0,
    );
    registry.assert_value(
        "status_codes_total",
        &[
            ("method", "GET"),
            ("path", "<unmatched>"),
            ("status_code", "503"),
        ],
        1001.0,
    );
    registry.assert_absent("requests_total", &[("method", "GET"), ("path", "/metrics")]);
}

fn router() -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "a user" }))
        .route("/health", get(|| async { StatusCode::NO_CONTENT }))
}

/// Allocations of `rounds` rounds of requests through `app`, after a
/// warm-up round.
fn router_allocations(app: &Router, rounds: usize) -> u64 {
    let paths = [
        "/users/1",
        "/users/22",
        "/health",
        "/missing",
        "/favicon.ico",
    ];
    let send = |path: &str| {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = ready_now(app.clone().oneshot(request)).unwrap();
        assert!(response.status().as_u16() < 500);
    };
    paths.iter().for_each(|p| send(p));
    allocations(|| {
        for _ in 0..rounds {
            paths.iter().for_each(|p| send(p));
        }
    })
}

#[test]
fn through_axum_the_layer_adds_no_allocation() {
    let registry = TestRegistry::new();
    let measured = router()
        .layer(HttpMetricsLayer::new(&registry).unwrap())
        .with_state(());
    let baseline = router().layer(tower_layer::Identity::new()).with_state(());
    let with_layer = router_allocations(&measured, 200);
    let without = router_allocations(&baseline, 200);
    assert_eq!(
        with_layer, without,
        "1,000 requests through axum allocate as many times with the layer as without"
    );
    registry.assert_value(
        "requests_total",
        &[("method", "GET"), ("path", "/users/{id}")],
        402.0,
    );
    registry.assert_value(
        "requests_in_flight",
        &[("method", "GET"), ("path", "/health")],
        0.0,
    );
}
