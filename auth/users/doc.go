// Package users is the built-in user directory of the auth service: Users of the cloud cluster with
// their password hashes (argon2id) in Secrets of the auth service's namespace, the mapping from a
// person's roles to the scopes of their token, and the bootstrap organization admin of a fresh
// install.
//
// Roles map to scopes so (RolesScopes):
//
//	organizationAdmin (role organization-admin) → api:organization:full
//	tenant-admin                                → api:tenant:full
//	deployer                                    → api:deployment:full
//
// Other roles are custom roles: they carry no scope of their own but count where a pause step's
// requiresRoles names them. A user without any of the three gets a token with no scope.
package users
