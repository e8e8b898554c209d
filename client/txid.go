package client

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// TxIDMetadataKey is the gRPC metadata key that carries a transaction ID from
// an orchestrating client to the services it calls. The coordinator uses it
// too, as the response header in which a one-shot Commit sent without an ID
// names the ID it chose, before any work starts, so that a caller whose call
// fails can still retry by ID.
const TxIDMetadataKey = "arbiter-tx-id"

type txIDKey struct{}

// WithTxID returns a context that carries txID. Outgoing gRPC calls made with
// it carry the ID in metadata when the connection uses UnaryClientInterceptor.
func WithTxID(ctx context.Context, txID string) context.Context {
	return context.WithValue(ctx, txIDKey{}, txID)
}

// TxIDFromContext returns the transaction ID carried by ctx: one set with
// WithTxID, or one received in incoming gRPC metadata.
func TxIDFromContext(ctx context.Context) (string, bool) {
	if id, ok := ctx.Value(txIDKey{}).(string); ok && id != "" {
		return id, true
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(TxIDMetadataKey); len(v) > 0 && v[0] != "" {
			return v[0], true
		}
	}
	return "", false
}

// UnaryClientInterceptor copies the context's transaction ID into the
// outgoing metadata of every unary call.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if id, ok := ctx.Value(txIDKey{}).(string); ok && id != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, TxIDMetadataKey, id)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// UnaryServerInterceptor moves the transaction ID from incoming metadata into
// the handler's context, where TxIDFromContext finds it.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if id, ok := TxIDFromContext(ctx); ok {
			ctx = WithTxID(ctx, id)
		}
		return handler(ctx, req)
	}
}
