// Package participant is the participant SDK of Arbiter: an agent embedded in
// a service that takes part in two-phase commit on the coordinators' word.
//
// A service gives the agent a Resource (an adapter over its database, such as
// participant/embedded) and, for coordinator-driven transactions, a Handler
// that executes a branch payload inside the local transaction. The agent
// serves the arbiterpb Participant gRPC service (Prepare, Commit, Abort,
// Inspect), registers itself with the coordinators, enlists service-driven
// work (Agent.Do) and resolves in-doubt prepared work after a crash or a lost
// phase-2 message by asking the coordinators (the recovery loop).
//
// Local work is never committed until the coordinators decide: a prepared
// transaction keeps its locks until Commit or Abort arrives, or until the
// recovery loop learns the decision with Resolve.
//
// Typical wiring:
//
//	store, _ := embedded.Open(path, embedded.Options{})
//	cfg := participant.DefaultConfig()
//	cfg.ID, cfg.Address, cfg.Coordinators = "orders", ":7001", coords
//	cfg.TLS, _ = client.LoadTLS(certFile, keyFile, caFile) // or cfg.Insecure = true (development only)
//	agent, _ := participant.New(cfg, store, handler, logger)
//	grpcServer := grpc.NewServer(agent.ServerOptions()...) // mutual TLS over cfg.TLS, size limit
//	agent.RegisterService(grpcServer)
//	go grpcServer.Serve(lis)
//	_ = agent.Start(ctx)
//	defer agent.Close()
package participant
