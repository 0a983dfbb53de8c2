package conformance

import (
	"strings"
	"testing"
	"time"
)

func TestRefusesForeignTokensAndUnknownNamesSilentlyAndTheClientCachesTheRefusal(t *testing.T) {
	cases := map[string]string{
		"stale ServiceAccount JWT": staleServiceAccountJWT,
		"foreign OIDC JWT":         foreignOIDCJWT,
		"random string":            randomString,
		// c-conf's tokens were imported, so its name filter exists and rules the name out without a read:
		// answered silently, so a stale Rancher token stops reaching tokengate for the client's cache TTL.
		"unknown name": tokenUnknownName,
	}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			client := newWebhookClient(t, gate.kubeconfigs["c-conf"], apiserver{version: version})
			defer checkWire(t, client.wire)
			sent := 0
			for name, token := range cases {
				for call := 1; call <= 2; call++ {
					if got := client.authenticate(token); got.kind != "refused" {
						t.Errorf("%s, call %d: %s, want refused", name, call, got)
					}
				}
				sent++
				expectRequests(t, client.wire, sent, name+" presented twice within the TTL")
				if reply := string(client.wire.last().responseBody); strings.Contains(reply, `"error"`) {
					t.Errorf("%s: reply carries status.error, which the client would not cache: %s", name, reply)
				}
			}
		})
	}
}

func TestRefusesFailingRancherTokensWithAReasonThatTheClientDoesNotCache(t *testing.T) {
	cases := map[string]struct{ token, reason string }{
		"disabled":     {tokenDisabled, "token disabled"},
		"expired":      {tokenExpired, "token expired"},
		"wrong secret": {tokenWrongSecret, "invalid token secret"},
	}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			client := newWebhookClient(t, gate.kubeconfigs["c-conf"], apiserver{version: version})
			defer checkWire(t, client.wire)
			sent := 0
			for name, c := range cases {
				for call := 1; call <= 3; call++ {
					got := client.authenticate(c.token)
					sent++
					// The real client turns authenticated:false with status.error into an error carrying it.
					if got.kind != "error" || got.err.Error() != c.reason {
						t.Errorf("%s, call %d: %s, want the error %q", name, call, got, c.reason)
					}
				}
				expectRequests(t, client.wire, sent, name+": one request per call")
			}
		})
	}
}

func TestRefusesATokenOfThisClusterAtAnotherClustersEndpoint(t *testing.T) {
	// c-rot has its own credential and certificate; the fixture tokens belong to c-conf only. c-rot has no
	// name filter (nothing was ever synced or imported into it), so the name is read and not found.
	client := newWebhookClient(t, gate.kubeconfigs["rotation"], apiserver{version: "v1"})
	defer checkWire(t, client.wire)
	if got := client.authenticate(tokenSHA3); got.kind != "error" || got.err.Error() != "token not found" {
		t.Errorf("c-conf's token at c-rot: %s, want the error \"token not found\"", got)
	}
}

// A client that keeps presenting a Rancher token whose token was deleted (its name is in no cluster's name
// filter any more): the real cache keeps the silent refusal, so a burst costs one webhook request and
// tokengate at most one log line, where a status.error would have cost a request (and an apiserver error
// line) per presentation.
func TestAStaleRancherTokenPresentedOverAndOverCostsOneRequestPerCacheTTL(t *testing.T) {
	stale := "kubeconfig-u-deleted01:" + strings.Repeat("b", 54)
	client := newWebhookClient(t, gate.kubeconfigs["c-conf"], apiserver{version: "v1"})
	defer checkWire(t, client.wire)
	mark := gate.server.mark()
	for call := 1; call <= 200; call++ {
		if got := client.authenticate(stale); got.kind != "refused" {
			t.Fatalf("call %d: %s, want refused", call, got)
		}
	}
	expectRequests(t, client.wire, 1, "200 presentations of one stale Rancher token within the TTL")
	time.Sleep(500 * time.Millisecond) // let the server's last lines arrive
	lines := 0
	for _, line := range logLines(gate.server.since(mark)) {
		if strings.Contains(line, "kubeconfig-u-deleted01") {
			lines++
		}
	}
	if lines > 1 {
		t.Errorf("tokengate wrote %d log lines naming the stale token, want at most 1", lines)
	}
}
