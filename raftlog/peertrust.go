package raftlog

import (
	"sync/atomic"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// peerTrust decides which coordinator node IDs may talk to this node: over
// the Raft transport (both directions) and, through Node.IsMember, as
// coordinators on its gRPC port. The allowed set at any moment is
//
//	this node ∪ Config.Peers (static, from --peers) ∪ the latest Raft
//	configuration (committed or not)
//
// A fresh node has no configuration until bootstrap or, with Join, until
// the leader's first AppendEntries: Config.Peers names the cluster it
// joins, so that leader is trusted. A leader adding a node appends the new
// configuration before it replicates to it, so the new member is trusted
// by the time the leader dials it; followers trust it once that entry
// reaches them. See DESIGN.md ("Who may speak Raft").
type peerTrust struct {
	static map[string]bool
	raft   atomic.Pointer[raft.Raft]
	log    *zap.Logger
}

func newPeerTrust(cfg Config, log *zap.Logger) *peerTrust {
	t := &peerTrust{static: map[string]bool{cfg.ID: true}, log: log}
	for _, p := range cfg.Peers {
		t.static[p.ID] = true
	}
	return t
}

// bind makes the latest configuration of r count from now on.
func (t *peerTrust) bind(r *raft.Raft) { t.raft.Store(r) }

// isMember reports whether id is in the allowed set.
func (t *peerTrust) isMember(id string) bool {
	if t.static[id] {
		return true
	}
	r := t.raft.Load()
	if r == nil {
		return false
	}
	f := r.GetConfiguration() // answered at once from raft's latest configuration
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return true
		}
	}
	return false
}

// check is the identity check for the Raft transport: a member coordinator
// only. A refusal is logged; hashicorp/raft itself only sees a broken
// connection.
func (t *peerTrust) check(id security.Identity) error {
	err := security.MemberCheck(t.isMember)(id)
	if err != nil {
		t.log.Warn("raft connection refused", zap.String("peer", id.String()), zap.Error(err))
	}
	return err
}

// IsMember reports whether a coordinator with this node ID may talk to this
// node: this node, a static peer (Config.Peers) or a server in the latest
// Raft configuration. The coordinator applies the same rule to coordinator
// certificates on its gRPC port.
func (n *Node) IsMember(nodeID string) bool { return n.trust.isMember(nodeID) }

// TLS is the certificate source Raft traffic uses (Config.TLS), nil when
// Raft runs in plaintext (--insecure). The coordinator dials participants
// and peers with it.
func (n *Node) TLS() *security.Source { return n.cfg.TLS }
