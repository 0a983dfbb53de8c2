package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// The tokens of the fixtures and the secrets behind their hashes (test/fixtures/rancher/*.yaml,
// test/fixtures/import/clusterauthtokens.json, testdata/rancher-conformance.yaml).
var (
	tokenSHA3        = "kubeconfig-u-abc12xyz:" + strings.Repeat("d", 54)             // $3 on the object
	tokenExtSecret   = "ext/kubeconfig-user-gc4s9.c-cn2rq:" + strings.Repeat("c", 54) // $3 in the hash Secret, ext/ prefix
	tokenSHA256      = "kubeconfig-u-abc12xyz.c-legacy:" + strings.Repeat("c", 54)    // $2
	tokenScrypt      = "kubeconfig-u-abc12xyz.c-scrypt:" + strings.Repeat("e", 54)    // $1
	tokenDisabled    = "token-5hq2k:" + strings.Repeat("c", 54)
	tokenExpired     = "kubeconfig-u-abc12xyz.c-expired:" + strings.Repeat("c", 54)
	tokenWrongSecret = "kubeconfig-u-abc12xyz:" + strings.Repeat("x", 54)
	tokenUnknownName = "kubeconfig-u-nobody00:" + strings.Repeat("d", 54)
	// A stale ServiceAccount JWT of another cluster (legacy issuer), as a pod keeps presenting it.
	staleServiceAccountJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6InN0YWxlIn0." +
		"eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwia3ViZXJuZXRlcy5pby9zZXJ2aWNlYWNjb3VudC9uYW1lc3BhY2UiOiJjYXR0bGUtc3lzdGVtIiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OmNhdHRsZS1zeXN0ZW06Y2F0dGxlIn0." +
		"c2lnbmF0dXJl"
	foreignOIDCJWT = "eyJhbGciOiJSUzI1NiJ9." +
		"eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLmNvbSIsInN1YiI6ImFsaWNlIiwiYXVkIjoia3ViZXJuZXRlcyJ9." +
		"c2lnbmF0dXJl"
	randomString = "q8ZpX2mLr7TbV4nK"
)

// fixture is one tokengate serve (HTTPS, mutual TLS) over a DynamoDB behind a stoppable proxy, filled by
// the CLI, and the webhook kubeconfigs `tokengate webhook-config` printed for it.
type fixture struct {
	dir         string
	store       *process // `tokengate serve` whose embedded DynamoDB is the table
	dynamo      string
	proxy       *storeProxy
	server      *process // the tokengate under test
	apiURL      string
	credentials map[string]string
	nativeToken string
	kubeconfigs map[string]string
}

var gate *fixture

func TestMain(m *testing.M) {
	started := time.Now()
	f, err := setUp()
	if err != nil {
		fmt.Fprintf(os.Stderr, "conformance: setting up tokengate failed: %v\n", err)
		f.tearDown()
		os.Exit(1)
	}
	gate = f
	fmt.Fprintf(os.Stderr, "conformance: tokengate serving at %s (set up in %s)\n", f.apiURL, time.Since(started).Round(100*time.Millisecond))
	code := m.Run()
	f.tearDown()
	os.Exit(code)
}

var (
	apiLine    = regexp.MustCompile(`^tokengate API\s+(\S+)`)
	dynamoLine = regexp.MustCompile(`^DynamoDB \(embedded\) (http://\S+)`)
)

