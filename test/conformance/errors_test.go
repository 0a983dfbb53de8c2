package conformance

import (
	"strings"
	"testing"
)

// A caller the webhook does not accept is the apiserver's own misconfiguration: the client must see an
// error at once (no retry, nothing cached), so it is loud in the apiserver's log.
func TestAWrongOrMissingCallerCredentialOrCertificateIsOneErrorWithoutRetry(t *testing.T) {
	cases := []struct {
		kubeconfig string
		status     int
		message    string
	}{
		// tokengate's error replies are metav1.Status bodies, so the apiserver logs their message.
		{"wrong-credential", 401, "unknown cluster or wrong caller credential"},
		{"no-credential", 401, "missing or malformed caller credential"},
		{"unknown-cluster", 401, "unknown cluster or wrong caller credential"},
		{"other-cert", 401, "client certificate does not name this cluster"},
		// API Gateway's own 403 ({"message":"Forbidden"}, JSON but not a Status): client-go logs only "unknown".
		{"no-client-cert", 403, "unknown"},
		{"untrusted-cert", 403, "unknown"},
	}
	for _, version := range versions {
		for _, c := range cases {
			t.Run(version+"/"+c.kubeconfig, func(t *testing.T) {
				client := newWebhookClient(t, gate.kubeconfigs[c.kubeconfig], apiserver{version: version})
				defer checkWire(t, client.wire)
				for call := 1; call <= 2; call++ {
					got := client.authenticate(tokenSHA3)
					if got.kind != "error" {
						t.Fatalf("call %d: %s, want an error", call, got)
					}
					if call == 1 {
						t.Logf("the apiserver logs: %v", got.err)
					}
					if !strings.Contains(got.err.Error(), c.message) {
						t.Errorf("error %q does not say %q", got.err, c.message)
					}
					expectRequests(t, client.wire, call, "one request per call, no retry, nothing cached")
				}
				if status := client.wire.last().status; status != c.status {
					t.Errorf("HTTP %d, want %d", status, c.status)
				}
			})
		}
	}
}
