// Package debugserver serves Go's profiler for the binaries in cmd/.
package debugserver