func setUp() (*fixture, error) {
	dir, err := os.MkdirTemp("", "tokengate-conformance-")
	if err != nil {
		return nil, err
	}
	f := &fixture{dir: dir, credentials: map[string]string{}, kubeconfigs: map[string]string{}}
	pki := filepath.Join(dir, "pki")
	var certErr, otherErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, certErr = runTokengate(nil, "certs", "create", "--dir", pki, "--host", "127.0.0.1",
			"--client", "c-conf", "--client", "c-other", "--client", "c-rot", "--client", "c-nowhere")
	}()
	go func() {
		defer wg.Done()
		// A second CA the server does not trust, with a certificate that names the right cluster.
		_, otherErr = runTokengate(nil, "certs", "create", "--dir", filepath.Join(dir, "untrusted"), "--client", "c-conf")
	}()
	if f.store, err = startTokengate(nil, "serve", "--port", "0", "--dynamodb-port", "0"); err != nil {
		return f, err
	}
	m, err := f.store.waitFor(dynamoLine, 60*time.Second)
	if err != nil {
		return f, err
	}
	f.dynamo = m[1]
	if f.proxy, err = newStoreProxy(strings.TrimPrefix(f.dynamo, "http://")); err != nil {
		return f, err
	}
	wg.Wait()
	if certErr != nil || otherErr != nil {
		return f, fmt.Errorf("certs create: %v %v", certErr, otherErr)
	}
	f.server, err = startTokengate(
		// Fixed, documented settings: no decision cache (every review reads the store, so an outage shows at
		// once) and a caller-check budget that the error cases cannot exhaust.
		[]string{"CALLER_CHECKS_PER_SECOND=1000"},
		"serve", "--port", "0", "--endpoint", f.proxy.endpoint(), "--cache-ttl", "0", "--access-log",
		"--tls-cert", filepath.Join(pki, "server.pem"), "--tls-key", filepath.Join(pki, "server-key.pem"),
		"--client-ca", filepath.Join(pki, "ca.pem"))
	if err != nil {
		return f, err
	}
	if m, err = f.server.waitFor(apiLine, 60*time.Second); err != nil {
		return f, err
	}
	f.apiURL = m[1]

	table := []string{"DYNAMODB_ENDPOINT=" + f.dynamo}
	errs := make(chan error, 16)
	var mu sync.Mutex
	parallel := func(fns ...func() error) error {
		var wg sync.WaitGroup
		for _, fn := range fns {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- fn() }()
		}
		wg.Wait()
		for range fns {
			if err := <-errs; err != nil {
				return err
			}
		}
		return nil
	}
	addCluster := func(id string) func() error {
		return func() error {
			out, err := runTokengate(table, "clusters", "add", id)
			mu.Lock()
			f.credentials[id] = strings.TrimSpace(out)
			mu.Unlock()
			return err
		}
	}
	if err := parallel(addCluster("c-conf"), addCluster("c-other"), addCluster("c-rot")); err != nil {
		return f, err
	}
	root := repoRoot()
	err = parallel(
		func() error {
			_, err := runTokengate(table, "import", "c-conf",
				filepath.Join(root, "test/fixtures/rancher/clusterauthtokens.yaml"),
				filepath.Join(root, "test/fixtures/rancher/clusteruserattributes.yaml"),
				filepath.Join(root, "test/fixtures/rancher/secrets.yaml"),
				filepath.Join(root, "test/fixtures/import/clusterauthtokens.json"),
				filepath.Join(root, "test/conformance/testdata/rancher-conformance.yaml"))
			return err
		},
		func() error {
			out, err := runTokengate(table, "tokens", "create", "c-conf", "--user", "ci-bot", "--group", "deployers", "--group", "release-managers")
			f.nativeToken = strings.TrimSpace(out)
			return err
		},
	)
	if err != nil {
		return f, err
	}

	// The kubeconfigs, each printed by `tokengate webhook-config` (so its output is read by the real loader).
	tokenFile := filepath.Join(dir, "c-rot.token")
	if err := os.WriteFile(tokenFile, []byte(f.credentials["c-rot"]+"\n"), 0o600); err != nil {
		return f, err
	}
	ca := []string{"--certificate-authority", filepath.Join(pki, "ca.pem")}
	clientCert := func(base, id string) []string {
		return []string{"--client-certificate", filepath.Join(base, "client-"+id+".pem"), "--client-key", filepath.Join(base, "client-"+id+"-key.pem")}
	}
	configs := map[string][]string{
		"c-conf":           append(append([]string{"c-conf", "--credential", f.credentials["c-conf"]}, ca...), clientCert(pki, "c-conf")...),
		"wrong-credential": append(append([]string{"c-conf", "--credential", f.credentials["c-other"]}, ca...), clientCert(pki, "c-conf")...),
		"unknown-cluster":  append(append([]string{"c-nowhere", "--credential", f.credentials["c-conf"]}, ca...), clientCert(pki, "c-nowhere")...),
		"other-cert":       append(append([]string{"c-conf", "--credential", f.credentials["c-conf"]}, ca...), clientCert(pki, "c-other")...),
		"no-client-cert":   append([]string{"c-conf", "--credential", f.credentials["c-conf"]}, ca...),
		"untrusted-cert":   append(append([]string{"c-conf", "--credential", f.credentials["c-conf"]}, ca...), clientCert(filepath.Join(dir, "untrusted"), "c-conf")...),
		"rotation":         append(append([]string{"c-rot", "--credential-file", tokenFile}, ca...), clientCert(pki, "c-rot")...),
	}
	var fns []func() error
	for name, args := range configs {
		fns = append(fns, func() error {
			out, err := runTokengate(nil, append([]string{"webhook-config", "--url", f.apiURL}, args...)...)
			if err != nil {
				return err
			}
			path := filepath.Join(dir, name+".kubeconfig")
			mu.Lock()
			f.kubeconfigs[name] = path
			mu.Unlock()
			return os.WriteFile(path, []byte(out), 0o600)
		})
	}
	if err := parallel(fns...); err != nil {
		return f, err
	}
	// No credential at all: the c-conf kubeconfig without its token.
	config, err := clientcmd.LoadFromFile(f.kubeconfigs["c-conf"])
	if err != nil {
		return f, err
	}
	for _, info := range config.AuthInfos {
		info.Token = ""
	}
	f.kubeconfigs["no-credential"] = filepath.Join(dir, "no-credential.kubeconfig")
	if err := clientcmd.WriteToFile(*config, f.kubeconfigs["no-credential"]); err != nil {
		return f, err
	}
	return f, nil
}

func (f *fixture) tearDown() {
	if f == nil {
		return
	}
	f.server.stop()
	if f.proxy != nil {
		f.proxy.stop()
	}
	f.store.stop()
	if os.Getenv("TOKENGATE_CONFORMANCE_KEEP") == "" {
		_ = os.RemoveAll(f.dir)
	}
}

// cli runs a tokengate command against the table of the fixture.
func (f *fixture) cli(t testing.TB, args ...string) string {
	t.Helper()
	out, err := runTokengate([]string{"DYNAMODB_ENDPOINT=" + f.dynamo}, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}
