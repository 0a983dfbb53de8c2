package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	tokencache "k8s.io/apiserver/pkg/authentication/token/cache"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/authentication/user"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/webhook"
)

// apiAudience is what kube-apiserver's API audiences default to on kubeadm/RKE2 clusters: the
// --service-account-issuer. kube-apiserver always has non-empty API audiences (the issuer is required).
const apiAudience = "https://kubernetes.default.svc.cluster.local"

// versions are the two values of --authentication-token-webhook-version.
var versions = []string{"v1", "v1beta1"}

// defaultCacheTTL is --authentication-token-webhook-cache-ttl's default.
const defaultCacheTTL = 2 * time.Minute

// fastBackoff has the default's 5 steps with 5 ms delays, as upstream's own unit tests use for counting retries.
var fastBackoff = wait.Backoff{Duration: 5 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}

// apiserver configures the authenticator the way kube-apiserver's flags would.
type apiserver struct {
	version string
	// cacheTTL is --authentication-token-webhook-cache-ttl (success and failure TTL alike); 0: the default 2m.
	cacheTTL time.Duration
	// backoff absent: webhook.DefaultRetryBackoff(), which equals kube-apiserver's DefaultAuthWebhookRetryBackoff().
	backoff *wait.Backoff
	// audiences are the API audiences (the implicit audiences); absent: [apiAudience].
	audiences authenticator.Audiences
	// outerCache adds kube-apiserver's union of token authenticators and the cache around it (success 10 s, failure 0).
	outerCache bool
}

// webhookClient is kube-apiserver's webhook token authenticator for one kubeconfig, with a wire recorder.
type webhookClient struct {
	token     authenticator.Token
	audiences authenticator.Audiences
	wire      *wire
}

// newWebhookClient builds the authenticator exactly as kube-apiserver does (pkg/kubeapiserver/authenticator
// newWebhookTokenAuthenticator): LoadKubeconfig, webhook.New with the API audiences and the retry backoff,
// then the token cache with cacheErrs=false and the TTL for successes and failures. The only addition is a
// transport wrapper that records each HTTP exchange on the wire (below client-go's retries).
func newWebhookClient(t testing.TB, kubeconfig string, a apiserver) *webhookClient {
	t.Helper()
	cfg, err := webhookutil.LoadKubeconfig(kubeconfig, nil)
	if err != nil {
		t.Fatalf("LoadKubeconfig: %v", err)
	}
	w := &wire{}
	cfg.Wrap(w.wrap)
	backoff := *webhook.DefaultRetryBackoff()
	if a.backoff != nil {
		backoff = *a.backoff
	}
	auds := a.audiences
	if len(auds) == 0 {
		auds = authenticator.Audiences{apiAudience}
	}
	wh, err := webhook.New(cfg, a.version, auds, backoff)
	if err != nil {
		t.Fatalf("webhook.New: %v", err)
	}
	ttl := a.cacheTTL
	if ttl == 0 {
		ttl = defaultCacheTTL
	}
	var token authenticator.Token = tokencache.New(wh, false, ttl, ttl)
	if a.outerCache {
		token = tokencache.New(tokenunion.New(token), true, 10*time.Second, 0)
	}
	return &webhookClient{token: token, audiences: auds, wire: w}
}

// outcome is what the apiserver concludes from one AuthenticateToken call.
type outcome struct {
	kind string // "accepted", "refused" or "error"
	user user.Info
	auds authenticator.Audiences
	err  error
}

func (o outcome) String() string {
	switch o.kind {
	case "accepted":
		return fmt.Sprintf("accepted as %q", o.user.GetName())
	case "error":
		return fmt.Sprintf("error: %v", o.err)
	}
	return o.kind
}

// authenticate presents a bearer token as a request of the apiserver does, with the request audiences
// (the API audiences unless given).
func (c *webhookClient) authenticate(token string, audiences ...string) outcome {
	auds := authenticator.Audiences(audiences)
	if len(auds) == 0 {
		auds = c.audiences
	}
	ctx, cancel := context.WithTimeout(authenticator.WithAudiences(context.Background(), auds), 60*time.Second)
	defer cancel()
	resp, ok, err := c.token.AuthenticateToken(ctx, token)
	switch {
	case err != nil:
		return outcome{kind: "error", err: err}
	case !ok:
		return outcome{kind: "refused"}
	}
	return outcome{kind: "accepted", user: resp.User, auds: resp.Audiences}
}

