package conformance

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// kubeAPIAuth answers as Rancher's kube-api-auth does for a token that is not `name:secret`: HTTP 400,
// no body, Content-Type application/json, and one error line per request in its log.
type kubeAPIAuth struct {
	mu  sync.Mutex
	log []string
}

func (k *kubeAPIAuth) handle(w http.ResponseWriter, _ tokenReviewJSON) {
	k.mu.Lock()
	k.log = append(k.log, `level=error msg="found 1 parts of token"`)
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
}

func (k *kubeAPIAuth) errorLines() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.log)
}

// The flood tokengate was built against: a pod presents one stale ServiceAccount JWT 1,000 times in a
// minute. The apiserver runs the real token cache in front of the webhook (default TTL 2 min).
func TestTheStaleServiceAccountFloodThroughTheRealCache(t *testing.T) {
	t.Parallel()
	const presentations = 1000
	window := 60 * time.Second
	if s := os.Getenv("TOKENGATE_FLOOD_SECONDS"); s != "" {
		seconds, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("TOKENGATE_FLOOD_SECONDS=%q", s)
		}
		window = time.Duration(seconds) * time.Second
	}
	const shortTTL = 10 * time.Second

	tokengate := newWebhookClient(t, gate.kubeconfigs["c-conf"], apiserver{version: "v1beta1"})
	defer checkWire(t, tokengate.wire)
	tokengateShortTTL := newWebhookClient(t, gate.kubeconfigs["c-conf"], apiserver{version: "v1beta1", cacheTTL: shortTTL})
	defer checkWire(t, tokengateShortTTL.wire)
	standIn := &kubeAPIAuth{}
	s, kubeconfig := newStandIn(t, standIn.handle)
	kubeAPIAuthClient := newWebhookClient(t, kubeconfig, apiserver{version: "v1beta1"})

	mark := gate.server.mark()
	started := time.Now()
	outcomes := map[string]map[string]int{"tokengate": {}, "tokengate-short-ttl": {}, "kube-api-auth": {}}
	for i := 0; i < presentations; i++ {
		time.Sleep(time.Until(started.Add(window * time.Duration(i) / presentations)))
		outcomes["tokengate"][tokengate.authenticate(staleServiceAccountJWT).kind]++
		outcomes["tokengate-short-ttl"][tokengateShortTTL.authenticate(staleServiceAccountJWT).kind]++
		outcomes["kube-api-auth"][kubeAPIAuthClient.authenticate(staleServiceAccountJWT).kind]++
	}
	elapsed := time.Since(started)
	time.Sleep(500 * time.Millisecond) // let the server's last lines arrive
	var tokengateLines int
	for _, line := range logLines(gate.server.since(mark)) {
		if strings.Contains(line, `"c-conf"`) {
			tokengateLines++
		}
	}

	t.Logf("flood: %d presentations of one stale ServiceAccount JWT in %s, real webhook token cache (TTL 2m)", presentations, elapsed.Round(time.Second))
	t.Logf("flood: tokengate:     %d webhook requests, %d log lines (outcomes %v)", tokengate.wire.count(), tokengateLines, outcomes["tokengate"])
	t.Logf("flood: tokengate with --authentication-token-webhook-cache-ttl=10s: %d webhook requests (outcomes %v)", tokengateShortTTL.wire.count(), outcomes["tokengate-short-ttl"])
	t.Logf("flood: kube-api-auth: %d webhook requests, %d error lines (outcomes %v)", s.requests.Load(), standIn.errorLines(), outcomes["kube-api-auth"])

	if outcomes["tokengate"]["refused"] != presentations || outcomes["kube-api-auth"]["error"] != presentations {
		t.Errorf("outcomes %v, want every presentation refused by tokengate and an error from kube-api-auth", outcomes)
	}
	expectRequests(t, tokengate.wire, 1, "tokengate, TTL 2m")
	if n, most := tokengateShortTTL.wire.count(), int(window/shortTTL)+1; n < most-1 || n > most {
		t.Errorf("tokengate, TTL 10s: %d requests over %s, want one per TTL (%d or %d)", n, window, most-1, most)
	}
	if tokengateLines > 1 {
		t.Errorf("tokengate wrote %d log lines for the flood, want at most the one foreign-token summary", tokengateLines)
	}
	if s.requests.Load() != presentations || standIn.errorLines() != presentations {
		t.Errorf("kube-api-auth: %d requests and %d error lines, want %d of each (errors are never cached)", s.requests.Load(), standIn.errorLines(), presentations)
	}
}
