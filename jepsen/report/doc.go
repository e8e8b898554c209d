// Package report writes what a fault-injection run did and what the
// checkers found into one directory: the raw history as JSON for tools,
// summary.txt for a terminal, and index.html, a self-contained page (inline
// CSS and SVG, no scripts) with latency and throughput charts shaded by the
// fault windows. It also renders the one-line and matrix summaries a suite
// prints across runs.
package report
