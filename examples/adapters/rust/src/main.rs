//! The Rust SDK adapter example: a gateway-like host whose
//! opentelemetry_sdk exports over OTLP/HTTP protobuf (configured by the
//! standard OTEL_* variables) runs one invocation of the pii_filter plugin,
//! in process, whose spans and metrics reach the host's exporters through
//! `ptel::sdk`. Prints the request's trace id.
//!
//! ```sh
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=gateway \
//!   bash examples/adapters/rust/run.sh
//! ```

mod flow;
mod plugin;

use std::process::ExitCode;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{MetricExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider};
use opentelemetry_sdk::Resource;

fn main() -> ExitCode {
    match run() {
        Ok(trace_id) => {
            println!("trace_id={trace_id}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("adapter example: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, Box<dyn std::error::Error>> {
    // Endpoints, headers and timeouts from OTEL_EXPORTER_OTLP_*.
    let span_exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()?;
    let metric_exporter = MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()?;
    // service.name from OTEL_SERVICE_NAME (the SDK's default detectors).
    let resource = Resource::builder().build();

    // The one line ptel asks of the host's set-up: wrap the processor.
    let plugin_spans = ptel::sdk::PluginSpans::new();
    let traces = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_span_processor(plugin_spans.wrap(BatchSpanProcessor::builder(span_exporter).build()))
        .build();
    let meters = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(PeriodicReader::builder(metric_exporter).build())
        .build();
    let adapter = ptel::sdk::Adapter::new(traces.tracer("gateway"), plugin_spans)
        .with_meter_provider(meters.clone());

    let request = flow::gateway_request(&traces.tracer("gateway"), &adapter)?;
    if request.report.rejected {
        return Err(format!("plugin payload rejected: {:?}", request.report).into());
    }
    // Shutting down flushes both exporters.
    traces.shutdown()?;
    meters.shutdown()?;
    Ok(request.trace_id)
}
