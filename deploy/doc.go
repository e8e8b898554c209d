// Package deploy holds no Go code: it is the home of the deployment files
// (systemd/, kubernetes/, README.md) and of the tests that check them and
// scripts/cluster.sh.
package deploy
