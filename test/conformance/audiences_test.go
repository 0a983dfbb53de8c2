package conformance

import (
	"reflect"
	"testing"

	"k8s.io/apiserver/pkg/authentication/authenticator"
)

// tokengate leaves status.audiences out, so the client assumes its own API audiences: a Rancher token is
// good for exactly the audiences kube-apiserver's own audience-agnostic tokens are good for.
func TestAudiencesOfTheApiserverOneOrSeveralAreAcceptedAndTheReplyIsNeverDisjoint(t *testing.T) {
	several := authenticator.Audiences{apiAudience, "https://rke2.example.com", "rancher"}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			one := newWebhookClient(t, gate.kubeconfigs["c-conf"], apiserver{version: version})
			defer checkWire(t, one.wire)
			if got := one.authenticate(tokenSHA3); got.kind != "accepted" || !reflect.DeepEqual(got.auds, authenticator.Audiences{apiAudience}) {
				t.Errorf("one API audience: %s with audiences %v", got, got.auds)
			}

			many := newWebhookClient(t, gate.kubeconfigs["c-conf"], apiserver{version: version, audiences: several})
			defer checkWire(t, many.wire)
			got := many.authenticate(tokenSHA3)
			if got.kind != "accepted" || !reflect.DeepEqual(got.auds, several) {
				t.Errorf("several API audiences: %s with audiences %v, want %v", got, got.auds, several)
			}
			var sent tokenReviewJSON
			mustUnmarshal(t, many.wire.last().requestBody, &sent)
			if !reflect.DeepEqual(sent.Spec.Audiences, []string(several)) {
				t.Errorf("spec.audiences sent %v, want %v", sent.Spec.Audiences, several)
			}

			// A request for an audience that is not the apiserver's (a TokenReview probe for "vault"): the
			// token is refused, as kube-apiserver refuses its own static and bootstrap tokens for it. Cached.
			for call := 0; call < 2; call++ {
				if got := one.authenticate(tokenSHA3, "vault"); got.kind != "refused" {
					t.Errorf("audience vault only: %s, want refused", got)
				}
			}
			expectRequests(t, one.wire, 2, "the vault-only request is one request, then cached")
			if got := one.authenticate(tokenSHA3, "vault", apiAudience); got.kind != "accepted" || !reflect.DeepEqual(got.auds, authenticator.Audiences{apiAudience}) {
				t.Errorf("vault and the API audience: %s with %v, want accepted for the API audience only", got, got.auds)
			}
		})
	}
}
