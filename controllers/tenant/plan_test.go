package tenant

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

func newTenant() *iamv1alpha1.Tenant {
	return &iamv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "acme-prod"},
		Spec:       iamv1alpha1.TenantSpec{Organization: "acme", Environment: "prod"},
	}
}

func TestCheckNamespaceOwner(t *testing.T) {
	tests := []struct {
		name    string
		ns      *corev1.Namespace
		wantErr string
	}{
		{"absent namespace", nil, ""},
		{"the tenant's namespace", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aurora-acme-prod", Labels: map[string]string{iamv1alpha1.TenantLabel: "acme-prod"}}}, ""},
		{"a namespace of someone else", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aurora-acme-prod"}}, "does not belong to an Aurora tenant"},
		{"a namespace of another tenant", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aurora-acme-prod", Labels: map[string]string{iamv1alpha1.TenantLabel: "acme-production"}}}, "belongs to tenant acme-production"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := checkNamespaceOwner(tt.ns, newTenant())
			if tt.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
			}
		})
	}
}

func TestDesiredObjects(t *testing.T) {
	g := NewWithT(t)
	tn := newTenant()
	ns := desiredNamespace(tn)
	g.Expect(*ns.Name).To(Equal("aurora-acme-prod"))
	g.Expect(ns.Labels).To(HaveKeyWithValue(iamv1alpha1.TenantLabel, "acme-prod"))
	g.Expect(ns.Labels).To(HaveKeyWithValue(iamv1alpha1.OrganizationLabel, "acme"))
	g.Expect(ns.Labels).To(HaveKeyWithValue(iamv1alpha1.EnvironmentLabel, "prod"))

	role := desiredRole(tn)
	g.Expect(*role.Namespace).To(Equal("aurora-acme-prod"))
	g.Expect(role.Rules).NotTo(BeEmpty())

	g.Expect(desiredRoleBinding(tn, nil)).To(BeNil(), "no components, no binding")
	rb := desiredRoleBinding(tn, []ServiceAccountRef{{Namespace: "aurora-system", Name: "aurora-hub"}, {Namespace: "aurora-system", Name: "aurora-server"}})
	g.Expect(rb.Subjects).To(HaveLen(2))
	g.Expect(*rb.Subjects[1].Name).To(Equal("aurora-server"))
	g.Expect(*rb.RoleRef.Name).To(Equal(ComponentsRoleName))
}

func TestParseServiceAccountRef(t *testing.T) {
	tests := []struct {
		in      string
		want    ServiceAccountRef
		wantErr bool
	}{
		{"aurora-system/aurora-hub", ServiceAccountRef{Namespace: "aurora-system", Name: "aurora-hub"}, false},
		{"aurora-hub", ServiceAccountRef{}, true},
		{"/aurora-hub", ServiceAccountRef{}, true},
		{"aurora-system/", ServiceAccountRef{}, true},
		{"a/b/c", ServiceAccountRef{}, true},
	}
	for _, tt := range tests {
		got, err := ParseServiceAccountRef(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseServiceAccountRef(%q) = %v, %v", tt.in, got, err)
		}
	}
}
