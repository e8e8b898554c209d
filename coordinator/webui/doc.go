// Package webui serves a read-only status page for one coordinator node: the
// cluster as this node sees it (members, leader, term, commit and applied
// index), the open transactions with the in-doubt ones first, and a
// throughput sparkline.
//
// The page is three embedded static files (index.html, app.js, style.css)
// with no third-party code. app.js polls two JSON endpoints every second:
//
//	GET /api/status        this node's ClusterResponse plus throughput samples
//	GET /api/transactions  the open transactions, classified (see Classify)
//
// Throughput is computed on the server: each /api/status request at least
// SampleEvery after the previous sample records (time, applied index) in a
// small ring, and the response carries the applied-entries-per-second rate
// between consecutive samples. Computing it on the server means every viewer
// sees the same history from its first poll. The rate counts Raft log
// entries, not transactions (a transaction takes several entries).
//
// The handler starts no goroutines; it holds only the sample ring. All
// strings reach the DOM through textContent, and a Content-Security-Policy
// forbids inline script, so data from the table cannot inject markup.
package webui
