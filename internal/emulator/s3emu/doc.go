package s3emu

// Behaviour the emulator chose, where S3 leaves room or the emulator is narrower.
//
// Authentication
//   - Every request must be SigV4 (AWS4-HMAC-SHA256), in the Authorization header or
//     as a presigned URL (X-Amz-* query parameters, X-Amz-Expires up to 7 days).
//     Unsigned requests get AccessDenied. SigV2, SigV4a and the Date-header form of
//     SigV4 are refused; requests must carry X-Amz-Date and x-amz-content-sha256.
//   - The signature is recomputed with the AWS SDK's own signer over a copy of the
//     request holding only the signed headers, the raw path and the query as sent
//     (S3: no extra path escaping), and compared with hmac.Equal. A mismatch answers
//     SignatureDoesNotMatch with the server's CanonicalRequest and StringToSign, as
//     S3 does; neither the secret nor any signature is ever echoed or logged.
//   - The region in the credential scope must equal Config.Region exactly, else
//     AuthorizationHeaderMalformed naming the expected region.
//   - X-Amz-Date must be within 15 minutes of the clock (RequestTimeTooSkewed).
//   - Key states map to S3 errors in one table, keyRefusals (errors.go).
//   - Keys have no session token: a non-empty X-Amz-Security-Token is InvalidToken,
//     and an empty one is InvalidToken with a message saying it was empty, to catch
//     SDKs that send the header when the credential source returned Token "".
//   - Payloads: a hex x-amz-content-sha256 is checked against the body
//     (XAmzContentSHA256Mismatch); UNSIGNED-PAYLOAD is taken as is; the STREAMING-*
//     forms are decoded as aws-chunked. For STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER)
//     only the seed signature (the Authorization header) is verified; the
//     per-chunk and trailer signatures are not. Content-MD5 and the flexible
//     checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) in headers or trailers are
//     verified (BadDigest).
//   - Limitation of the SDK signer: a request that signed content-length: 0 cannot
//     be verified (the signer signs Content-Length only when positive); no SDK we
//     test does so.
//
// Addressing
//   - Host <bucket>.<domain>[:port] for a domain in Config.Domains is virtual-host
//     style (the longest matching domain wins); any other Host, including a domain
//     itself or an IP address, is path style (/bucket/key).
//   - Mount the Server so that paths reach it uncleaned (not under an http.ServeMux
//     pattern): S3 keys may contain "//" and "./".
//
// Operations: ListBuckets (prefix, max-buckets, continuation-token), CreateBucket
// (optional CreateBucketConfiguration whose LocationConstraint must match the
// region, any case), HeadBucket, GetBucketLocation, DeleteBucket (empty only),
// PutObject (If-None-Match: * honoured), GetObject and HeadObject (one byte range;
// response-* overrides; stored checksums returned for x-amz-checksum-mode ENABLED),
// DeleteObject (204 even when absent), DeleteObjects, ListObjectsV2 and ListObjects
// v1 (prefix, delimiter, max-keys ≤ 1000, continuation-token/start-after or marker,
// encoding-type=url, fetch-owner). The aws CLI v1 (1.45) and its s3 commands use
// ListObjectsV2; botocore's list_objects uses v1 with encoding-type=url.
//   - Every bucket belongs to the one organisation: re-creating any existing bucket
//     is BucketAlreadyOwnedByYou (409).
//   - Objects default to Content-Type binary/octet-stream; ETag is the quoted MD5.
//   - DeleteObjects does not insist on Content-MD5 or a checksum (S3 does; the SDKs
//     send one anyway, and it is verified when present).
//   - Any other sub-resource or parameter (?acl, ?uploads, ?versioning, copy
//     source, multipart, …) is NotImplemented (501) rather than misrouted.
