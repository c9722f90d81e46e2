package logfield

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type obj struct{}

func (obj) MarshalLogObject(enc zapcore.ObjectEncoder) error { enc.AddString("k", "v"); return nil }

func TestFieldsAreZaps(t *testing.T) {
	err := errors.New("boom")
	now := time.Date(2026, 11, 27, 1, 2, 3, 4, time.UTC)
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		got, want zapcore.Field
	}{
		{"String", String("k", "v"), zap.String("k", "v")},
		{"Int", Int("k", -7), zap.Int("k", -7)},
		{"Duration", Duration("k", 3*time.Second), zap.Duration("k", 3*time.Second)},
		{"Time", Time("k", now), zap.Time("k", now)},
		{"Time far", Time("k", far), zap.Time("k", far)},
		{"Error", Error(err), zap.Error(err)},
		{"Error nil", Error(nil), zap.Error(nil)},
		{"Stringer", Stringer("k", time.Second), zap.Stringer("k", time.Second)},
		{"Object", Object("k", obj{}), zap.Object("k", obj{})},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, zap builds %#v", c.name, c.got, c.want)
		}
	}
}

func TestWithAddsFieldsLikeZap(t *testing.T) {
	var ours, zaps bytes.Buffer
	newLogger := func(buf *bytes.Buffer) *zap.Logger {
		enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg"})
		return zap.New(zapcore.NewCore(enc, zapcore.AddSync(buf), zapcore.DebugLevel))
	}
	base := newLogger(&ours)
	var l Logger = base
	l = With(With(l, String("profile", "p")), String("identity", "i"))
	l.Debug("d", Int("n", 1))
	l.Info("i")
	l.Warn("w", Error(errors.New("e")))
	l.Error("e")

	z := newLogger(&zaps).With(zap.String("profile", "p")).With(zap.String("identity", "i"))
	z.Debug("d", zap.Int("n", 1))
	z.Info("i")
	z.Warn("w", zap.Error(errors.New("e")))
	z.Error("e")
	if ours.String() != zaps.String() {
		t.Errorf("With wrote\n%s\nzap's With writes\n%s", ours.String(), zaps.String())
	}
	Nop().Error("nothing") // must not panic
}

func TestOrNop(t *testing.T) {
	var z *zap.Logger
	OrNop(z).Info("a nil *zap.Logger must not panic")
	OrNop(nil).Info("nor a nil interface")
	if l := zap.NewNop(); OrNop(l) != Logger(l) {
		t.Error("OrNop replaced a real logger")
	}
}
