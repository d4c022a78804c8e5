// Command otelcol-ptel is the smallest OpenTelemetry Collector the ptel
// integration test needs: the OTLP receiver and the contrib file exporter,
// assembled from the collector's official Go modules the way the collector
// builder (ocb) would, so the test runs against the real receiver code.
//
// Its own internal telemetry is a logger to stderr and no-op meter and
// tracer providers instead of the standard otelconftelemetry: that one
// would serve metrics on a fixed port (a clash between parallel runs) and
// pulls in cloud resource detectors and a Kubernetes client that more than
// double a cold build.
package main

import (
	"context"
	"log"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry"
	"go.uber.org/zap"
)

// telemetryConfig is the `service.telemetry` section: none is accepted.
type telemetryConfig struct{}

func stderrLogger(_ context.Context, _ telemetry.LoggerSettings, _ component.Config) (
	*zap.Logger, component.ShutdownFunc, error,
) {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	cfg.Encoding = "console"
	logger, err := cfg.Build()
	if err != nil {
		return nil, nil, err
	}
	return logger, func(context.Context) error { _ = logger.Sync(); return nil }, nil
}

func factories() (otelcol.Factories, error) {
	receivers, err := otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory())
	if err != nil {
		return otelcol.Factories{}, err
	}
	exporters, err := otelcol.MakeFactoryMap[exporter.Factory](fileexporter.NewFactory())
	if err != nil {
		return otelcol.Factories{}, err
	}
	return otelcol.Factories{
		Receivers: receivers,
		Exporters: exporters,
		Telemetry: telemetry.NewFactory(
			func() component.Config { return &telemetryConfig{} },
			telemetry.WithCreateLogger(stderrLogger)),
	}, nil
}

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol-ptel",
			Description: "OTLP receiver and file exporter for the ptel integration test",
			Version:     "0.161.0",
		},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(), envprovider.NewFactory(),
				},
				// ${NAME} in a config means the environment variable.
				DefaultScheme: "env",
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		log.Fatalf("collector: %v", err)
	}
}
