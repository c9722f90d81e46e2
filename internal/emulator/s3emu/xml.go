package s3emu

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
)

// s3Namespace is the XML namespace of every S3 response body. [fact]
const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// timeFormatXML is how S3 writes times in XML bodies.
const timeFormatXML = "2006-01-02T15:04:05.000Z"

// writeXML writes a success body.
func writeXML(w http.ResponseWriter, status int, v any) *s3Error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		return newErrMsg("InternalError", "could not encode the response")
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client hung up: nothing left to tell it
	return nil
}

// writeError writes S3's error body; a HEAD answer has the status only, as S3's.
func writeError(w http.ResponseWriter, r *http.Request, e *s3Error, requestID, hostID string) {
	status := e.status()
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(e.body(requestID, hostID)); err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
