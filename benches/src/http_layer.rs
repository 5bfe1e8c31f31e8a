//! HTTP middleware per request: hotmetrics' tower layer
//! (`hotmetrics::tower_layer`) against `axum-prometheus`, the third-party
//! layer axum users pick today, on the same trivial axum router called in
//! process (`oneshot`, no sockets; the handler answers at once).
//!
//! Rows of case [`CASE`]: `hotmetrics` (`HttpMetricsLayer`: requests,
//! responses, status codes, duration and in flight, five series a
//! request), `axum-prometheus` (requests, duration and pending, three; its
//! `metrics` recorder is `metrics-exporter-prometheus`, as its `pair()`
//! installs, here as the calling thread's local recorder so nothing global
//! is installed, with the upkeep its `pair()` schedules run between timed
//! runs), and `floor`: the same router without a layer. Timed as the hot
//! paths are: iterations calibrated per library, the libraries taking
//! turns run after run, the median kept.
//!
//! [`runner::run`](crate::runner::run) runs it after the recorder rows:
//! `cargo run --release -p hotmetrics-benches --bin compare -- --cases http`.

use crate::report::{Measurement, Report};
use crate::run_threads;
use crate::runner::Options;
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_prometheus::metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusRecorder,
};
use axum_prometheus::{AXUM_HTTP_REQUESTS_DURATION_SECONDS, PrometheusMetricLayer, utils};
use hotmetrics::tower_layer::HttpMetricsLayer;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tower::ServiceExt;

/// The case name of the rows.
pub const CASE: &str = "http_request";

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

/// One request through `app`; its status.
fn request(app: &Router) -> u16 {
    let request = http::Request::get(http::Uri::from_static("/users/42"))
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("a static request: {e}"));
    match ready_now(app.clone().oneshot(request)) {
        Ok(response) => response.status().as_u16(),
        Err(never) => match never {},
    }
}

/// A router behind one layer, and how each request is made.
struct Contender {
    name: &'static str,
    app: Router,
    /// `axum-prometheus`' recorder: requests run with it as the thread's
    /// local recorder.
    recorder: Option<PrometheusRecorder>,
}

impl Contender {
    fn one(&self) -> u16 {
        match &self.recorder {
            Some(r) => metrics::with_local_recorder(r, || request(&self.app)),
            None => request(&self.app),
        }
    }

    /// One timed run: `iters` requests on each of `threads` threads.
    fn run(&self, threads: usize, iters: u64) -> Duration {
        let took = run_threads(threads, iters, |_, _| {
            black_box(self.one());
        });
        if let Some(r) = &self.recorder {
            r.handle().run_upkeep(); // between runs, as its 5 s task would
        }
        took
    }
}

fn contenders() -> Vec<Contender> {
    let registry = hotmetrics::Registry::new();
    let hotmetrics_layer = HttpMetricsLayer::new(&registry)
        .unwrap_or_else(|e| panic!("a fresh registry takes the layer: {e}"));
    // As `PrometheusMetricLayer::pair()` builds it, without installing it.
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(AXUM_HTTP_REQUESTS_DURATION_SECONDS.to_owned()),
            utils::SECONDS_DURATION_BUCKETS,
        )
        .unwrap_or_else(|e| panic!("valid buckets: {e}"))
        .build_recorder();
    // Routers as `axum::serve` makes them: handlers turned into routes once.
    vec![
        Contender {
            name: "hotmetrics",
            app: routes().layer(hotmetrics_layer).with_state(()),
            recorder: None,
        },
        Contender {
            name: "axum-prometheus",
            app: routes().layer(PrometheusMetricLayer::new()).with_state(()),
            recorder: Some(recorder),
        },
        Contender {
            name: "floor",
            app: routes().with_state(()),
            recorder: None,
        },
    ]
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times [`CASE`] for every contender `opts` selects at every thread count
/// of `opts` into `report` (nothing when `opts.cases` leaves it out).
pub fn run(opts: &Options, report: &mut Report) {
    let wanted = opts.cases.is_empty() || opts.cases.iter().any(|c| CASE.contains(c.as_str()));
    if !wanted {
        return;
    }
    let target = Duration::from_millis(if opts.quick { 20 } else { 150 });
    let rounds = if opts.quick { 3 } else { 7 };
    let libs: Vec<Contender> = contenders()
        .into_iter()
        .filter(|c| opts.libs.is_empty() || opts.libs.iter().any(|l| l == c.name))
        .collect();
    for lib in &libs {
        assert_eq!(lib.one(), 200, "{} answers", lib.name);
    }
    for &threads in &opts.threads {
        eprintln!("compare: {CASE} at {threads} threads");
        let iters: Vec<u64> = libs
            .iter()
            .map(|lib| {
                let mut iters = 100u64;
                let mut took = lib.run(threads, iters);
                while took < target / 4 && iters < 1 << 32 {
                    iters *= 4;
                    took = lib.run(threads, iters);
                }
                let scale = target.as_secs_f64() / took.as_secs_f64().max(1e-9);
                ((iters as f64 * scale) as u64).max(1)
            })
            .collect();
        let mut samples = vec![Vec::new(); libs.len()];
        for _ in 0..rounds {
            for (k, lib) in libs.iter().enumerate() {
                let took = lib.run(threads, iters[k]);
                samples[k].push(took.as_nanos() as f64 / iters[k] as f64);
            }
        }
        for (lib, samples) in libs.iter().zip(samples) {
            let ns = median(samples);
            report.measurements.push(Measurement {
                case: CASE,
                lib: lib.name,
                threads,
                ns_per_op: ns,
                mops: threads as f64 * 1e3 / ns,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contender_is_timed_at_every_thread_count() {
        let opts = Options {
            threads: vec![1, 2],
            writers: Vec::new(),
            quick: true,
            cases: vec!["http".to_owned()],
            libs: Vec::new(),
            probe: None,
        };
        let mut report = Report::default();
        run(&opts, &mut report);
        let rows: Vec<(&str, usize)> = report
            .measurements
            .iter()
            .map(|m| (m.lib, m.threads))
            .collect();
        assert_eq!(
            rows,
            [
                ("hotmetrics", 1),
                ("axum-prometheus", 1),
                ("floor", 1),
                ("hotmetrics", 2),
                ("axum-prometheus", 2),
                ("floor", 2)
            ]
        );
        assert!(report.measurements.iter().all(|m| m.ns_per_op > 0.0));
        let mut skipped = Report::default();
        run(
            &Options {
                cases: vec!["counter".to_owned()],
                ..opts
            },
            &mut skipped,
        );
        assert!(skipped.measurements.is_empty());
    }

    #[test]
    fn axum_prometheus_records_through_the_local_recorder() {
        let lib = contenders()
            .into_iter()
            .find(|c| c.name == "axum-prometheus")
            .expect("the contender");
        assert_eq!(lib.one(), 200);
        let recorder = lib.recorder.as_ref().expect("its recorder");
        let text = recorder.handle().render();
        assert!(
            text.contains(
                "axum_http_requests_total{method=\"GET\",status=\"200\",endpoint=\"/users/{id}\"} 1"
            ),
            "{text}"
        );
    }
}
