package s3emu

import (
	"encoding/xml"
	"net/http"
)

// s3Error is a refusal as S3 reports it. Message and the extra fields are what the
// client sees: they must never carry a secret key or a signature.
type s3Error struct {
	Code    string
	Message string // empty: the table's default message
	// Optional S3 fields that help a client or a human see what went wrong.
	Region          string // AuthorizationHeaderMalformed: the region S3 expects
	AccessKeyID     string // SignatureDoesNotMatch, InvalidAccessKeyId
	CanonicalReq    string // SignatureDoesNotMatch: what the server signed
	StringToSign    string // SignatureDoesNotMatch
	BucketName      string
	Key             string
	HeaderName      string
	ArgumentName    string
	ArgumentValue   string
	RequestTime     string // RequestTimeTooSkewed
	ServerTime      string // RequestTimeTooSkewed
	MaxAllowedSkew  string // RequestTimeTooSkewed, milliseconds
	AllowedMaxBytes int64  // EntityTooLarge
}

func (e *s3Error) Error() string { return e.Code + ": " + e.message() }

func (e *s3Error) message() string {
	if e.Message != "" {
		return e.Message
	}
	return errorCodes[e.Code].message
}

func (e *s3Error) status() int {
	if c, ok := errorCodes[e.Code]; ok {
		return c.status
	}
	return http.StatusInternalServerError
}

func newErr(code string) *s3Error { return &s3Error{Code: code} }

func newErrMsg(code, msg string) *s3Error { return &s3Error{Code: code, Message: msg} }

// errorCodes is every S3 error code the emulator answers with, its HTTP status and
// S3's usual message. [fact: AWS S3 error responses reference]
var errorCodes = map[string]struct {
	status  int
	message string
}{
	"AccessDenied":                       {http.StatusForbidden, "Access Denied"},
	"AuthorizationHeaderMalformed":       {http.StatusBadRequest, "The authorization header is malformed."},
	"AuthorizationQueryParametersError":  {http.StatusBadRequest, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."},
	"BadDigest":                          {http.StatusBadRequest, "The Content-MD5 or checksum value that you specified did not match what the server received."},
	"BucketAlreadyOwnedByYou":            {http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."},
	"BucketNotEmpty":                     {http.StatusConflict, "The bucket you tried to delete is not empty."},
	"EntityTooLarge":                     {http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."},
	"ExpiredToken":                       {http.StatusBadRequest, "The provided token has expired."},
	"IllegalLocationConstraintException": {http.StatusBadRequest, "The location constraint is incompatible with the region this endpoint serves."},
	"IncompleteBody":                     {http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
	"InternalError":                      {http.StatusInternalServerError, "We encountered an internal error. Please try again."},
	"InvalidAccessKeyId":                 {http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records."},
	"InvalidArgument":                    {http.StatusBadRequest, "Invalid Argument"},
	"InvalidBucketName":                  {http.StatusBadRequest, "The specified bucket is not valid."},
	"InvalidDigest":                      {http.StatusBadRequest, "The Content-MD5 or checksum value you specified is not valid."},
	"InvalidRange":                       {http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"},
	"InvalidRequest":                     {http.StatusBadRequest, "Invalid Request"},
	"InvalidToken":                       {http.StatusBadRequest, "The provided token is malformed or otherwise invalid."},
	"KeyTooLongError":                    {http.StatusBadRequest, "Your key is too long."},
	"MalformedXML":                       {http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema."},
	"MethodNotAllowed":                   {http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."},
	"MissingContentLength":               {http.StatusLengthRequired, "You must provide the Content-Length HTTP header."},
	"NoSuchBucket":                       {http.StatusNotFound, "The specified bucket does not exist"},
	"NoSuchKey":                          {http.StatusNotFound, "The specified key does not exist."},
	"NotImplemented":                     {http.StatusNotImplemented, "A header or query you provided implies functionality that is not implemented."},
	"PreconditionFailed":                 {http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold"},
	"RequestTimeTooSkewed":               {http.StatusForbidden, "The difference between the request time and the current time is too large."},
	"SignatureDoesNotMatch":              {http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	"XAmzContentSHA256Mismatch":          {http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."},
}

// keyRefusals is how S3 answers a key that is not valid right now — the one table
// for the whole mapping. Real S3 is eventually consistent: a key it has not learnt
// yet looks unknown; a revoked key is gone. [assume: CoreWeave behaves like AWS
// S3; its Terraform provider retries on AccessDenied while keys propagate]
var keyRefusals = map[KeyState]string{
	KeyUnknown:          "InvalidAccessKeyId", // 403
	KeyNotYetPropagated: "InvalidAccessKeyId", // 403
	KeyRevoked:          "InvalidAccessKeyId", // 403
	KeyExpired:          "ExpiredToken",       // 400, "The provided token has expired."
	KeySuspended:        "AccessDenied",       // 403
}

// xmlError is S3's error body.
type xmlError struct {
	XMLName              xml.Name `xml:"Error"`
	Code                 string   `xml:"Code"`
	Message              string   `xml:"Message"`
	Region               string   `xml:"Region,omitempty"`
	AWSAccessKeyID       string   `xml:"AWSAccessKeyId,omitempty"`
	StringToSign         string   `xml:"StringToSign,omitempty"`
	CanonicalRequest     string   `xml:"CanonicalRequest,omitempty"`
	BucketName           string   `xml:"BucketName,omitempty"`
	Key                  string   `xml:"Key,omitempty"`
	HeaderName           string   `xml:"HeaderName,omitempty"`
	ArgumentName         string   `xml:"ArgumentName,omitempty"`
	ArgumentValue        string   `xml:"ArgumentValue,omitempty"`
	RequestTime          string   `xml:"RequestTime,omitempty"`
	ServerTime           string   `xml:"ServerTime,omitempty"`
	MaxAllowedSkewMillis string   `xml:"MaxAllowedSkewMilliseconds,omitempty"`
	MaxSizeAllowed       int64    `xml:"MaxSizeAllowed,omitempty"`
	RequestID            string   `xml:"RequestId"`
	HostID               string   `xml:"HostId"`
}

func (e *s3Error) body(requestID, hostID string) xmlError {
	return xmlError{
		Code:                 e.Code,
		Message:              e.message(),
		Region:               e.Region,
		AWSAccessKeyID:       e.AccessKeyID,
		StringToSign:         e.StringToSign,
		CanonicalRequest:     e.CanonicalReq,
		BucketName:           e.BucketName,
		Key:                  e.Key,
		HeaderName:           e.HeaderName,
		ArgumentName:         e.ArgumentName,
		ArgumentValue:        e.ArgumentValue,
		RequestTime:          e.RequestTime,
		ServerTime:           e.ServerTime,
		MaxAllowedSkewMillis: e.MaxAllowedSkew,
		MaxSizeAllowed:       e.AllowedMaxBytes,
		RequestID:            requestID,
		HostID:               hostID,
	}
}
