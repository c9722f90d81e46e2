// Package logfield lets packages on the warm credential_process path log through
// a *zap.Logger without importing zap, whose package links net/http (its level
// handler) and so adds milliseconds to every process start. It holds the Logger
// interface that *zap.Logger satisfies, a no-op Logger, and the few field
// constructors those packages use, built exactly as zap builds them (a test
// compares each with zap's own).
package logfield

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"go.uber.org/zap/zapcore"
)

// Logger is the part of *zap.Logger the caches use.
type Logger interface {
	Debug(msg string, fields ...zapcore.Field)
	Info(msg string, fields ...zapcore.Field)
	Warn(msg string, fields ...zapcore.Field)
	Error(msg string, fields ...zapcore.Field)
}

// Nop is a Logger that writes nothing.
func Nop() Logger { return nop{} }

type nop struct{}

func (nop) Debug(string, ...zapcore.Field) {}
func (nop) Info(string, ...zapcore.Field)  {}
func (nop) Warn(string, ...zapcore.Field)  {}
func (nop) Error(string, ...zapcore.Field) {}

// With returns a Logger that adds fields to every entry, as zap's Logger.With does.
func With(l Logger, fields ...zapcore.Field) Logger {
	if len(fields) == 0 {
		return l
	}
	return with{l: l, fields: fields[:len(fields):len(fields)]}
}

type with struct {
	l      Logger
	fields []zapcore.Field
}

func (w with) Debug(msg string, f ...zapcore.Field) { w.l.Debug(msg, append(w.fields, f...)...) }
func (w with) Info(msg string, f ...zapcore.Field)  { w.l.Info(msg, append(w.fields, f...)...) }
func (w with) Warn(msg string, f ...zapcore.Field)  { w.l.Warn(msg, append(w.fields, f...)...) }
func (w with) Error(msg string, f ...zapcore.Field) { w.l.Error(msg, append(w.fields, f...)...) }

// String is zap.String.
func String(key, v string) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.StringType, String: v}
}

// Int is zap.Int.
func Int(key string, v int) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.Int64Type, Integer: int64(v)}
}

// Duration is zap.Duration.
func Duration(key string, v time.Duration) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.DurationType, Integer: int64(v)}
}

// Time is zap.Time: times outside the int64 nanosecond range keep the full value.
func Time(key string, v time.Time) zapcore.Field {
	if v.Before(time.Unix(0, math.MinInt64)) || v.After(time.Unix(0, math.MaxInt64)) {
		return zapcore.Field{Key: key, Type: zapcore.TimeFullType, Interface: v}
	}
	return zapcore.Field{Key: key, Type: zapcore.TimeType, Integer: v.UnixNano(), Interface: v.Location()}
}

// Error is zap.Error: the field is skipped when err is nil.
func Error(err error) zapcore.Field {
	if err == nil {
		return zapcore.Field{Type: zapcore.SkipType}
	}
	return zapcore.Field{Key: "error", Type: zapcore.ErrorType, Interface: err}
}

// Stringer is zap.Stringer.
func Stringer(key string, v fmt.Stringer) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.StringerType, Interface: v}
}

// Object is zap.Object.
func Object(key string, v zapcore.ObjectMarshaler) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.ObjectMarshalerType, Interface: v}
}

// OrNop returns l, or Nop when l is nil or a nil pointer (a nil *zap.Logger in
// the interface would otherwise panic on first use).
func OrNop(l Logger) Logger {
	if l == nil {
		return nop{}
	}
	if v := reflect.ValueOf(l); v.Kind() == reflect.Pointer && v.IsNil() {
		return nop{}
	}
	return l
}
