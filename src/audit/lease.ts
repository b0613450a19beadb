/**
 * The Lease the replicas of `tollgate serve` elect the policy-report writer on, in tollgate's own
 * namespace (the Role of the install grants get and update on it by this name).
 */
export const AUDIT_LEASE_NAME = "tollgate-audit";
