//! The label values: methods and routes from a bounded set, never the raw
//! path, and status codes.

/// The `method` value of a method outside the nine of RFC 9110 and RFC
/// 5789 (`PATCH`): any token is a valid method, so extension methods
/// share one value, as OpenTelemetry's `http.request.method` does.
pub const OTHER_METHOD: &str = "_OTHER";

/// The `path` value of a request no route template names: the raw path is
/// unbounded (every `/users/{id}` a series of its own), so it is never a
/// label value.
pub const UNMATCHED: &str = "<unmatched>";

/// The `method` label value of `method`.
pub(crate) fn method_label(method: &http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "CONNECT" => "CONNECT",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "PATCH" => "PATCH",
        _ => OTHER_METHOD,
    }
}

/// Status classes, `1xx` to `9xx` (`http` accepts codes 100 to 999).
const CLASSES: [&str; 9] = [
    "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx",
];

/// The `status_code` label value of `status`, by class when `grouped`.
pub(crate) fn status_label(status: &http::StatusCode, grouped: bool) -> &str {
    if !grouped {
        return status.as_str();
    }
    // 100..=999, so the class is 1..=9.
    let class = usize::from(status.as_u16() / 100).clamp(1, CLASSES.len());
    CLASSES[class - 1]
}

/// A request's route: a template, or none.
#[derive(Clone, Debug)]
pub(crate) enum Route {
    /// From the layer's [`RouteFn`](crate::RouteFn).
    Static(&'static str),
    /// axum's route template (a reference-counted string: cloning it
    /// allocates nothing).
    #[cfg(feature = "axum")]
    Matched(axum::extract::MatchedPath),
    /// No template.
    Unmatched,
}

impl Route {
    /// axum's `MatchedPath`, if the request carries one.
    #[cfg_attr(not(feature = "axum"), allow(unused_variables))]
    pub(crate) fn matched(extensions: &http::Extensions) -> Route {
        #[cfg(feature = "axum")]
        if let Some(m) = extensions.get::<axum::extract::MatchedPath>() {
            return Route::Matched(m.clone());
        }
        Route::Unmatched
    }

    /// The template, if there is one.
    pub(crate) fn template(&self) -> Option<&str> {
        match self {
            Route::Static(s) => Some(s),
            #[cfg(feature = "axum")]
            Route::Matched(m) => Some(m.as_str()),
            Route::Unmatched => None,
        }
    }

    /// The `path` label value.
    pub(crate) fn label(&self) -> &str {
        self.template().unwrap_or(UNMATCHED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Method, StatusCode};

    #[test]
    fn extension_methods_share_one_value() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let purge = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method_label(&purge), OTHER_METHOD);
        let lower = Method::from_bytes(b"get").unwrap();
        assert_eq!(
            method_label(&lower),
            OTHER_METHOD,
            "methods are case-sensitive"
        );
    }

    #[test]
    fn status_codes_by_code_or_by_class() {
        assert_eq!(status_label(&StatusCode::OK, false), "200");
        assert_eq!(status_label(&StatusCode::IM_A_TEAPOT, false), "418");
        assert_eq!(
            status_label(&StatusCode::from_u16(599).unwrap(), false),
            "599"
        );
        assert_eq!(status_label(&StatusCode::OK, true), "2xx");
        assert_eq!(status_label(&StatusCode::CONTINUE, true), "1xx");
        assert_eq!(
            status_label(&StatusCode::from_u16(999).unwrap(), true),
            "9xx"
        );
        assert_eq!(
            status_label(&StatusCode::from_u16(100).unwrap(), true),
            "1xx"
        );
    }
}
