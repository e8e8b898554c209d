package raftlog

import (
	"io"
	"log"
	"strings"
	"unicode"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapHclog adapts a *zap.Logger to hclog.Logger so Raft's own logs are
// structured zap logs with kebab-case keys. Trace maps to Debug; SetLevel is
// a no-op (zap's level is set by whoever built the logger).
type zapHclog struct {
	z       *zap.Logger
	name    string
	implied []any
}

var _ hclog.Logger = (*zapHclog)(nil)

func newHclog(z *zap.Logger) hclog.Logger { return &zapHclog{z: z} }

func zapLevel(l hclog.Level) zapcore.Level {
	switch l {
	case hclog.Trace, hclog.Debug:
		return zapcore.DebugLevel
	case hclog.Warn:
		return zapcore.WarnLevel
	case hclog.Error:
		return zapcore.ErrorLevel
	default:
		return zapcore.InfoLevel
	}
}

// Log emits msg at level with alternating key/value args.
func (h *zapHclog) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	if ce := h.z.Check(zapLevel(level), msg); ce != nil {
		ce.Write(fields(args)...)
	}
}

func fields(args []any) []zap.Field {
	out := make([]zap.Field, 0, len(args)/2+1)
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			out = append(out, zap.Any("extra-value", args[i]))
			break
		}
		key, ok := args[i].(string)
		if !ok {
			key = "bad-key"
		}
		out = append(out, zap.Any(kebab(key), args[i+1]))
	}
	return out
}

// kebab turns "lastIndex", "last_index" and "last index" into "last-index".
func kebab(s string) string {
	var b strings.Builder
	prev := rune(0)
	for _, r := range s {
		switch {
		case r == '_' || r == ' ' || r == '.':
			b.WriteByte('-')
		case unicode.IsUpper(r):
			if unicode.IsLower(prev) || unicode.IsDigit(prev) {
				b.WriteByte('-')
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

func (h *zapHclog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *zapHclog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *zapHclog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *zapHclog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *zapHclog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *zapHclog) IsTrace() bool { return h.z.Core().Enabled(zapcore.DebugLevel) }
func (h *zapHclog) IsDebug() bool { return h.z.Core().Enabled(zapcore.DebugLevel) }
func (h *zapHclog) IsInfo() bool  { return h.z.Core().Enabled(zapcore.InfoLevel) }
func (h *zapHclog) IsWarn() bool  { return h.z.Core().Enabled(zapcore.WarnLevel) }
func (h *zapHclog) IsError() bool { return h.z.Core().Enabled(zapcore.ErrorLevel) }

// ImpliedArgs returns the args given to With.
func (h *zapHclog) ImpliedArgs() []any { return h.implied }

// With returns a logger that adds args to every entry.
func (h *zapHclog) With(args ...any) hclog.Logger {
	return &zapHclog{z: h.z.With(fields(args)...), name: h.name, implied: append(h.implied[:len(h.implied):len(h.implied)], args...)}
}

// Name returns the logger's name.
func (h *zapHclog) Name() string { return h.name }

// Named returns a logger whose name has name appended.
func (h *zapHclog) Named(name string) hclog.Logger {
	full := name
	if h.name != "" {
		full = h.name + "." + name
	}
	return &zapHclog{z: h.z.Named(name), name: full, implied: h.implied}
}

// ResetNamed returns a logger named name. zap names only append, so the
// zap name keeps its prefix; Name reports name.
func (h *zapHclog) ResetNamed(name string) hclog.Logger {
	return &zapHclog{z: h.z.Named(name), name: name, implied: h.implied}
}

// SetLevel is a no-op: zap loggers are leveled when built.
func (h *zapHclog) SetLevel(hclog.Level) {}

// GetLevel reports the lowest level zap emits.
func (h *zapHclog) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if h.z.Core().Enabled(zapLevel(l)) {
			return l
		}
	}
	return hclog.Off
}

// StandardLogger returns a stdlib logger that writes to zap at info level.
func (h *zapHclog) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return zap.NewStdLog(h.z)
}

// StandardWriter returns an io.Writer that writes lines to zap at info level.
func (h *zapHclog) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return zap.NewStdLog(h.z).Writer()
}
