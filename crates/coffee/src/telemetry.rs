//! Traces over OpenTelemetry's OTLP exporter, configured by the standard variables and off
//! when none is set:
//!
//! - `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL, `/v1/traces` is appended) or
//!   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as given) turns them on;
//! - `OTEL_EXPORTER_OTLP_PROTOCOL` (or `..._TRACES_PROTOCOL`): `http/protobuf` (the default)
//!   or `http/json`; `grpc` is refused at start, as this build has no gRPC client (collectors
//!   take OTLP/HTTP on port 4318);
//! - `OTEL_SERVICE_NAME` names the process (default `coffee-<command>`), and the SDK reads the
//!   rest (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_SDK_DISABLED`, ...).
//!
//! The spans (coffee_bus::trace::spans, coffee_http::traced): each request; each event's commit,
//! the relay's send to NATS and each consumer's processing, all in the order's trace (its trace
//! id is the order's id), linked to the request that started them.

use anyhow::{Context, bail};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracerProvider};

/// The installed provider, flushed at the end.
pub struct Telemetry(Option<SdkTracerProvider>);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Installs the exporter if the environment asks for one. Call before the async runtime starts:
/// the exporter's blocking HTTP client lives on the batch processor's own thread.
pub fn init(command: &str) -> anyhow::Result<Telemetry> {
    let endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"));
    let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if endpoint.is_none() || disabled {
        return Ok(Telemetry(None));
    }
    let protocol_var = var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"));
    let protocol = match protocol_var.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("http/protobuf") => Protocol::HttpBinary,
        Some("http/json") => Protocol::HttpJson,
        Some("grpc") => bail!(
            "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: this build exports OTLP over HTTP only; use http/protobuf or \
             http/json (an OpenTelemetry Collector takes both on port 4318)"
        ),
        Some(other) => bail!("OTEL_EXPORTER_OTLP_PROTOCOL={other}: use http/protobuf or http/json"),
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .build()
        .context("cannot set up the OTLP exporter (OTEL_EXPORTER_OTLP_ENDPOINT)")?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if var("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(format!("coffee-{command}"));
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_id_generator(ChosenIds::default())
        .with_resource(resource.build())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    coffee_bus::trace::spans::enable();
    Ok(Telemetry(Some(provider)))
}

impl Telemetry {
    /// Exports what is still buffered.
    pub fn shutdown(self) {
        if let Some(provider) = self.0
            && let Err(e) = provider.shutdown()
        {
            eprintln!("warning: could not export the last spans: {e}");
        }
    }
}

/// The ids a span was asked to have (the ones its events carry, see
/// `coffee_bus::trace::spans::chosen_ids`), else random ones.
#[derive(Debug, Default)]
struct ChosenIds(RandomIdGenerator);

impl IdGenerator for ChosenIds {
    fn new_trace_id(&self) -> TraceId {
        coffee_bus::trace::spans::chosen_ids()
            .map_or_else(|| self.0.new_trace_id(), |(trace, _)| TraceId::from_bytes(trace))
    }

    fn new_span_id(&self) -> SpanId {
        coffee_bus::trace::spans::chosen_ids()
            .map_or_else(|| self.0.new_span_id(), |(_, span)| SpanId::from_bytes(span))
    }
}
