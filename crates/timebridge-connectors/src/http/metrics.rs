//! Counts and timings of every remote call, by connector, route and status, for the
//! Prometheus endpoint and the benchmarks.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The labels of one series.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallLabels {
    /// The connector's name (as configured by the admin).
    pub connector: String,
    /// The route template, e.g. `GET /api/timesheets`.
    pub route: &'static str,
    /// The HTTP status, or `error` when no answer arrived.
    pub status: String,
}

/// Accumulated calls of one series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStats {
    pub count: u64,
    pub seconds_sum: f64,
    /// Cumulative counts per [`BUCKETS`] bound.
    pub buckets: [u64; BUCKETS.len()],
}

/// The registry of call statistics; one per process, shared by all connectors.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    series: Mutex<BTreeMap<CallLabels, CallStats>>,
}

impl HttpMetrics {
    /// Records one attempt.
    pub fn record(
        &self,
        connector: &str,
        route: &'static str,
        status: Option<u16>,
        took: Duration,
    ) {
        let labels = CallLabels {
            connector: connector.to_owned(),
            route,
            status: status.map_or_else(|| "error".to_owned(), |s| s.to_string()),
        };
        let secs = took.as_secs_f64();
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let s = series.entry(labels).or_default();
        s.count += 1;
        s.seconds_sum += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// A copy of every series.
    pub fn snapshot(&self) -> BTreeMap<CallLabels, CallStats> {
        self.series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Total calls of one connector (all routes and statuses).
    pub fn total_for(&self, connector: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(l, _)| l.connector == connector)
            .map(|(_, s)| s.count)
            .sum()
    }

    /// Calls of one connector and route (all statuses).
    pub fn count(&self, connector: &str, route: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(l, _)| l.connector == connector && l.route == route)
            .map(|(_, s)| s.count)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_connector_route_and_status() {
        let m = HttpMetrics::default();
        m.record("k", "GET /api/x", Some(200), Duration::from_millis(3));
        m.record("k", "GET /api/x", Some(200), Duration::from_millis(60));
        m.record("k", "GET /api/x", None, Duration::from_secs(31));
        let snap = m.snapshot();
        let ok = &snap[&CallLabels {
            connector: "k".into(),
            route: "GET /api/x",
            status: "200".into(),
        }];
        assert_eq!(ok.count, 2);
        assert_eq!(ok.buckets[0], 1);
        assert_eq!(ok.buckets[4], 2);
        assert_eq!(m.count("k", "GET /api/x"), 3);
        assert_eq!(m.total_for("other"), 0);
    }
}
