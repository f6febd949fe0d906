//! Metrics in the Prometheus text exposition format.
//!
//! A small registry of counters and gauges with labels; [`Metrics::render`] writes what
//! `GET /metrics` serves. Names are prefixed `gavel_`.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
};

/// Whether a metric only goes up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

#[derive(Debug)]
struct Family {
    kind: Kind,
    help: &'static str,
    series: BTreeMap<String, f64>,
}

/// A shared registry (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    families: Arc<Mutex<BTreeMap<&'static str, Family>>>,
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

impl Metrics {
    fn with(&self, name: &'static str, kind: Kind, help: &'static str, f: impl FnOnce(&mut BTreeMap<String, f64>)) {
        let mut families = self.families.lock().expect("metrics lock");
        let family = families.entry(name).or_insert_with(|| Family { kind, help, series: BTreeMap::new() });
        f(&mut family.series);
    }

    /// Sets gauge `name{labels}` to `value`.
    pub fn gauge(&self, name: &'static str, help: &'static str, pairs: &[(&str, &str)], value: f64) {
        self.with(name, Kind::Gauge, help, |s| {
            s.insert(labels(pairs), value);
        });
    }

    /// Drops every series of gauge `name` (before re-setting the ones that still exist).
    pub fn clear(&self, name: &'static str) {
        if let Some(f) = self.families.lock().expect("metrics lock").get_mut(name) {
            f.series.clear();
        }
    }

    /// Adds `by` to counter `name{labels}`.
    pub fn inc(&self, name: &'static str, help: &'static str, pairs: &[(&str, &str)], by: f64) {
        self.with(name, Kind::Counter, help, |s| {
            *s.entry(labels(pairs)).or_insert(0.0) += by;
        });
    }

    /// The current value of `name{labels}`, if set.
    pub fn value(&self, name: &str, pairs: &[(&str, &str)]) -> Option<f64> {
        self.families.lock().expect("metrics lock").get(name)?.series.get(&labels(pairs)).copied()
    }

    /// Every metric in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let families = self.families.lock().expect("metrics lock");
        let mut out = String::new();
        for (name, f) in families.iter() {
            let kind = match f.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            let _ = writeln!(out, "# HELP {name} {}", f.help);
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, v) in &f.series {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_prometheus_text_format() {
        let m = Metrics::default();
        m.inc("gavel_txs_total", "Transactions sent.", &[("action", "claim")], 1.0);
        m.inc("gavel_txs_total", "Transactions sent.", &[("action", "claim")], 2.0);
        m.gauge("gavel_jobs", "Jobs by stage.", &[("stage", "sub\"mitted")], 4.0);
        m.gauge("gavel_head_block", "Head.", &[], 12.0);
        let text = m.render();
        assert!(text.contains("# TYPE gavel_txs_total counter\ngavel_txs_total{action=\"claim\"} 3\n"), "{text}");
        assert!(text.contains("gavel_jobs{stage=\"sub\\\"mitted\"} 4\n"), "{text}");
        assert!(text.contains("# HELP gavel_head_block Head.\n# TYPE gavel_head_block gauge\ngavel_head_block 12\n"));
        assert_eq!(m.value("gavel_txs_total", &[("action", "claim")]), Some(3.0));
        m.clear("gavel_jobs");
        assert!(!m.render().contains("gavel_jobs{"));
    }
}
