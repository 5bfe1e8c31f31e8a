//! Typed label sets: a dense index per thread for enum and bool labels,
//! the string lookup for the rest; the same series either way, exact
//! under many threads and thread churn, and fresh after remove / clear.

use hotmetrics_core::{Counter, Error, LabelValue, Labels, MAX_DENSE, Opts, Registry};
use hotmetrics_derive::{LabelValue, Labels};

#[derive(Clone, Copy, Debug, LabelValue)]
#[labels(crate = "hotmetrics_core")]
enum Handler {
    Orders,
    Invoices,
    #[label(rename = "dead-letters")]
    DeadLetters,
}

#[derive(Clone, Copy, Debug, LabelValue)]
#[labels(crate = "hotmetrics_core")]
enum Status {
    Acked,
    Nacked,
    Rejected,
    NotFound,
}

#[derive(Clone, Copy, Debug, Labels)]
#[labels(crate = "hotmetrics_core")]
struct Processed {
    handler: Handler,
    status: Status,
    redelivered: bool,
}

const HANDLERS: [Handler; 3] = [Handler::Orders, Handler::Invoices, Handler::DeadLetters];
const STATUSES: [Status; 4] = [
    Status::Acked,
    Status::Nacked,
    Status::Rejected,
    Status::NotFound,
];

fn every_set() -> Vec<Processed> {
    let mut sets = Vec::new();
    for handler in HANDLERS {
        for status in STATUSES {
            for redelivered in [false, true] {
                sets.push(Processed {
                    handler,
                    status,
                    redelivered,
                });
            }
        }
    }
    sets
}

fn strings(labels: &Processed) -> Vec<String> {
    labels.with_values(|v| v.iter().map(|s| (*s).to_owned()).collect())
}

fn value(family: &hotmetrics_core::Family<Counter>, labels: &Processed) -> u64 {
    let values = strings(labels);
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    family.get_or_create(&values).unwrap().get()
}

#[test]
fn the_derive_names_counts_and_indexes_densely() {
    assert_eq!(Processed::NAMES, ["handler", "status", "redelivered"]);
    assert_eq!(Processed::CARDINALITY, Some(24));
    let mut seen: Vec<usize> = every_set().iter().map(Labels::index).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..24).collect::<Vec<_>>(), "a bijection onto 0..24");
    let dead = Processed {
        handler: Handler::DeadLetters,
        status: Status::NotFound,
        redelivered: true,
    };
    assert_eq!(strings(&dead), ["dead-letters", "not_found", "true"]);
    assert_eq!(<Status as LabelValue>::CARDINALITY, Some(4));
}

#[test]
fn many_threads_count_exactly_through_the_dense_tables() {
    let registry = Registry::new();
    let typed = registry
        .counter_vec(("processed_total", "Processed."), Processed::NAMES)
        .unwrap()
        .typed::<Processed>()
        .unwrap();
    let sets = every_set();
    // Rounds of threads that exit (their tables go with them), each
    // thread writing every set a different number of times.
    for round in 0..3 {
        std::thread::scope(|s| {
            for t in 0..6 {
                let (typed, sets) = (typed.clone(), &sets);
                s.spawn(move || {
                    for (i, labels) in sets.iter().enumerate() {
                        for _ in 0..(i + t + round) {
                            typed.with(labels, |c| c.inc()).unwrap();
                        }
                    }
                });
            }
        });
    }
    let family = typed.family();
    for (i, labels) in sets.iter().enumerate() {
        let expected: usize = (0..3).flat_map(|r| (0..6).map(move |t| i + t + r)).sum();
        assert_eq!(value(family, labels), expected as u64, "{labels:?}");
    }
    assert_eq!(family.len(), 24);
}

#[test]
fn remove_and_clear_are_seen_by_every_threads_table() {
    let registry = Registry::new();
    let typed = registry
        .counter_vec(("processed_total", "Processed."), Processed::NAMES)
        .unwrap()
        .typed::<Processed>()
        .unwrap();
    let labels = Processed {
        handler: Handler::Orders,
        status: Status::Acked,
        redelivered: false,
    };
    typed.with(&labels, |c| c.inc_by(5)).unwrap();
    assert!(typed.remove(&labels).unwrap());
    // The table still holds the removed series; the generation tells it.
    typed.with(&labels, |c| c.inc()).unwrap();
    assert_eq!(value(typed.family(), &labels), 1, "a new series, counted");

    typed.family().clear();
    std::thread::scope(|s| {
        s.spawn(|| typed.with(&labels, |c| c.inc_by(2)).unwrap());
    });
    typed.with(&labels, |c| c.inc_by(3)).unwrap();
    assert_eq!(value(typed.family(), &labels), 5);
}

