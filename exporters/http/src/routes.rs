//! The standalone [`Server`](crate::Server)'s routes: the scrape path
//! (`/metrics` unless set), the landing page `/`, `/health` and `/stats`. A mounted
//! [`MetricsService`](crate::MetricsService) has none of them: its router
//! chose the path, so it scrapes on every one.

use bytes::Bytes;

/// Where the standalone server scrapes unless
/// [`ServerBuilder::path`](crate::ServerBuilder::path) says otherwise.
pub(crate) const DEFAULT_PATH: &str = "/metrics";
/// The liveness route; open even when authentication is required.
const HEALTH_PATH: &str = "/health";
/// The JSON state route, served only when a
/// [`StatsJson`](crate::StatsJson) is set.
pub(crate) const STATS_PATH: &str = "/stats";

/// What a request's path selects.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Route<'a> {
    Metrics,
    /// The landing page, with its HTML.
    Landing(&'a Bytes),
    Health,
    Stats,
    NotFound,
}

/// The standalone server's routes, made once at start.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    path: Box<str>,
    /// The HTML page at `/`, linking `path`; none when `path` is `/`.
    landing: Option<Bytes>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new(DEFAULT_PATH).unwrap_or_else(|_| unreachable!("the default path is valid"))
    }
}

impl Routes {
    /// Routes with the scrape at `path`: it must start with `/` and hold
    /// only the characters a URI path may carry unescaped (RFC 3986
    /// `pchar`, without `%`), and cannot be `/health`. The path `/` takes
    /// the landing page's place.
    pub(crate) fn new(path: &str) -> Result<Self, String> {
        if !path.starts_with('/') {
            return Err(format!("the metrics path {path:?} must start with '/'"));
        }
        if let Some(c) = path.chars().find(|&c| !is_path_char(c)) {
            return Err(format!(
                "the metrics path {path:?} holds {c:?}; use letters, digits, '/' and \
                 -._~!$&'()*+,;=:@ (no query, fragment or percent-escapes)"
            ));
        }
        if path == HEALTH_PATH {
            return Err(format!(
                "the metrics path cannot be {HEALTH_PATH}: that is the liveness route"
            ));
        }
        let landing = (path != "/").then(|| Bytes::from(landing_page(path)));
        Ok(Self {
            path: path.into(),
            landing,
        })
    }

    /// Whether the scrape is at `path`.
    pub(crate) fn scrapes_at(&self, path: &str) -> bool {
        &*self.path == path
    }

    /// The route of a request for `path` (the query is not part of it).
    pub(crate) fn route(&self, path: &str) -> Route<'_> {
        if path == &*self.path {
            Route::Metrics
        } else if let (Some(page), "/") = (&self.landing, path) {
            Route::Landing(page)
        } else if path == HEALTH_PATH {
            Route::Health
        } else if path == STATS_PATH {
            Route::Stats
        } else {
            Route::NotFound
        }
    }
}

/// RFC 3986 `pchar` without percent-escapes, or `/`.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/-._~!$&'()*+,;=:@".contains(c)
}

/// The page at `/`: a link to the scrape. `path` holds only
/// [`is_path_char`] characters, of which `&` is the only one HTML
/// attributes in double quotes need escaped.
fn landing_page(path: &str) -> String {
    let href = path.replace('&', "&amp;");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>hotmetrics</title></head>\n<body>\n<h1>hotmetrics</h1>\n<p><a href=\"{href}\">Metrics</a></p>\n</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The landing page of `routes`.
    fn landing(routes: &Routes) -> &str {
        match routes.route("/") {
            Route::Landing(page) => std::str::from_utf8(page).unwrap(),
            other => panic!("/ is {other:?}"),
        }
    }

    #[test]
    fn default_routes() {
        let routes = Routes::default();
        assert_eq!(routes.route("/metrics"), Route::Metrics);
        assert_eq!(routes.route("/health"), Route::Health);
        assert_eq!(routes.route("/stats"), Route::Stats);
        for other in ["/metrics/", "/metricsx", "//metrics", "/health/x", ""] {
            assert_eq!(routes.route(other), Route::NotFound, "{other:?}");
        }
        let page = landing(&routes);
        assert!(page.contains("<a href=\"/metrics\">Metrics</a>"), "{page}");
    }

    #[test]
    fn custom_paths() {
        let routes = Routes::new("/internal/metrics").unwrap();
        assert_eq!(routes.route("/internal/metrics"), Route::Metrics);
        assert_eq!(routes.route("/metrics"), Route::NotFound);
        assert!(landing(&routes).contains("<a href=\"/internal/metrics\">"));
        assert_eq!(routes.route("/health"), Route::Health);

        let routes = Routes::new("/a&b").unwrap();
        let page = landing(&routes);
        assert!(page.contains("<a href=\"/a&amp;b\">"), "{page}");

        // `/` scrapes instead of showing the landing page.
        // A scrape path of `/stats` keeps it (the builder refuses it only
        // when a stats view is set).
        assert_eq!(
            Routes::new("/stats").unwrap().route("/stats"),
            Route::Metrics
        );

        let root = Routes::new("/").unwrap();
        assert_eq!(root.route("/"), Route::Metrics);
        assert_eq!(root.route("/health"), Route::Health);
    }

    #[test]
    fn bad_paths_are_refused() {
        for (path, why) in [
            ("metrics", "must start with '/'"),
            ("", "must start with '/'"),
            ("/m?x=1", "holds '?'"),
            ("/m#x", "holds '#'"),
            ("/m%20x", "holds '%'"),
            ("/m x", "holds ' '"),
            ("/m\"x", "holds '\"'"),
            ("/mé", "holds 'é'"),
            ("/health", "liveness route"),
        ] {
            let err = Routes::new(path).unwrap_err();
            assert!(err.contains(why), "{path:?}: {err}");
        }
    }
}
