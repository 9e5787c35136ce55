package machinecredential

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

func TestPlanSecrets(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }
	current := iamv1alpha1.SecretHash{Hash: "current", CreatedAt: metav1.Time{Time: now.Add(-time.Hour)}}
	retired := func(until time.Duration) iamv1alpha1.SecretHash {
		return iamv1alpha1.SecretHash{Hash: "retired", CreatedAt: metav1.Time{Time: now.Add(-2 * time.Hour)}, ValidUntil: at(until)}
	}
	tests := []struct {
		name        string
		spec        iamv1alpha1.MachineCredentialSpec
		status      iamv1alpha1.MachineCredentialStatus
		wantIssue   bool
		wantHashes  []string
		wantValid   map[string]time.Time // hash → validUntil; absent = current
		wantExpired bool
		wantNext    time.Time
	}{
		{
			name:      "a new credential gets its first secret",
			wantIssue: true,
		},
		{
			name:       "an issued credential is left alone",
			status:     iamv1alpha1.MachineCredentialStatus{SecretHashes: []iamv1alpha1.SecretHash{current}},
			wantHashes: []string{"current"},
		},
		{
			name:       "a rotation request retires the current secret for the default grace period",
			spec:       iamv1alpha1.MachineCredentialSpec{RotationRequest: "r1"},
			status:     iamv1alpha1.MachineCredentialStatus{SecretHashes: []iamv1alpha1.SecretHash{current}},
			wantIssue:  true,
			wantHashes: []string{"current"},
			wantValid:  map[string]time.Time{"current": now.Add(time.Hour)},
			wantNext:   now.Add(time.Hour),
		},
		{
			name:       "a rotation honours the grace period of the spec",
			spec:       iamv1alpha1.MachineCredentialSpec{RotationRequest: "r2", RotationGracePeriod: &metav1.Duration{Duration: 5 * time.Minute}},
			status:     iamv1alpha1.MachineCredentialStatus{SecretHashes: []iamv1alpha1.SecretHash{current}, ObservedRotationRequest: "r1"},
			wantIssue:  true,
			wantHashes: []string{"current"},
			wantValid:  map[string]time.Time{"current": now.Add(5 * time.Minute)},
			wantNext:   now.Add(5 * time.Minute),
		},
		{
			name:       "an observed rotation request does not rotate again",
			spec:       iamv1alpha1.MachineCredentialSpec{RotationRequest: "r1"},
			status:     iamv1alpha1.MachineCredentialStatus{SecretHashes: []iamv1alpha1.SecretHash{current}, ObservedRotationRequest: "r1"},
			wantHashes: []string{"current"},
		},
		{
			name:       "a retired secret within its grace period stays",
			status:     iamv1alpha1.MachineCredentialStatus{SecretHashes: []iamv1alpha1.SecretHash{retired(10 * time.Minute), current}},
			wantHashes: []string{"retired", "current"},
			wantValid:  map[string]time.Time{"retired": now.Add(10 * time.Minute)},
			wantNext:   now.Add(10 * time.Minute),
		},
		{
			name:       "a retired secret past its grace period goes",
			status:     iamv1alpha1.MachineCredentialStatus{SecretHashes: []iamv1alpha1.SecretHash{retired(-time.Second), current}},
			wantHashes: []string{"current"},
		},
		{
			name:        "an expired credential is marked and issues nothing new",
			spec:        iamv1alpha1.MachineCredentialSpec{ExpiresAt: at(-time.Minute)},
			wantIssue:   true,
			wantExpired: true,
		},
		{
			name:       "a credential that will expire is looked at again then",
			spec:       iamv1alpha1.MachineCredentialSpec{ExpiresAt: at(48 * time.Hour)},
			status:     iamv1alpha1.MachineCredentialStatus{SecretHashes: []iamv1alpha1.SecretHash{current}},
			wantHashes: []string{"current"},
			wantNext:   now.Add(48 * time.Hour),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			mc := &iamv1alpha1.MachineCredential{Spec: tt.spec, Status: tt.status}
			plan := planSecrets(mc, now)
			g.Expect(plan.issue).To(Equal(tt.wantIssue), "issue")
			g.Expect(plan.expired).To(Equal(tt.wantExpired), "expired")
			g.Expect(plan.next).To(Equal(tt.wantNext), "next")
			var hashes []string
			for _, h := range plan.keep {
				hashes = append(hashes, h.Hash)
				if want, ok := tt.wantValid[h.Hash]; ok {
					g.Expect(h.ValidUntil).NotTo(BeNil(), h.Hash)
					g.Expect(h.ValidUntil.Time).To(Equal(want), h.Hash)
				} else {
					g.Expect(h.ValidUntil).To(BeNil(), h.Hash)
				}
			}
			g.Expect(hashes).To(Equal(tt.wantHashes))
			g.Expect(mc.Status.SecretHashes).To(Equal(tt.status.SecretHashes), "the plan does not change its input")
		})
	}
}

func TestUnknownScopes(t *testing.T) {
	g := NewWithT(t)
	g.Expect(unknownScopes([]iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull, iamv1alpha1.ScopeDeploymentFull})).To(BeEmpty())
	g.Expect(unknownScopes([]iamv1alpha1.Scope{"api:everything:full", iamv1alpha1.ScopeTenantFull})).To(Equal([]iamv1alpha1.Scope{"api:everything:full"}))
}
