package judgment

import (
	"slices"
	"strings"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// Annotations that carry what the controller knows of a Judgment's author. The REST API sets them
// from the caller's token; a Judgment made with kubectl carries whatever its maker wrote, so the
// tenant's RBAC on Judgments decides who may claim roles (see the package documentation).
const (
	// AuthorRolesAnnotation lists the author's roles in the tenant, comma-separated.
	AuthorRolesAnnotation = "deploy.aurora.dev/author-roles"
	// AuthorAdminAnnotation, "true", marks the author as an organization or tenant admin, who may
	// approve any gate whatever roles it requires.
	AuthorAdminAnnotation = "deploy.aurora.dev/author-admin"
)

// Author is who made a Judgment, as far as the controller can tell.
type Author struct {
	// Name is spec.author.
	Name string
	// Roles are the author's roles in the tenant.
	Roles []string
	// Admin is true for an organization or tenant admin.
	Admin bool
}

// AuthorOf reads a Judgment's author from its spec and annotations.
func AuthorOf(j *deployv1alpha1.Judgment) Author {
	a := Author{Name: j.Spec.Author, Admin: strings.TrimSpace(j.Annotations[AuthorAdminAnnotation]) == "true"}
	for _, r := range strings.Split(j.Annotations[AuthorRolesAnnotation], ",") {
		if r = strings.TrimSpace(r); r != "" && !slices.Contains(a.Roles, r) {
			a.Roles = append(a.Roles, r)
		}
	}
	return a
}

// MayDecide reports whether the author may approve or reject a gate that requires one of roles
// (none: anyone may).
func (a Author) MayDecide(roles []string) bool {
	if len(roles) == 0 || a.Admin {
		return true
	}
	return slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(a.Roles, r) })
}

// String names the author for messages.
func (a Author) String() string {
	if a.Name == "" {
		return "the author"
	}
	return a.Name
}
