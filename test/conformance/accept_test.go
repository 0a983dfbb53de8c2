package conformance

import (
	"reflect"
	"testing"
)

var fixtureUser = struct {
	name, uid string
	groups    []string
	extra     map[string][]string
}{
	name:   "u-abc12xyz",
	uid:    "u-abc12xyz",
	groups: []string{"openldap_group://cn=admins,dc=example,dc=org", "openldap_group://cn=developers,dc=example,dc=org"},
	extra: map[string][]string{
		"principalid": {"openldap_user://uid=alice,ou=users,dc=example,dc=org"},
		"username":    {"alice"},
	},
}

func TestAcceptsRancherTokensOfEveryHashFormatWithTheUserInfoTheApiserverGets(t *testing.T) {
	cases := []struct {
		format, token string
	}{
		{"$3 SHA3-512 on the object", tokenSHA3},
		{"$3 in the hash Secret, ext/ prefix (Rancher 2.13)", tokenExtSecret},
		{"$2 SHA-256", tokenSHA256},
		{"$1 scrypt", tokenScrypt},
		{"argon2id (tokengate native)", gate.nativeToken},
	}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			client := newWebhookClient(t, gate.kubeconfigs["c-conf"], apiserver{version: version})
			defer checkWire(t, client.wire)
			for _, c := range cases {
				got := client.authenticate(c.token)
				if got.kind != "accepted" {
					t.Errorf("%s: %s, want accepted", c.format, got)
					continue
				}
				if !reflect.DeepEqual([]string(got.auds), []string{apiAudience}) {
					t.Errorf("%s: audiences %v, want the API audiences", c.format, got.auds)
				}
			}
			expectRequests(t, client.wire, len(cases), "one per token")

			u := client.authenticate(tokenSHA3).user
			if u.GetName() != fixtureUser.name || u.GetUID() != fixtureUser.uid ||
				!reflect.DeepEqual(u.GetGroups(), fixtureUser.groups) || !reflect.DeepEqual(u.GetExtra(), fixtureUser.extra) {
				t.Errorf("user.Info = %q uid %q groups %v extra %v, want %+v", u.GetName(), u.GetUID(), u.GetGroups(), u.GetExtra(), fixtureUser)
			}
			secretUser := client.authenticate(tokenExtSecret).user
			if secretUser.GetName() != "user-gc4s9" || secretUser.GetUID() != "user-gc4s9" || len(secretUser.GetGroups()) != 0 || len(secretUser.GetExtra()) != 0 {
				t.Errorf("ext/ token user = %q uid %q groups %v extra %v, want user-gc4s9 without groups or extra",
					secretUser.GetName(), secretUser.GetUID(), secretUser.GetGroups(), secretUser.GetExtra())
			}
			native := client.authenticate(gate.nativeToken).user
			if native.GetName() != "ci-bot" || !reflect.DeepEqual(native.GetGroups(), []string{"deployers", "release-managers"}) {
				t.Errorf("native token user = %q groups %v, want ci-bot in deployers, release-managers", native.GetName(), native.GetGroups())
			}
			expectRequests(t, client.wire, len(cases), "acceptances are cached for the TTL: no further request")
		})
	}
}

func TestAcceptsThroughTheApiserversWholeTokenChainWithItsOuterCache(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			client := newWebhookClient(t, gate.kubeconfigs["c-conf"], apiserver{version: version, outerCache: true})
			defer checkWire(t, client.wire)
			for i := 0; i < 3; i++ {
				if got := client.authenticate(tokenSHA3); got.kind != "accepted" || got.user.GetName() != fixtureUser.name {
					t.Fatalf("call %d: %s, want accepted as %s", i+1, got, fixtureUser.name)
				}
			}
			expectRequests(t, client.wire, 1, "three calls")
		})
	}
}