#[test]
fn names_must_match_the_family() {
    let registry = Registry::new();
    let family = registry
        .counter_vec(
            ("processed_total", "Processed."),
            &["handler", "redelivered", "status"],
        )
        .unwrap();
    let e = family.typed::<Processed>().unwrap_err();
    assert!(matches!(e, Error::LabelNames { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        r#""processed_total" has the labels ("handler", "redelivered", "status"), the typed label set names ("handler", "status", "redelivered")"#
    );
}

#[derive(Labels)]
#[labels(crate = "hotmetrics_core")]
struct Route {
    path: &'static str,
    code: u16,
    ok: bool,
}

#[test]
fn unbounded_fields_take_the_string_lookup() {
    assert_eq!(Route::CARDINALITY, None);
    let registry = Registry::new();
    let typed = registry
        .counter_vec(("requests_total", "Requests."), Route::NAMES)
        .unwrap()
        .typed::<Route>()
        .unwrap();
    for code in [200, 200, 503] {
        typed
            .with(
                &Route {
                    path: "/orders",
                    code,
                    ok: code < 500,
                },
                |c| c.inc(),
            )
            .unwrap();
    }
    let family = typed.family();
    assert_eq!(
        family
            .get_or_create(&["/orders", "200", "true"])
            .unwrap()
            .get(),
        2
    );
    assert_eq!(
        family
            .get_or_create(&["/orders", "503", "false"])
            .unwrap()
            .get(),
        1
    );
}

/// 2 × 4 × 3 × ... : more combinations than a dense table takes.
#[derive(Clone, Copy, LabelValue)]
#[labels(crate = "hotmetrics_core")]
#[allow(dead_code)] // Only a few are written; the count is the point.
enum Digit {
    D0,
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
    D9,
}

#[derive(Labels)]
#[labels(crate = "hotmetrics_core")]
struct FourDigits {
    a: Digit,
    b: Digit,
    c: Digit,
    d: Digit,
}

#[test]
fn sets_over_the_dense_limit_take_the_string_lookup() {
    assert_eq!(FourDigits::CARDINALITY, Some(10_000));
    const { assert!(10_000 > MAX_DENSE) };
    let registry = Registry::new();
    let typed = registry
        .counter_vec(("digits_total", "Digits."), FourDigits::NAMES)
        .unwrap()
        .typed::<FourDigits>()
        .unwrap();
    let labels = FourDigits {
        a: Digit::D1,
        b: Digit::D9,
        c: Digit::D0,
        d: Digit::D5,
    };
    typed.with(&labels, |c| c.inc()).unwrap();
    typed.with(&labels, |c| c.inc()).unwrap();
    assert_eq!(
        typed
            .family()
            .get_or_create(&["d1", "d9", "d0", "d5"])
            .unwrap()
            .get(),
        2
    );
}

#[test]
fn a_nested_lookup_and_the_series_limit_are_errors_never_panics() {
    let registry = Registry::new();
    let typed = registry
        .counter_vec(
            Opts::new("processed_total", "Processed.").max_series(2),
            Processed::NAMES,
        )
        .unwrap()
        .typed::<Processed>()
        .unwrap();
    let sets = every_set();
    // A lookup from inside another one's closure (the table is borrowed).
    typed
        .with(&sets[0], |c| {
            c.inc();
            typed.with(&sets[1], |c| c.inc()).unwrap();
        })
        .unwrap();
    assert_eq!(
        (
            value(typed.family(), &sets[0]),
            value(typed.family(), &sets[1])
        ),
        (1, 1)
    );
    let e = typed.with(&sets[2], |c| c.inc()).unwrap_err();
    assert!(matches!(e, Error::CardinalityLimit { .. }), "{e}");
}

#[test]
fn expired_series_revive_through_the_tables() {
    let registry = Registry::new();
    let typed = registry
        .counter_vec(
            Opts::new("processed_total", "Processed.").expire_after(std::time::Duration::ZERO),
            Processed::NAMES,
        )
        .unwrap()
        .typed::<Processed>()
        .unwrap();
    let labels = Processed {
        handler: Handler::Invoices,
        status: Status::Nacked,
        redelivered: true,
    };
    typed.with(&labels, |c| c.inc()).unwrap();
    registry.expire_idle();
    registry.expire_idle();
    assert!(typed.family().is_empty(), "expired");
    // The thread's table still holds it: the write revives it, whole.
    typed.with(&labels, |c| c.inc()).unwrap();
    registry.expire_idle();
    assert_eq!(value(typed.family(), &labels), 2);
}
