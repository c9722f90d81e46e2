package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// apiError is a google.rpc.Status the handlers answer with. Its message is sent to
// the caller, so it must never carry a secret.
type apiError struct {
	code cwobject.Code
	msg  string
}

func (e *apiError) Error() string { return e.code.String() + ": " + e.msg }

func errorf(code cwobject.Code, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

func invalidArgument(format string, args ...any) *apiError {
	return errorf(cwobject.CodeInvalidArgument, format, args...)
}

func unauthenticated(format string, args ...any) *apiError {
	return errorf(cwobject.CodeUnauthenticated, format, args...)
}

// writeStatus writes a google.rpc.Status body with the grpc-gateway HTTP status.
func writeStatus(w http.ResponseWriter, httpStatus int, code cwobject.Code, msg string) {
	writeJSON(w, httpStatus, cwobject.RPCStatus{Code: code, Message: msg, Details: []any{}})
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeStatus(w, cwobject.HTTPStatusForCode(e.code), e.code, e.msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own response types are marshalled here; failing means a bug.
		body = []byte(`{"code":13,"message":"emulator could not encode its answer","details":[]}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
