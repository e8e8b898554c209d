package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/arbiter-tx/arbiter/internal/security"
)

type certsFlags struct {
	dir                                         string
	coordinators, participants, clients, admins string
	hosts                                       string
	validity                                    time.Duration
}

func certsCmd() *cobra.Command {
	var f certsFlags
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Create a development CA and one certificate per identity (mutual TLS for a local cluster)",
		Long: `Create a development certificate authority (ECDSA P-256) in --dir, or reuse
the one there (ca.crt, ca.key), and issue one certificate per identity:
<role>-<id>.crt and <role>-<id>.key, with the URI SAN arbiter://<role>/<id>
and every --hosts entry as an IP or DNS SAN. Point each process at its
files with --tls-cert, --tls-key and --tls-ca (DIR/ca.crt). For local use
only: production clusters use their own PKI with the same URI SANs.`,
		Example: `  arbiter certs --dir certs --coordinators n1,n2,n3 --participants bank1,bank2,bank3 \
    --clients demo --admins admin --hosts 127.0.0.1,localhost`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd.Flags()); err != nil {
				return err
			}
			return makeCerts(f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.dir, "dir", "certs", "directory for the CA and the certificates")
	fs.StringVar(&f.coordinators, "coordinators", "n1,n2,n3", "coordinator node IDs, comma-separated")
	fs.StringVar(&f.participants, "participants", "", "participant IDs, comma-separated")
	fs.StringVar(&f.clients, "clients", "", "client IDs, comma-separated")
	fs.StringVar(&f.admins, "admins", "admin", "admin names, comma-separated")
	fs.StringVar(&f.hosts, "hosts", "127.0.0.1,::1,localhost", "IP addresses and DNS names every certificate names, comma-separated (every address a process is dialled at)")
	fs.DurationVar(&f.validity, "validity", 365*24*time.Hour, "how long the certificates are valid")
	return cmd
}

func makeCerts(f certsFlags) error {
	ca, err := openCA(f.dir, f.validity)
	if err != nil {
		return err
	}
	hosts := split(f.hosts)
	n := 0
	for role, ids := range map[security.Role]string{
		security.RoleCoordinator: f.coordinators, security.RoleParticipant: f.participants,
		security.RoleClient: f.clients, security.RoleAdmin: f.admins,
	} {
		for _, id := range split(ids) {
			if _, err := ca.WriteIdentity(f.dir, security.Identity{Role: role, ID: id}, hosts, f.validity); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Printf("wrote %s/ca.crt and %d certificates (<role>-<id>.crt/.key) for hosts %s\n", f.dir, n, strings.Join(hosts, ","))
	return nil
}

// openCA reuses DIR/ca.crt + ca.key, or creates them.
func openCA(dir string, validity time.Duration) (*security.CA, error) {
	if _, err := os.Stat(filepath.Join(dir, "ca.key")); err == nil {
		return security.LoadCA(dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ca, err := security.NewCA("Arbiter dev CA", validity)
	if err != nil {
		return nil, err
	}
	return ca, ca.WriteCA(dir)
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
