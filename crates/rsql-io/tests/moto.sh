# Sourced by .ci/run: starts moto_server (a local S3 API) on 127.0.0.1 for the S3 test of
# rsql-io, exports the AWS_* variables and RSQL_TEST_S3_ENDPOINT/BUCKET it reads, and stops
# the server when the calling shell exits. Without moto_server the test skips, saying why.
if ! command -v moto_server >/dev/null 2>&1; then
  python3 -m pip install --quiet 'moto[server]' >/dev/null 2>&1 || true
fi
if command -v moto_server >/dev/null 2>&1; then
  moto_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  moto_server -H 127.0.0.1 -p "$moto_port" >"${TMPDIR:-/tmp}/rsql-moto.log" 2>&1 &
  moto_pid=$!
  trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
  export AWS_ENDPOINT="http://127.0.0.1:$moto_port" AWS_ALLOW_HTTP=true
  if python3 - <<'PY'
import os, time, boto3
client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"], region_name="us-east-1")
for _ in range(150):
    try:
        client.create_bucket(Bucket="rsql-test")
        break
    except Exception:
        time.sleep(0.2)
else:
    raise SystemExit("moto_server did not come up")
PY
  then
    export RSQL_TEST_S3_ENDPOINT="$AWS_ENDPOINT" RSQL_TEST_S3_BUCKET=rsql-test
  else
    echo "rsql-io S3 test will skip: moto_server did not start (see ${TMPDIR:-/tmp}/rsql-moto.log)"
  fi
else
  echo "rsql-io S3 test will skip: moto_server could not be installed"
fi
