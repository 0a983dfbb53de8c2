package conformance

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

func mustUnmarshal(t testing.TB, data []byte, into any) {
	t.Helper()
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatalf("not JSON: %v: %s", err, data)
	}
}

// What the client adds on its own (the ?timeout=30s of its 30 s request timeout, its headers) reaches the
// authenticate route and is answered there, as the access log of the server shows.
func TestTheClientsURLQueryAndHeadersReachTheAuthenticateRoute(t *testing.T) {
	config, _ := url.Parse(gate.apiURL + "/v1/clusters/c-conf/authenticate")
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			client := newWebhookClient(t, gate.kubeconfigs["c-conf"], apiserver{version: version})
			defer checkWire(t, client.wire)
			mark := gate.server.mark()
			if got := client.authenticate(tokenSHA3); got.kind != "accepted" {
				t.Fatalf("%s, want accepted", got)
			}
			ex := client.wire.last()
			if ex.method != "POST" || ex.path != config.Path || ex.query != "timeout=30s" {
				t.Errorf("sent %s %s?%s, want POST %s?timeout=30s", ex.method, ex.path, ex.query, config.Path)
			}
			for name, want := range map[string]string{
				"Content-Type":  "application/json",
				"Accept":        "application/json, */*",
				"Authorization": "Bearer <" + strings.Join(strings.SplitN(gate.credentials["c-conf"], "_", 3)[:2], "_") + ">",
			} {
				if got := ex.header.Get(name); got != want {
					t.Errorf("header %s: %q, want %q", name, got, want)
				}
			}
			if ua := ex.header.Get("User-Agent"); ua != "" {
				t.Errorf("User-Agent %q set by client-go; on this path it sets none and Go sends its default", ua)
			}
			var sent tokenReviewJSON
			mustUnmarshal(t, ex.requestBody, &sent)
			if sent.APIVersion != "authentication.k8s.io/"+version || sent.Kind != "TokenReview" {
				t.Errorf("body is %s %s", sent.APIVersion, sent.Kind)
			}

			want := [3]string{"POST", config.Path + "?timeout=30s", "200"}
			deadline := time.Now().Add(2 * time.Second)
			for {
				records := accessRecords(gate.server.since(mark))
				if len(records) == 1 && records[0] == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("server access log %v, want exactly %v", records, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
