package conformance

import (
	"testing"
	"time"
)

// With the store unreachable tokengate answers 500 (never 503, never Retry-After: checkWire), which the
// client retries 5 times with its backoff before it gives up with an error; nothing is cached, so the
// first call after the store is back is decided normally.
func TestAStoreOutageIsRetriedFiveTimesThenTheNextCallAfterRecoveryIsAccepted(t *testing.T) {
	cases := []struct {
		version string
		fast    bool
	}{
		{"v1", false}, // kube-apiserver's default backoff: 500 ms × 1.5, jitter 0.2, 5 steps
		{"v1beta1", true},
	}
	for _, c := range cases {
		t.Run(c.version, func(t *testing.T) {
			a := apiserver{version: c.version}
			if c.fast {
				a.backoff = &fastBackoff
			}
			client := newWebhookClient(t, gate.kubeconfigs["c-conf"], a)
			defer checkWire(t, client.wire)
			gate.proxy.stop()
			restarted := false
			defer func() {
				if !restarted {
					_ = gate.proxy.start()
				}
			}()
			started := time.Now()
			got := client.authenticate(tokenSHA3)
			elapsed := time.Since(started)
			if got.kind != "error" {
				t.Fatalf("during the outage: %s, want an error", got)
			}
			expectRequests(t, client.wire, 5, "during the outage")
			for i, ex := range client.wire.all() {
				if ex.status != 500 {
					t.Errorf("attempt %d: HTTP %d, want 500", i+1, ex.status)
				}
			}
			t.Logf("5 attempts in %s; the apiserver logs: %v", elapsed.Round(10*time.Millisecond), got.err)
			if !c.fast && elapsed < 3*time.Second {
				t.Errorf("5 attempts with the default backoff took %s, want the ~4 s of sleeps between them", elapsed)
			}

			if err := gate.proxy.start(); err != nil {
				t.Fatal(err)
			}
			restarted = true
			if got := client.authenticate(tokenSHA3); got.kind != "accepted" {
				t.Fatalf("after recovery: %s, want accepted (errors are not cached)", got)
			}
			expectRequests(t, client.wire, 6, "after recovery")
		})
	}
}
