// Drives the AWS SDK for JavaScript v3 with keys from the credential_process of
// the profile named by AWS_PROFILE (fromProcess), and makes signed S3 calls. The
// region and endpoint_url come from the same profile in AWS_CONFIG_FILE. Run by
// internal/cli's tests: node s3-from-process.mjs BUCKET. Prints one JSON object.
import { fromProcess } from "@aws-sdk/credential-providers";
import {
  S3Client,
  CreateBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";

const bucket = process.argv[2];
const credentials = fromProcess({ profile: process.env.AWS_PROFILE });
const creds = await credentials();
const s3 = new S3Client({ credentials, maxAttempts: 1 });

await s3.send(new CreateBucketCommand({ Bucket: bucket }));
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "hello.txt", Body: "hello from js" }));
const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "hello.txt" }));
const body = await got.Body.transformToString();
const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));

console.log(JSON.stringify({
  accessKeyId: creds.accessKeyId,
  expiration: creds.expiration ? creds.expiration.toISOString() : "",
  body,
  region: await s3.config.region(),
  keys: (list.Contents ?? []).map((o) => o.Key),
}));
