package devenv

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/users"
)

// PersonName is the login of the environment's person.
const PersonName = "demo"

// Person is a login of the built-in user directory.
type Person struct {
	// Username is the login.
	Username string `json:"username"`
	// Password is the password, generated for each environment.
	Password string `json:"password"`
}

// ConsoleURL is the Console of the environment's REST API: APIURL + "/console/".
func (e *Env) ConsoleURL() string { return e.APIURL + "/console/" }

// createPerson creates the person who logs in to the Console, with a random password: tenant
// admin and deployer of the demo tenant.
func (e *Env) createPerson(ctx context.Context) error {
	password, err := users.NewPassword()
	if err != nil {
		return fmt.Errorf("generating the password of %s: %w", PersonName, err)
	}
	u := &iamv1alpha1.User{
		ObjectMeta: metav1.ObjectMeta{Name: PersonName},
		Spec: iamv1alpha1.UserSpec{Organization: e.opts.Organization, DisplayName: "Demo user", Tenants: []iamv1alpha1.TenantRoles{
			{Environment: e.opts.Environment, Roles: []string{iamv1alpha1.RoleTenantAdmin, iamv1alpha1.RoleDeployer}},
		}},
	}
	if _, err := users.EnsureUser(ctx, e.CloudClient, systemNamespace, u, password, true); err != nil {
		return fmt.Errorf("creating the person %s: %w", PersonName, err)
	}
	e.Person = Person{Username: PersonName, Password: password}
	return nil
}
