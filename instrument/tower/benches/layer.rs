//! One request through an HTTP metrics layer, in process (`oneshot` on an
//! axum router, no sockets), one thread: no layer, a layer that does
//! nothing (`Identity`: what axum's layering itself costs, a box and a
//! boxed future per request), and this crate's `HttpMetricsLayer`. The
//! handler answers at once; the request is built the same way in every
//! case. The comparison with `axum-prometheus` is the compare runner's
//! (`benches/src/http_layer.rs`).
//!
//! `cargo bench -p hotmetrics-tower --bench layer`

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use hotmetrics_core::Registry;
use hotmetrics_tower::HttpMetricsLayer;
use http::{Request, Uri};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use tower::ServiceExt;

fn routes() -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "a user" }))
        .route("/orders", get(|| async { "orders" }))
}

/// Polls a future that is ready at once (the handlers never wait).
fn ready_now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the handler answers at once"),
    }
}

fn request(app: &Router) -> u16 {
    let request = Request::get(Uri::from_static("/users/42"))
        .body(Body::empty())
        .unwrap();
    let response = ready_now(app.clone().oneshot(request)).unwrap();
    response.status().as_u16()
}

fn per_request(c: &mut Criterion) {
    let registry = Registry::new();
    // As `axum::serve` makes them: handlers turned into routes once.
    let bare = routes().with_state(());
    let identity = routes().layer(tower_layer::Identity::new()).with_state(());
    let hotmetrics = routes()
        .layer(HttpMetricsLayer::new(&registry).unwrap())
        .with_state(());

    let mut group = c.benchmark_group("http_layer/request");
    for (name, app) in [
        ("none", &bare),
        ("identity", &identity),
        ("hotmetrics-tower", &hotmetrics),
    ] {
        assert_eq!(request(app), 200);
        group.bench_function(name, |b| b.iter(|| black_box(request(app))));
    }
    group.finish();
    assert!(
        hotmetrics_core::testing::value(
            &registry,
            "requests_total",
            &[("method", "GET"), ("path", "/users/{id}")]
        )
        .is_some_and(|n| n > 0.0)
    );
}

criterion_group!(benches, per_request);
criterion_main!(benches);
