package main

import (
	"fmt"
	"strings"

	"github.com/arbiter-tx/arbiter/raftlog"
)

// parseMembers reads --peers: comma-separated ID=RAFT_ADDR/GRPC_ADDR.
func parseMembers(s string) ([]raftlog.Peer, map[string]string, error) {
	var peers []raftlog.Peer
	grpcAddrs := make(map[string]string)
	for _, item := range strings.Split(s, ",") {
		id, addrs, ok := strings.Cut(strings.TrimSpace(item), "=")
		raftAddr, grpcAddr, ok2 := strings.Cut(addrs, "/")
		if !ok || !ok2 || id == "" || raftAddr == "" || grpcAddr == "" {
			return nil, nil, fmt.Errorf("--peers entry %q: want ID=RAFT_ADDR/GRPC_ADDR, e.g. n1=127.0.0.1:7001/127.0.0.1:8001", item)
		}
		if _, dup := grpcAddrs[id]; dup {
			return nil, nil, fmt.Errorf("--peers: node ID %q appears twice", id)
		}
		peers = append(peers, raftlog.Peer{ID: id, Address: raftAddr})
		grpcAddrs[id] = grpcAddr
	}
	return peers, grpcAddrs, nil
}
