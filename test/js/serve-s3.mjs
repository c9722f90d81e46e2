// Drive the AWS SDK for JavaScript v3 against `cwcreds serve`.
//
// Usage: node serve-s3.mjs fromHttp|fromContainerMetadata BUCKET [SECONDS [INTERVAL_MS]]
//
// fromHttp reads AWS_CONTAINER_CREDENTIALS_FULL_URI and
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE; the legacy fromContainerMetadata reads
// the same URI (host localhost or 127.0.0.1 only) and the token from
// AWS_CONTAINER_AUTHORIZATION_TOKEN. Creates BUCKET, then puts and lists one
// object per round for SECONDS (one round when 0). Prints one JSON line (the
// sdkReport of test/sdk) and exits 1 if any call failed. Never prints a secret.
import { fromContainerMetadata, fromHttp } from "@aws-sdk/credential-providers";
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

const [mode, bucket, secondsArg = "0", intervalArg = "300"] = process.argv.slice(2);
const rep = { sdk: "aws-sdk-js-v3", provider: mode, keyIds: [], emptyToken: false, rounds: 0, calls: 0, failures: [] };

function finish() {
  process.stdout.write(JSON.stringify(rep) + "\n");
  process.exitCode = rep.failures.length ? 1 : 0;
}

let base;
if (mode === "fromHttp") {
  base = fromHttp({});
} else if (mode === "fromContainerMetadata") {
  base = fromContainerMetadata({ timeout: 1000, maxRetries: 2 });
} else {
  rep.failures.push(`unknown provider ${mode}: use fromHttp or fromContainerMetadata`);
  finish();
  process.exit();
}

// Note every key the provider hands to the signer.
const credentials = async (...args) => {
  const c = await base(...args);
  if (!rep.keyIds.includes(c.accessKeyId)) rep.keyIds.push(c.accessKeyId);
  rep.emptyToken = c.sessionToken === "" || c.sessionToken === undefined;
  return c;
};

const s3 = new S3Client({
  region: process.env.AWS_REGION,
  endpoint: process.env.AWS_ENDPOINT_URL_S3,
  forcePathStyle: true,
  credentials,
});

async function call(what, command) {
  rep.calls++;
  try {
    return await s3.send(command);
  } catch (e) {
    rep.failures.push(`${what}: ${e.name}: ${e.message}`);
    return undefined;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (await call("create bucket", new CreateBucketCommand({ Bucket: bucket }))) {
  const deadline = Date.now() + Number(secondsArg) * 1000;
  const interval = Number(intervalArg);
  for (;;) {
    rep.rounds++;
    const key = `js/${String(rep.rounds).padStart(4, "0")}.txt`;
    await call("put object", new PutObjectCommand({ Bucket: bucket, Key: key, Body: "hello from javascript" }));
    const out = await call("list objects", new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
    if (out && !(out.Contents ?? []).some((o) => o.Key === key)) rep.failures.push(`list objects: ${key} is missing`);
    if (Date.now() + interval >= deadline) break;
    await sleep(interval);
  }
}
finish();
