// Package metering collects the metrics that declared applications'
// containers publish and re-exposes them, every sample labelled with its
// application and container: the metering feature of the WebOTX operator
// (the WebOTX operator's metering API) for plain Docker engines.
//
// A [Scraper] scrapes each [Target] (one container's metrics endpoint) on
// its interval with a timeout, at most Config.MaxConcurrent at once,
// parsing the Prometheus text format, OpenMetrics or delimited protobuf
// with github.com/prometheus/common/expfmt. It keeps the last good samples
// of every target with when they were taken and the last error. A target
// whose scrapes fail keeps its error (see [Scraper.Status]) and its last
// samples for [StaleAfter] of its intervals; after that they are dropped,
// so a replica that is gone or hung disappears from the output instead of
// reporting old values for ever.
//
// [Scraper.Write] renders what is kept, for every application or one, as
// the Prometheus text format (# TYPE before # HELP, as that API prints it) or
// as that API's JSON:
//
//	{"<app>": [{"name": "...", "help": "...", "type": "counter",
//	            "metrics": [{"labels": {"app": "<app>", "container": "<container>", ...}, "value": "1"}]}]}
//
// Every sample keeps its own labels and gains app=<application> and
// container=<container>; a scraped label already named app or container is
// renamed exported_app or exported_container, as Prometheus does without
// honor_labels. Values are strings in the JSON; summaries carry
// "quantiles", "count" and "sum", histograms "buckets", "count" and "sum"
// instead of "value" (the prom2json shape). Types are written in lower
// case, as in the text format.
//
// [Discover] finds the targets on an engine: running containers labelled
// minato.app=<name> and minato.metering.port=<port> (with optional
// minato.metering.path, .scheme and .interval), which the application
// reconciler sets on the replicas of an application whose metering is
// enabled.
package metering
