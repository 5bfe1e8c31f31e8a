//! Scrape benches (in progress).
fn main() {}
