package main

import (
	"os"
	"testing"
	"time"
)

func TestParseCPUTicks(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want uint64
		bad  bool
	}{
		{"plain", "1234 (bank) S 1 1234 1234 0 -1 4194560 500 0 0 0 170 30 0 0 20 0 8 0 100 0 0", 200, false},
		{"spaces and parens in the name", "42 (a (b) c) R 1 42 42 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 5", 15, false},
		{"no name", "42 R 1 2 3", 0, true},
		{"truncated", "42 (x) R 1 42 42 0 -1 0 0 0 0 0 7", 0, true},
		{"not a number", "42 (x) R 1 42 42 0 -1 0 0 0 0 0 seven 8 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCPUTicks([]byte(tt.stat))
			if (err != nil) != tt.bad || got != tt.want {
				t.Fatalf("parseCPUTicks = %d, %v; want %d, error %v", got, err, tt.want, tt.bad)
			}
		})
	}
}

func TestCPUSecondsOfThisProcessGrows(t *testing.T) {
	before, err := cpuSeconds([]int{0, os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	after, err := cpuSeconds([]int{0, os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("CPU seconds did not grow after a busy loop: %v then %v", before, after)
	}
}

func TestParseRSSBytes(t *testing.T) {
	got, err := parseRSSBytes([]byte("Name:\tbank\nVmPeak:\t 9000 kB\nVmRSS:\t   20480 kB\nThreads:\t8\n"))
	if err != nil || got != 20480*1024 {
		t.Fatalf("parseRSSBytes = %d, %v; want %d", got, err, 20480*1024)
	}
	if _, err := parseRSSBytes([]byte("Name:\tkthreadd\n")); err == nil {
		t.Fatal("parseRSSBytes accepted a status without VmRSS")
	}
	if _, err := rssBytes(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}
