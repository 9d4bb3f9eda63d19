//! W3C trace context (`traceparent`), carried on every event so that one order's saga can
//! be followed from the HTTP request that started it through every service's reaction.

use std::fmt::Write as _;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

impl TraceContext {
    pub fn new_root() -> Self {
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        rand::fill(&mut trace_id);
        rand::fill(&mut span_id);
        Self { trace_id, span_id }
    }

    /// A new span in the same trace.
    pub fn child(&self) -> Self {
        let mut span_id = [0u8; 8];
        rand::fill(&mut span_id);
        Self { trace_id: self.trace_id, span_id }
    }

    /// Parses `00-<32 hex>-<16 hex>-<2 hex>`; anything else (or all-zero ids, which the
    /// spec forbids) is `None`, and the caller starts a new trace.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version.len() != 2 || flags.len() != 2 || version == "ff" {
            return None;
        }
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        hex::decode_to_slice(trace, &mut trace_id).ok()?;
        hex::decode_to_slice(span, &mut span_id).ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self { trace_id, span_id })
    }

    pub fn to_traceparent(&self) -> String {
        let mut s = String::with_capacity(55);
        s.push_str("00-");
        for b in self.trace_id {
            let _ = write!(s, "{b:02x}");
        }
        s.push('-');
        for b in self.span_id {
            let _ = write!(s, "{b:02x}");
        }
        s.push_str("-01");
        s
    }
}

impl TraceContext {
    /// A new span in the order's own trace: its trace id is the order's id (a UUID is 16 bytes,
    /// as a trace id is), so every event about one order, and every handling of it, in every
    /// service, falls into one trace.
    pub fn of_order(order_id: uuid::Uuid) -> Self {
        let mut span_id = [0u8; 8];
        rand::fill(&mut span_id);
        Self { trace_id: *order_id.as_bytes(), span_id }
    }

    /// As OpenTelemetry's span context of a remote parent.
    pub fn span_context(&self) -> SpanContext {
        SpanContext::new(
            TraceId::from_bytes(self.trace_id),
            SpanId::from_bytes(self.span_id),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        )
    }
}

/// Spans, exported with OpenTelemetry's API: nothing happens until the binary installs a
/// tracer provider (`OTEL_EXPORTER_OTLP_ENDPOINT`), so the libraries cost next to nothing
/// without one.
pub mod spans {
    use std::borrow::Cow;
    use std::time::SystemTime;

    use opentelemetry::trace::{Link, Span as _, SpanKind, TraceContextExt, Tracer as _};
    use opentelemetry::{Context, KeyValue, global};

    use super::TraceContext;

    pub use opentelemetry::global::BoxedSpan as Span;
    pub use opentelemetry::trace::{SpanKind as Kind, Status};

    static ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    /// Called by the binary once it has installed an exporter. Until then callers skip their
    /// spans entirely: building a no-op span per commit, handling and request (names, attributes,
    /// a copy of each delivered event) cost the embedded mode 4 to 17 % of its sagas a second
    /// (BENCHMARKS.md, "Traces").
    pub fn enable() {
        ENABLED.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether spans are exported (see [`enable`]).
    pub fn enabled() -> bool {
        ENABLED.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts the span `this` (its own trace and span id), under `parent` when it has one in
    /// the same trace, else as a root of `this`'s trace linked to `parent` (a request that
    /// caused an order's event: the request has its own trace).
    pub fn start(
        name: impl Into<Cow<'static, str>>,
        kind: SpanKind,
        this: &TraceContext,
        parent: Option<&TraceContext>,
        start: Option<SystemTime>,
        attributes: Vec<KeyValue>,
    ) -> Span {
        let tracer = global::tracer("coffee");
        let mut builder = tracer.span_builder(name).with_kind(kind).with_attributes(attributes);
        if let Some(at) = start {
            builder = builder.with_start_time(at);
        }
        let context = match parent {
            Some(p) if p.trace_id == this.trace_id => Context::new().with_remote_span_context(p.span_context()),
            Some(p) => {
                builder = builder.with_links(vec![Link::with_context(p.span_context())]);
                Context::new()
            }
            None => Context::new(),
        };
        // The span's ids are the ones the events already carry: the SDK takes them from here
        // (see [`chosen_ids`]) while it builds the span, on this thread.
        WANTED.with(|w| w.set(Some((this.trace_id, this.span_id))));
        let span = builder.start_with_context(&tracer, &context);
        WANTED.with(|w| w.set(None));
        span
    }

    thread_local! {
        static WANTED: std::cell::Cell<Option<([u8; 16], [u8; 8])>> = const { std::cell::Cell::new(None) };
    }

    /// The ids [`start`] wants for the span being built on this thread, if any: the binary's
    /// id generator gives these instead of random ones, so a span exported is the span that the
    /// events' `traceparent` names.
    pub fn chosen_ids() -> Option<([u8; 16], [u8; 8])> {
        WANTED.with(std::cell::Cell::get)
    }

    /// Ends `span` as failed with `error`, or as fine.
    pub fn end(mut span: Span, error: Option<String>) {
        if let Some(e) = error {
            span.set_status(Status::error(e));
        }
        span.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_round_trips_and_garbage_is_refused() {
        let t = TraceContext::new_root();
        assert_eq!(TraceContext::parse(&t.to_traceparent()), Some(t));
        let spec_example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(TraceContext::parse(spec_example).map(|t| t.to_traceparent()), Some(spec_example.to_owned()));
        for bad in ["", "00-xyz-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
    }
}
