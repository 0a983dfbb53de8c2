package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// client-go re-reads a kubeconfig tokenFile when its cached copy is older than 50 s (a 1 minute period
// less 10 s leeway): during `clusters rotate-credential --grace`, the old credential (still cached by the
// client) and then the new one (read from the file) must both be accepted.
func TestTokenFileRotationKeepsWorkingThroughTheGracePeriod(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(gate.dir, "c-rot.token")
	oldID := credentialIDOf(gate.credentials["c-rot"])
	client := newWebhookClient(t, gate.kubeconfigs["rotation"], apiserver{version: "v1", cacheTTL: time.Second})
	defer checkWire(t, client.wire)
	call := func(when, wantID string) {
		t.Helper()
		time.Sleep(1100 * time.Millisecond) // past the client's 1 s cache TTL: every call is a request
		before := client.wire.count()
		got := client.authenticate(tokenSHA3Rot)
		if client.wire.count() != before+1 {
			t.Fatalf("%s: %d requests, want 1", when, client.wire.count()-before)
		}
		if id := client.wire.last().credentialID; id != wantID {
			t.Errorf("%s: the client sent credential %s, want %s", when, id, wantID)
		}
		if wantID == "" {
			return
		}
		if got.kind != "error" || got.err.Error() != "token not found" {
			// c-rot has no tokens: a decided review (not a 401) proves the credential was accepted.
			t.Errorf("%s: %s, want the review's own refusal (credential accepted)", when, got)
		}
	}

	firstRead := time.Now()
	call("before the rotation", oldID)
	newCredential := gate.cli(t, "clusters", "rotate-credential", "c-rot", "--grace", "1h")
	writeAtomically(t, tokenFile, newCredential+"\n")
	call("right after the rotation (the client still holds the old credential)", oldID)

	time.Sleep(time.Until(firstRead.Add(52 * time.Second)))
	call("once the client has re-read the file", credentialIDOf(newCredential))

	// Ending every earlier credential (--grace 0 issues a third, not written to the file) proves that the
	// server checks what the client sends: the credential in the file is refused from now on.
	_ = gate.cli(t, "clusters", "rotate-credential", "c-rot", "--grace", "0")
	time.Sleep(1100 * time.Millisecond)
	before := client.wire.count()
	if got := client.authenticate(tokenSHA3Rot); got.kind != "error" || !strings.Contains(got.err.Error(), "wrong caller credential") {
		t.Errorf("after --grace 0: %s, want the error of a wrong caller credential", got)
	}
	if n := client.wire.count() - before; n != 1 {
		t.Errorf("after --grace 0: %d requests, want 1 (a 401 is not retried)", n)
	}
}

// tokenSHA3Rot is a fixture token presented at c-rot, which has no tokens of its own.
var tokenSHA3Rot = tokenSHA3

func credentialIDOf(credential string) string {
	parts := strings.SplitN(credential, "_", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[0] + "_" + parts[1]
}

func writeAtomically(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
