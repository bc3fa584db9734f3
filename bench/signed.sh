# The signed delivery the intake benches send (sourced by intake.sh,
# intake-ab.sh and nodes.sh, so they all measure the same request): sets
# `secret` (the receiver's), `body` (112 bytes of JSON) and `sig` (its
# X-Hub-Signature-256), and `wrk_post FILE` writes the wrk script that
# posts them. Needs openssl.
secret=9f8b47c2e4a748d3b58e2a17ad8f2e4b
body='{"serviceType":"FeatureServer","name":"Posting","events":[{"eventType":"FeaturesUpdated","when":1741189389713}]}'
sig="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)"

wrk_post() {
    cat > "$1" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Hub-Signature-256"] = "$sig"
LUA
}
