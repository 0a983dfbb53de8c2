// Package conformance drives tokengate with the webhook token authenticator that kube-apiserver runs
// (k8s.io/apiserver's webhook plugin inside its token cache), built the way kube-apiserver builds it, so
// that what the real client concludes from each reply is what these tests assert. See docs/conformance.md.
package conformance
