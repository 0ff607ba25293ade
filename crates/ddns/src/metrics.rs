//! The Prometheus exposition of a server: the `metrics` recorder every library emits to,
//! plus what is read at scrape time — the DNS workers' counters summed, and each zone's serial
//! and size from the published snapshot.
//!
//! The DNS counters are absolute values set on the recorder's counters at each scrape. The
//! DNS histograms are summed from fixed per-worker buckets, which the recorder's histograms
//! (they keep every sample until a scrape) cannot take, so they are written with the
//! exporter's own formatting functions after its rendering.

use std::sync::Arc;

use anyhow::Context as _;
use ddns_dns::DnsMetrics;
use ddns_dns::metrics::{
    DnsTotals, HistogramTotals, LATENCY_BOUNDS_NS, QTYPE_SLOTS, RCODE_SLOTS, SIZE_BOUNDS,
    TransportTotals, qtype_label, rcode_label,
};
use ddns_http::MetricsSource;
use ddns_zones::Zones;
use metrics_exporter_prometheus::formatting::{
    write_help_line, write_metric_line, write_type_line,
};
use metrics_exporter_prometheus::{LabelSet, Matcher, PrometheusBuilder, PrometheusHandle};

/// Commit latency buckets, seconds: an fsync on an SSD takes a millisecond or so, on a
/// Raspberry Pi's SD card tens of milliseconds.
const COMMIT_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

/// What `/metrics` serves.
pub(crate) struct Exporter {
    handle: PrometheusHandle,
    dns: Arc<DnsMetrics>,
    zones: Arc<Zones>,
}

impl Exporter {
    /// Installs the process-wide recorder; call once, before the libraries emit anything.
    pub(crate) fn install(dns: Arc<DnsMetrics>, zones: Arc<Zones>) -> anyhow::Result<Self> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(ddns_zones::COMMIT_SECONDS.into()),
                &COMMIT_BUCKETS,
            )
            .context("commit latency buckets")?
            .install_recorder()
            .context("cannot install the metrics recorder")?;
        describe();
        Ok(Self { handle, dns, zones })
    }

    fn set_dns_counters(totals: &DnsTotals) {
        for (transport, t) in [("udp", &totals.udp), ("tcp", &totals.tcp)] {
            for q in 0..QTYPE_SLOTS {
                for r in 0..RCODE_SLOTS {
                    let n = t.queries[q][r];
                    if n > 0 {
                        metrics::counter!("ddns_dns_queries_total", "transport" => transport, "qtype" => qtype_label(q), "rcode" => rcode_label(r)).absolute(n);
                    }
                }
            }
            metrics::counter!("ddns_dns_rrl_dropped_total", "transport" => transport)
                .absolute(t.rrl_dropped);
            metrics::counter!("ddns_dns_rrl_slipped_total", "transport" => transport)
                .absolute(t.rrl_slipped);
        }
        for (r, &n) in totals.updates.iter().enumerate() {
            if n > 0 {
                // RFC 2136 answers are RCODEs; the HTTP protocols' results are lower case too.
                let result = rcode_label(r).to_ascii_lowercase();
                metrics::counter!(ddns_http::metrics::UPDATES, "protocol" => "rfc2136", "result" => result)
                    .absolute(n);
            }
        }
        metrics::counter!("ddns_dns_tcp_connections_total").absolute(totals.tcp_accepted);
        metrics::counter!("ddns_dns_tcp_connections_refused_total").absolute(totals.tcp_refused);
        metrics::gauge!("ddns_dns_tcp_connections_open").set(totals.tcp_open as f64);
        metrics::counter!("ddns_dns_udp_deferred_dropped_total")
            .absolute(totals.udp_deferred_dropped);
        metrics::counter!("ddns_dns_notify_sent_total").absolute(totals.notify_sent);
        metrics::counter!("ddns_dns_notify_answered_total").absolute(totals.notify_answered);
        metrics::counter!("ddns_dns_notify_failed_total").absolute(totals.notify_failed);
        metrics::counter!("ddns_dns_transfers_total", "type" => "axfr")
            .absolute(totals.axfr_served);
        metrics::counter!("ddns_dns_transfers_total", "type" => "ixfr")
            .absolute(totals.ixfr_served);
    }

    fn set_zone_gauges(&self) {
        let snapshot = self.zones.snapshot();
        for zone in snapshot.zones() {
            let name = zone.origin().as_str().to_owned();
            metrics::gauge!("ddns_zone_serial", "zone" => name.clone()).set(zone.serial().0);
            metrics::gauge!("ddns_zone_names", "zone" => name.clone())
                .set(zone.name_count() as f64);
            metrics::gauge!("ddns_zone_rrsets", "zone" => name).set(zone.rrset_count() as f64);
        }
        metrics::gauge!("ddns_ready").set(if self.zones.readiness().is_ok() {
            1.0
        } else {
            0.0
        });
    }
}

