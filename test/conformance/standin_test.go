package conformance

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// standIn is a webhook that answers as told: it shows that the harness and the real client catch a wrong
// reply, so a passing conformance test means tokengate's replies are right, not that nothing is checked.
type standIn struct {
	server   *httptest.Server
	requests atomic.Int64
}

func newStandIn(t testing.TB, reply func(w http.ResponseWriter, request tokenReviewJSON)) (*standIn, string) {
	t.Helper()
	s := &standIn{}
	s.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		var request tokenReviewJSON
		_ = json.NewDecoder(r.Body).Decode(&request)
		reply(w, request)
	}))
	t.Cleanup(s.server.Close)
	return s, writeKubeconfig(t, s.server.URL+"/authenticate")
}

// writeKubeconfig writes a minimal webhook kubeconfig for a plain-HTTP stand-in.
func writeKubeconfig(t testing.TB, server string) string {
	t.Helper()
	config := clientcmdapi.NewConfig()
	config.Clusters["stand-in"] = &clientcmdapi.Cluster{Server: server}
	config.AuthInfos["apiserver"] = &clientcmdapi.AuthInfo{Token: "stand-in-credential"}
	config.Contexts["webhook"] = &clientcmdapi.Context{Cluster: "stand-in", AuthInfo: "apiserver"}
	config.CurrentContext = "webhook"
	path := filepath.Join(t.TempDir(), "stand-in.kubeconfig")
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeReview(w http.ResponseWriter, status int, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func acceptedBody(apiVersion string, audiences []string) map[string]any {
	status := map[string]any{"authenticated": true, "user": map[string]any{"username": "stand-in-user"}}
	if audiences != nil {
		status["audiences"] = audiences
	}
	return map[string]any{"apiVersion": apiVersion, "kind": "TokenReview", "status": status}
}

func problemsOn(w *wire) []string {
	var all []string
	for _, ex := range w.all() {
		all = append(all, replyProblems(ex)...)
	}
	return all
}

func expectProblem(t testing.TB, w *wire, want string) {
	t.Helper()
	problems := problemsOn(w)
	for _, p := range problems {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Errorf("the harness's reply check found %v, want a problem mentioning %q", problems, want)
}

func TestHarnessAcceptsACorrectStandInReplyAndFindsNoProblem(t *testing.T) {
	for _, version := range versions {
		_, kubeconfig := newStandIn(t, func(w http.ResponseWriter, r tokenReviewJSON) {
			writeReview(w, 200, acceptedBody(r.APIVersion, nil))
		})
		client := newWebhookClient(t, kubeconfig, apiserver{version: version})
		if got := client.authenticate("any"); got.kind != "accepted" || got.user.GetName() != "stand-in-user" {
			t.Errorf("%s: %s, want accepted", version, got)
		}
		if p := problemsOn(client.wire); len(p) != 0 {
			t.Errorf("%s: problems %v in a correct reply", version, p)
		}
	}
}

func TestHarnessCatchesAReplyInAnotherApiVersionWhichTheClientTurnsIntoAnUncachedError(t *testing.T) {
	other := map[string]string{"v1": "authentication.k8s.io/v1beta1", "v1beta1": "authentication.k8s.io/v1"}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			s, kubeconfig := newStandIn(t, func(w http.ResponseWriter, _ tokenReviewJSON) {
				writeReview(w, 200, acceptedBody(other[version], nil))
			})
			client := newWebhookClient(t, kubeconfig, apiserver{version: version})
			for call := 1; call <= 2; call++ {
				got := client.authenticate("any")
				if got.kind != "error" || !strings.Contains(got.err.Error(), "conversion") {
					t.Errorf("call %d: %s, want a conversion error", call, got)
				}
			}
			if n := s.requests.Load(); n != 2 {
				t.Errorf("%d requests for 2 calls, want 2: neither retried nor cached", n)
			}
			expectProblem(t, client.wire, "reply apiVersion")
		})
	}
}

func TestHarnessCatchesDisjointAudiencesWhichTurnAnAcceptanceIntoACachedRefusal(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			s, kubeconfig := newStandIn(t, func(w http.ResponseWriter, r tokenReviewJSON) {
				writeReview(w, 200, acceptedBody(r.APIVersion, []string{"https://somewhere-else.example.com"}))
			})
			client := newWebhookClient(t, kubeconfig, apiserver{version: version})
			for call := 1; call <= 2; call++ {
				if got := client.authenticate("any"); got.kind != "refused" {
					t.Errorf("call %d: %s, want refused although the reply said authenticated:true", call, got)
				}
			}
			if n := s.requests.Load(); n != 1 {
				t.Errorf("%d requests for 2 calls, want 1: the refusal is cached", n)
			}
			expectProblem(t, client.wire, "disjoint")
		})
	}
}

func TestHarnessCountsTheClientsRetriesByStatusAndCatchesRetryAfterAnd503(t *testing.T) {
	cases := []struct {
		status     int
		retryAfter string
		requests   int64
		problem    string
	}{
		{500, "", 5, ""},
		{502, "", 5, ""},
		{504, "", 5, ""},
		{429, "", 5, ""},
		{503, "", 1, "503"},
		{404, "", 1, ""},
		{401, "", 1, ""},
		// client-go's own retry of a 5xx with Retry-After, 10 more per attempt, inside each of the 5 attempts.
		{500, "0", 55, "Retry-After"},
	}
	for _, c := range cases {
		var mu sync.Mutex
		s, kubeconfig := newStandIn(t, func(w http.ResponseWriter, _ tokenReviewJSON) {
			mu.Lock()
			defer mu.Unlock()
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			// Not a Status: a gateway's or proxy's own body. (A Status body's own reason decides instead: a 502
			// Status without reason InternalError is not retried.)
			writeReview(w, c.status, map[string]any{"message": "stand-in"})
		})
		client := newWebhookClient(t, kubeconfig, apiserver{version: "v1", backoff: &fastBackoff})
		if got := client.authenticate("any"); got.kind != "error" {
			t.Errorf("%d: %s, want an error", c.status, got)
		}
		if n := s.requests.Load(); n != c.requests {
			t.Errorf("HTTP %d (Retry-After %q): %d requests, want %d", c.status, c.retryAfter, n, c.requests)
		}
		if c.problem != "" {
			expectProblem(t, client.wire, c.problem)
		}
	}
}

func TestHarnessSeesAnEmpty200AsAnError(t *testing.T) {
	_, kubeconfig := newStandIn(t, func(w http.ResponseWriter, _ tokenReviewJSON) { w.WriteHeader(200) })
	client := newWebhookClient(t, kubeconfig, apiserver{version: "v1", backoff: &fastBackoff})
	if got := client.authenticate("any"); got.kind != "error" {
		t.Errorf("%s, want an error", got)
	}
}