// exchange is one HTTP request the client put on the wire and what came back. Credentials are never kept:
// only the id part of a tokengate credential (tgc_<id>), which is not secret.
type exchange struct {
	method, path, query string
	header              http.Header // Authorization replaced by "Bearer <credential id>"
	credentialID        string
	requestBody         []byte
	status              int
	responseHeader      http.Header
	responseBody        []byte
	err                 error
}

// wire records every exchange of one client.
type wire struct {
	mu        sync.Mutex
	exchanges []exchange
}

var credentialID = regexp.MustCompile(`^Bearer (tgc_[A-Za-z0-9]+)_`)

func (w *wire) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		ex := exchange{method: req.Method, path: req.URL.Path, query: req.URL.RawQuery, header: req.Header.Clone()}
		if auth := ex.header.Get("Authorization"); auth != "" {
			if m := credentialID.FindStringSubmatch(auth); m != nil {
				ex.credentialID = m[1]
			}
			ex.header.Set("Authorization", "Bearer <"+ex.credentialID+">")
		}
		if req.Body != nil {
			body, err := io.ReadAll(req.Body)
			_ = req.Body.Close()
			if err != nil {
				return nil, err
			}
			ex.requestBody = body
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := next.RoundTrip(req)
		if err != nil {
			ex.err = err
		} else {
			ex.status = resp.StatusCode
			ex.responseHeader = resp.Header.Clone()
			body, readErr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if readErr != nil {
				ex.err = readErr
			}
			ex.responseBody = body
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
		w.mu.Lock()
		w.exchanges = append(w.exchanges, ex)
		w.mu.Unlock()
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// count is the number of HTTP requests sent so far.
func (w *wire) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.exchanges)
}

func (w *wire) all() []exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]exchange(nil), w.exchanges...)
}

func (w *wire) last() exchange {
	all := w.all()
	if len(all) == 0 {
		return exchange{}
	}
	return all[len(all)-1]
}

// tokenReviewJSON is the part of a TokenReview the checks read.
type tokenReviewJSON struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Audiences []string `json:"audiences"`
	} `json:"spec"`
	Status *struct {
		Authenticated bool     `json:"authenticated"`
		Audiences     []string `json:"audiences"`
		Error         string   `json:"error"`
	} `json:"status"`
}

// replyProblems lists what is wrong with a webhook's reply by the contract tokengate promises: never 503,
// never Retry-After, a 200 in the request's apiVersion and kind, and status.audiences (when present) not
// disjoint from the request's. It judges one exchange; the real client's verdict is asserted separately.
func replyProblems(ex exchange) []string {
	var problems []string
	if ex.err != nil {
		return nil // nothing came back to judge
	}
	if ex.status == http.StatusServiceUnavailable {
		problems = append(problems, "503 (the client does not retry it)")
	}
	if ra := ex.responseHeader.Get("Retry-After"); ra != "" {
		problems = append(problems, fmt.Sprintf("Retry-After: %s (client-go then retries on its own, up to 10 more times)", ra))
	}
	if ex.status != http.StatusOK {
		return problems
	}
	var request, reply tokenReviewJSON
	if err := json.Unmarshal(ex.requestBody, &request); err != nil {
		return append(problems, "request is not JSON")
	}
	if err := json.Unmarshal(ex.responseBody, &reply); err != nil {
		return append(problems, "200 whose body is not JSON")
	}
	if reply.APIVersion != request.APIVersion {
		problems = append(problems, fmt.Sprintf("reply apiVersion %q to a %q request", reply.APIVersion, request.APIVersion))
	}
	if reply.Kind != "TokenReview" {
		problems = append(problems, fmt.Sprintf("reply kind %q", reply.Kind))
	}
	if reply.Status != nil && len(reply.Status.Audiences) > 0 && len(request.Spec.Audiences) > 0 &&
		len(authenticator.Audiences(request.Spec.Audiences).Intersect(reply.Status.Audiences)) == 0 {
		problems = append(problems, fmt.Sprintf("status.audiences %v disjoint from the requested %v", reply.Status.Audiences, request.Spec.Audiences))
	}
	return problems
}

// checkWire fails the test for any reply problem on the wire (use for clients that talk to tokengate).
func checkWire(t testing.TB, w *wire) {
	t.Helper()
	for i, ex := range w.all() {
		for _, p := range replyProblems(ex) {
			t.Errorf("request %d (%s %s): %s", i+1, ex.method, ex.path, p)
		}
	}
}

// expectRequests fails unless exactly n requests were sent in total.
func expectRequests(t testing.TB, w *wire, n int, when string) {
	t.Helper()
	if got := w.count(); got != n {
		t.Errorf("%s: %d webhook requests sent, want %d", when, got, n)
	}
}