impl MetricsSource for Exporter {
    fn render(&self) -> String {
        let totals = self.dns.totals();
        Self::set_dns_counters(&totals);
        self.set_zone_gauges();
        let mut out = self.handle.render();
        let per_transport = [("udp", &totals.udp), ("tcp", &totals.tcp)];
        write_histogram(
            &mut out,
            "ddns_dns_response_size_bytes",
            "Size of DNS responses sent, octets.",
            &per_transport,
            |t: &TransportTotals| &t.size,
            &SIZE_BOUNDS,
            1.0,
        );
        write_histogram(
            &mut out,
            "ddns_dns_answer_duration_seconds",
            "Time from a DNS request read to its response written, seconds (sending excluded).",
            &per_transport,
            |t: &TransportTotals| &t.latency,
            &LATENCY_BOUNDS_NS,
            1e-9,
        );
        out
    }
}

/// One histogram family over the transports, cumulative buckets as the format wants;
/// `scale` turns the stored unit (octets, nanoseconds) into the exposed one.
fn write_histogram<const N: usize>(
    out: &mut String,
    name: &str,
    help: &str,
    per_transport: &[(&'static str, &TransportTotals)],
    pick: impl Fn(&TransportTotals) -> &HistogramTotals<N>,
    bounds: &[u64],
    scale: f64,
) {
    write_help_line(out, name, None, None, help);
    write_type_line(out, name, None, None, "histogram");
    for (transport, totals) in per_transport {
        let h = pick(totals);
        let labels = label_set(&[("transport", transport)]);
        let mut cumulative = 0;
        for (bound, count) in bounds.iter().zip(&h.buckets) {
            cumulative += count;
            let le = *bound as f64 * scale;
            write_metric_line(
                out,
                name,
                Some("bucket"),
                &labels,
                Some(("le", le)),
                cumulative,
                None,
            );
        }
        write_metric_line(
            out,
            name,
            Some("bucket"),
            &labels,
            Some(("le", "+Inf")),
            h.count(),
            None,
        );
        write_metric_line::<&str, f64>(
            out,
            name,
            Some("sum"),
            &labels,
            None,
            h.sum as f64 * scale,
            None,
        );
        write_metric_line::<&str, u64>(out, name, Some("count"), &labels, None, h.count(), None);
    }
}

fn label_set(labels: &[(&'static str, &'static str)]) -> LabelSet {
    let key = metrics::Key::from_parts(
        "",
        labels
            .iter()
            .map(|(k, v)| metrics::Label::new(*k, *v))
            .collect::<Vec<_>>(),
    );
    LabelSet::from_key_and_global(&key, &indexmap::IndexMap::new())
}

/// Help text of every metric kept through the recorder.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "ddns_dns_queries_total",
        "DNS responses sent, by transport, QTYPE and RCODE."
    );
    describe_counter!(
        "ddns_dns_rrl_dropped_total",
        "UDP answers not sent by response rate limiting."
    );
    describe_counter!(
        "ddns_dns_rrl_slipped_total",
        "UDP answers sent truncated (TC=1) by response rate limiting."
    );
    describe_counter!(
        "ddns_dns_tcp_connections_total",
        "DNS TCP connections accepted."
    );
    describe_counter!(
        "ddns_dns_tcp_connections_refused_total",
        "DNS TCP connections closed at once by the connection caps."
    );
    describe_gauge!("ddns_dns_tcp_connections_open", "DNS TCP connections open.");
    describe_counter!(
        "ddns_dns_udp_deferred_dropped_total",
        "Deferred UDP requests (TSIG, IXFR, UPDATE) dropped because too many were in hand."
    );
    describe_counter!(
        "ddns_dns_notify_sent_total",
        "NOTIFY messages sent, retries included."
    );
    describe_counter!(
        "ddns_dns_notify_answered_total",
        "NOTIFY messages answered without error."
    );
    describe_counter!(
        "ddns_dns_notify_failed_total",
        "NOTIFY messages never answered or answered with an error."
    );
    describe_counter!(
        "ddns_dns_transfers_total",
        "Zone transfers served: axfr (whole zone) or ixfr (differences)."
    );
    describe_counter!(
        ddns_http::metrics::UPDATES,
        "Updates answered, by protocol and result (good, nochg, success, or the error code)."
    );
    describe_counter!(
        ddns_http::metrics::AUTH_FAILURES,
        "Tokens refused (unknown, wrong, revoked, expired, or outside their subnets)."
    );
    describe_counter!(
        ddns_http::metrics::RATE_LIMITED,
        "HTTP requests refused by a rate limit, by limit."
    );
    describe_histogram!(
        ddns_zones::COMMIT_SECONDS,
        metrics::Unit::Seconds,
        "Store transaction of each group commit, fsync included."
    );
    describe_counter!(
        ddns_zones::COMMITTED_CHANGES,
        "Change sets committed (a group commit holds one or more)."
    );
    describe_gauge!("ddns_zone_serial", "SOA serial of each zone as served.");
    describe_gauge!(
        "ddns_zone_names",
        "Owner names in each zone's snapshot, empty non-terminals included."
    );
    describe_gauge!("ddns_zone_rrsets", "RRsets in each zone's snapshot.");
    describe_gauge!(
        "ddns_ready",
        "1 when the store is open and every zone is loaded (as /readyz)."
    );
}
