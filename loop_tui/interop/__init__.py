"""Interop with other tools: an OpenTelemetry (OTLP/HTTP) receiver and importers of other tools' files.

Nothing here imports Textual. `otel_mapping` is the one place that maps OpenTelemetry spans (GenAI
semantic conventions and OpenInference) to Braintrust span rows; the receiver and the OTLP file importer
both go through it.
"""
